// The whole-store enumerations of the SQLite store (store.h: list_namespaces, list_agents,
// list_task_claims, storage_bytes), as queries on one connection. The store runs them on a reader.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "store/records.h"
#include "store/sqlite/sqlite_handle.h"

namespace memtrace::sqlite {

Result<std::vector<std::string>> list_namespaces(Connection& connection);
Result<std::vector<Agent>> list_agents(Connection& connection, const std::string& ns);
Result<std::vector<TaskClaim>> list_task_claims(Connection& connection, const std::string& ns,
                                                UnixMillis now);
// page_count * page_size of the main database (the WAL file aside).
Result<std::uint64_t> database_bytes(Connection& connection);

}  // namespace memtrace::sqlite
