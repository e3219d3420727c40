// The subscription registry: who watches which session, and the fan-out of store changes.
#include "mcp/subscriptions.h"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace memtrace::mcp {

void SubscriptionRegistry::add_connection(const std::shared_ptr<NotificationSink>& sink, std::string ns) {
  std::lock_guard lock(mutex_);
  listeners_.push_back(Listener{sink, sink.get(), std::move(ns)});
}

void SubscriptionRegistry::remove_connection(const NotificationSink* sink) {
  std::lock_guard lock(mutex_);
  std::erase_if(listeners_, [&](const Listener& l) { return l.key == sink; });
  std::erase_if(subscriptions_, [&](const Subscription& s) { return s.key == sink; });
}

void SubscriptionRegistry::subscribe(const std::shared_ptr<NotificationSink>& sink, std::string uri,
                                     std::string ns, std::string session_id, bool follows_current) {
  std::lock_guard lock(mutex_);
  for (auto& s : subscriptions_) {
    if (s.key == sink.get() && s.uri == uri) {
      s.ns = std::move(ns);
      s.session_id = std::move(session_id);
      return;
    }
  }
  subscriptions_.push_back(
      Subscription{sink, sink.get(), std::move(uri), std::move(ns), std::move(session_id), follows_current});
}

bool SubscriptionRegistry::unsubscribe(const NotificationSink* sink, const std::string& uri) {
  std::lock_guard lock(mutex_);
  return std::erase_if(subscriptions_, [&](const Subscription& s) { return s.key == sink && s.uri == uri; }) >
         0;
}

void SubscriptionRegistry::switch_current(const NotificationSink* sink, const std::string& session_id) {
  std::vector<Delivery> deliveries;
  {
    std::lock_guard lock(mutex_);
    for (auto& s : subscriptions_) {
      if (s.key != sink || !s.follows_current || s.session_id == session_id) continue;
      s.session_id = session_id;
      if (auto target = s.sink.lock()) {
        deliveries.push_back({std::move(target), "notifications/resources/updated", {{"uri", s.uri}}});
      }
    }
  }
  deliver(deliveries);
}

void SubscriptionRegistry::on_change(const ChangeEvent& event) {
  std::vector<Delivery> deliveries;
  {
    std::lock_guard lock(mutex_);
    bool pruned = false;
    for (const auto& s : subscriptions_) {
      if (s.ns != event.ns || s.session_id != event.session_id) continue;
      if (auto target = s.sink.lock()) {
        deliveries.push_back({std::move(target), "notifications/resources/updated", {{"uri", s.uri}}});
      } else {
        pruned = true;
      }
    }
    if (event.kind == ChangeEvent::Kind::kSessionChanged) {
      for (const auto& l : listeners_) {
        if (l.ns != event.ns) continue;
        if (auto target = l.sink.lock()) {
          deliveries.push_back(
              {std::move(target), "notifications/resources/list_changed", nlohmann::json::object()});
        } else {
          pruned = true;
        }
      }
    }
    if (pruned) {
      std::erase_if(subscriptions_, [](const Subscription& s) { return s.sink.expired(); });
      std::erase_if(listeners_, [](const Listener& l) { return l.sink.expired(); });
    }
  }
  deliver(deliveries);
}

std::size_t SubscriptionRegistry::subscription_count() const {
  std::lock_guard lock(mutex_);
  return subscriptions_.size();
}

void SubscriptionRegistry::deliver(std::vector<Delivery>& deliveries) {
  for (auto& d : deliveries) {
    try {
      d.sink->send_notification(d.method, d.params);
    } catch (const std::exception& e) {  // a transport bug must not end delivery to the others
      spdlog::error("sending {} failed: {}", d.method, e.what());
    }
  }
}

}  // namespace memtrace::mcp
