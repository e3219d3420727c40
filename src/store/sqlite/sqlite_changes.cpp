// The durable change feed of the SQLite store: appending to the `changes` log, trimming it to the
// retention, and reading it page by page with a cursor (the seq as decimal text).
#include <algorithm>
#include <charconv>
#include <chrono>
#include <optional>
#include <cstdint>
#include <string>
#include <string_view>

#include "store/change_cursor_errors.h"
#include "store/sqlite/sqlite_store_internal.h"

namespace memtrace::sqlite {
namespace {

// Writes between two trims of the change log on the write path (purge_expired trims too).
constexpr std::uint64_t kTrimEvery = 512;

std::string cursor_text(std::int64_t seq) {
  return std::to_string(seq);
}

// A cursor this store handed out: decimal digits, no sign, fits in an int64.
std::optional<std::int64_t> parse_cursor(std::string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  std::int64_t value = 0;
  const auto* end = text.data() + text.size();
  auto [stop, error] = std::from_chars(text.data(), end, value);
  if (error != std::errc() || stop != end || value < 0) return std::nullopt;
  return value;
}

Result<std::int64_t> single_int(Connection& connection, std::string_view sql, std::string_view what,
                                std::optional<std::int64_t> arg = std::nullopt) {
  auto statement = connection.prepare(sql, what);
  if (!statement) return tl::unexpected(statement.error());
  if (arg) statement->bind(*arg);
  auto row = statement->step();
  if (!row) return tl::unexpected(row.error());
  return statement->int64(0);
}

}  // namespace

Result<void> SqliteStore::append_change(Connection& connection, const LoggedChange& change) {
  {
    auto statement = connection.prepare(
        "INSERT INTO changes (at, kind, ns, session_id, feed_kind, agent, subject) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        "log the change");
    if (!statement) return tl::unexpected(statement.error());
    statement->bind(change.at).bind(change.wake).bind(change.ns).bind(change.session_id);
    if (change.kind) {
      statement->bind(change.kind);
    } else {
      statement->bind(nullptr);
    }
    statement->bind(change.agent).bind(change.subject);
    if (auto done = statement->run(); !done) return done;
  }
  if (writes_.fetch_add(1, std::memory_order_relaxed) % kTrimEvery != kTrimEvery - 1) return {};
  // The newest change's time is the clock here: the log is trimmed by the times it records.
  return trim_changes(connection, change.at);
}

Result<void> SqliteStore::append_superseded(Connection& connection, std::string_view ns,
                                            std::string_view memory_id, std::string_view agent,
                                            std::string_view session_id, UnixMillis at) {
  return append_change(connection,
                       {kChangeMemory, change_kind::kMemorySuperseded, ns, session_id, agent, memory_id, at});
}

Result<void> SqliteStore::trim_changes(Connection& connection, UnixMillis now) {
  // Deletes the entries older than the retention, always keeping the newest (so that a seq is never
  // reused). The subquery walks from the oldest entry and stops at the first young one, so it costs
  // what it deletes.
  auto statement = connection.prepare(
      "DELETE FROM changes WHERE seq < coalesce("
      "(SELECT seq FROM changes WHERE at >= ?1 ORDER BY seq LIMIT 1), (SELECT max(seq) FROM changes))",
      "trim the change log");
  if (!statement) return tl::unexpected(statement.error());
  statement->bind(now - static_cast<std::int64_t>(database_->options().change_retention.count()));
  return statement->run();
}

// Positions are the log's seq, shared by all namespaces and gap-free but for trimming at its front (a
// new row gets max(seq) + 1 and the newest row is never trimmed). So the changes after a cursor c are
// complete unless rows after c were trimmed or fell out of the retention: that is when c is before
// the first row still in the window. Rows in the window are shown even if a trim has not caught up.
Result<ChangePage> SqliteStore::read_changes(const ChangeQuery& query) {
  std::optional<std::int64_t> after;
  if (query.cursor) {
    after = parse_cursor(*query.cursor);
    if (!after) {
      return tl::unexpected(malformed_change_cursor(*query.cursor));
    }
  }
  if (query.limit == 0) return fail(ErrorCode::kInvalidArgument, "limit must be at least 1");
  const std::int64_t cutoff =
      query.now - static_cast<std::int64_t>(database_->options().change_retention.count());
  return database_->read([&](Connection& connection) -> Result<ChangePage> {
    auto transaction = Transaction::begin(connection, Transaction::Kind::kRead, "read the change feed");
    if (!transaction) return tl::unexpected(transaction.error());
    auto end = single_int(connection, "SELECT coalesce(max(seq), 0) FROM changes", "read the change feed's end");
    if (!end) return tl::unexpected(end.error());
    auto first_live = single_int(connection,
                                 "SELECT coalesce((SELECT seq FROM changes WHERE at >= ?1 ORDER BY seq LIMIT 1),"
                                 " (SELECT coalesce(max(seq), 0) + 1 FROM changes))",
                                 "find the oldest change kept", cutoff);
    if (!first_live) return tl::unexpected(first_live.error());
    const std::int64_t oldest_cursor = *first_live - 1;
    if (after && *after > *end) {
      return tl::unexpected(foreign_change_cursor(*query.cursor, cursor_text(*end)));
    }
    if (after && *after < oldest_cursor) {
      return tl::unexpected(
          expired_change_cursor(*query.cursor, database_->options().change_retention, cursor_text(oldest_cursor)));
    }
    const std::int64_t from = after.value_or(oldest_cursor);

    DynamicQuery sql;
    sql.sql = "SELECT seq, feed_kind, at, agent, session_id, subject FROM changes WHERE ns = ?";
    sql.args.emplace_back(query.ns);
    if (query.session_id) {
      sql.sql += " AND session_id = ?";
      sql.args.emplace_back(*query.session_id);
    }
    sql.sql += " AND seq > ? AND feed_kind IS NOT NULL";
    sql.args.emplace_back(std::max(from, oldest_cursor));
    if (!query.kinds.empty()) {
      sql.sql += " AND feed_kind IN (";
      for (std::size_t i = 0; i < query.kinds.size(); ++i) {
        sql.sql += i == 0 ? "?" : ", ?";
        sql.args.emplace_back(query.kinds[i]);
      }
      sql.sql += ")";
    }
    sql.sql += " ORDER BY seq LIMIT ?";
    sql.args.emplace_back(clamp_limit(query.limit) + 1);
    auto statement = connection.prepare(sql.sql, "read the change feed");
    if (!statement) return tl::unexpected(statement.error());
    sql.bind_all(*statement);
    ChangePage page;
    for (;;) {
      auto row = statement->step();
      if (!row) return tl::unexpected(row.error());
      if (!*row) break;
      if (page.changes.size() == query.limit) {
        page.more = true;
        break;
      }
      FeedChange change;
      change.cursor = cursor_text(statement->int64(0));
      change.kind = statement->text(1);
      change.at = statement->int64(2);
      change.agent = statement->text(3);
      change.session_id = statement->text(4);
      change.subject = statement->text(5);
      page.changes.push_back(std::move(change));
    }
    // A full page ends at its last change; otherwise everything up to the end was read (changes of
    // other namespaces, sessions or kinds included), so the next read starts there.
    page.next_cursor = page.more ? page.changes.back().cursor : cursor_text(std::max(*end, from));
    return page;
  });
}

}  // namespace memtrace::sqlite
