// A small pool of Redis connections lent out by scoped leases; reconnects with backoff when Redis is away.
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

namespace memtrace::redis {

// Thread-safety: lease() may be called from any thread. A Lease (and its connection) is used by the
// one thread that took it; its destructor gives the connection back, or drops it if it broke.
//
// Connections are opened on demand, at most options.pool_size. A connection closed by the server while
// idle (restart, CLIENT KILL, timeout) is noticed before it is lent and replaced silently. After a
// failed connect, lease() fails at once with that error until the backoff passes (doubling from
// reconnect_backoff_min to reconnect_backoff_max), so a Redis that is down costs callers no waiting
// and one that comes back is used again by the next call after the backoff.
class Pool {
 public:
  Pool(RedisOptions options, Endpoint endpoint);
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  class Lease {
   public:
    Lease(Lease&& other) noexcept : pool_(other.pool_), connection_(std::move(other.connection_)) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    Connection& operator*() { return *connection_; }
    Connection* operator->() { return connection_.get(); }

   private:
    friend class Pool;
    Lease(Pool* pool, std::unique_ptr<Connection> connection)
        : pool_(pool), connection_(std::move(connection)) {}
    Pool* pool_;
    std::unique_ptr<Connection> connection_;
  };

  // A connection, or why there is none: kUnavailable (Redis unreachable, authentication failed) or
  // kTimeout (every connection stayed busy until the call's deadline, call_deadline()).
  Result<Lease> lease();

  const Endpoint& endpoint() const { return endpoint_; }
  // Where its connections go (and how they authenticate).
  const RedisOptions& options() const { return options_; }

 private:
  void give_back(std::unique_ptr<Connection> connection);

  const RedisOptions options_;
  const Endpoint endpoint_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::size_t open_ = 0;  // idle + lent + being opened
  std::chrono::steady_clock::time_point retry_at_{};
  std::chrono::milliseconds backoff_{0};
  std::optional<Error> last_connect_error_;
};

}  // namespace memtrace::redis
