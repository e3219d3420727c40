// The SQLite store's write_memory: deduplication and superseding, in the write's own transaction.
#include <algorithm>
#include <string>
#include <vector>

#include "store/dedup.h"
#include "store/sqlite/sqlite_store_internal.h"

namespace memtrace::sqlite {

Result<WriteOutcome> SqliteStore::write_memory(const Memory& memory, const WriteOptions& options) {
  if (memory.superseded_by || memory.valid_until) {
    return fail(ErrorCode::kInvalidArgument, "a new memory cannot be superseded already");
  }
  // BEGIN IMMEDIATE: of two identical writes from any processes, the second waits for the first to
  // commit and then finds it as its duplicate.
  return write("store memory", [&](Connection& connection) -> Result<WriteOutcome> {
    // The session first, so that a missing or closed session is reported as such (the engine creates
    // the caller's own session on that error and tries again) before any other check.
    auto status = session_status(connection, memory.ns, memory.session_id);
    if (!status) return tl::unexpected(status.error());
    if (!*status) {
      return fail(ErrorCode::kNotFound, "cannot store memory " + memory.id + ": there is no session " +
                                            memory.session_id + " in namespace " + memory.ns);
    }
    if (options.idempotency_key) {
      auto first = find_by_idempotency_key(connection, memory, *options.idempotency_key);
      if (!first) return tl::unexpected(first.error());
      if (*first) return WriteOutcome::deduplicated(std::move(**first));
    }
    if (options.dedup_window_ms > 0) {
      auto duplicate = find_duplicate(connection, memory, options);
      if (!duplicate) return tl::unexpected(duplicate.error());
      if (*duplicate) return WriteOutcome::deduplicated(std::move(**duplicate));
    }
    if (auto inserted = insert_memory_row(connection, memory); !inserted)
      return tl::unexpected(inserted.error());
    if (auto marked = supersede(connection, memory, options.supersedes); !marked) {
      return tl::unexpected(marked.error());
    }
    if (options.idempotency_key) {
      auto statement = connection.prepare(
          "INSERT INTO idempotency_keys (ns, key, memory_id, created_at) VALUES (?1, ?2, ?3, ?4) "
          "ON CONFLICT (ns, key) DO UPDATE SET memory_id = excluded.memory_id, created_at = "
          "excluded.created_at",
          "record the idempotency key");
      if (!statement) return tl::unexpected(statement.error());
      statement->bind(memory.ns).bind(*options.idempotency_key).bind(memory.id).bind(memory.created_at);
      if (auto done = statement->run(); !done) return tl::unexpected(done.error());
    }
    return WriteOutcome{};
  });
}

// The live memory written with `key` in memory's namespace within kIdempotencyWindowMs before it.
Result<std::optional<Memory>> SqliteStore::find_by_idempotency_key(Connection& connection,
                                                                   const Memory& memory,
                                                                   const std::string& key) {
  auto statement = connection.prepare(
      "SELECT " + std::string(kMemoryColumns) +
          " FROM idempotency_keys AS k JOIN memories AS m ON m.ns = k.ns AND m.id = k.memory_id"
          " WHERE k.ns = ?1 AND k.key = ?2 AND k.created_at > ?3"
          " AND (m.expires_at IS NULL OR m.expires_at > ?4)",
      "find the memory of an idempotency key");
  if (!statement) return tl::unexpected(statement.error());
  statement->bind(memory.ns).bind(key).bind(memory.created_at - kIdempotencyWindowMs).bind(memory.created_at);
  auto row = statement->step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return std::optional<Memory>();
  return std::optional<Memory>(read_memory(*statement, memory.ns));
}

// The newest live, not superseded memory of the namespace equal to `memory` in type, content, tags,
// agent and session, created within the window before it; with supersedes, only one that already
// supersedes every one of them (the same call made again).
Result<std::optional<Memory>> SqliteStore::find_duplicate(Connection& connection, const Memory& memory,
                                                          const WriteOptions& options) {
  std::optional<Memory> found;
  {
    // Newest first among the few rows with this fingerprint; the fields are compared here, so a
    // fingerprint collision never merges two different memories.
    auto statement =
        connection.prepare("SELECT " + std::string(kMemoryColumns) +
                               " FROM memories AS m INDEXED BY memories_by_dedup_key"
                               " WHERE m.ns = ?1 AND m.dedup_key = ?2 AND m.created_at > ?3"
                               " AND (m.expires_at IS NULL OR m.expires_at > ?4) AND m.superseded_by IS NULL"
                               " AND m.type = ?5 AND m.content = ?6 AND m.agent_id = ?7 AND m.session_id = ?8"
                               " ORDER BY m.id DESC",
                           "find a duplicate memory");
    if (!statement) return tl::unexpected(statement.error());
    statement->bind(memory.ns)
        .bind(dedup_fingerprint(memory))
        .bind(memory.created_at - options.dedup_window_ms)
        .bind(memory.created_at)
        .bind(memory.type)
        .bind(memory.content)
        .bind(memory.agent_id)
        .bind(memory.session_id);
    for (;;) {
      auto row = statement->step();
      if (!row) return tl::unexpected(row.error());
      if (!*row) return std::optional<Memory>();
      Memory candidate = read_memory(*statement, memory.ns);
      if (same_for_dedup(candidate, memory)) {
        found = std::move(candidate);
        break;
      }
    }
  }
  for (const auto& id : options.supersedes) {
    auto statement =
        connection.prepare("SELECT 1 FROM memories WHERE ns = ?1 AND id = ?2 AND superseded_by = ?3",
                           "check a superseded memory");
    if (!statement) return tl::unexpected(statement.error());
    statement->bind(memory.ns).bind(id).bind(found->id);
    auto row = statement->step();
    if (!row) return tl::unexpected(row.error());
    // Not superseded by the duplicate yet: returning it would drop the supersede, so the write goes on.
    if (!*row) return std::optional<Memory>();
  }
  return found;
}

// Marks each memory of `ids` as superseded by `newer`, or refuses (and the caller's transaction rolls
// back) if one is unknown in the namespace, expired at newer's time, or already superseded.
Result<void> SqliteStore::supersede(Connection& connection, const Memory& newer,
                                    const std::vector<std::string>& ids) {
  for (const auto& id : ids) {
    std::string old_session;
    {
      auto statement = connection.prepare(
          "SELECT superseded_by, session_id FROM memories WHERE ns = ?1 AND id = ?2"
          " AND (expires_at IS NULL OR expires_at > ?3)",
          "find the superseded memory");
      if (!statement) return tl::unexpected(statement.error());
      statement->bind(newer.ns).bind(id).bind(newer.created_at);
      auto row = statement->step();
      if (!row) return tl::unexpected(row.error());
      if (!*row) {
        return fail(ErrorCode::kNotFound,
                    "cannot supersede memory " + id + ": there is no such memory in namespace " + newer.ns +
                        " (a memory can only supersede memories of its own "
                        "namespace that have not expired or been forgotten); nothing was stored");
      }
      if (auto by = statement->optional_text(0)) {
        return fail(ErrorCode::kConflict, "memory " + id + " is already superseded by " + *by +
                                              "; supersede " + *by + " instead (nothing was stored)");
      }
      old_session = statement->text(1);
    }
    auto statement = connection.prepare(
        "UPDATE memories SET superseded_by = ?3, valid_until = ?4 WHERE ns = ?1 AND id = ?2",
        "mark the memory superseded");
    if (!statement) return tl::unexpected(statement.error());
    statement->bind(newer.ns).bind(id).bind(newer.id).bind(newer.created_at);
    if (auto done = statement->run(); !done) return done;
    // The feed entry names the superseded memory and its session, and the agent that superseded it.
    if (auto logged =
            append_superseded(connection, newer.ns, id, newer.agent_id, old_session, newer.created_at);
        !logged) {
      return logged;
    }
  }
  return {};
}

}  // namespace memtrace::sqlite
