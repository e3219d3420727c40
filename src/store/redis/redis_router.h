// Where a Redis store's commands go: the one server, or (redis_cluster.h) the master of a key's slot;
// and the acknowledgement of a write by replicas (WAIT).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/error.h"
#include "store/redis/redis_connection.h"
#include "store/redis/redis_options.h"
#include "store/redis/redis_pool.h"

namespace memtrace::redis {

// Thread-safety: every method may be called from any thread.
class Router {
 public:
  // Work on one connection. It may run more than once: again on another node after a MOVED or ASK
  // redirection (which Redis answers before executing anything), so it must start from scratch.
  using Work = std::function<Result<void>(Connection&)>;

  virtual ~Router() = default;

  // Runs `work` on a connection to the node that serves `key` (a key, or a namespace prefix: every key
  // of a namespace shares its hash tag, redis_keys.h).
  virtual Result<void> run(std::string_view key, const Work& work) = 0;
  // As run(), then, when min_replicas() > 0, waits on the same connection (WAIT) until that many
  // replicas have the write; if they do not confirm within the command timeout the write fails with
  // kUnavailable saying it may or may not have been stored.
  virtual Result<void> write(std::string_view key, const Work& work) = 0;
  // Every node this store routes to answers PING.
  virtual Result<void> ping() = 0;
  virtual int min_replicas() const = 0;
};

// WAIT numreplicas <most of the command timeout> on `connection`, after a write on it.
Result<void> wait_for_replicas(Connection& connection, int min_replicas,
                               std::chrono::milliseconds command_timeout, const std::string& description);

// The single-node router: the connections to the one server (one shared by pipelining; writes that wait
// for replicas lease one of their own).
class SingleNodeRouter final : public Router {
 public:
  SingleNodeRouter(const RedisOptions& options, const Endpoint& endpoint);
  Result<void> run(std::string_view key, const Work& work) override;
  Result<void> write(std::string_view key, const Work& work) override;
  Result<void> ping() override;
  int min_replicas() const override { return min_replicas_; }

 private:
  const RedisOptions options_;
  const Endpoint endpoint_;
  const int min_replicas_;
  Pool pool_;
};

}  // namespace memtrace::redis
