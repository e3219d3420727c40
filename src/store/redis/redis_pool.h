// The connections to one Redis node: one socket shared by pipelining for ordinary commands, and a small
// pool of connections of their own lent out by scoped leases; reconnects with backoff when Redis is away.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "core/error.h"
#include "store/redis/redis_connection.h"
#include "store/redis/redis_options.h"
#include "store/redis/redis_pipeline.h"

namespace memtrace::redis {

// Thread-safety: share() and lease() may be called from any thread. A Lease (and its connection) is used
// by the one thread that took it; its destructor gives the connection back, or drops it if it broke.
//
// share() lends a turn on the node's shared Pipeline (redis_pipeline.h): what nearly every call uses, so
// that concurrent calls share one socket and its system calls instead of holding a connection each.
// lease() lends a connection of its own, for what must not be pipelined with other calls (WAIT for
// replicas, which would hold up every call behind it); at most options.pool_size are open.
//
// Connections are opened on demand. A connection (or the pipeline) closed by the server while idle
// (restart, CLIENT KILL, timeout) is noticed before it is lent and replaced silently. After a failed
// connect, share() and lease() fail at once with that error until the backoff passes (doubling from
// reconnect_backoff_min to reconnect_backoff_max), so a Redis that is down costs callers no waiting
// and one that comes back is used again by the next call after the backoff.
class Pool {
 public:
  Pool(RedisOptions options, Endpoint endpoint);
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  class Lease {
   public:
    Lease(Lease&& other) noexcept
        : pool_(other.pool_), direct_(std::move(other.direct_)), shared_(std::move(other.shared_)) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    Connection& operator*() { return direct_ ? static_cast<Connection&>(*direct_) : *shared_; }
    Connection* operator->() { return &**this; }

   private:
    friend class Pool;
    Lease(Pool* pool, std::unique_ptr<DirectConnection> connection)
        : pool_(pool), direct_(std::move(connection)) {}
    explicit Lease(std::shared_ptr<Pipeline> pipeline) : pool_(nullptr), shared_(std::move(pipeline)) {}
    Pool* pool_;
    std::unique_ptr<DirectConnection> direct_;   // lent by lease()
    std::optional<PipelinedConnection> shared_;  // lent by share()
  };

  // A turn on the shared pipeline, or why there is none: kUnavailable (Redis unreachable,
  // authentication failed) or kTimeout (the call's time ran out while another call opened it).
  Result<Lease> share();
  // A connection of its own, or why there is none: kUnavailable (Redis unreachable, authentication
  // failed) or kTimeout (every connection stayed busy until the call's deadline, call_deadline()).
  Result<Lease> lease();

  const Endpoint& endpoint() const { return endpoint_; }
  // Where its connections go (and how they authenticate).
  const RedisOptions& options() const { return options_; }

 private:
  void give_back(std::unique_ptr<DirectConnection> connection);
  // Under mutex_: opens a connection (with the mutex released meanwhile) unless the backoff after a
  // failed connect has not passed; keeps the backoff up to date.
  Result<std::unique_ptr<DirectConnection>> open_locked(std::unique_lock<std::mutex>& lock);

  const RedisOptions options_;
  const Endpoint endpoint_;
  std::mutex mutex_;
  std::condition_variable available_;        // a leased connection came back
  std::condition_variable pipeline_opened_;  // a share() is done opening the pipeline
  std::shared_ptr<Pipeline> pipeline_;       // the shared one; replaced once it is retired
  bool opening_pipeline_ = false;            // a share() is opening the next one
  std::vector<std::unique_ptr<DirectConnection>> idle_;
  std::size_t open_ = 0;  // leased connections: idle + lent + being opened
  std::chrono::steady_clock::time_point retry_at_{};
  std::chrono::milliseconds backoff_{0};
  std::optional<Error> last_connect_error_;
};

}  // namespace memtrace::redis
