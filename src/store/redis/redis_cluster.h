// The cluster router: each command to the master of its key's hash slot, following MOVED and ASK,
// with one pipelined socket (and a pool for writes that WAIT) per node and the slot map refreshed when a
// node fails.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "store/redis/redis_router.h"
#include "store/redis/redis_slots.h"

namespace memtrace::redis {

// The slot map comes from CLUSTER SLOTS, asked of the known masters, then the seeds, then the known
// replicas (the first that answers wins). It is refreshed
//   - on MOVED (the slot is pointed at the new owner at once, the whole map is then re-read),
//   - when a node cannot be reached or a connection to it breaks (a failover promotes a replica),
//   - on CLUSTERDOWN / TRYAGAIN answers,
// at most once per reconnect_backoff_min. ASK is followed once with ASKING, without touching the map.
// A command whose connection broke after it was sent is not retried (it may have been executed);
// one that never left (the node refused the connection) goes to the slot's new master when the
// refreshed map names one, within the command timeout.
//
// Each node has its own Pool (redis_pool.h) with the store's options: the same connect and command
// timeouts, pool size and reconnect backoff as the single-node store. Reads, and writes that need no
// WAIT, take a turn on the node's shared pipeline; writes followed by WAIT lease a connection of their
// own, as the single-node router does. Scripts are loaded on each node
// on first use there (EVALSHA answers NOSCRIPT on a node that has not seen them; Script reloads).
//
// Thread-safety: every method may be called from any thread.
class ClusterRouter final : public Router {
 public:
  explicit ClusterRouter(RedisOptions options);
  Result<void> run(std::string_view key, const Work& work) override;
  Result<void> write(std::string_view key, const Work& work) override;
  Result<void> ping() override;
  int min_replicas() const override { return min_replicas_; }

  // Every node the last slot map named (masters first), then the seeds.
  std::vector<NodeAddress> nodes() const;
  // The connection options of the master serving `slot` (where the subscriber SSUBSCRIBEs to a
  // namespace's channel). With `refresh`, the slot map is read again first (at most once per
  // reconnect_backoff_min, as for commands). kUnavailable if no map names a master for it.
  Result<RedisOptions> master_options(int slot, bool refresh);

 private:
  Result<void> route(std::string_view key, const Work& work, bool write);
  // Re-reads the slot map unless that was done within reconnect_backoff_min (or `force`).
  Result<void> refresh(bool force);
  std::shared_ptr<Pool> pool_for(const NodeAddress& node);  // under mutex_
  std::shared_ptr<Pool> master_of(int slot);
  RedisOptions node_options(const NodeAddress& node) const;

  const RedisOptions options_;
  const std::string description_;
  const int min_replicas_;
  std::mutex refresh_mutex_;  // one refresh at a time; taken before mutex_
  std::chrono::steady_clock::time_point refreshed_at_{};
  std::optional<Error> last_refresh_error_;  // why the last refresh found no map; under refresh_mutex_
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Pool>> pools_;  // by "host:port"; pools outlive map changes
  std::vector<std::shared_ptr<Pool>> slots_;            // kSlotCount entries; null: nobody known
  std::vector<NodeAddress> masters_;
  std::vector<NodeAddress> replicas_;
};

}  // namespace memtrace::redis
