#include "app/open_store.h"

#include "app/config.h"
#include "store/redis/redis_store.h"
#include "store/sqlite/sqlite_store.h"

namespace memtrace::app {

Result<std::unique_ptr<Store>> open_store(const std::string& spec, const StoreOpenOptions& options) {
  const auto starts_with = [&spec](const char* prefix) { return spec.rfind(prefix, 0) == 0; };
  if (starts_with("redis://") || starts_with("redis+unix://") || starts_with("rediss://") ||
      starts_with("redis+cluster://")) {
    auto redis = parse_redis_url(spec);
    if (!redis) return tl::unexpected(redis.error());
    redis->connect_timeout = options.redis_connect_timeout;
    redis->command_timeout = options.redis_command_timeout;
    redis->min_replicas = options.redis_min_replicas;
    redis->max_memories_per_session = options.max_memories_per_session;
    redis->new_namespace_layout = options.redis_layout;
    redis->change_retention = options.change_retention;
    return open_redis_store(*redis);
  }
  SqliteOptions sqlite;
  sqlite.max_memories_per_session = options.max_memories_per_session;
  sqlite.change_retention = options.change_retention;
  sqlite.write_cache_mib = options.sqlite_cache_mib;
  if (spec.empty()) {
    sqlite.path = default_database_path();
    if (sqlite.path.empty()) {
      return fail(ErrorCode::kInvalidArgument,
                  "cannot place the default database: neither XDG_DATA_HOME nor HOME is set; pass --store "
                  "sqlite:PATH");
    }
    return open_sqlite_store(sqlite);
  }
  if (spec == "memory") {
    sqlite.path = ":memory:";
    return open_sqlite_store(sqlite);
  }
  for (const char* prefix : {"sqlite://", "sqlite:"}) {
    if (spec.rfind(prefix, 0) == 0) {
      sqlite.path = spec.substr(std::string(prefix).size());
      if (sqlite.path.empty()) return fail(ErrorCode::kInvalidArgument, "--store sqlite: needs a path");
      return open_sqlite_store(sqlite);
    }
  }
  return fail(ErrorCode::kInvalidArgument,
              "--store must be sqlite:PATH, memory, redis://host[:port][/db] or "
              "redis+unix:///path.sock or redis+cluster://host:port[,host:port...]; got \"" +
                  spec + "\"");
}

}  // namespace memtrace::app
