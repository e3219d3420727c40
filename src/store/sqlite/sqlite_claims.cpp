// Task claims in the SQLite store: claims with fencing tokens, releases, completion, reopening and
// history; each call one BEGIN IMMEDIATE transaction, so the steps of one task queue up.
#include <string>
#include <utility>

#include "store/sqlite/sqlite_store_internal.h"

namespace memtrace::sqlite {
namespace {

// A task_claims row as it is stored, whatever its state.
struct TaskRow {
  std::string holder_agent;
  std::string holder_session;
  UnixMillis claimed_at = 0;
  UnixMillis lease_until = 0;
  std::int64_t token = 0;
  std::string state;  // claimed | free | done
  std::optional<UnixMillis> done_at;
  std::string result_id;

  bool held_by(const std::string& agent, const std::string& session) const {
    return holder_agent == agent && holder_session == session;
  }
  bool in_force(UnixMillis now) const { return state == "claimed" && lease_until > now; }
  // The holder's token is still the newest: its lease may have run out, but nobody claimed since.
  bool token_current(std::int64_t given, const std::string& agent, const std::string& session) const {
    return state == "claimed" && token == given && held_by(agent, session);
  }
  TaskClaim claim(const std::string& ns, const std::string& task_id) const {
    return TaskClaim{ns, task_id, holder_agent, holder_session, claimed_at, lease_until, token};
  }
  TaskDone finished() const { return TaskDone{holder_agent, holder_session, done_at.value_or(0), result_id}; }
};

Result<std::optional<TaskRow>> read_row(Connection& connection, const std::string& ns,
                                        const std::string& task_id) {
  auto statement = connection.prepare(
      "SELECT holder_agent, holder_session, claimed_at, lease_until, token, state, done_at, result_id "
      "FROM task_claims WHERE ns = ?1 AND task_id = ?2",
      "read task");
  if (!statement) return tl::unexpected(statement.error());
  statement->bind(ns).bind(task_id);
  auto row = statement->step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return std::optional<TaskRow>();
  return std::optional<TaskRow>(TaskRow{
      statement->text(0), statement->text(1), statement->int64(2), statement->int64(3), statement->int64(4),
      statement->text(5), statement->optional_int64(6), statement->optional_text(7).value_or("")});
}

Result<void> write_row(Connection& connection, const std::string& ns, const std::string& task_id,
                       const TaskRow& row) {
  auto statement = connection.prepare(
      "INSERT OR REPLACE INTO task_claims (ns, task_id, holder_agent, holder_session, claimed_at, "
      "lease_until, token, state, done_at, result_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
      "store task");
  if (!statement) return tl::unexpected(statement.error());
  std::optional<std::string> result_id;
  if (!row.result_id.empty()) result_id = row.result_id;
  statement->bind(ns)
      .bind(task_id)
      .bind(row.holder_agent)
      .bind(row.holder_session)
      .bind(row.claimed_at)
      .bind(row.lease_until)
      .bind(row.token)
      .bind(row.state)
      .bind(row.done_at)
      .bind(result_id);
  return statement->run();
}

Result<void> add_history(Connection& connection, const std::string& ns, const std::string& task_id,
                         const TaskEvent& event) {
  auto statement = connection.prepare(
      "INSERT INTO task_history (ns, task_id, at, kind, agent, session, token, memory_id) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
      "record task history");
  if (!statement) return tl::unexpected(statement.error());
  std::optional<std::string> memory_id;
  if (!event.memory_id.empty()) memory_id = event.memory_id;
  statement->bind(ns)
      .bind(task_id)
      .bind(event.at)
      .bind(event.kind)
      .bind(event.agent)
      .bind(event.session)
      .bind(event.token)
      .bind(memory_id);
  return statement->run();
}

}  // namespace

Result<ClaimOutcome> SqliteStore::claim_task(const std::string& ns, const std::string& task_id,
                                             const std::string& holder_agent,
                                             const std::string& holder_session, UnixMillis lease_until,
                                             UnixMillis now, std::optional<std::int64_t> token) {
  if (auto checked = check_claim(task_id, holder_agent, holder_session); !checked) {
    return tl::unexpected(checked.error());
  }
  if (lease_until <= now) return fail(ErrorCode::kInvalidArgument, "a lease must end after now");
  return write("claim task", [&](Connection& connection) -> Result<ClaimOutcome> {
    auto stored = read_row(connection, ns, task_id);
    if (!stored) return tl::unexpected(stored.error());
    const std::optional<TaskRow>& row = *stored;
    ClaimOutcome outcome;
    outcome.last_token = row ? row->token : 0;
    if (row && row->state == "done") {
      outcome.done = true;
      outcome.finished = row->finished();
      outcome.current = row->claim(ns, task_id);
      return outcome;
    }
    const bool in_force = row && row->in_force(now);
    if (token && !(row && row->token_current(*token, holder_agent, holder_session))) {
      outcome.stale_token = true;
      if (in_force) outcome.current = row->claim(ns, task_id);
      return outcome;
    }
    if (in_force && !row->held_by(holder_agent, holder_session)) {
      outcome.current = row->claim(ns, task_id);
      return outcome;
    }
    // A renewal: the caller holds the task, or passed its token (still the newest) after its lease ran out.
    const bool renew = in_force || token.has_value();
    TaskRow next;
    next.holder_agent = holder_agent;
    next.holder_session = holder_session;
    next.claimed_at = renew ? row->claimed_at : now;
    next.lease_until = lease_until;
    next.token = renew ? row->token : outcome.last_token + 1;
    next.state = "claimed";
    if (auto done = write_row(connection, ns, task_id, next); !done) return tl::unexpected(done.error());
    if (!renew) {
      if (auto logged = add_history(connection, ns, task_id,
                                    TaskEvent{"claimed", holder_agent, holder_session, now, next.token, {}});
          !logged) {
        return tl::unexpected(logged.error());
      }
      if (auto logged = append_change(connection, {kChangeTask, change_kind::kTaskClaimed, ns, holder_session,
                                                   holder_agent, task_id, now});
          !logged) {
        return tl::unexpected(logged.error());
      }
    }
    outcome.claimed = true;
    outcome.renewed = renew;
    outcome.last_token = next.token;
    outcome.current = next.claim(ns, task_id);
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
                                       UnixMillis now, std::optional<std::int64_t> token) {
  if (auto checked = check_claim(task_id, holder_agent, holder_session); !checked) {
    return tl::unexpected(checked.error());
  }
  return write("release task", [&](Connection& connection) -> Result<bool> {
    auto stored = read_row(connection, ns, task_id);
    if (!stored) return tl::unexpected(stored.error());
    const std::optional<TaskRow>& row = *stored;
    if (!row || !row->in_force(now) || !row->held_by(holder_agent, holder_session)) return false;
    if (token && row->token != *token) return false;
    TaskRow next = *row;
    next.state = "free";
    next.lease_until = now;
    if (auto done = write_row(connection, ns, task_id, next); !done) return tl::unexpected(done.error());
    if (auto logged = add_history(connection, ns, task_id,
                                  TaskEvent{"released", holder_agent, holder_session, now, row->token, {}});
        !logged) {
      return tl::unexpected(logged.error());
    }
    if (auto logged = append_change(connection, {kChangeTask, change_kind::kTaskReleased, ns, holder_session,
                                                 holder_agent, task_id, now});
        !logged) {
      return tl::unexpected(logged.error());
    }
    return true;
  });
}

Result<CompleteOutcome> SqliteStore::complete_task(const std::string& ns, const std::string& task_id,
                                                   std::optional<std::int64_t> token, const Memory& result,
                                                   UnixMillis now) {
  if (auto checked = check_claim(task_id, result.agent_id, result.session_id); !checked) {
    return tl::unexpected(checked.error());
  }
  const std::string& agent = result.agent_id;
  const std::string& session = result.session_id;
  return write("complete task", [&](Connection& connection) -> Result<CompleteOutcome> {
    auto stored = read_row(connection, ns, task_id);
    if (!stored) return tl::unexpected(stored.error());
    const std::optional<TaskRow>& row = *stored;
    CompleteOutcome outcome;
    outcome.last_token = row ? row->token : 0;
    if (row && row->state == "done") {
      outcome.refusal = CompleteOutcome::Refusal::kDone;
      outcome.done = row->finished();
      return outcome;
    }
    const bool in_force = row && row->in_force(now);
    if (token && !(row && row->token_current(*token, agent, session))) {
      outcome.refusal = CompleteOutcome::Refusal::kStaleToken;
      if (in_force) outcome.current = row->claim(ns, task_id);
      return outcome;
    }
    if (in_force && !row->held_by(agent, session)) {
      outcome.refusal = CompleteOutcome::Refusal::kHeld;
      outcome.current = row->claim(ns, task_id);
      return outcome;
    }
    outcome.was_holder = row && row->state == "claimed" && row->held_by(agent, session);
    if (auto inserted = insert_memory_row(connection, result); !inserted)
      return tl::unexpected(inserted.error());
    TaskRow next;
    next.holder_agent = agent;
    next.holder_session = session;
    next.claimed_at = outcome.was_holder ? row->claimed_at : now;
    next.lease_until = now;
    next.token = outcome.last_token;
    next.state = "done";
    next.done_at = now;
    next.result_id = result.id;
    if (auto done = write_row(connection, ns, task_id, next); !done) return tl::unexpected(done.error());
    if (auto logged = add_history(connection, ns, task_id,
                                  TaskEvent{"done", agent, session, now, next.token, result.id});
        !logged) {
      return tl::unexpected(logged.error());
    }
    if (auto logged =
            append_change(connection, {kChangeTask, change_kind::kTaskDone, ns, session, agent, task_id, now});
        !logged) {
      return tl::unexpected(logged.error());
    }
    outcome.done = next.finished();
    return outcome;
  });
}

Result<bool> SqliteStore::reopen_task(const std::string& ns, const std::string& task_id,
                                      const std::string& agent, const std::string& session, UnixMillis now) {
  if (auto checked = check_claim(task_id, agent, session); !checked) return tl::unexpected(checked.error());
  return write("reopen task", [&](Connection& connection) -> Result<bool> {
    auto stored = read_row(connection, ns, task_id);
    if (!stored) return tl::unexpected(stored.error());
    if (!*stored || (*stored)->state != "done") return false;
    TaskRow next = **stored;
    next.state = "free";
    next.lease_until = now;
    if (auto done = write_row(connection, ns, task_id, next); !done) return tl::unexpected(done.error());
    if (auto logged =
            add_history(connection, ns, task_id, TaskEvent{"reopened", agent, session, now, next.token, {}});
        !logged) {
      return tl::unexpected(logged.error());
    }
    if (auto logged = append_change(
            connection, {kChangeTask, change_kind::kTaskReopened, ns, session, agent, task_id, now});
        !logged) {
      return tl::unexpected(logged.error());
    }
    return true;
  });
}

Result<TaskRecord> SqliteStore::get_task(const std::string& ns, const std::string& task_id, UnixMillis now) {
  return database_->read([&](Connection& connection) -> Result<TaskRecord> {
    auto transaction = Transaction::begin(connection, Transaction::Kind::kRead, "read task");
    if (!transaction) return tl::unexpected(transaction.error());
    TaskRecord record;
    record.ns = ns;
    record.task_id = task_id;
    auto stored = read_row(connection, ns, task_id);
    if (!stored) return tl::unexpected(stored.error());
    if (*stored) {
      const TaskRow& row = **stored;
      record.last_token = row.token;
      if (row.state == "done") {
        record.state = TaskState::kDone;
        record.done = row.finished();
      } else if (row.in_force(now)) {
        record.state = TaskState::kClaimed;
        record.claim = row.claim(ns, task_id);
      }
    }
    auto statement = connection.prepare(
        "SELECT at, kind, agent, session, token, memory_id FROM ("
        "SELECT seq, at, kind, agent, session, token, memory_id FROM task_history "
        "WHERE ns = ?1 AND task_id = ?2 ORDER BY seq DESC LIMIT ?3) ORDER BY seq",
        "read task history");
    if (!statement) return tl::unexpected(statement.error());
    statement->bind(ns).bind(task_id).bind(static_cast<std::int64_t>(kMaxTaskHistory));
    for (;;) {
      auto row = statement->step();
      if (!row) return tl::unexpected(row.error());
      if (!*row) break;
      record.history.push_back(TaskEvent{statement->text(1), statement->text(2), statement->text(3),
                                         statement->int64(0), statement->int64(4),
                                         statement->optional_text(5).value_or("")});
    }
    if (auto done = transaction->commit(); !done) return tl::unexpected(done.error());
    return record;
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
  auto row = read_row(connection, ns, task_id);
  if (!row) return tl::unexpected(row.error());
  if (!*row || !(*row)->in_force(now)) return std::optional<TaskClaim>();
  return std::optional<TaskClaim>((*row)->claim(ns, task_id));
}

}  // namespace memtrace::sqlite
