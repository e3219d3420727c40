// Reads of the SQLite store: agents, sessions, memories, and the SQL that recall and session search build.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "store/sqlite/sqlite_store_internal.h"
#include "store/sqlite/sqlite_tag_index.h"

namespace memtrace::sqlite {
namespace {

bool searches_substring_index(const MemoryQuery& query) {
  // The trigram index can only look up needles of three characters or more.
  return query.content_contains && utf8_length(*query.content_contains) >= 3;
}

}  // namespace

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

namespace {

// The live memory rows of session ?2 of namespace ?1 at time ?3 (a column of `sessions AS s`): its rows
// (sessions.memory_rows, kept by triggers) less those expired and not purged yet, which a partial index
// finds.
constexpr std::string_view kLiveRowsOfSession =
    "(s.memory_rows - (SELECT count(*) FROM memories INDEXED BY memories_expiring_by_session"
    " WHERE ns = ?1 AND session_id = ?2 AND expires_at IS NOT NULL AND expires_at <= ?3))";

}  // namespace

Result<std::vector<SessionSummary>> SqliteStore::find_sessions(const SessionQuery& query) {
  if (query.limit == 0) return std::vector<SessionSummary>();
  return database_->read([&](Connection& connection) -> Result<std::vector<SessionSummary>> {
    auto transaction = Transaction::begin(connection, Transaction::Kind::kRead, "find sessions");
    if (!transaction) return tl::unexpected(transaction.error());
    auto summaries = read_sessions(connection, query);
    if (!summaries) return tl::unexpected(summaries.error());
    if (auto done = transaction->commit(); !done) return tl::unexpected(done.error());
    return summaries;
  });
}

Result<std::vector<SessionSummary>> SqliteStore::read_sessions(Connection& connection,
                                                               const SessionQuery& query) {
  const DynamicQuery q = session_query(query);
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
    if (auto filled = fill_summary(connection, summary, query.now); !filled)
      return tl::unexpected(filled.error());
  }
  return summaries;
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
  if (searches_substring_index(query)) {
    return database_->read([&](Connection& connection) -> Result<std::vector<Memory>> {
      // The tag-keyed index names its own trigrams (tag_trigram_query); memories_fts is asked for the
      // needle's rarest ones (sqlite_trigram_sample.h).
      std::optional<std::string> trigrams;
      if (query.tags.empty()) trigrams = trigram_sample_.rarest_query(connection, *query.content_contains);
      const auto search = build_substring_search(query, trigrams);
      return search_substring(connection, *search, query);
    });
  }
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

Result<RankedMemories> SqliteStore::rank_memories(const RankQuery& query) {
  static constexpr std::string_view kRanked =
      " FROM memories AS m INDEXED BY memories_by_rank WHERE m.ns = ?1 AND m.session_id = ?2"
      " AND m.superseded_by IS NULL AND (m.expires_at IS NULL OR m.expires_at > ?3)";
  return database_->read([&](Connection& connection) -> Result<RankedMemories> {
    // One snapshot for the session, the rows and their count.
    auto transaction = Transaction::begin(connection, Transaction::Kind::kRead, "rank memories");
    if (!transaction) return tl::unexpected(transaction.error());
    RankedMemories ranked;
    if (query.with_session) {
      SessionQuery described;
      described.ns = query.ns;
      described.id = query.session_id;
      described.now = query.now;
      described.limit = 1;
      auto found = read_sessions(connection, described);
      if (!found) return tl::unexpected(found.error());
      if (found->empty()) return ranked;  // no session, so no memories
      ranked.session = std::move(found->front());
    }
    bool more = false;  // rows may follow those read
    {
      auto statement = connection.prepare("SELECT " + std::string(kMemoryColumns) + std::string(kRanked) +
                                              " ORDER BY m.importance DESC, m.id DESC LIMIT ?4",
                                          "rank memories");
      if (!statement) return tl::unexpected(statement.error());
      statement->bind(query.ns)
          .bind(query.session_id)
          .bind(query.now)
          .bind(static_cast<std::int64_t>(query.limit));
      std::size_t weighed = 0;
      for (;;) {
        auto row = statement->step();
        if (!row) return tl::unexpected(row.error());
        if (!*row) break;
        ranked.memories.push_back(read_memory(*statement, query.ns));
        if (query.max_weight > 0 && (weighed += query.weight.of(ranked.memories.back())) > query.max_weight) {
          more = true;
          break;
        }
      }
      more = more || ranked.memories.size() == query.limit;
    }
    ranked.total = ranked.memories.size();
    if (more) {
      // Counted without walking them: the session's live rows less the superseded ones still live, found
      // by a partial index that holds only superseded rows.
      auto statement =
          connection.prepare("SELECT " + std::string(kLiveRowsOfSession) +
                                 " - (SELECT count(*) FROM memories INDEXED BY memories_superseded_by_session"
                                 "    WHERE ns = ?1 AND session_id = ?2 AND superseded_by IS NOT NULL"
                                 "    AND (expires_at IS NULL OR expires_at > ?3))"
                                 " FROM sessions AS s WHERE s.ns = ?1 AND s.id = ?2",
                             "count ranked memories");
      if (!statement) return tl::unexpected(statement.error());
      statement->bind(query.ns).bind(query.session_id).bind(query.now);
      auto row = statement->step();
      if (!row) return tl::unexpected(row.error());
      if (*row && statement->int64(0) > 0) {
        ranked.total = std::max(ranked.total, static_cast<std::size_t>(statement->int64(0)));
      }
      const std::size_t count_up_to = query.count_up_to();
      ranked.total_is_lower_bound = ranked.total >= count_up_to;
      ranked.total = std::min(ranked.total, count_up_to);
    }
    if (auto done = transaction->commit(); !done) return tl::unexpected(done.error());
    return ranked;
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
  // Its live memories (kLiveRowsOfSession), and the newest live one's time (newest by id, as on Redis),
  // whose walk passes only expired rows.
  auto statement = connection.prepare(
      "SELECT " + std::string(kLiveRowsOfSession) +
          ", (SELECT created_at FROM memories INDEXED BY memories_by_session"
          "   WHERE ns = ?1 AND session_id = ?2 AND (expires_at IS NULL OR expires_at > ?3)"
          "   ORDER BY id DESC LIMIT 1)"
          " FROM sessions AS s WHERE s.ns = ?1 AND s.id = ?2",
      "summarize session memories");
  if (!statement) return tl::unexpected(statement.error());
  statement->bind(ns).bind(id).bind(now);
  auto row = statement->step();
  if (!row) return tl::unexpected(row.error());
  summary.memory_count = *row ? statement->int64(0) : 0;
  summary.last_activity = *row && !statement->is_null(1) ? statement->int64(1) : summary.session.updated_at;
  return {};
}

// Recall: walks one index newest first, checks the other filters per row, stops after `limit`.
// The index is the most selective one we can name without statistics: the substring matches from FTS
// (a needle of three characters or more names a few rows of any size of store; a tag or a session can
// hold most of them, and walking it to find the few that contain the needle cost seconds at 100k),
// else the session's memories, else a tag's, else the agent's, else the namespace's. The substring
// matches are walked by pk rather than id (build_substring_search); the others by id.
namespace {

// Which of a query's filters the driving index already answers.
struct Driven {
  bool session = false;
  bool agent = false;
  bool types = false;
  std::size_t first_tag = 0;   // tags before this one are answered
  std::string order = "m.id";  // the id column the index yields in order (for before_id)
};

// The filters of `query` that `driven` leaves over, as " AND ..." terms; the expiry check last.
void append_filters(DynamicQuery& q, const MemoryQuery& query, const Driven& driven) {
  if (query.session_id && !driven.session) {
    q.sql += " AND m.session_id = ?";
    q.args.emplace_back(*query.session_id);
  }
  if (query.agent_id && !driven.agent) {
    q.sql += " AND m.agent_id = ?";
    q.args.emplace_back(*query.agent_id);
  }
  if (!query.types.empty() && !driven.types) {
    q.sql += " AND m.type IN (";
    for (std::size_t i = 0; i < query.types.size(); ++i) {
      q.sql += i == 0 ? "?" : ", ?";
      q.args.emplace_back(query.types[i]);
    }
    q.sql += ")";
  }
  for (std::size_t i = driven.first_tag; i < query.tags.size(); ++i) {
    q.sql +=
        " AND EXISTS (SELECT 1 FROM memory_tags AS x WHERE x.ns = m.ns AND x.tag = ? AND x.memory_id = "
        "m.id)";
    q.args.emplace_back(query.tags[i]);
  }
  if (query.content_contains && !query.content_contains->empty()) {
    // The substring check proper: it verifies what FTS found and is the whole search for needles of
    // one or two characters (bounded by the index walked). SQLite's lower() folds ASCII only (Debian's
    // build has no ICU), so matching is case-insensitive for ASCII letters and exact for other scripts;
    // trigram FTS folds more, and this check keeps both paths consistent.
    q.sql += " AND instr(lower(m.content), lower(?)) > 0";
    q.args.emplace_back(*query.content_contains);
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
    q.sql += " AND " + driven.order + " < ?";
    q.args.emplace_back(*query.before_id);
  }
  q.sql += " AND (m.expires_at IS NULL OR m.expires_at > ?)";
  q.args.emplace_back(static_cast<std::int64_t>(query.now));
}

}  // namespace

DynamicQuery build_memory_query(const MemoryQuery& query) {
  DynamicQuery q;
  Driven driven;
  const std::string select = "SELECT " + std::string(kMemoryColumns);
  const bool only_decisions = query.types.size() == 1 && query.types.front() == "decision";
  if (query.session_id && only_decisions) {
    // The partial index holds decisions only; the literal is what lets SQLite use it.
    q.sql = select +
            " FROM memories AS m INDEXED BY memories_decisions_by_session"
            " WHERE m.ns = ? AND m.session_id = ? AND m.type = 'decision'";
    q.args = {query.ns, *query.session_id};
    driven.session = driven.types = true;
  } else if (query.session_id) {
    q.sql = select + " FROM memories AS m INDEXED BY memories_by_session WHERE m.ns = ? AND m.session_id = ?";
    q.args = {query.ns, *query.session_id};
    driven.session = true;
  } else if (!query.tags.empty()) {
    q.sql = select +
            " FROM memory_tags AS t CROSS JOIN memories AS m ON m.ns = t.ns AND m.id = t.memory_id"
            " WHERE t.ns = ? AND t.tag = ?";
    q.args = {query.ns, query.tags.front()};
    driven.order = "t.memory_id";
    driven.first_tag = 1;
  } else if (query.agent_id) {
    q.sql = select + " FROM memories AS m INDEXED BY memories_by_agent WHERE m.ns = ? AND m.agent_id = ?";
    q.args = {query.ns, *query.agent_id};
    driven.agent = true;
  } else {
    q.sql = select + " FROM memories AS m INDEXED BY memories_by_id WHERE m.ns = ?";
    q.args = {query.ns};
  }
  append_filters(q, query, driven);
  q.sql += " ORDER BY " + driven.order + " DESC LIMIT ?";
  q.args.emplace_back(clamp_limit(query.limit));
  return q;
}

// A substring search of three characters or more reads its candidates newest first by pk (the order of
// the trigram index's doclists), not by id, so that it can stop after `limit` matches instead of
// reading every row the needle names (8,000 rows for a common word at 1M memories). Ids are not quite
// in pk order (another process's clock, an import of old memories), so each row carries its id's
// high-water mark: no row at or below it in pk order has a larger id. Once `limit` matches are held and
// a row's mark is below the smallest of them, no row still to come can enter the result.
std::optional<SubstringSearch> build_substring_search(const MemoryQuery& query,
                                                      const std::optional<std::string>& trigrams) {
  if (!searches_substring_index(query)) return std::nullopt;
  const std::string select = "SELECT " + std::string(kMemoryColumns) + ", coalesce(m.id_hwm, m.id)";
  SubstringSearch search;
  // Written too recently to be indexed yet (ContentIndexer): few, all read.
  search.pending.sql =
      select + " FROM fts_pending AS p CROSS JOIN memories AS m ON m.pk = p.pk WHERE m.ns = ?";
  search.pending.args = {query.ns};
  append_filters(search.pending, query, Driven{});
  // CROSS JOIN keeps the index's matches first, in the order the index yields them. With tags and a
  // needle of five bytes or more, the index keyed by tag (sqlite_tag_index.h) names only the tagged
  // memories that hold the needle's trigrams: a superset of the matches, which the filters (the content
  // and every tag exactly) narrow to them.
  const auto by_tag =
      query.tags.empty() ? std::nullopt : tag_trigram_query(query.ns, query.tags, *query.content_contains);
  const std::string index = by_tag ? "memories_tag_fts" : "memories_fts";
  search.indexed.sql = select + " FROM " + index + " AS f CROSS JOIN memories AS m ON m.pk = f.rowid WHERE " +
                       index + " MATCH ? AND m.ns = ?";
  search.indexed.args = {by_tag     ? *by_tag
                         : trigrams ? *trigrams
                                    : fts_phrase(*query.content_contains),
                         query.ns};
  append_filters(search.indexed, query, Driven{});
  search.indexed.sql += " ORDER BY f.rowid DESC";
  return search;
}

Result<std::vector<Memory>> SqliteStore::search_substring(Connection& connection,
                                                          const SubstringSearch& search,
                                                          const MemoryQuery& query) {
  // One snapshot, so that a row the indexer moves from pending to indexed meanwhile is read once.
  auto transaction = Transaction::begin(connection, Transaction::Kind::kRead, "search memories");
  if (!transaction) return tl::unexpected(transaction.error());
  const std::size_t limit = query.limit;
  std::vector<Memory> best;  // a min-heap by id while full: best.front() is the smallest id held
  auto by_id_desc = [](const Memory& a, const Memory& b) { return a.id > b.id; };
  auto offer = [&](Memory memory) {
    if (best.size() < limit) {
      best.push_back(std::move(memory));
      std::push_heap(best.begin(), best.end(), by_id_desc);
    } else if (memory.id > best.front().id) {
      std::pop_heap(best.begin(), best.end(), by_id_desc);
      best.back() = std::move(memory);
      std::push_heap(best.begin(), best.end(), by_id_desc);
    }
  };
  const int mark_column = static_cast<int>(kMemoryColumnCount);
  for (const DynamicQuery* part : {&search.pending, &search.indexed}) {
    auto statement = connection.prepare(part->sql, "search memories");
    if (!statement) return tl::unexpected(statement.error());
    part->bind_all(*statement);
    for (;;) {
      auto row = statement->step();
      if (!row) return tl::unexpected(row.error());
      if (!*row) break;
      if (part == &search.indexed && best.size() == limit && statement->text(mark_column) < best.front().id) {
        break;  // every row from here down has a smaller id than all of those held
      }
      offer(read_memory(*statement, query.ns));
    }
  }
  if (auto done = transaction->commit(); !done) return tl::unexpected(done.error());
  std::sort(best.begin(), best.end(), by_id_desc);
  return best;
}

}  // namespace memtrace::sqlite
