// The subscription registry: who watches which session, and the fan-out of store changes.
#include "mcp/subscriptions.h"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace memtrace::mcp {

SubscriptionRegistry::SubscriptionRegistry(WatchNamespace watch) : watch_(std::move(watch)) {}

SubscriptionRegistry::~SubscriptionRegistry() {
  std::lock_guard serial(watch_mutex_);
  watches_.clear();  // each watch's callback holds `this`: end them while everything else exists
}

void SubscriptionRegistry::add_user(const std::string& ns) {
  ++users_[ns];
}

void SubscriptionRegistry::drop_user(const std::string& ns) {
  auto it = users_.find(ns);
  if (it != users_.end() && --it->second == 0) users_.erase(it);
}

void SubscriptionRegistry::sync_watches() {
  if (!watch_) return;
  std::lock_guard serial(watch_mutex_);
  std::vector<std::string> wanted;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [ns, users] : users_) wanted.push_back(ns);
  }
  std::erase_if(watches_, [&](const auto& entry) {
    return !std::binary_search(wanted.begin(), wanted.end(), entry.first);
  });
  for (const auto& ns : wanted) {
    if (watches_.count(ns)) continue;
    watches_.emplace(ns, watch_(ns, [this](const ChangeEvent& event) { on_change(event); }));
  }
}

std::vector<std::string> SubscriptionRegistry::watched_namespaces() const {
  std::lock_guard serial(watch_mutex_);
  std::vector<std::string> namespaces;
  for (const auto& [ns, watch] : watches_) namespaces.push_back(ns);
  return namespaces;
}

void SubscriptionRegistry::add_connection(const std::shared_ptr<NotificationSink>& sink, std::string ns) {
  {
    std::lock_guard lock(mutex_);
    add_user(ns);
    listeners_.push_back(Listener{sink, sink.get(), std::move(ns)});
  }
  sync_watches();
}

void SubscriptionRegistry::remove_connection(const NotificationSink* sink) {
  {
    std::lock_guard lock(mutex_);
    std::erase_if(listeners_, [&](const Listener& l) {
      if (l.key != sink) return false;
      drop_user(l.ns);
      return true;
    });
    std::erase_if(subscriptions_, [&](const Subscription& s) {
      if (s.key != sink) return false;
      drop_user(s.ns);
      return true;
    });
  }
  sync_watches();
}

void SubscriptionRegistry::subscribe(const std::shared_ptr<NotificationSink>& sink, std::string uri,
                                     std::string ns, std::string session_id, bool follows_current) {
  {
    std::lock_guard lock(mutex_);
    auto existing = std::find_if(subscriptions_.begin(), subscriptions_.end(),
                                 [&](const Subscription& s) { return s.key == sink.get() && s.uri == uri; });
    add_user(ns);
    if (existing != subscriptions_.end()) {
      drop_user(existing->ns);
      existing->ns = std::move(ns);
      existing->session_id = std::move(session_id);
    } else {
      subscriptions_.push_back(Subscription{sink, sink.get(), std::move(uri), std::move(ns),
                                            std::move(session_id), follows_current});
    }
  }
  sync_watches();
}

bool SubscriptionRegistry::unsubscribe(const NotificationSink* sink, const std::string& uri) {
  bool found = false;
  {
    std::lock_guard lock(mutex_);
    found = std::erase_if(subscriptions_, [&](const Subscription& s) {
              if (s.key != sink || s.uri != uri) return false;
              drop_user(s.ns);
              return true;
            }) > 0;
  }
  if (found) sync_watches();
  return found;
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
    if (pruned) {  // their watches end with the next add or remove (not from this callback)
      std::erase_if(subscriptions_, [this](const Subscription& s) {
        if (!s.sink.expired()) return false;
        drop_user(s.ns);
        return true;
      });
      std::erase_if(listeners_, [this](const Listener& l) {
        if (!l.sink.expired()) return false;
        drop_user(l.ns);
        return true;
      });
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
