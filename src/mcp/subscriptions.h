// Who wants to hear about which session: the registry behind resources/subscribe and the fan-out of
// store change events as notifications/resources/updated and notifications/resources/list_changed.
#pragma once

#include <functional>
#include <map>
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
//
// Watching: the registry watches exactly the namespaces it has connections or subscriptions in (the
// first one of a namespace starts its watch, the last one leaving ends it), through `watch`, so that
// a server hears only the namespaces it serves (on a Redis Cluster, each is heard on its own shard).
// A watch is started before add_connection()/subscribe() return, so a change made after that is
// delivered. Do not call add/remove/subscribe/unsubscribe from inside a change callback.
class SubscriptionRegistry {
 public:
  // Starts the store's watch of one namespace (the server passes Engine::watch). Empty: nothing is
  // watched and on_change is called by hand (tests of the registry alone).
  using WatchNamespace = std::function<std::unique_ptr<ChangeSubscription>(const std::string& ns,
                                                                           ChangeCallback callback)>;
  explicit SubscriptionRegistry(WatchNamespace watch = {});
  ~SubscriptionRegistry();  // ends the watches first: no callback runs once it has begun
  SubscriptionRegistry(const SubscriptionRegistry&) = delete;
  SubscriptionRegistry& operator=(const SubscriptionRegistry&) = delete;

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
  // The namespaces watched right now, sorted.
  std::vector<std::string> watched_namespaces() const;

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
  // Under mutex_: one user (connection or subscription) of `ns` more, or fewer.
  void add_user(const std::string& ns);
  void drop_user(const std::string& ns);
  // Starts and ends store watches until they match the namespaces in use (call without mutex_).
  void sync_watches();

  const WatchNamespace watch_;
  mutable std::mutex mutex_;  // guards the vectors and users_; never held while a sink is called
  std::vector<Subscription> subscriptions_;
  std::vector<Listener> listeners_;
  std::map<std::string, std::size_t> users_;  // connections + subscriptions per namespace
  // Serializes sync_watches(). Never taken by on_change, so a watch may start or end (and wait for a
  // callback in flight) while holding it.
  mutable std::mutex watch_mutex_;
  std::map<std::string, std::unique_ptr<ChangeSubscription>> watches_;
};

}  // namespace memtrace::mcp
