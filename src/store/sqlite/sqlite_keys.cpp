// API keys of the HTTP transport, kept in the SQLite store.
#include <optional>
#include <string>
#include <vector>

#include "store/sqlite/sqlite_store_internal.h"

namespace memtrace::sqlite {

Result<void> SqliteStore::put_api_key(const ApiKey& key) {
  return write("store API key", [&](Connection& connection) -> Result<void> {
    auto statement = connection.prepare(
        "INSERT INTO api_keys (id, ns, hash, label, created_at, revoked_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        "store API key");
    if (!statement) return tl::unexpected(statement.error());
    statement->bind(key.id)
        .bind(key.ns)
        .bind(key.hash)
        .bind(key.label)
        .bind(key.created_at)
        .bind(key.revoked_at);
    if (auto done = statement->run(); !done) {
      if (done.error().code == ErrorCode::kConflict) {
        return fail(ErrorCode::kConflict, "API key " + key.id + " exists");
      }
      return done;
    }
    return {};
  });
}

Result<std::optional<ApiKey>> SqliteStore::find_api_key_by_hash(const std::string& hash) {
  return database_->read([&](Connection& connection) -> Result<std::optional<ApiKey>> {
    auto statement = connection.prepare(
        "SELECT id, ns, hash, label, created_at, revoked_at FROM api_keys WHERE hash = ?1", "find API key");
    if (!statement) return tl::unexpected(statement.error());
    statement->bind(hash);
    auto row = statement->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return std::optional<ApiKey>();
    return std::optional<ApiKey>(read_api_key(*statement));
  });
}

Result<std::vector<ApiKey>> SqliteStore::list_api_keys(const std::optional<std::string>& ns) {
  return database_->read([&](Connection& connection) -> Result<std::vector<ApiKey>> {
    auto statement = connection.prepare(
        ns ? "SELECT id, ns, hash, label, created_at, revoked_at FROM api_keys WHERE ns = ?1 "
             "ORDER BY created_at, id"
           : "SELECT id, ns, hash, label, created_at, revoked_at FROM api_keys ORDER BY created_at, id",
        "list API keys");
    if (!statement) return tl::unexpected(statement.error());
    if (ns) statement->bind(*ns);
    std::vector<ApiKey> keys;
    for (;;) {
      auto row = statement->step();
      if (!row) return tl::unexpected(row.error());
      if (!*row) break;
      keys.push_back(read_api_key(*statement));
    }
    return keys;
  });
}

Result<bool> SqliteStore::revoke_api_key(const std::string& id, UnixMillis at) {
  return write("revoke API key", [&](Connection& connection) -> Result<bool> {
    auto statement = connection.prepare(
        "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1 RETURNING id",
        "revoke API key");
    if (!statement) return tl::unexpected(statement.error());
    statement->bind(id).bind(at);
    auto row = statement->step();
    if (!row) return tl::unexpected(row.error());
    bool found = *row;
    if (auto done = statement->run(); !done) return tl::unexpected(done.error());
    return found;
  });
}
}  // namespace memtrace::sqlite
