// Reads of the SQLite store: agents, sessions, memories, and the SQL that recall and session search build.
#include <string>
#include <utility>
#include <vector>

#include "store/sqlite/sqlite_store_internal.h"

namespace memtrace::sqlite {

Result<std::optional<Agent>> SqliteStore::get_agent(const std::string& ns, const std::string& id) {
  return database_->read([&](Connection& connection) -> Result<std::optional<Agent>> {
    auto statement = connection.prepare(
        "SELECT description, created_at FROM agents WHERE ns = ?1 AND id = ?2", "read agent");
    if (!statement) return tl::unexpected(statement.error());
    statement->bind(ns).bind(id);
    auto row = statement->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return std::optional<Agent>();
    Agent agent;
    agent.ns = ns;
    agent.id = id;
    agent.description = statement->text(0);
    agent.created_at = statement->int64(1);
    return std::optional<Agent>(std::move(agent));
  });
}

Result<std::optional<Session>> SqliteStore::get_session(const std::string& ns, const std::string& id) {
  return database_->read([&](Connection& connection) -> Result<std::optional<Session>> {
    // One snapshot for the row and its metadata.
    auto transaction = Transaction::begin(connection, Transaction::Kind::kRead, "read session");
    if (!transaction) return tl::unexpected(transaction.error());
    std::optional<Session> session;
    {
      auto statement = connection.prepare(
          "SELECT " + std::string(kSessionColumns) + " FROM sessions AS s WHERE s.ns = ?1 AND s.id = ?2",
          "read session");
      if (!statement) return tl::unexpected(statement.error());
      statement->bind(ns).bind(id);
      auto row = statement->step();
      if (!row) return tl::unexpected(row.error());
      if (!*row) return std::optional<Session>();
      session = read_session(*statement, ns);
    }
    if (auto metadata = read_metadata(connection, ns, id); metadata) {
      session->metadata = std::move(*metadata);
    } else {
      return tl::unexpected(metadata.error());
    }
    if (auto done = transaction->commit(); !done) return tl::unexpected(done.error());
    return session;
  });
}

Result<std::vector<SessionSummary>> SqliteStore::find_sessions(const SessionQuery& query) {
  if (query.limit == 0) return std::vector<SessionSummary>();
  const DynamicQuery q = session_query(query);
  return database_->read([&](Connection& connection) -> Result<std::vector<SessionSummary>> {
    auto transaction = Transaction::begin(connection, Transaction::Kind::kRead, "find sessions");
    if (!transaction) return tl::unexpected(transaction.error());
    std::vector<SessionSummary> summaries;
    {
      auto statement = connection.prepare(q.sql, "find sessions");
      if (!statement) return tl::unexpected(statement.error());
      q.bind_all(*statement);
      for (;;) {
        auto row = statement->step();
        if (!row) return tl::unexpected(row.error());
        if (!*row) break;
        summaries.push_back(SessionSummary{read_session(*statement, query.ns), {}, 0, 0});
      }
    }
    for (auto& summary : summaries) {
      if (auto filled = fill_summary(connection, summary, query.now); !filled) {
        return tl::unexpected(filled.error());
      }
    }
    if (auto done = transaction->commit(); !done) return tl::unexpected(done.error());
    return summaries;
  });
}

Result<std::optional<Memory>> SqliteStore::get_memory(const std::string& ns, const std::string& id,
                                                      UnixMillis now) {
  return database_->read([&](Connection& connection) -> Result<std::optional<Memory>> {
    auto statement = connection.prepare("SELECT " + std::string(kMemoryColumns) +
                                            " FROM memories AS m WHERE m.ns = ?1 AND m.id = ?2"
                                            " AND (m.expires_at IS NULL OR m.expires_at > ?3)",
                                        "read memory");
    if (!statement) return tl::unexpected(statement.error());
    statement->bind(ns).bind(id).bind(now);
    auto row = statement->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return std::optional<Memory>();
    return std::optional<Memory>(read_memory(*statement, ns));
  });
}

Result<std::vector<Memory>> SqliteStore::query_memories(const MemoryQuery& query) {
  if (query.limit == 0) return std::vector<Memory>();
  const auto q = build_memory_query(query);
  return database_->read([&](Connection& connection) -> Result<std::vector<Memory>> {
    auto statement = connection.prepare(q.sql, "recall memories");
    if (!statement) return tl::unexpected(statement.error());
    q.bind_all(*statement);
    std::vector<Memory> memories;
    for (;;) {
      auto row = statement->step();
      if (!row) return tl::unexpected(row.error());
      if (!*row) break;
      memories.push_back(read_memory(*statement, query.ns));
    }
    return memories;
  });
}

// The sessions matching `query`, newest first, at most query.limit, as kSessionColumns.
DynamicQuery SqliteStore::session_query(const SessionQuery& query) {
  // Drive the scan from the most selective index we can name without statistics: a metadata pair,
  // else the agent's sessions, else all sessions (by status if given); each yields ids newest first,
  // so the scan stops after `limit` matches.
  DynamicQuery q;
  std::string order;
  auto metadata = query.metadata_contains.begin();
  bool agent_done = false;
  if (metadata != query.metadata_contains.end()) {
    q.sql = "SELECT " + std::string(kSessionColumns) +
            " FROM session_metadata AS d CROSS JOIN sessions AS s ON s.ns = d.ns AND s.id = d.session_id"
            " WHERE d.ns = ? AND d.key = ? AND d.value = ?";
    q.args = {query.ns, metadata->first, metadata->second};
    order = "d.session_id";
    ++metadata;
  } else if (query.agent_id) {
    q.sql = "SELECT " + std::string(kSessionColumns) +
            " FROM session_agents AS p CROSS JOIN sessions AS s ON s.ns = p.ns AND s.id = p.session_id"
            " WHERE p.ns = ? AND p.agent_id = ?";
    q.args = {query.ns, *query.agent_id};
    order = "p.session_id";
    agent_done = true;
  } else {
    q.sql = "SELECT " + std::string(kSessionColumns) + " FROM sessions AS s WHERE s.ns = ?";
    q.args = {query.ns};
    order = "s.id";
  }
  if (query.id) {
    q.sql += " AND s.id = ?";
    q.args.emplace_back(*query.id);
  }
  if (query.status) {
    q.sql += " AND s.status = ?";
    q.args.emplace_back(std::string(to_string(*query.status)));
  }
  for (; metadata != query.metadata_contains.end(); ++metadata) {
    q.sql +=
        " AND EXISTS (SELECT 1 FROM session_metadata AS m"
        " WHERE m.ns = s.ns AND m.session_id = s.id AND m.key = ? AND m.value = ?)";
    q.args.emplace_back(metadata->first);
    q.args.emplace_back(metadata->second);
  }
  if (query.agent_id && !agent_done) {
    q.sql +=
        " AND EXISTS (SELECT 1 FROM session_agents AS a"
        " WHERE a.ns = s.ns AND a.session_id = s.id AND a.agent_id = ?)";
    q.args.emplace_back(*query.agent_id);
  }
  if (query.before_id) {
    q.sql += " AND " + order + " < ?";
    q.args.emplace_back(*query.before_id);
  }
  q.sql += " ORDER BY " + order + " DESC LIMIT ?";
  q.args.emplace_back(clamp_limit(query.limit));
  return q;
}

// The session's status, or nullopt if there is no such session.
Result<std::optional<SessionStatus>> SqliteStore::session_status(Connection& connection,
                                                                 const std::string& ns,
                                                                 const std::string& id) {
  auto statement =
      connection.prepare("SELECT status FROM sessions WHERE ns = ?1 AND id = ?2", "look up session");
  if (!statement) return tl::unexpected(statement.error());
  statement->bind(ns).bind(id);
  auto row = statement->step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return std::optional<SessionStatus>();
  return std::optional<SessionStatus>(statement->text(0) == "closed" ? SessionStatus::kClosed
                                                                     : SessionStatus::kActive);
}

Result<Metadata> SqliteStore::read_metadata(Connection& connection, const std::string& ns,
                                            const std::string& id) {
  auto statement = connection.prepare(
      "SELECT key, value FROM session_metadata WHERE ns = ?1 AND session_id = ?2", "read session metadata");
  if (!statement) return tl::unexpected(statement.error());
  statement->bind(ns).bind(id);
  Metadata metadata;
  for (;;) {
    auto row = statement->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return metadata;
    metadata.emplace(statement->text(0), statement->text(1));
  }
}

Result<void> SqliteStore::fill_summary(Connection& connection, SessionSummary& summary, UnixMillis now) {
  const std::string& ns = summary.session.ns;
  const std::string& id = summary.session.id;
  auto metadata = read_metadata(connection, ns, id);
  if (!metadata) return tl::unexpected(metadata.error());
  summary.session.metadata = std::move(*metadata);
  {
    auto statement = connection.prepare(
        "SELECT agent_id FROM session_agents WHERE ns = ?1 AND session_id = ?2 AND wrote = 1 ORDER BY "
        "agent_id",
        "read session agents");
    if (!statement) return tl::unexpected(statement.error());
    statement->bind(ns).bind(id);
    for (;;) {
      auto row = statement->step();
      if (!row) return tl::unexpected(row.error());
      if (!*row) break;
      summary.agents.push_back(statement->text(0));
    }
  }
  auto statement = connection.prepare(
      "SELECT count(*), max(created_at) FROM memories INDEXED BY memories_by_session "
      "WHERE ns = ?1 AND session_id = ?2 AND (expires_at IS NULL OR expires_at > ?3)",
      "count session memories");
  if (!statement) return tl::unexpected(statement.error());
  statement->bind(ns).bind(id).bind(now);
  auto row = statement->step();
  if (!row) return tl::unexpected(row.error());
  summary.memory_count = statement->int64(0);
  summary.last_activity = statement->is_null(1) ? summary.session.updated_at : statement->int64(1);
  return {};
}

// Recall: walks one index newest first, checks the other filters per row, stops after `limit`.
// The index is the most selective one we can name without statistics: the substring matches from FTS
// (a needle of three characters or more names a few rows of any size of store; a tag or a session can
// hold most of them, and walking it to find the few that contain the needle cost seconds at 100k),
// else the session's memories, else a tag's, else the agent's, else the namespace's.
namespace {
// The memories that may contain a needle of three characters or more: the trigram index's matches,
// and the memories written too recently to be in it yet (ContentIndexer), which the substring check
// then verifies like the others.
constexpr std::string_view kSubstringCandidates =
    "SELECT rowid AS pk FROM memories_fts WHERE memories_fts MATCH ? UNION ALL SELECT pk FROM fts_pending";
}  // namespace

DynamicQuery build_memory_query(const MemoryQuery& query) {
  DynamicQuery q;
  std::optional<std::string> needle;
  if (query.content_contains && !query.content_contains->empty()) needle = query.content_contains;
  // The trigram index can only look up needles of three characters or more.
  const bool use_fts = needle && utf8_length(*needle) >= 3;
  bool agent_done = false;
  bool fts_done = false;
  std::size_t first_tag = 0;
  std::string order = "m.id";
  const std::string select = "SELECT " + std::string(kMemoryColumns);
  bool session_done = false;
  bool types_done = false;
  const bool only_decisions = query.types.size() == 1 && query.types.front() == "decision";
  if (use_fts) {
    // CROSS JOIN keeps the candidates first: with `m.pk IN (...)` the planner may walk the namespace's
    // index in id order instead and test every memory against the candidates (a miss then reads all).
    q.sql = select + " FROM (" + std::string(kSubstringCandidates) +
            ") AS c CROSS JOIN memories AS m ON m.pk = c.pk WHERE m.ns = ?";
    q.args = {fts_phrase(*needle), query.ns};
    fts_done = true;
  } else if (query.session_id && only_decisions) {
    // The partial index holds decisions only; the literal is what lets SQLite use it.
    q.sql = select +
            " FROM memories AS m INDEXED BY memories_decisions_by_session"
            " WHERE m.ns = ? AND m.session_id = ? AND m.type = 'decision'";
    q.args = {query.ns, *query.session_id};
    session_done = true;
    types_done = true;
  } else if (query.session_id) {
    q.sql = select + " FROM memories AS m INDEXED BY memories_by_session WHERE m.ns = ? AND m.session_id = ?";
    q.args = {query.ns, *query.session_id};
    session_done = true;
  } else if (!query.tags.empty()) {
    q.sql = select +
            " FROM memory_tags AS t CROSS JOIN memories AS m ON m.ns = t.ns AND m.id = t.memory_id"
            " WHERE t.ns = ? AND t.tag = ?";
    q.args = {query.ns, query.tags.front()};
    order = "t.memory_id";
    first_tag = 1;
  } else if (query.agent_id) {
    q.sql = select + " FROM memories AS m INDEXED BY memories_by_agent WHERE m.ns = ? AND m.agent_id = ?";
    q.args = {query.ns, *query.agent_id};
    agent_done = true;
  } else {
    q.sql = select + " FROM memories AS m INDEXED BY memories_by_id WHERE m.ns = ?";
    q.args = {query.ns};
  }
  if (query.session_id && !session_done) {
    q.sql += " AND m.session_id = ?";
    q.args.emplace_back(*query.session_id);
  }
  if (query.agent_id && !agent_done) {
    q.sql += " AND m.agent_id = ?";
    q.args.emplace_back(*query.agent_id);
  }
  if (!query.types.empty() && !types_done) {
    q.sql += " AND m.type IN (";
    for (std::size_t i = 0; i < query.types.size(); ++i) {
      q.sql += i == 0 ? "?" : ", ?";
      q.args.emplace_back(query.types[i]);
    }
    q.sql += ")";
  }
  for (std::size_t i = first_tag; i < query.tags.size(); ++i) {
    q.sql +=
        " AND EXISTS (SELECT 1 FROM memory_tags AS x WHERE x.ns = m.ns AND x.tag = ? AND x.memory_id = "
        "m.id)";
    q.args.emplace_back(query.tags[i]);
  }
  if (use_fts && !fts_done) {
    q.sql += " AND m.pk IN (" + std::string(kSubstringCandidates) + ")";
    q.args.emplace_back(fts_phrase(*needle));
  }
  if (needle) {
    // The substring check proper: it verifies what FTS found and is the whole search for needles of
    // one or two characters (bounded by the index walked above). SQLite's lower() folds ASCII only
    // (Debian's build has no ICU), so matching is case-insensitive for ASCII letters and exact for
    // other scripts; trigram FTS folds more, and this check keeps both paths consistent.
    q.sql += " AND instr(lower(m.content), lower(?)) > 0";
    q.args.emplace_back(*needle);
  }
  if (query.exclude_superseded) q.sql += " AND m.superseded_by IS NULL";
  if (query.min_importance) {
    q.sql += " AND m.importance >= ?";
    q.args.emplace_back(*query.min_importance);
  }
  if (query.since) {
    q.sql += " AND m.created_at >= ?";
    q.args.emplace_back(static_cast<std::int64_t>(*query.since));
  }
  if (query.until) {
    q.sql += " AND m.created_at < ?";
    q.args.emplace_back(static_cast<std::int64_t>(*query.until));
  }
  if (query.before_id) {
    q.sql += " AND " + order + " < ?";
    q.args.emplace_back(*query.before_id);
  }
  q.sql += " AND (m.expires_at IS NULL OR m.expires_at > ?) ORDER BY " + order + " DESC LIMIT ?";
  q.args.emplace_back(static_cast<std::int64_t>(query.now));
  q.args.emplace_back(clamp_limit(query.limit));
  return q;
}
}  // namespace memtrace::sqlite
