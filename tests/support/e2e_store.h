// Which store the end-to-end tests run memtrace-mcp on: SQLite by default, Redis when
// MEMTRACE_E2E_STORE=redis (ctest runs the stdio suites a second time that way, as "redis.<test>").
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "support/redis_server.h"
#include "support/temp_dir.h"

namespace memtrace::testing {

class RedisCluster;

// One per test. On SQLite, `shared()` is a fresh file in a temp dir (for tests where several processes
// share a store or a process restarts) and `single()` is `memory` (one process is enough; keeps the
// suite fast). On Redis both are `redis://127.0.0.1:<port>` of a redis-server started for this test
// alone on a loopback port the kernel picked, and stopped with this object; so the same tests, unchanged,
// show the same behaviour on both stores. With MEMTRACE_E2E_STORE=cluster both are the
// redis+cluster:// URL of one Redis Cluster shared by every test of the process (support/redis_cluster.h),
// FLUSHALLed for each test.
//
// Thread-safety: create and destroy it on the test's own thread; the accessors are const.
class E2eStore {
 public:
  // Throws (failing the test, never skipping it) if MEMTRACE_E2E_STORE names an unknown store or
  // redis-server cannot be started.
  E2eStore();
  ~E2eStore();
  E2eStore(const E2eStore&) = delete;
  E2eStore& operator=(const E2eStore&) = delete;

  bool is_redis() const { return redis_ != nullptr || cluster_ != nullptr; }
  // A --store value that every server process of this test shares and that outlives a restart.
  std::string shared() const;
  // A --store value for a test with a single server process.
  std::string single() const;
  // {"--store", single()} followed by `extra`: the arguments of a one-process test's server.
  std::vector<std::string> single_args(std::vector<std::string> extra = {}) const;
  // {"--store", shared()} followed by `extra`.
  std::vector<std::string> shared_args(std::vector<std::string> extra = {}) const;

 private:
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<RedisServer> redis_;
  RedisCluster* cluster_ = nullptr;  // MEMTRACE_E2E_STORE=cluster: the process's shared cluster
};

}  // namespace memtrace::testing
