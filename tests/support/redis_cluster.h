// A private Redis Cluster for tests: masters and replicas, each a redis-server (redis_server.h) on a
// loopback port picked at run time, joined with `redis-cli --cluster create`.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "support/redis_server.h"

namespace memtrace::testing {

struct RedisClusterOptions {
  std::size_t masters = 3;              // default 3
  std::size_t replicas_per_master = 1;  // default 1
  // cluster-node-timeout: how long a master may be silent before its replica takes over. Default 1 s
  // (production uses 15 s; tests want quick failovers).
  std::chrono::milliseconds node_timeout{1000};
  std::chrono::milliseconds start_deadline{60000};  // until cluster_state:ok everywhere
};

// Starts masters * (1 + replicas_per_master) nodes (`redis-server --cluster-enabled yes`), each with a
// TCP port P picked by binding port 0 and releasing it, whose cluster bus port P + 10000 must also be
// free (a start that fails on a port taken meanwhile is retried on new ports), creates the cluster
// and returns once every node reports cluster_state:ok and agrees on the slot map. Throws, with the
// nodes' logs, if redis-server or redis-cli is missing or the cluster does not form in time (the test
// then fails, never skips). The destructor stops every node and removes their dirs.
//
// Thread-safety: none; use from the thread that created it (the nodes die with that thread).
class RedisCluster {
 public:
  explicit RedisCluster(RedisClusterOptions options = {});
  ~RedisCluster();
  RedisCluster(const RedisCluster&) = delete;
  RedisCluster& operator=(const RedisCluster&) = delete;

  // redis+cluster://127.0.0.1:<port>,... naming every node as a seed.
  std::string url() const;
  std::size_t size() const { return nodes_.size(); }
  RedisServer& node(std::size_t index) { return *nodes_[index]; }

  // The node serving `slot` as master, by the slot map of a running node; throws if none answers.
  std::size_t master_of_slot(int slot) const;
  // Whether the node at `index` reports role master (ROLE), false if it is down or does not answer.
  bool is_master(std::size_t index) const;
  // The node that replicates the master at `index` (by CLUSTER REPLICAS through another node).
  std::size_t replica_of(std::size_t master_index) const;
  // FLUSHALL on every running master (SCRIPT caches stay).
  void flush_all();
  // Polls until every running node reports cluster_state:ok and the same master for every slot range;
  // throws after `deadline`.
  void wait_until_healthy(std::chrono::milliseconds deadline);

 private:
  std::size_t index_of_port(int port) const;
  RespValue command_on_any(const std::vector<std::string>& args) const;

  RedisClusterOptions options_;
  std::vector<std::unique_ptr<RedisServer>> nodes_;
};

// One cluster for the whole test process (3 masters, 3 replicas), started on first use from the
// calling thread (call it first from the main thread: the nodes die with the thread that started
// them) and stopped at exit. Tests FLUSHALL it (flush_all) before use.
RedisCluster& shared_redis_cluster();

}  // namespace memtrace::testing
