// Live change events from Redis sharded pub/sub: one subscriber thread per store, one connection per
// node it listens on, multiplexing the channels of every namespace being watched.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "store/redis/redis_connection.h"
#include "store/redis/redis_options.h"
#include "store/store.h"

namespace memtrace::redis {

// Where the subscriber connects to hear a channel of hash slot `slot`: the options of the node that
// serves it (the single server, or the cluster master of the slot). With `refresh`, the slot map is
// read again first (the caller has seen the slot move or its node fail).
using LocateSlot = std::function<Result<RedisOptions>(int slot, bool refresh)>;

// The scripts SPUBLISH each change on its namespace's channel (events_channel(ns), which carries the
// namespace's hash tag, so it lives in the namespace's slot). watch(ns) adds that channel to the
// SSUBSCRIBEd set of the one connection to the node serving the slot; the last watch of a namespace
// going removes it (SUNSUBSCRIBE), and a connection left with no channel is closed. So a process
// holds one subscriber connection per node it needs, whatever the number of namespaces or watchers.
//
// Following the cluster: the channel is subscribed again, on the node the refreshed slot map names,
// when its connection fails (EOF, reset, no answer to the health PING within
// subscriber_health_interval), when SSUBSCRIBE answers -MOVED, and when the server unsubscribes it
// unasked (Redis sends `sunsubscribe` when the slot leaves the node: a failover or a migration).
// Attempts that fail are retried with the store's reconnect backoff. Pub/sub is at-most-once: events
// published while a channel is not subscribed are not replayed (the durable change feed,
// Store::read_changes, is the way to catch up).
//
// Thread-safety: watch() and the subscriptions' destructors may be called from any thread, including
// from inside a callback. Callbacks run one at a time on the subscriber thread; once a subscription's
// destructor has returned its callback is not called again (unless the destructor ran inside a
// callback, which is then the caller). stop() ends the thread; subscriptions left over deliver nothing.
class Subscriber : public std::enable_shared_from_this<Subscriber> {
 public:
  Subscriber(RedisOptions options, std::string description, LocateSlot locate);
  ~Subscriber();
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  // Events of namespace `ns` for `callback`. Returns once the channel is subscribed (so that no later
  // write is missed) or an attempt to subscribe it failed (Redis down: the caller is not held up; the
  // thread keeps trying), at most connect_timeout + command_timeout.
  std::unique_ptr<ChangeSubscription> watch(const std::string& ns, ChangeCallback callback);

  // Stops the thread and closes its connections (the store calls it before its router goes).
  void stop();

 private:
  class Handle;
  struct Node;
  struct Watcher {
    std::string channel;
    std::shared_ptr<ChangeCallback> callback;
  };
  // What a watched channel's waiters know: not settled yet, subscribed, or the last attempt failed.
  enum class Status { kPending, kSubscribed, kFailed };
  struct Channel {
    std::size_t watchers = 0;
    Status status = Status::kPending;
  };

  void unwatch(std::uint64_t id);
  void wake();
  void run();
  // Subscribes wanted channels that no node has, unsubscribes unwanted ones, closes idle nodes.
  void reconcile();
  // SSUBSCRIBEs the wanted channels no node has, each on the node serving its slot.
  void place(const std::set<std::string>& wanted);
  // Reads what `node` sent and acts on it; false if its connection failed.
  bool read_from(Node& node);
  bool handle_reply(Node& node, const redisReply& reply);
  bool send(Node& node, const std::vector<std::string_view>& args);
  // The node's connection is gone: its channels are to be subscribed again, after a map refresh.
  void lose(const std::string& key, const std::string& why);
  void retry_later(bool refresh_map);
  void set_status(const std::string& channel, Status status);
  void deliver(const std::string& channel, std::string_view payload);
  std::chrono::milliseconds wait_budget() const;

  const RedisOptions options_;
  const std::string description_;
  const LocateSlot locate_;
  int wake_fd_ = -1;

  std::mutex mutex_;  // guards the members up to thread_
  std::condition_variable settled_;
  std::map<std::uint64_t, Watcher> watchers_;
  std::map<std::string, Channel> channels_;  // every channel someone watches
  std::uint64_t next_id_ = 1;
  bool stopping_ = false;
  std::thread thread_;

  std::mutex delivery_mutex_;  // held while callbacks run, so that unwatch() can wait one out

  // The thread's own state.
  std::map<std::string, std::unique_ptr<Node>> nodes_;  // by "host:port" (or socket path)
  std::chrono::steady_clock::time_point retry_at_{};
  std::chrono::milliseconds backoff_{0};
  bool refresh_map_ = false;
  bool warned_ = false;
};

}  // namespace memtrace::redis
