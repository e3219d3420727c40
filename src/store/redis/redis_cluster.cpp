// Cluster routing: slot map, per-node pools, MOVED/ASK, refresh on failure, WAIT after writes.
#include "store/redis/redis_cluster.h"

#include <algorithm>
#include <utility>

#include <spdlog/spdlog.h>

namespace memtrace::redis {

ClusterRouter::ClusterRouter(RedisOptions options)
    : options_(std::move(options)),
      description_(describe_redis(options_)),
      min_replicas_(options_.min_replicas < 0 ? 1 : options_.min_replicas),
      slots_(kSlotCount) {}

RedisOptions ClusterRouter::node_options(const NodeAddress& node) const {
  RedisOptions options = options_;
  options.host = node.host;
  options.port = node.port;
  options.unix_path.clear();
  options.db = 0;
  return options;
}

std::shared_ptr<Pool> ClusterRouter::pool_for(const NodeAddress& node) {
  auto& pool = pools_[node.text()];
  if (!pool) {
    pool = std::make_shared<Pool>(
        node_options(node), Endpoint{description_ + " (node " + node.text() + ")", options_.command_timeout});
  }
  return pool;
}

std::shared_ptr<Pool> ClusterRouter::master_of(int slot) {
  std::lock_guard lock(mutex_);
  return slots_[static_cast<std::size_t>(slot)];
}

std::vector<NodeAddress> ClusterRouter::nodes() const {
  std::vector<NodeAddress> nodes;
  {
    std::lock_guard lock(mutex_);
    nodes = masters_;
    nodes.insert(nodes.end(), replicas_.begin(), replicas_.end());
  }
  for (const auto& [host, port] : options_.cluster_seeds) {
    NodeAddress seed{host, port};
    if (std::find(nodes.begin(), nodes.end(), seed) == nodes.end()) nodes.push_back(std::move(seed));
  }
  return nodes;
}

Result<RedisOptions> ClusterRouter::master_options(int slot, bool refresh_first) {
  if (refresh_first) (void)refresh(false);
  auto pool = master_of(slot);
  if (!pool) {
    if (auto refreshed = refresh(false); !refreshed) return tl::unexpected(refreshed.error());
    pool = master_of(slot);
  }
  if (!pool) {
    return fail(ErrorCode::kUnavailable, "redis cluster " + description_ + ": no master serves slot " +
                                             std::to_string(slot) + " (is every slot assigned?)");
  }
  return pool->options();
}

Result<void> ClusterRouter::refresh(bool force) {
  std::lock_guard serial(refresh_mutex_);
  const auto now = std::chrono::steady_clock::now();
  if (!force && now - refreshed_at_ < options_.reconnect_backoff_min) {
    if (last_refresh_error_) return tl::unexpected(*last_refresh_error_);  // still the latest word
    return {};
  }
  refreshed_at_ = now;
  std::vector<NodeAddress> candidates;
  {
    std::lock_guard lock(mutex_);
    candidates = masters_;
  }
  for (const auto& node : nodes()) {
    if (std::find(candidates.begin(), candidates.end(), node) == candidates.end()) candidates.push_back(node);
  }
  std::optional<Error> last_error;
  for (const auto& node : candidates) {
    const Endpoint endpoint{description_ + " (node " + node.text() + ")", options_.command_timeout};
    auto connection = DirectConnection::open(node_options(node), endpoint);
    if (!connection) {
      last_error = connection.error();
      continue;
    }
    auto reply = (*connection)->command({"CLUSTER", "SLOTS"});
    if (!reply) {
      last_error = reply.error();
      continue;
    }
    auto ranges = parse_cluster_slots(reply->get(), node.host);
    if (!ranges) {
      last_error = ranges.error();
      continue;
    }
    if (ranges->empty()) {
      last_error = Error{ErrorCode::kUnavailable, "node " + node.text() + " serves no slots yet"};
      continue;
    }
    last_refresh_error_.reset();
    std::lock_guard lock(mutex_);
    std::fill(slots_.begin(), slots_.end(), nullptr);
    masters_.clear();
    replicas_.clear();
    for (const auto& range : *ranges) {
      auto pool = pool_for(range.master);
      for (int slot = range.first; slot <= range.last; ++slot) slots_[static_cast<std::size_t>(slot)] = pool;
      if (std::find(masters_.begin(), masters_.end(), range.master) == masters_.end())
        masters_.push_back(range.master);
      for (const auto& replica : range.replicas) {
        if (std::find(replicas_.begin(), replicas_.end(), replica) == replicas_.end())
          replicas_.push_back(replica);
      }
    }
    return {};
  }
  last_refresh_error_ = Error{ErrorCode::kUnavailable,
                              "redis cluster " + description_ + ": no node answered CLUSTER SLOTS" +
                                  (last_error ? " (last: " + last_error->message + ")" : std::string())};
  return tl::unexpected(*last_refresh_error_);
}

Result<void> ClusterRouter::run(std::string_view key, const Work& work) {
  return route(key, work, false);
}

Result<void> ClusterRouter::write(std::string_view key, const Work& work) {
  return route(key, work, true);
}

Result<void> ClusterRouter::route(std::string_view key, const Work& work, bool write) {
  const int slot = hash_slot(key);
  const auto deadline = call_deadline(options_.command_timeout);
  auto pool = master_of(slot);
  if (!pool) {
    if (auto refreshed = refresh(false); !refreshed) return refreshed;
    pool = master_of(slot);
    if (!pool) {
      return fail(ErrorCode::kUnavailable, "redis cluster " + description_ + ": no master serves slot " +
                                               std::to_string(slot) + " (is every slot assigned?)");
    }
  }
  bool asking = false;
  constexpr int kMaxRedirects = 5;
  // WAIT holds up every command behind it on its socket: a write that waits for replicas has its own.
  const bool own_connection = write && min_replicas_ > 0;
  for (int redirects = 0;; ++redirects) {
    auto lease = own_connection ? pool->lease() : pool->share();
    if (!lease) {
      // Nothing was sent: the node is down or unreachable. After a failover the refreshed map names
      // the slot's new master; try it while time remains.
      (void)refresh(false);
      auto now_serving = master_of(slot);
      if (now_serving && now_serving != pool && std::chrono::steady_clock::now() < deadline &&
          redirects < kMaxRedirects) {
        pool = now_serving;
        asking = false;
        continue;
      }
      return tl::unexpected(lease.error());
    }
    (*lease)->set_asking(asking);
    auto done = work(**lease);
    (*lease)->set_asking(false);
    if (done) {
      if (!write) return done;
      return wait_for_replicas(**lease, min_replicas_, options_.command_timeout,
                               pool->endpoint().description);
    }
    const std::string& answer = (*lease)->last_error_reply();
    auto redirect = parse_redirect(answer);
    if (!redirect) {
      if ((*lease)->broken() || answer.starts_with("CLUSTERDOWN") || answer.starts_with("TRYAGAIN") ||
          answer.starts_with("READONLY") || answer.starts_with("MASTERDOWN")) {
        (void)refresh(false);  // the node may have failed or lost its slots: the next call asks the new map
      }
      return done;
    }
    if (redirects >= kMaxRedirects) {
      return fail(ErrorCode::kUnavailable, "redis cluster " + description_ + ": slot " +
                                               std::to_string(slot) + " keeps moving (" + answer +
                                               "); try again shortly");
    }
    if (redirect->kind == Redirect::Kind::kMoved) {
      {
        std::lock_guard lock(mutex_);
        slots_[static_cast<std::size_t>(redirect->slot)] = pool_for(redirect->to);
      }
      spdlog::debug("redis cluster: slot {} moved to {}", redirect->slot, redirect->to.text());
      (void)refresh(false);
      pool = master_of(slot);
      if (!pool) {  // the map read meanwhile does not name the slot yet: trust the redirection
        std::lock_guard lock(mutex_);
        pool = pool_for(redirect->to);
      }
      asking = false;
    } else {
      std::lock_guard lock(mutex_);
      pool = pool_for(redirect->to);
      asking = true;
    }
  }
}

Result<void> ClusterRouter::ping() {
  if (auto refreshed = refresh(true); !refreshed) return refreshed;
  std::vector<std::shared_ptr<Pool>> masters;
  {
    std::lock_guard lock(mutex_);
    for (const auto& node : masters_) masters.push_back(pool_for(node));
  }
  for (const auto& pool : masters) {
    auto lease = pool->share();
    if (!lease) return tl::unexpected(lease.error());
    auto reply = (*lease)->command({"PING"});
    if (!reply) return tl::unexpected(reply.error());
  }
  return {};
}

}  // namespace memtrace::redis
