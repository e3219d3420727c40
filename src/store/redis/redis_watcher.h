// Live change events from Redis pub/sub: a subscriber connection on its own thread that reconnects
// with backoff and resubscribes when Redis goes away.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "store/redis/redis_connection.h"
#include "store/redis/redis_options.h"
#include "store/store.h"

namespace memtrace::redis {

// PSUBSCRIBEs to every namespace's events channel (kEventsPattern) and turns each message into a
// ChangeEvent for `callback`, which runs on the watcher's own thread. Events this process publishes
// arrive the same way as other processes' events. Pub/sub is at-most-once: events published while
// the subscriber is disconnected are not replayed.
//
// Thread-safety: the constructor starts the thread; the destructor (from any other thread) stops it
// promptly (an eventfd wakes its poll) and joins it. The callback must not destroy this object.
class Watcher final : public ChangeSubscription {
 public:
  Watcher(RedisOptions options, Endpoint endpoint, ChangeCallback callback);
  ~Watcher() override;
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  // Waits until the subscription is active (so that no later write is missed) or the first attempt
  // failed (Redis down: do not hold the caller up), at most `timeout`. True if subscribed.
  bool wait_subscribed(std::chrono::milliseconds timeout);

 private:
  void run();
  void listen(Connection& connection);  // returns on stop or when the connection fails
  void deliver(const redisReply& reply);
  void wait_for(std::chrono::milliseconds delay);  // interrupted by stop

  const RedisOptions options_;
  const Endpoint endpoint_;
  const ChangeCallback callback_;
  int stop_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable subscribed_changed_;
  bool subscribed_ = false;
  bool first_attempt_done_ = false;
  std::thread thread_;
};

}  // namespace memtrace::redis
