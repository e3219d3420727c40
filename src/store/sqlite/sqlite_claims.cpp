// Task claims in the SQLite store: each call one BEGIN IMMEDIATE transaction, so claims of one task queue up.
#include <string>
#include <utility>

#include "store/sqlite/sqlite_store_internal.h"

namespace memtrace::sqlite {

Result<ClaimOutcome> SqliteStore::claim_task(const std::string& ns, const std::string& task_id,
                                             const std::string& holder_agent,
                                             const std::string& holder_session, UnixMillis lease_until,
                                             UnixMillis now) {
  if (auto checked = check_claim(task_id, holder_agent, holder_session); !checked) {
    return tl::unexpected(checked.error());
  }
  if (lease_until <= now) return fail(ErrorCode::kInvalidArgument, "a lease must end after now");
  return write("claim task", [&](Connection& connection) -> Result<ClaimOutcome> {
    auto held = read_claim(connection, ns, task_id, now);
    if (!held) return tl::unexpected(held.error());
    ClaimOutcome outcome;
    if (*held && ((*held)->holder_agent != holder_agent || (*held)->holder_session != holder_session)) {
      outcome.current = std::move(**held);
      return outcome;
    }
    outcome.claimed = true;
    outcome.renewed = held->has_value();
    outcome.current =
        TaskClaim{ns, task_id, holder_agent, holder_session, *held ? (*held)->claimed_at : now, lease_until};
    {
      auto statement = connection.prepare(
          "INSERT OR REPLACE INTO task_claims "
          "(ns, task_id, holder_agent, holder_session, claimed_at, lease_until) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
          "claim task");
      if (!statement) return tl::unexpected(statement.error());
      statement->bind(ns)
          .bind(task_id)
          .bind(holder_agent)
          .bind(holder_session)
          .bind(outcome.current.claimed_at)
          .bind(lease_until);
      if (auto done = statement->run(); !done) return tl::unexpected(done.error());
    }
    // The holder takes part in its session (if stored), as a write would record it.
    auto statement = connection.prepare(
        "INSERT INTO session_agents (ns, session_id, agent_id, wrote) SELECT ?1, ?2, ?3, 1 "
        "WHERE EXISTS (SELECT 1 FROM sessions WHERE ns = ?1 AND id = ?2) "
        "ON CONFLICT (ns, session_id, agent_id) DO UPDATE SET wrote = 1 WHERE wrote = 0",
        "record the claim holder in its session");
    if (!statement) return tl::unexpected(statement.error());
    statement->bind(ns).bind(holder_session).bind(holder_agent);
    if (auto done = statement->run(); !done) return tl::unexpected(done.error());
    return outcome;
  });
}

Result<bool> SqliteStore::release_task(const std::string& ns, const std::string& task_id,
                                       const std::string& holder_agent, const std::string& holder_session,
                                       UnixMillis now) {
  if (auto checked = check_claim(task_id, holder_agent, holder_session); !checked) {
    return tl::unexpected(checked.error());
  }
  return write("release task", [&](Connection& connection) -> Result<bool> {
    auto statement = connection.prepare(
        "DELETE FROM task_claims WHERE ns = ?1 AND task_id = ?2 AND holder_agent = ?3 "
        "AND holder_session = ?4 AND lease_until > ?5",
        "release task");
    if (!statement) return tl::unexpected(statement.error());
    statement->bind(ns).bind(task_id).bind(holder_agent).bind(holder_session).bind(now);
    if (auto done = statement->run(); !done) return tl::unexpected(done.error());
    return statement->changes() > 0;
  });
}

Result<std::optional<TaskClaim>> SqliteStore::get_task_claim(const std::string& ns,
                                                             const std::string& task_id, UnixMillis now) {
  return database_->read([&](Connection& connection) { return read_claim(connection, ns, task_id, now); });
}

Result<void> SqliteStore::check_claim(const std::string& task_id, const std::string& holder_agent,
                                      const std::string& holder_session) {
  if (task_id.empty()) return fail(ErrorCode::kInvalidArgument, "task id must not be empty");
  if (holder_agent.empty() || holder_session.empty()) {
    return fail(ErrorCode::kInvalidArgument, "a claim holder needs an agent and a session");
  }
  return {};
}

// The claim of the task in force at `now`, if any.
Result<std::optional<TaskClaim>> SqliteStore::read_claim(Connection& connection, const std::string& ns,
                                                         const std::string& task_id, UnixMillis now) {
  auto statement = connection.prepare(
      "SELECT holder_agent, holder_session, claimed_at, lease_until FROM task_claims "
      "WHERE ns = ?1 AND task_id = ?2 AND lease_until > ?3",
      "read task claim");
  if (!statement) return tl::unexpected(statement.error());
  statement->bind(ns).bind(task_id).bind(now);
  auto row = statement->step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return std::optional<TaskClaim>();
  return std::optional<TaskClaim>(TaskClaim{ns, task_id, statement->text(0), statement->text(1),
                                            statement->int64(2), statement->int64(3)});
}
}  // namespace memtrace::sqlite
