// Opens the store a --store spec names. The one place that knows every backend.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "core/error.h"
#include "store/store.h"

namespace memtrace::app {

// Options from flags that a backend may use; each takes what applies to it.
struct StoreOpenOptions {
  std::chrono::milliseconds redis_connect_timeout{2000};  // --redis-connect-timeout-ms; default 2 s
  std::chrono::milliseconds redis_command_timeout{2000};  // --redis-command-timeout-ms; default 2 s
  int redis_min_replicas = -1;  // --redis-min-replicas; default -1: 1 on a cluster, 0 on one server
  int redis_layout = 2;         // --redis-layout: the key layout new Redis namespaces get (RedisOptions)
  std::size_t max_memories_per_session = 0;  // --max-memories-per-session; 0 (default): unlimited. Redis only
  // --change-retention; default 7 days
  std::chrono::milliseconds change_retention{std::chrono::hours(24 * 7)};
  std::size_t sqlite_cache_mib = 1;  // --sqlite-cache-mib: the write connection's page cache. SQLite only
};

// "sqlite:PATH" (also "sqlite://PATH"), "memory", empty for the default SQLite file,
// "redis://[user:password@]host[:port][/db]" or "redis+unix://[user:password@]/path.sock[?db=N]".
Result<std::unique_ptr<Store>> open_store(const std::string& spec, const StoreOpenOptions& options = {});

}  // namespace memtrace::app
