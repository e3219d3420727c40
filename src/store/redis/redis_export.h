// The whole-store enumerations of the Redis store (store.h: list_namespaces, list_agents,
// list_task_claims, storage_bytes), on one connection. Agents and claims have no index of their own, so
// these walk the namespace's keys with SCAN: fine for a one-shot export, never used on the request path.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "store/records.h"
#include "store/redis/redis_claims.h"
#include "store/redis/redis_connection.h"

namespace memtrace::redis {

Result<std::vector<std::string>> list_namespaces(Connection& connection);
Result<std::vector<Agent>> list_agents(Connection& connection, const std::string& ns);
Result<std::vector<TaskClaim>> list_task_claims(Connection& connection, ClaimScripts& scripts,
                                                const std::string& ns, UnixMillis now);
// INFO memory's used_memory: what the whole Redis server holds (other data included).
Result<std::uint64_t> used_memory(Connection& connection);

}  // namespace memtrace::redis
