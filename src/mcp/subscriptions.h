// Who wants to hear about which session: the registry behind resources/subscribe and the fan-out of
// store change events as notifications/resources/updated and notifications/resources/list_changed.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/store.h"

namespace memtrace::mcp {

// A connection as the registry sees it. Implemented by Connection::Impl.
class NotificationSink {
 public:
  virtual ~NotificationSink() = default;
  // Sends a notification unrelated to any request, if the connection is open and initialized.
  // May block on the transport: the registry never calls it while holding its lock.
  virtual void send_notification(std::string_view method, const nlohmann::json& params) = 0;
};

// Thread-safety: every method may be called from any thread (store watch thread, request workers,
// transports). Entries hold weak_ptrs, so a connection that goes away without unregistering is
// skipped and pruned; connections still unregister when they close.
class SubscriptionRegistry {
 public:
  // Every open connection hears list_changed for its namespace.
  void add_connection(const std::shared_ptr<NotificationSink>& sink, std::string ns);
  // Forgets the connection and all its subscriptions.
  void remove_connection(const NotificationSink* sink);

  // `uri` is what the client subscribed with, echoed in notifications. A subscription that
  // `follows_current` (memtrace://sessions/current/...) moves along with switch_current().
  // Subscribing twice to the same uri is one subscription.
  void subscribe(const std::shared_ptr<NotificationSink>& sink, std::string uri, std::string ns,
                 std::string session_id, bool follows_current);
  // False if the connection had no such subscription.
  bool unsubscribe(const NotificationSink* sink, const std::string& uri);
  // The connection's current session changed: its "current" subscriptions now watch `session_id`,
  // and each is told once that its resource changed.
  void switch_current(const NotificationSink* sink, const std::string& session_id);

  // The store's watch callback: updated for every subscription of the event's session, and, for a
  // session created or closed, list_changed for every connection of its namespace.
  void on_change(const ChangeEvent& event);

  std::size_t subscription_count() const;

 private:
  struct Subscription {
    std::weak_ptr<NotificationSink> sink;
    const NotificationSink* key;
    std::string uri;
    std::string ns;
    std::string session_id;
    bool follows_current;
  };
  struct Listener {
    std::weak_ptr<NotificationSink> sink;
    const NotificationSink* key;
    std::string ns;
  };
  struct Delivery {
    std::shared_ptr<NotificationSink> sink;
    std::string method;
    nlohmann::json params;
  };
  static void deliver(std::vector<Delivery>& deliveries);

  mutable std::mutex mutex_;  // guards the vectors; never held while a sink is called
  std::vector<Subscription> subscriptions_;
  std::vector<Listener> listeners_;
};

}  // namespace memtrace::mcp
