// The single-node router, and WAIT for replicas after a write.
#include "store/redis/redis_router.h"

#include <algorithm>
#include <chrono>

namespace memtrace::redis {

Result<void> wait_for_replicas(Connection& connection, int min_replicas,
                               std::chrono::milliseconds command_timeout, const std::string& description) {
  if (min_replicas <= 0) return {};
  // Wait for three quarters of what is left of the call's time, leaving the rest for the reply.
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(call_deadline(command_timeout) -
                                                                          std::chrono::steady_clock::now());
  const auto wait_ms = std::max<long long>(left.count() * 3 / 4, 1);
  const std::string wanted = std::to_string(min_replicas);
  const std::string ms = std::to_string(wait_ms);
  auto reply = connection.command({"WAIT", wanted, ms});
  long long confirmed = reply ? reply_integer(reply->get()) : -1;
  if (reply && confirmed >= min_replicas) return {};
  std::string got =
      reply ? std::to_string(confirmed) + " of " + wanted + " replicas confirmed it within " + ms + " ms"
            : "waiting for " + wanted + " replicas failed (" + reply.error().message + ")";
  return fail(
      ErrorCode::kUnavailable,
      "redis store " + description + " took the write, but " + got +
          " (--redis-min-replicas): it may or may not have been stored, and a failover now could lose "
          "it. Before retrying, look it up (recall or get it) so that a retry does not store it twice");
}

SingleNodeRouter::SingleNodeRouter(const RedisOptions& options, const Endpoint& endpoint)
    : options_(options),
      endpoint_(endpoint),
      min_replicas_(std::max(options.min_replicas, 0)),
      pool_(options, endpoint) {}

Result<void> SingleNodeRouter::run(std::string_view, const Work& work) {
  auto lease = pool_.share();
  if (!lease) return tl::unexpected(lease.error());
  return work(**lease);
}

Result<void> SingleNodeRouter::write(std::string_view, const Work& work) {
  // WAIT holds up every command behind it on its socket: a write that waits for replicas has its own.
  auto lease = min_replicas_ > 0 ? pool_.lease() : pool_.share();
  if (!lease) return tl::unexpected(lease.error());
  if (auto done = work(**lease); !done) return done;
  return wait_for_replicas(**lease, min_replicas_, options_.command_timeout, endpoint_.description);
}

Result<void> SingleNodeRouter::ping() {
  auto lease = pool_.share();
  if (!lease) return tl::unexpected(lease.error());
  auto reply = (*lease)->command({"PING"});
  if (!reply) return tl::unexpected(reply.error());
  return {};
}

}  // namespace memtrace::redis
