// The SQLite Store: its core and its writes (records, indexes, change log), each in one transaction.
#include "store/sqlite/sqlite_store.h"

#include <chrono>
#include <cstdint>
#include <set>
#include <string_view>
#include <utility>

#include <spdlog/spdlog.h>

#include "store/dedup.h"
#include "store/sqlite/sqlite_content_index.h"
#include "store/sqlite/sqlite_export.h"
#include "store/sqlite/sqlite_store_internal.h"
#include "store/sqlite/sqlite_tag_index.h"

namespace memtrace::sqlite {

namespace {

// Expired memories deleted per transaction, so that a large purge does not hold the write lock long.
constexpr std::size_t kPurgeBatch = 256;
// Substring indexing after the write (sqlite_content_index.h): memories and characters of content per
// transaction, and how long the indexer waits for more after the first one. A count of memories alone
// did not bound the transaction: 256 memories of 56 KB held the write lock for 3 s (one takes 70 ms).
constexpr std::size_t kIndexBatch = 256;
constexpr std::size_t kIndexCharacters = 16 * 1024;
constexpr std::chrono::milliseconds kIndexGather{20};
// Merging the content indexes' segments after each batch (merge_content_indexes): pages per write
// transaction, and transactions after each batch. A transaction of 32 pages held the write lock under
// 1 ms at p50 and under 8 ms at p99, 12 at most (filling 100k memories at 16 in flight); FTS5's own
// merges, in the batch's transaction, had held it up to 93 ms. 16 a batch kept up with that fill: it took
// as many merge transactions as merging without a limit did. A larger merge goes on after later batches,
// never keeping pending memories from the index for long.
constexpr int kMergePages = 32;
constexpr int kMergeSteps = 16;

std::int64_t wall_clock_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// Thread-safety: every method may be called from any thread (see Database and ChangeFeed).
// Group commit on the write connection (Database::Batch), announced to watchers once committed.
class Batch final : public WriteBatch {
 public:
  Batch(Database& database, std::shared_ptr<sqlite::ChangeFeed> feed)
      : batch_(database), feed_(std::move(feed)) {}

  Result<void> commit() override {
    const bool wrote = batch_.wrote();
    auto committed = batch_.commit();
    if (committed && wrote) feed_->notify_local_write();
    return committed;
  }

 private:
  Database::Batch batch_;
  std::shared_ptr<sqlite::ChangeFeed> feed_;
};

}  // namespace

SqliteStore::SqliteStore(std::shared_ptr<Database> database)
    : database_(std::move(database)),
      feed_(std::make_shared<sqlite::ChangeFeed>(database_)),
      indexer_(std::make_unique<DeferredIndexer>(
          "sqlite: indexing memory content",
          [database = database_](const std::string&) -> Result<bool> {
            auto more = index_pending_content(*database, kIndexBatch, kIndexCharacters);
            if (!more) return more;
            if (auto merged = merge_content_indexes(*database, kMergePages, kMergeSteps); !merged)
              return tl::unexpected(merged.error());
            return more;
          },
          kIndexGather, kIndexBatch)) {
  // What a process that was killed left pending. Only then: the indexer's thread starts with its first
  // work, so a store that is opened and only read (or a process that forks right after opening) has none.
  auto pending = content_pending(*database_);
  if (!pending || *pending) indexer_->wrote("");
}

SqliteStore::~SqliteStore() {
  feed_->shutdown();
}

std::string SqliteStore::describe() const {
  return database_->in_memory() ? "memory" : "sqlite:" + database_->options().path;
}

std::unique_ptr<WriteBatch> SqliteStore::begin_batch() {
  return std::make_unique<Batch>(*database_, feed_);
}

Result<void> SqliteStore::ping() {
  return database_->read([](Connection& connection) -> Result<void> {
    auto statement = connection.prepare("SELECT 1", "ping");
    if (!statement) return tl::unexpected(statement.error());
    auto row = statement->step();
    if (!row) return tl::unexpected(row.error());
    return {};
  });
}

Result<Agent> SqliteStore::upsert_agent(const Agent& agent) {
  return write("store agent", [&](Connection& connection) -> Result<Agent> {
    auto statement = connection.prepare(
        "INSERT INTO agents (ns, id, description, created_at) VALUES (?1, ?2, ?3, ?4) "
        "ON CONFLICT (ns, id) DO UPDATE SET description = "
        "CASE WHEN excluded.description <> '' THEN excluded.description ELSE description END "
        "RETURNING description, created_at",
        "store agent");
    if (!statement) return tl::unexpected(statement.error());
    statement->bind(agent.ns).bind(agent.id).bind(agent.description).bind(agent.created_at);
    auto row = statement->step();
    if (!row) return tl::unexpected(row.error());
    Agent stored = agent;
    if (*row) {
      stored.description = statement->text(0);
      stored.created_at = statement->int64(1);
    }
    if (auto done = statement->run(); !done) return tl::unexpected(done.error());
    return stored;
  });
}

Result<bool> SqliteStore::delete_agent(const std::string& ns, const std::string& id) {
  return write("delete agent", [&](Connection& connection) -> Result<bool> {
    auto statement = connection.prepare("DELETE FROM agents WHERE ns = ?1 AND id = ?2", "delete agent");
    if (!statement) return tl::unexpected(statement.error());
    statement->bind(ns).bind(id);
    if (auto done = statement->run(); !done) return tl::unexpected(done.error());
    return statement->changes() > 0;
  });
}

Result<void> SqliteStore::create_session(const Session& session) {
  return write("create session", [&](Connection& connection) { return insert_session(connection, session); });
}

Result<SessionOpening> SqliteStore::resume_or_create_session(const Session& session) {
  if (session.metadata.empty()) {
    return fail(ErrorCode::kInvalidArgument, "resuming a session by metadata needs at least one key");
  }
  SessionQuery query;
  query.ns = session.ns;
  query.metadata_contains = session.metadata;
  query.status = SessionStatus::kActive;
  query.limit = 1;
  const DynamicQuery newest = session_query(query);
  // One write transaction (BEGIN IMMEDIATE): another process's resume_or_create waits for it, then
  // finds the session this one created.
  return write("resume or create session", [&](Connection& connection) -> Result<SessionOpening> {
    {
      auto statement = connection.prepare(newest.sql, "find the session to resume");
      if (!statement) return tl::unexpected(statement.error());
      newest.bind_all(*statement);
      auto row = statement->step();
      if (!row) return tl::unexpected(row.error());
      if (*row) return SessionOpening{statement->text(0), true};
    }
    if (auto created = insert_session(connection, session); !created) return tl::unexpected(created.error());
    return SessionOpening{session.id, false};
  });
}

Result<bool> SqliteStore::close_session(const std::string& ns, const std::string& id, UnixMillis at,
                                        const std::string& agent) {
  return write("close session", [&](Connection& connection) -> Result<bool> {
    {
      auto statement = connection.prepare(
          "UPDATE sessions SET status = 'closed', closed_at = ?3, updated_at = ?3 "
          "WHERE ns = ?1 AND id = ?2 AND status = 'active'",
          "close session");
      if (!statement) return tl::unexpected(statement.error());
      statement->bind(ns).bind(id).bind(at);
      if (auto done = statement->run(); !done) return tl::unexpected(done.error());
      if (statement->changes() > 0) {
        if (auto logged = append_change(connection,
                                        {kChangeSession, change_kind::kSessionClosed, ns, id, agent, id, at});
            !logged) {
          return tl::unexpected(logged.error());
        }
        return true;
      }
    }
    // Nothing changed: already closed (true) or unknown (false).
    auto status = session_status(connection, ns, id);
    if (!status) return tl::unexpected(status.error());
    return status->has_value();
  });
}

Result<void> SqliteStore::insert_memory(const Memory& memory) {
  return write("store memory", [&](Connection& connection) { return insert_memory_row(connection, memory); });
}

Result<void> SqliteStore::insert_memory_row(Connection& connection, const Memory& memory) {
  auto status = session_status(connection, memory.ns, memory.session_id);
  if (!status) return tl::unexpected(status.error());
  if (!*status) {
    return fail(ErrorCode::kNotFound, "cannot store memory " + memory.id + ": there is no session " +
                                          memory.session_id + " in namespace " + memory.ns);
  }
  if (**status == SessionStatus::kClosed) {
    return fail(ErrorCode::kInvalidArgument,
                "session " + memory.session_id + " is closed and takes no new memories");
  }
  std::int64_t pk = 0;
  {
    auto statement = connection.prepare(
        "INSERT INTO memories (ns, id, session_id, agent_id, type, content, tags, importance, "
        "created_at, expires_at, metadata_json, reasoning, superseded_by, valid_until, dedup_key, id_hwm) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
        // The new row takes the largest pk; its mark is the row before's, if that is above its own id.
        "(SELECT CASE WHEN h > ?2 THEN h END FROM "
        "(SELECT coalesce(id_hwm, id) AS h FROM memories ORDER BY pk DESC LIMIT 1)))",
        "store memory");
    if (!statement) return tl::unexpected(statement.error());
    statement->bind(memory.ns)
        .bind(memory.id)
        .bind(memory.session_id)
        .bind(memory.agent_id)
        .bind(memory.type)
        .bind(memory.content)
        .bind(encode_tags(memory.tags))
        .bind(memory.importance)
        .bind(memory.created_at)
        .bind(memory.expires_at)
        .bind(memory.metadata_json)
        .bind(memory.reasoning)
        .bind(memory.superseded_by)
        .bind(memory.valid_until)
        .bind(dedup_fingerprint(memory));
    if (auto done = statement->run(); !done) {
      if (done.error().code == ErrorCode::kConflict) {
        return fail(ErrorCode::kConflict, "a memory with id " + memory.id + " already exists in namespace " +
                                              memory.ns + " (" + done.error().message + ")");
      }
      return done;
    }
    pk = sqlite3_last_insert_rowid(connection.handle());
  }
  {
    // Substring-indexed by the content indexer once this commits (searches read fts_pending meanwhile).
    auto statement = connection.prepare("INSERT INTO fts_pending (pk) VALUES (?1)", "queue memory content");
    if (!statement) return tl::unexpected(statement.error());
    statement->bind(pk);
    if (auto done = statement->run(); !done) return done;
    // Safe before the commit: the indexer reads fts_pending under the write lock this write holds.
    indexer_->wrote("");
  }
  for (const auto& tag : memory.tags) {
    auto statement = connection.prepare(
        "INSERT OR IGNORE INTO memory_tags (ns, tag, memory_id) VALUES (?1, ?2, ?3)", "index memory tags");
    if (!statement) return tl::unexpected(statement.error());
    statement->bind(memory.ns).bind(tag).bind(memory.id);
    if (auto done = statement->run(); !done) return done;
  }
  {
    auto statement = connection.prepare(
        "INSERT INTO session_agents (ns, session_id, agent_id, wrote) VALUES (?1, ?2, ?3, 1) "
        "ON CONFLICT (ns, session_id, agent_id) DO UPDATE SET wrote = 1 WHERE wrote = 0",
        "record the session's participant");
    if (!statement) return tl::unexpected(statement.error());
    statement->bind(memory.ns).bind(memory.session_id).bind(memory.agent_id);
    if (auto done = statement->run(); !done) return done;
  }
  if (auto kept = keep_window(connection, memory); !kept) return kept;
  return append_change(connection, {kChangeMemory, change_kind::kMemoryWritten, memory.ns, memory.session_id,
                                    memory.agent_id, memory.id, memory.created_at});
}

Result<bool> SqliteStore::delete_memory(const std::string& ns, const std::string& id,
                                        const std::string& agent) {
  return write("forget memory", [&](Connection& connection) -> Result<bool> {
    ExpiredRow target;
    {
      auto statement = connection.prepare(
          "SELECT pk, session_id, content, tags FROM memories WHERE ns = ?1 AND id = ?2", "forget memory");
      if (!statement) return tl::unexpected(statement.error());
      statement->bind(ns).bind(id);
      auto row = statement->step();
      if (!row) return tl::unexpected(row.error());
      if (!*row) return false;
      target =
          ExpiredRow{statement->int64(0), ns, id, statement->text(1), statement->text(2), statement->text(3)};
    }
    if (auto removed = remove_memory(connection, target); !removed) return tl::unexpected(removed.error());
    if (auto logged = append_change(connection, {kChangeMemory, change_kind::kMemoryForgotten, ns,
                                                 target.session_id, agent, id, wall_clock_ms()});
        !logged) {
      return tl::unexpected(logged.error());
    }
    return true;
  });
}

Result<std::size_t> SqliteStore::purge_expired(UnixMillis now) {
  std::size_t purged = 0;
  for (;;) {
    auto batch = write("purge expired memories", [&](Connection& connection) -> Result<std::size_t> {
      std::vector<ExpiredRow> rows;
      {
        auto statement = connection.prepare(
            "SELECT pk, ns, id, session_id, content, tags FROM memories INDEXED BY memories_by_expiry "
            "WHERE expires_at <= ?1 LIMIT ?2",
            "purge expired memories");
        if (!statement) return tl::unexpected(statement.error());
        statement->bind(now).bind(static_cast<std::int64_t>(kPurgeBatch));
        for (;;) {
          auto row = statement->step();
          if (!row) return tl::unexpected(row.error());
          if (!*row) break;
          rows.push_back(ExpiredRow{statement->int64(0), statement->text(1), statement->text(2),
                                    statement->text(3), statement->text(4), statement->text(5)});
        }
      }
      std::set<std::pair<std::string, std::string>> sessions;
      for (const auto& row : rows) {
        if (auto removed = remove_memory(connection, row); !removed) return tl::unexpected(removed.error());
        sessions.emplace(row.ns, row.session_id);
      }
      for (const auto& [ns, session_id] : sessions) {
        // Expiry wakes watchers but is no feed entry: expires_at already says when a memory goes.
        if (auto logged = append_change(connection, {kChangeMemory, nullptr, ns, session_id, "", "", now});
            !logged) {
          return tl::unexpected(logged.error());
        }
      }
      return rows.size();
    });
    if (!batch) return tl::unexpected(batch.error());
    purged += *batch;
    if (*batch < kPurgeBatch) break;
  }
  // The cheap periodic path that keeps the change feed within its retention when nobody writes.
  auto trimmed =
      write("trim the change feed", [&](Connection& connection) { return trim_changes(connection, now); });
  if (!trimmed) return tl::unexpected(trimmed.error());
  // Idempotency keys older than their window answer nothing any more.
  auto forgotten = write("forget old idempotency keys", [&](Connection& connection) -> Result<void> {
    auto statement = connection.prepare("DELETE FROM idempotency_keys WHERE created_at <= ?1",
                                        "forget old idempotency keys");
    if (!statement) return tl::unexpected(statement.error());
    statement->bind(now - kIdempotencyWindowMs);
    return statement->run();
  });
  if (!forgotten) return tl::unexpected(forgotten.error());
  return purged;
}

Result<std::vector<std::string>> SqliteStore::list_namespaces() {
  return database_->read([](Connection& connection) { return sqlite::list_namespaces(connection); });
}

Result<std::vector<Agent>> SqliteStore::list_agents(const std::string& ns) {
  return database_->read([&](Connection& connection) { return sqlite::list_agents(connection, ns); });
}

Result<std::vector<TaskClaim>> SqliteStore::list_task_claims(const std::string& ns, UnixMillis now) {
  return database_->read(
      [&](Connection& connection) { return sqlite::list_task_claims(connection, ns, now); });
}

Result<std::uint64_t> SqliteStore::storage_bytes() {
  return database_->read([](Connection& connection) { return sqlite::database_bytes(connection); });
}

std::unique_ptr<ChangeSubscription> SqliteStore::watch(const std::string& ns, ChangeCallback callback) {
  return feed_->subscribe(ns, std::move(callback));
}

// The session row, its metadata and its creator as a participant, and the change event; inside the
// caller's write transaction. kConflict if the id is taken.
Result<void> SqliteStore::insert_session(Connection& connection, const Session& session) {
  {
    auto statement = connection.prepare(
        "INSERT INTO sessions (ns, id, created_by, status, created_at, updated_at, closed_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        "create session");
    if (!statement) return tl::unexpected(statement.error());
    statement->bind(session.ns)
        .bind(session.id)
        .bind(session.created_by)
        .bind(to_string(session.status))
        .bind(session.created_at)
        .bind(session.updated_at)
        .bind(session.closed_at);
    if (auto done = statement->run(); !done) {
      if (done.error().code == ErrorCode::kConflict) {
        return fail(ErrorCode::kConflict,
                    "session " + session.id + " already exists in namespace " + session.ns);
      }
      return done;
    }
  }
  for (const auto& [key, value] : session.metadata) {
    auto statement = connection.prepare(
        "INSERT INTO session_metadata (ns, session_id, key, value) VALUES (?1, ?2, ?3, ?4)",
        "store session metadata");
    if (!statement) return tl::unexpected(statement.error());
    statement->bind(session.ns).bind(session.id).bind(key).bind(value);
    if (auto done = statement->run(); !done) return done;
  }
  if (!session.created_by.empty()) {
    auto statement = connection.prepare(
        "INSERT OR IGNORE INTO session_agents (ns, session_id, agent_id, wrote) VALUES (?1, ?2, ?3, 0)",
        "record the session's creator");
    if (!statement) return tl::unexpected(statement.error());
    statement->bind(session.ns).bind(session.id).bind(session.created_by);
    if (auto done = statement->run(); !done) return done;
  }
  return append_change(connection, {kChangeSession, change_kind::kSessionCreated, session.ns, session.id,
                                    session.created_by, session.id, session.created_at});
}

// The sliding window (SqliteOptions::max_memories_per_session), inside the write that just stored
// `written`: drops the session's memories past the window, expired ones first (by the new memory's
// time), then the least important, ties the oldest; never `written`.
Result<void> SqliteStore::keep_window(Connection& connection, const Memory& written) {
  const std::size_t max = database_->options().max_memories_per_session;
  if (max == 0) return {};
  std::int64_t excess = 0;
  {
    auto statement = connection.prepare("SELECT count(*) FROM memories WHERE ns = ?1 AND session_id = ?2",
                                        "count the session's memories");
    if (!statement) return tl::unexpected(statement.error());
    statement->bind(written.ns).bind(written.session_id);
    auto row = statement->step();
    if (!row) return tl::unexpected(row.error());
    excess = statement->int64(0) - static_cast<std::int64_t>(max);
  }
  if (excess <= 0) return {};
  std::vector<ExpiredRow> victims;
  {
    auto statement = connection.prepare(
        "SELECT pk, id, content, tags FROM memories WHERE ns = ?1 AND session_id = ?2 AND id <> ?3 "
        "ORDER BY (expires_at IS NOT NULL AND expires_at <= ?4) DESC,"
        " CASE WHEN expires_at <= ?4 THEN expires_at END, importance, id LIMIT ?5",
        "choose memories past the window");
    if (!statement) return tl::unexpected(statement.error());
    statement->bind(written.ns)
        .bind(written.session_id)
        .bind(written.id)
        .bind(written.created_at)
        .bind(excess);
    for (;;) {
      auto row = statement->step();
      if (!row) return tl::unexpected(row.error());
      if (!*row) break;
      victims.push_back(ExpiredRow{statement->int64(0), written.ns, statement->text(1), written.session_id,
                                   statement->text(2), statement->text(3)});
    }
  }
  for (const auto& victim : victims) {
    if (auto removed = remove_memory(connection, victim); !removed) return removed;
  }
  spdlog::debug("session {}: the window of {} memories evicted {}", written.session_id, max, victims.size());
  return {};
}

// Deletes a memory row with its tag rows and its FTS entry or pending-index row (external content: the
// FTS 'delete' command needs the indexed text, which is why callers read it first).
Result<void> SqliteStore::remove_memory(Connection& connection, const ExpiredRow& row) {
  for (const auto& tag : decode_tags(row.tags)) {
    auto statement = connection.prepare(
        "DELETE FROM memory_tags WHERE ns = ?1 AND tag = ?2 AND memory_id = ?3", "remove memory tags");
    if (!statement) return tl::unexpected(statement.error());
    statement->bind(row.ns).bind(tag).bind(row.id);
    if (auto done = statement->run(); !done) return done;
  }
  bool was_pending = false;
  {
    auto statement = connection.prepare("DELETE FROM fts_pending WHERE pk = ?1", "remove memory content");
    if (!statement) return tl::unexpected(statement.error());
    statement->bind(row.pk);
    if (auto done = statement->run(); !done) return done;
    was_pending = statement->changes() > 0;
  }
  if (!was_pending) {  // indexed: take it out of the index (a 'delete' of a row never indexed corrupts it)
    auto statement = connection.prepare(
        "INSERT INTO memories_fts (memories_fts, rowid, content) VALUES ('delete', ?1, ?2)",
        "remove memory content");
    if (!statement) return tl::unexpected(statement.error());
    statement->bind(row.pk).bind(row.content);
    if (auto done = statement->run(); !done) return done;
    // The same for the tag-keyed index, which holds a row only where this document is not empty.
    if (const auto document = tag_trigram_document(row.ns, decode_tags(row.tags), row.content);
        !document.empty()) {
      auto tagged = connection.prepare(
          "INSERT INTO memories_tag_fts (memories_tag_fts, rowid, tokens) VALUES ('delete', ?1, ?2)",
          "remove memory content");
      if (!tagged) return tl::unexpected(tagged.error());
      tagged->bind(row.pk).bind(document);
      if (auto done = tagged->run(); !done) return done;
    }
  }
  auto statement = connection.prepare("DELETE FROM memories WHERE pk = ?1", "remove memory");
  if (!statement) return tl::unexpected(statement.error());
  statement->bind(row.pk);
  return statement->run();
}
}  // namespace memtrace::sqlite

namespace memtrace {

Result<std::unique_ptr<Store>> open_sqlite_store(const SqliteOptions& options) {
  auto database = sqlite::Database::open(options);
  if (!database) return tl::unexpected(database.error());
  return std::unique_ptr<Store>(std::make_unique<sqlite::SqliteStore>(std::move(*database)));
}

}  // namespace memtrace
