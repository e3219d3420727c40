// The behaviour suite on SQLite (:memory: and a file), plus what only a SQLite file store promises:
// persistence, file permissions, migrations, several processes sharing one file, and timing.
#include "store/sqlite/sqlite_store.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "core/ids.h"
#include "store/sqlite/sqlite_content_index.h"
#include "store/sqlite/sqlite_database.h"
#include "store/sqlite/sqlite_schema.h"
#include "store/sqlite/sqlite_store_internal.h"
#include "store/sqlite/sqlite_tag_index.h"
#include "store/sqlite/sqlite_trigram_sample.h"
#include "store/store_behaviour.h"
#include "support/temp_dir.h"
#include "support/threads.h"

namespace memtrace::testing {
namespace {

using ::testing::HasSubstr;

// Keeps the temporary directory of a file-backed store alive exactly as long as the store.
class StoreInTempDir final : public Store {
 public:
  StoreInTempDir(std::unique_ptr<TempDir> dir, std::unique_ptr<Store> inner)
      : dir_(std::move(dir)), inner_(std::move(inner)) {}

  std::string describe() const override { return inner_->describe(); }
  Result<void> ping() override { return inner_->ping(); }
  Result<Agent> upsert_agent(const Agent& agent) override { return inner_->upsert_agent(agent); }
  Result<std::optional<Agent>> get_agent(const std::string& ns, const std::string& id) override {
    return inner_->get_agent(ns, id);
  }
  Result<bool> delete_agent(const std::string& ns, const std::string& id) override {
    return inner_->delete_agent(ns, id);
  }
  Result<void> create_session(const Session& session) override { return inner_->create_session(session); }
  Result<SessionOpening> resume_or_create_session(const Session& session) override {
    return inner_->resume_or_create_session(session);
  }
  Result<std::optional<Session>> get_session(const std::string& ns, const std::string& id) override {
    return inner_->get_session(ns, id);
  }
  Result<bool> close_session(const std::string& ns, const std::string& id, UnixMillis at,
                             const std::string& agent) override {
    return inner_->close_session(ns, id, at, agent);
  }
  Result<std::vector<SessionSummary>> find_sessions(const SessionQuery& query) override {
    return inner_->find_sessions(query);
  }
  Result<void> insert_memory(const Memory& memory) override { return inner_->insert_memory(memory); }
  Result<WriteOutcome> write_memory(const Memory& memory, const WriteOptions& options) override {
    return inner_->write_memory(memory, options);
  }
  Result<std::optional<Memory>> get_memory(const std::string& ns, const std::string& id,
                                           UnixMillis now) override {
    return inner_->get_memory(ns, id, now);
  }
  Result<std::vector<Memory>> query_memories(const MemoryQuery& query) override {
    return inner_->query_memories(query);
  }
  Result<RankedMemories> rank_memories(const RankQuery& query) override {
    return inner_->rank_memories(query);
  }
  Result<bool> delete_memory(const std::string& ns, const std::string& id,
                             const std::string& agent) override {
    return inner_->delete_memory(ns, id, agent);
  }
  Result<std::size_t> purge_expired(UnixMillis now) override { return inner_->purge_expired(now); }
  std::unique_ptr<ChangeSubscription> watch(const std::string& ns, ChangeCallback callback) override {
    return inner_->watch(ns, std::move(callback));
  }
  Result<ChangePage> read_changes(const ChangeQuery& query) override { return inner_->read_changes(query); }
  Result<void> put_api_key(const ApiKey& key) override { return inner_->put_api_key(key); }
  Result<std::optional<ApiKey>> find_api_key_by_hash(const std::string& hash) override {
    return inner_->find_api_key_by_hash(hash);
  }
  Result<std::vector<ApiKey>> list_api_keys(const std::optional<std::string>& ns) override {
    return inner_->list_api_keys(ns);
  }
  Result<bool> revoke_api_key(const std::string& id, UnixMillis at) override {
    return inner_->revoke_api_key(id, at);
  }
  Result<ClaimOutcome> claim_task(const std::string& ns, const std::string& task_id, const std::string& agent,
                                  const std::string& session, UnixMillis lease_until, UnixMillis now,
                                  std::optional<std::int64_t> token) override {
    return inner_->claim_task(ns, task_id, agent, session, lease_until, now, token);
  }
  Result<bool> release_task(const std::string& ns, const std::string& task_id, const std::string& agent,
                            const std::string& session, UnixMillis now,
                            std::optional<std::int64_t> token) override {
    return inner_->release_task(ns, task_id, agent, session, now, token);
  }
  Result<CompleteOutcome> complete_task(const std::string& ns, const std::string& task_id,
                                        std::optional<std::int64_t> token, const Memory& result,
                                        UnixMillis now) override {
    return inner_->complete_task(ns, task_id, token, result, now);
  }
  Result<bool> reopen_task(const std::string& ns, const std::string& task_id, const std::string& agent,
                           const std::string& session, UnixMillis now) override {
    return inner_->reopen_task(ns, task_id, agent, session, now);
  }
  Result<TaskRecord> get_task(const std::string& ns, const std::string& task_id, UnixMillis now) override {
    return inner_->get_task(ns, task_id, now);
  }
  Result<std::optional<TaskClaim>> get_task_claim(const std::string& ns, const std::string& task_id,
                                                  UnixMillis now) override {
    return inner_->get_task_claim(ns, task_id, now);
  }
  Result<std::vector<std::string>> list_namespaces() override { return inner_->list_namespaces(); }
  Result<std::vector<Agent>> list_agents(const std::string& ns) override { return inner_->list_agents(ns); }
  Result<std::vector<TaskClaim>> list_task_claims(const std::string& ns, UnixMillis now) override {
    return inner_->list_task_claims(ns, now);
  }
  Result<std::uint64_t> storage_bytes() override { return inner_->storage_bytes(); }

 private:
  std::unique_ptr<TempDir> dir_;  // declared first: removed after the store is closed
  std::unique_ptr<Store> inner_;
};

std::unique_ptr<Store> open_or_fail(const SqliteOptions& options) {
  auto store = open_sqlite_store(options);
  if (!store) {
    ADD_FAILURE() << "open_sqlite_store(" << options.path << "): " << store.error().message;
    return nullptr;
  }
  return std::move(*store);
}

std::unique_ptr<Store> open_or_fail(const std::string& path) {
  SqliteOptions options;
  options.path = path;
  return open_or_fail(options);
}

StoreBackend memory_backend() {
  return {"Memory", [](std::size_t max_memories_per_session) {
            SqliteOptions options;
            options.path = ":memory:";
            options.max_memories_per_session = max_memories_per_session;
            return open_or_fail(options);
          }};
}

StoreBackend file_backend() {
  return {"File", [](std::size_t max_memories_per_session) -> std::unique_ptr<Store> {
            auto dir = std::make_unique<TempDir>("memtrace-store");
            SqliteOptions options;
            options.path = dir->file("memtrace.db");
            options.max_memories_per_session = max_memories_per_session;
            auto store = open_or_fail(options);
            if (!store) return nullptr;
            return std::make_unique<StoreInTempDir>(std::move(dir), std::move(store));
          }};
}

INSTANTIATE_TEST_SUITE_P(Sqlite, StoreBehaviour, ::testing::Values(memory_backend(), file_backend()),
                         backend_name);

// ---- helpers for SQLite-only tests ----

constexpr UnixMillis kT0 = 1'700'000'000'000;
constexpr UnixMillis kNow = kT0 + 86'400'000;

// A plain sqlite3 connection for looking under the store's hood.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << "cannot open " << path << ": " << sqlite3_errmsg(db_);
    }
    sqlite3_busy_timeout(db_, 5000);
  }
  ~RawDb() { sqlite3_close(db_); }

  std::string text(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db_);
      return out;
    }
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    } else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db_);
    }
    sqlite3_finalize(stmt);
    return out;
  }

  long long number(const std::string& sql) { return std::stoll("0" + text(sql)); }

  // What EXPLAIN QUERY PLAN says of `sql`, one step per line (parameters left unbound).
  std::string plan(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db_, ("EXPLAIN QUERY PLAN " + sql).c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db_);
      return out;
    }
    while (sqlite3_step(stmt) == SQLITE_ROW)
      out += std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3))) + "\n";
    sqlite3_finalize(stmt);
    return out;
  }

  void exec(const std::string& sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << (message != nullptr ? message : "?");
    }
    sqlite3_free(message);
  }

 private:
  sqlite3* db_ = nullptr;
};

// Undoes the schema steps after `version` (9 or later) on a file of the latest schema, newest first;
// the caller sets user_version (a test going further back undoes more steps of its own first).
void undo_schema_steps_after(RawDb& raw, int version) {
  if (version < 15) {  // FTS5's own merges, as they were
    raw.exec("INSERT INTO memories_fts (memories_fts, rank) VALUES ('automerge', 4)");
    raw.exec("INSERT INTO memories_tag_fts (memories_tag_fts, rank) VALUES ('automerge', 8)");
    raw.exec("INSERT INTO memories_tag_fts (memories_tag_fts, rank) VALUES ('usermerge', 4)");
  }
  if (version < 14) raw.exec("DROP TABLE memories_tag_fts");
  if (version < 13) raw.exec("DROP INDEX memories_superseded_by_session");
  if (version < 12) raw.exec("DROP INDEX memories_by_rank");
  if (version < 11) {
    raw.exec("DROP TRIGGER memories_counted_in");
    raw.exec("DROP TRIGGER memories_counted_out");
    raw.exec("DROP INDEX memories_expiring_by_session");
    raw.exec("ALTER TABLE sessions DROP COLUMN memory_rows");
  }
  if (version < 10) raw.exec("ALTER TABLE memories DROP COLUMN id_hwm");
}

// How many rows of memories_tag_fts name `needle` under `tag` (namespace default): the candidates a
// content + tag search reads.
long long tag_index_candidates(RawDb& raw, const std::string& tag, const std::string& needle) {
  return raw.number("SELECT count(*) FROM memories_tag_fts WHERE memories_tag_fts MATCH '" +
                    *sqlite::tag_trigram_query(kDefaultNamespace, {tag}, needle) + "'");
}

// How many segments the FTS5 table `table` holds: the distinct segment ids of its %_data rows (a
// segment page's rowid is its segment id shifted left by 37 bits, fts5_index.c).
long long fts_segments(RawDb& raw, const std::string& table) {
  return raw.number("SELECT count(DISTINCT id >> 37) FROM " + table + "_data WHERE id >= (1 << 37)");
}

Session session_named(const std::string& id, const std::string& agent = "agent-a") {
  Session session;
  session.id = id;
  session.created_by = agent;
  session.created_at = session.updated_at = kT0;
  return session;
}

Memory memory_in(IdGenerator& ids, const std::string& session_id, const std::string& content, UnixMillis at,
                 const std::string& agent = "agent-a") {
  Memory memory;
  memory.id = ids.next(at);
  memory.session_id = session_id;
  memory.agent_id = agent;
  memory.content = content;
  memory.created_at = at;
  return memory;
}

std::size_t count_all(Store& store, const std::string& ns = kDefaultNamespace) {
  std::size_t count = 0;
  MemoryQuery q;
  q.ns = ns;
  q.now = kNow;
  q.limit = 500;
  for (;;) {
    auto rows = store.query_memories(q);
    if (!rows) {
      ADD_FAILURE() << rows.error().message;
      return count;
    }
    count += rows->size();
    if (rows->size() < q.limit) return count;
    q.before_id = rows->back().id;
  }
}

mode_t mode_of(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return 0;
  return info.st_mode & 07777;
}

// Waits for a child process with a deadline; kills it if the deadline passes. Returns its exit
// status, or -1 if it had to be killed or did not exit normally.
int wait_child(pid_t pid, std::chrono::seconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    int status = 0;
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (done < 0) return -1;
    if (std::chrono::steady_clock::now() >= until) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      ADD_FAILURE() << "child " << pid << " did not finish within " << deadline.count() << " s";
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a child, not synchronising
  }
}

// Forks a child that blocks until the pipe `start` reads EOF, then runs `body` and exits with its
// result. Fork happens while the parent has no other threads, so the child inherits no held locks.
pid_t fork_child(int start_fd, int other_end, const std::function<int()>& body) {
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  ::close(other_end);
  char byte = 0;
  while (::read(start_fd, &byte, 1) > 0) {
  }
  ::close(start_fd);
  std::fflush(nullptr);
  ::_exit(body());
}

// ---- describe, open, permissions ----

TEST(SqliteStore, DescribeNamesTheFileOrMemory) {
  TempDir dir;
  auto file = open_or_fail(dir.file("a.db"));
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(file->describe(), "sqlite:" + dir.file("a.db"));
  auto memory = open_or_fail(":memory:");
  ASSERT_NE(memory, nullptr);
  EXPECT_EQ(memory->describe(), "memory");
}

TEST(SqliteStore, CreatesMissingFoldersPrivateAndTheFileOwnerOnly) {
  TempDir dir;
  const std::string path = dir.file("a/b/memtrace.db");
  const mode_t old_umask = ::umask(022);  // a typical, permissive umask must not widen the modes
  auto store = open_or_fail(path);
  ::umask(old_umask);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(mode_of(dir.file("a")), 0700u);
  EXPECT_EQ(mode_of(dir.file("a/b")), 0700u);
  EXPECT_EQ(mode_of(path), 0600u);
  // Write something so that the WAL exists; it must be as private as the database.
  ok(store->create_session(session_named("s1")));
  if (mode_of(path + "-wal") != 0) {
    EXPECT_EQ(mode_of(path + "-wal"), 0600u);
  }
}

TEST(SqliteStore, UnopenablePathIsUnavailableAndNamesThePath) {
  TempDir dir;
  std::ofstream(dir.file("plain-file")) << "x";
  for (const std::string& path : {dir.file("plain-file/memtrace.db"), dir.path().string()}) {
    SqliteOptions options;
    options.path = path;
    auto store = open_sqlite_store(options);
    ASSERT_FALSE(store.has_value()) << path;
    EXPECT_EQ(store.error().code, ErrorCode::kUnavailable);
    EXPECT_THAT(store.error().message, HasSubstr(path));
    EXPECT_THAT(store.error().message,
                ::testing::AnyOf(HasSubstr("Not a directory"), HasSubstr("Is a directory")))
        << "the OS error is named";
  }
}

TEST(SqliteStore, EmptyPathIsInvalid) {
  auto store = open_sqlite_store(SqliteOptions{});
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code, ErrorCode::kInvalidArgument);
}

TEST(SqliteStore, FileThatIsNotADatabaseIsUnavailable) {
  TempDir dir;
  std::ofstream(dir.file("junk.db")) << std::string(8192, 'j');
  auto store = open_sqlite_store(SqliteOptions{dir.file("junk.db")});
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code, ErrorCode::kUnavailable) << store.error().message;
  EXPECT_THAT(store.error().message, HasSubstr(dir.file("junk.db")));
}

TEST(SqliteStore, MemoryStoresAreSeparate) {
  auto a = open_or_fail(":memory:");
  auto b = open_or_fail(":memory:");
  ASSERT_TRUE(a && b);
  ok(a->create_session(session_named("s1")));
  EXPECT_TRUE(ok(a->get_session(kDefaultNamespace, "s1")).has_value());
  EXPECT_FALSE(ok(b->get_session(kDefaultNamespace, "s1")).has_value());
}

// ---- schema and persistence ----

TEST(SqliteStore, MigratesAnEmptyFileAndUsesWal) {
  TempDir dir;
  const std::string path = dir.file("empty.db");
  { std::ofstream touch(path); }  // zero bytes, as `touch` leaves it
  ASSERT_EQ(std::filesystem::file_size(path), 0u);
  auto store = open_or_fail(path);
  ASSERT_NE(store, nullptr);
  RawDb raw(path);
  EXPECT_EQ(raw.number("PRAGMA user_version"), sqlite::latest_schema_version());
  EXPECT_EQ(raw.text("PRAGMA journal_mode"), "wal");
  for (const char* table : {"agents", "sessions", "session_metadata", "session_agents", "memories",
                            "memory_tags", "memories_fts", "changes"}) {
    EXPECT_EQ(raw.number(std::string("SELECT count(*) FROM sqlite_schema WHERE name = '") + table + "'"), 1)
        << table;
  }
}

// --sqlite-cache-mib sizes the page cache of the connection that writes and serves most reads; the
// default stays 1 MiB, which keeps the server inside its resident-memory aim.
TEST(SqliteStore, TheWriteConnectionsPageCacheIsTheSizeAskedFor) {
  TempDir dir;
  auto cache_kib = [](sqlite::Database& database) {
    return database.write([](sqlite::Connection& connection) -> Result<std::int64_t> {
      auto statement = connection.prepare("PRAGMA cache_size", "read the cache size");
      if (!statement) return tl::unexpected(statement.error());
      auto row = statement->step();
      if (!row) return tl::unexpected(row.error());
      return -statement->int64(0);  // negative: KiB
    });
  };
  for (std::size_t mib : {1u, 8u}) {
    SqliteOptions options;
    options.path = dir.file("cache-" + std::to_string(mib) + ".db");
    options.write_cache_mib = mib;
    auto database = sqlite::Database::open(options);
    ASSERT_TRUE(database) << database.error().message;
    auto kib = cache_kib(**database);
    ASSERT_TRUE(kib) << kib.error().message;
    EXPECT_EQ(*kib, static_cast<std::int64_t>(mib * 1024));
  }
}

// A file of schema 4 (before the change feed) gains the feed's columns; its old change rows wake
// watchers but are no feed entries, and the feed and its cursors survive reopening the file.
TEST(SqliteStore, MigratesASchema4FileToTheChangeFeedAndKeepsCursorsAcrossReopen) {
  TempDir dir;
  const std::string path = dir.file("v4.db");
  { ASSERT_NE(open_or_fail(path), nullptr); }
  {
    RawDb raw(path);
    undo_schema_steps_after(raw, 9);  // newest first
    raw.exec("DROP INDEX changes_feed");
    raw.exec("DROP INDEX changes_feed_by_session");
    raw.exec("ALTER TABLE changes DROP COLUMN feed_kind");
    raw.exec("ALTER TABLE changes DROP COLUMN agent");
    raw.exec("ALTER TABLE changes DROP COLUMN subject");
    // Schemas 6 (supersede and dedup) and 7 (idempotency keys) came after: what they added goes too.
    raw.exec("DROP TABLE idempotency_keys");
    raw.exec("DROP INDEX memories_by_dedup_key");
    raw.exec("ALTER TABLE memories DROP COLUMN superseded_by");
    raw.exec("ALTER TABLE memories DROP COLUMN valid_until");
    raw.exec("ALTER TABLE memories DROP COLUMN dedup_key");
    raw.exec("DROP TABLE fts_pending");                    // schema 8 (substring indexing after the write)
    raw.exec("DROP INDEX memories_decisions_by_session");  // schema 9
    raw.exec("INSERT INTO changes (at, kind, ns, session_id) VALUES (1, 0, 'default', 'old')");
    raw.exec("PRAGMA user_version = 4");
  }
  IdGenerator ids;
  ChangeQuery query;
  query.now = kNow;
  std::string cursor;
  {
    auto store = open_or_fail(path);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(RawDb(path).number("PRAGMA user_version"), sqlite::latest_schema_version());
    auto empty = ok(store->read_changes(query));
    EXPECT_TRUE(empty.changes.empty()) << "a schema-4 row is no feed entry";
    cursor = empty.next_cursor;
    ok(store->create_session(session_named("s1")));
  }
  auto store = open_or_fail(path);
  ASSERT_NE(store, nullptr);
  Memory memory = memory_in(ids, "s1", "after the reopen", kT0 + 1);
  ok(store->insert_memory(memory));
  query.cursor = cursor;
  auto page = ok(store->read_changes(query));
  ASSERT_EQ(page.changes.size(), 2u);
  EXPECT_EQ(page.changes[0].kind, "session.created");
  EXPECT_EQ(page.changes[1].kind, "memory.written");
  EXPECT_EQ(page.changes[1].subject, memory.id);
}

TEST(SqliteStore, PersistsAcrossReopenOfAMigratedFile) {
  TempDir dir;
  const std::string path = dir.file("memtrace.db");
  IdGenerator ids;
  Memory memory = memory_in(ids, "s1", "Remember the Alamo", kT0 + 1);
  memory.tags = {"history", "texas"};
  memory.reasoning = "because";
  {
    auto store = open_or_fail(path);
    ASSERT_NE(store, nullptr);
    ok(store->upsert_agent(Agent{kDefaultNamespace, "agent-a", "the first", kT0}));
    Session session = session_named("s1");
    session.metadata = {{"k", "\"v\""}};
    ok(store->create_session(session));
    ok(store->insert_memory(memory));
    ok(store->close_session(kDefaultNamespace, "s1", kT0 + 5));
  }
  const auto version_before = RawDb(path).number("PRAGMA user_version");
  auto store = open_or_fail(path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(RawDb(path).number("PRAGMA user_version"), version_before);
  auto got = ok(store->get_memory(kDefaultNamespace, memory.id, kNow));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->content, memory.content);
  EXPECT_EQ(got->tags, memory.tags);
  EXPECT_EQ(got->reasoning, memory.reasoning);
  EXPECT_EQ(ok(store->get_agent(kDefaultNamespace, "agent-a"))->description, "the first");
  auto session = ok(store->get_session(kDefaultNamespace, "s1"));
  ASSERT_TRUE(session.has_value());
  EXPECT_EQ(session->status, SessionStatus::kClosed);
  EXPECT_EQ(session->metadata, (Metadata{{"k", "\"v\""}}));
  MemoryQuery q;
  q.now = kNow;
  q.content_contains = "alamo";
  q.tags = {"texas"};
  auto rows = ok(store->query_memories(q));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].id, memory.id);
}

TEST(SqliteStore, RefusesAFileFromANewerVersion) {
  TempDir dir;
  const std::string path = dir.file("future.db");
  ASSERT_NE(open_or_fail(path), nullptr);
  const int future = sqlite::latest_schema_version() + 1;
  RawDb(path).exec("PRAGMA user_version = " + std::to_string(future));
  auto store = open_sqlite_store(SqliteOptions{path});
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(store.error().message, HasSubstr("newer"));
  EXPECT_THAT(store.error().message, HasSubstr(path));
  EXPECT_EQ(RawDb(path).number("PRAGMA user_version"), future) << "the file is left untouched";
}

TEST(SqliteStore, IndexesStayConsistentThroughDeletesAndPurges) {
  TempDir dir;
  const std::string path = dir.file("memtrace.db");
  auto store = open_or_fail(path);
  ASSERT_NE(store, nullptr);
  IdGenerator ids;
  ok(store->create_session(session_named("s1")));
  std::vector<std::string> kept;
  for (int i = 0; i < 300; ++i) {
    Memory m = memory_in(ids, "s1", "entry number " + std::to_string(i) + " with words", kT0 + i);
    m.tags = {"t" + std::to_string(i % 7), "all"};
    if (i % 3 == 0) m.expires_at = kT0 + 1000;
    ok(store->insert_memory(m));
    if (i % 5 == 0 && i % 3 != 0) {
      ok(store->delete_memory(kDefaultNamespace, m.id));
    } else if (i % 3 != 0) {
      kept.push_back(m.id);
    }
  }
  EXPECT_EQ(ok(store->purge_expired(kT0 + 1000)), 100u);
  // Substring search finds every kept memory at once, whether the content indexer has reached it or not.
  MemoryQuery by_word;
  by_word.content_contains = "WITH WORDS";
  by_word.now = kT0 + 1000;
  by_word.limit = 500;
  EXPECT_EQ(ok(store->query_memories(by_word)).size(), kept.size());
  store.reset();  // a clean close indexes whatever is still pending
  RawDb raw(path);
  EXPECT_EQ(raw.number("SELECT count(*) FROM fts_pending"), 0);
  EXPECT_EQ(raw.number("SELECT count(*) FROM memories"), static_cast<long long>(kept.size()));
  EXPECT_EQ(raw.number("SELECT count(*) FROM memory_tags"), static_cast<long long>(2 * kept.size()));
  // FTS5's own check that the index matches the content table exactly.
  raw.exec("INSERT INTO memories_fts (memories_fts, rank) VALUES ('integrity-check', 1)");
  EXPECT_EQ(raw.number("SELECT count(*) FROM memories_fts WHERE memories_fts MATCH '\"words\"'"),
            static_cast<long long>(kept.size()));
}

// The session context reads a session's decisions apart from its other memories; among many of those,
// the decisions come from their own index instead of a walk over the whole session, and the session's
// count reads no memory rows (each of the two read all 100k rows of a 100k session).
TEST(SqliteStore, ASessionsDecisionsAreReadFromTheirOwnIndexNewestFirst) {
  TempDir dir;
  const std::string path = dir.file("decisions.db");
  auto store = open_or_fail(path);
  ASSERT_NE(store, nullptr);
  ok(store->create_session(session_named("s1")));
  ok(store->create_session(session_named("s2")));
  IdGenerator ids;
  std::vector<std::string> decisions;
  for (int i = 0; i < 300; ++i) {
    Memory memory = memory_in(ids, i % 3 == 0 ? "s2" : "s1", "note " + std::to_string(i), kT0 + i);
    if (i % 50 == 7) {
      memory.type = "decision";
      if (memory.session_id == "s1") decisions.insert(decisions.begin(), memory.id);
    }
    ok(store->insert_memory(memory));
  }
  ASSERT_EQ(decisions.size(), 4U);

  MemoryQuery query;
  query.ns = kDefaultNamespace;
  query.session_id = "s1";
  query.types = {"decision"};
  query.now = kNow;
  query.limit = 3;
  auto newest = ok(store->query_memories(query));
  ASSERT_EQ(newest.size(), 3U);
  for (std::size_t i = 0; i < newest.size(); ++i) {
    EXPECT_EQ(newest[i].id, decisions[i]);
    EXPECT_EQ(newest[i].type, "decision");
  }
  query.before_id = newest.back().id;
  auto rest = ok(store->query_memories(query));
  ASSERT_EQ(rest.size(), 1U);
  EXPECT_EQ(rest[0].id, decisions[3]);

  RawDb raw(path);
  EXPECT_THAT(raw.plan(sqlite::build_memory_query(query).sql), HasSubstr("memories_decisions_by_session"));
  query.types = {"decision", "fact"};
  EXPECT_THAT(raw.plan(sqlite::build_memory_query(query).sql), HasSubstr("memories_by_session"))
      << "other type filters still walk the session";
  // The session summary's count of live memories and newest time read the session's index alone.
  EXPECT_THAT(
      raw.plan("SELECT count(*), max(created_at) FROM memories INDEXED BY memories_by_session WHERE ns = "
               "'default' AND session_id = 's1' AND (expires_at IS NULL OR expires_at > 0)"),
      HasSubstr("COVERING INDEX memories_by_session"));
}

TEST(SqliteStore, SubstringIndexFollowsWritesAndForgetsWhetherIndexedYetOrNot) {
  TempDir dir;
  const std::string path = dir.file("memtrace.db");
  IdGenerator ids;
  std::vector<std::string> indexed;
  {
    auto store = open_or_fail(path);
    ASSERT_NE(store, nullptr);
    ok(store->create_session(session_named("s1")));
    for (int i = 0; i < 50; ++i) {
      Memory m = memory_in(ids, "s1", "alpha beta " + std::to_string(i), kT0 + i);
      ok(store->insert_memory(m));
      indexed.push_back(m.id);
    }
  }
  EXPECT_EQ(RawDb(path).number("SELECT count(*) FROM fts_pending"), 0) << "closing indexes the rest";
  {
    auto store = open_or_fail(path);
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 10; ++i) EXPECT_TRUE(ok(store->delete_memory(kDefaultNamespace, indexed[i])));
    for (int i = 0; i < 20; ++i) {
      Memory m = memory_in(ids, "s1", "Alpha gamma " + std::to_string(i), kT0 + 100 + i);
      ok(store->insert_memory(m));
      // Forgotten right after its write, most likely before the indexer got to it.
      if (i % 4 == 0) {
        EXPECT_TRUE(ok(store->delete_memory(kDefaultNamespace, m.id)));
      }
    }
    MemoryQuery query;
    query.content_contains = "ALPHA";
    query.now = kNow;
    query.limit = 500;
    EXPECT_EQ(ok(store->query_memories(query)).size(), 40u + 15u);
    query.content_contains = "pha gam";
    EXPECT_EQ(ok(store->query_memories(query)).size(), 15u);
  }
  RawDb raw(path);
  EXPECT_EQ(raw.number("SELECT count(*) FROM fts_pending"), 0);
  raw.exec("INSERT INTO memories_fts (memories_fts, rank) VALUES ('integrity-check', 1)");
  EXPECT_EQ(raw.number("SELECT count(*) FROM memories_fts WHERE memories_fts MATCH '\"alpha\"'"), 55);
}

// A substring search reads the trigram index's matches by pk, newest first, and stops after its first
// matches; memories.id_hwm keeps that exact when ids arrive out of order. Written by the insert, and by
// the migration for a file that had rows before the column.
// A content search asks memories_fts for the two rarest trigrams of its needle, as a sample of the
// stored content counts them, rather than for the needle as a phrase: the needle's common trigrams,
// whose doclists are the longest, are not read. A new sample is taken once the table has grown by a
// quarter. (That the search stays exact is StoreBehaviour.ContentSearchFindsTheNeedleNotItsTrigramsApart.)
TEST(SqliteStore, AContentSearchNamesTheRarestTrigramsOfItsNeedle) {
  TempDir dir;
  const std::string path = dir.file("memtrace.db");
  IdGenerator ids;
  auto write = [&](const std::string& content, int count) {
    const bool first = !std::filesystem::exists(path);
    auto store = open_or_fail(path);
    ASSERT_NE(store, nullptr);
    if (first) ok(store->create_session(session_named("s1")));
    for (int i = 0; i < count; ++i) {
      ok(store->insert_memory(memory_in(ids, "s1", content + " " + std::to_string(i), kT0 + i)));
    }
  };
  sqlite::TrigramSample sample;
  auto rarest = [&](std::string_view needle) -> std::optional<std::string> {
    SqliteOptions options;
    options.path = path;
    auto database = sqlite::Database::open(options);
    if (!database) {
      ADD_FAILURE() << database.error().message;
      return std::nullopt;
    }
    auto query = (*database)->read([&](sqlite::Connection& connection) -> Result<std::optional<std::string>> {
      return sample.rarest_query(connection, needle);
    });
    if (!query) ADD_FAILURE() << query.error().message;
    return query ? *query : std::nullopt;
  };
  write("alpha beta", 200);
  write("alpha xylophone", 1);
  // alp, lph, pha and "ha " are in all 201 memories; "a x", " xy" and xyl in one (ties go by position).
  EXPECT_EQ(rarest("alpha xyl"), R"("a x" AND " xy")");
  EXPECT_EQ(rarest("ALPHA XYL"), R"("A X" AND " XY")") << "counted folded; FTS5 folds the query";
  EXPECT_EQ(rarest("alph"), std::nullopt) << "two trigrams: the phrase names no more";
  EXPECT_EQ(rarest("alalala"), std::nullopt) << "two distinct trigrams";
  EXPECT_EQ(rarest("día de sol"), std::nullopt) << "not ASCII: FTS5's trigrams are of characters";
  // 300 more with "a x", " xy" and xyl: the table grew by more than a quarter, so they are counted.
  write("beta xylophone", 300);
  EXPECT_EQ(rarest("alpha xyl"), R"("alp" AND "lph")");
}

// The candidates the rarest trigrams name include memories that hold those trigrams apart; the search
// reads them from the index (closing the store indexed everything) and answers only what holds the
// needle, page by page, newest first.
TEST(SqliteStore, AContentSearchByItsRarestTrigramsStaysExact) {
  TempDir dir;
  const std::string path = dir.file("memtrace.db");
  IdGenerator ids;
  std::vector<std::string> matches;
  std::vector<std::string> specials;
  {
    auto store = open_or_fail(path);
    ASSERT_NE(store, nullptr);
    ok(store->create_session(session_named("s1")));
    for (int i = 0; i < 3; ++i) {
      Memory match = memory_in(ids, "s1", "the Harbour master " + std::to_string(i), kT0 + i);
      ok(store->insert_memory(match));
      matches.insert(matches.begin(), match.id);
    }
    // har, arb (harbinger), rbo, bou, our (bourbon): every trigram of "harbour", never the word.
    for (int i = 0; i < 40; ++i) {
      ok(store->insert_memory(
          memory_in(ids, "s1", "a harbinger of bourbon " + std::to_string(i), kT0 + 100 + i)));
    }
    // Trigrams with quotes and FTS5's own syntax in them are named as literals.
    for (const char* content : {R"(say "hi" to them)", "glob a*b and x OR y (maybe) - col:val"}) {
      Memory special = memory_in(ids, "s1", content, kT0 + 200);
      ok(store->insert_memory(special));
      specials.push_back(special.id);
    }
  }  // closing indexes every pending row: the searches below read the index alone
  RawDb raw(path);
  ASSERT_EQ(raw.number("SELECT count(*) FROM fts_pending"), 0);
  sqlite::TrigramSample sample;
  SqliteOptions options;
  options.path = path;
  auto database = sqlite::Database::open(options);
  ASSERT_TRUE(database) << database.error().message;
  auto planned = (*database)->read([&](sqlite::Connection& connection) -> Result<std::optional<std::string>> {
    return sample.rarest_query(connection, "harbour");
  });
  ASSERT_TRUE(planned && planned->has_value());
  EXPECT_EQ(raw.number("SELECT count(*) FROM memories_fts WHERE memories_fts MATCH '" + **planned + "'"), 43)
      << **planned << " names the 40 that hold the trigrams apart too";
  planned = (*database)->read([&](sqlite::Connection& connection) -> Result<std::optional<std::string>> {
    return sample.rarest_query(connection, R"(say "hi")");
  });
  ASSERT_TRUE(planned && planned->has_value()) << "searched by trigrams, not as a phrase";

  auto store = open_or_fail(path);
  ASSERT_NE(store, nullptr);
  MemoryQuery query;
  query.now = kNow;
  query.content_contains = "harbour";
  for (std::size_t limit : {1u, 2u, 20u}) {
    query.limit = limit;
    EXPECT_EQ(ids_page_by_page(*store, query), matches) << "pages of " << limit;
  }
  query.content_contains = "HARBOUR MASTER 1";
  EXPECT_EQ(ids_page_by_page(*store, query), std::vector<std::string>{matches[1]});
  for (const char* needle : {R"(say "hi")", R"("hi" to)", "x OR y (maybe) -", "a*b and", "- col:val"}) {
    query.content_contains = needle;
    const auto& expected = needle[0] == 's' || needle[0] == '"' ? specials[0] : specials[1];
    EXPECT_EQ(ids_page_by_page(*store, query), std::vector<std::string>{expected}) << needle;
  }
}

TEST(SqliteStore, SubstringSearchWalksTheIndexNewestFirstAndStaysExactWhenIdsArriveOutOfOrder) {
  TempDir dir;
  const std::string path = dir.file("memtrace.db");
  IdGenerator ids;
  std::vector<Memory> made;
  for (int i = 0; i < 30; ++i) made.push_back(memory_in(ids, "s1", "fig " + std::to_string(i), kT0 + i));
  std::vector<std::string> expected;
  {
    auto store = open_or_fail(path);
    ASSERT_NE(store, nullptr);
    ok(store->create_session(session_named("s1")));
    // The three newest last, the oldest in the middle: a walk that stopped at its first matches by pk
    // would answer 26, 25, ... instead of 29, 28, ...
    for (int i : {5, 27, 3, 26, 0, 1, 2, 4, 25, 28, 29}) ok(store->insert_memory(made[i]));
    for (int i = 6; i < 25; ++i) ok(store->insert_memory(made[i]));
  }  // closing indexes every pending row: the searches below read the index alone
  for (auto it = made.rbegin(); it != made.rend(); ++it) expected.push_back(it->id);
  auto check = [&](const char* when) {
    auto store = open_or_fail(path);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(RawDb(path).number("SELECT count(*) FROM fts_pending"), 0) << when;
    MemoryQuery query;
    query.content_contains = "FIG";
    query.now = kNow;
    for (std::size_t limit : {1u, 2u, 4u, 30u}) {
      query.limit = limit;
      EXPECT_EQ(ids_page_by_page(*store, query), expected) << when << ", pages of " << limit;
    }
  };
  check("marks written by the inserts");
  {
    RawDb raw(path);
    EXPECT_GT(raw.number("SELECT count(*) FROM memories WHERE id_hwm IS NOT NULL"), 0);
    undo_schema_steps_after(raw, 9);
    raw.exec("PRAGMA user_version = 9");
  }
  check("marks written by the migration");
  RawDb raw(path);
  EXPECT_EQ(raw.number("PRAGMA user_version"), sqlite::latest_schema_version());
  // Each mark is the largest id at or below its row; NULL where that is the row's own id.
  EXPECT_EQ(raw.number("SELECT count(*) FROM memories AS m WHERE coalesce(m.id_hwm, m.id) <> "
                       "(SELECT max(id) FROM memories AS b WHERE b.pk <= m.pk)"),
            0);
  EXPECT_EQ(raw.number("SELECT count(*) FROM memories WHERE id_hwm <= id"), 0);
  // The walk is in the index's own order: no sort of every match before the first row comes out.
  MemoryQuery query;
  query.content_contains = "fig";
  query.tags = {"t"};
  query.min_importance = 0.5;
  const auto search = sqlite::build_substring_search(query);
  ASSERT_TRUE(search.has_value());
  const std::string plan = raw.plan(search->indexed.sql);
  EXPECT_THAT(plan, ::testing::HasSubstr("VIRTUAL TABLE INDEX")) << plan;
  EXPECT_THAT(plan, ::testing::Not(::testing::HasSubstr("TEMP B-TREE"))) << plan;
}

// A search naming content and tags walks the trigram index keyed by tag, which holds each memory once
// per tag: it names only that tag's candidates, and the search stays exact (content as a substring,
// ASCII case folded; every tag, exactly; one namespace), newest first, through forgetting and expiry,
// and after the migration that fills it for a file's existing memories.
TEST(SqliteStore, AContentAndTagSearchReadsOnlyThatTagsCandidatesAndStaysExact) {
  TempDir dir;
  const std::string path = dir.file("memtrace.db");
  IdGenerator ids;
  std::vector<std::string> expected;  // newest first
  std::string forgotten;
  std::string decoy;  // the needle's trigrams, not the needle
  auto write = [&](Store& store, const std::string& content, std::vector<std::string> tags,
                   const std::string& ns = kDefaultNamespace) {
    static UnixMillis at = kT0;
    Memory m = memory_in(ids, "s1", content, ++at);
    m.ns = ns;
    m.tags = std::move(tags);
    ok(store.insert_memory(m));
    return m.id;
  };
  {
    auto store = open_or_fail(path);
    ASSERT_NE(store, nullptr);
    ok(store->create_session(session_named("s1")));
    Session other = session_named("s1");
    other.ns = "tenant-b";
    ok(store->create_session(other));
    // The decoys: the word under other tags (many), the tag without the word, the word's trigrams
    // without the word, a tag differing in case, the same memory in another namespace.
    for (int i = 0; i < 300; ++i) write(*store, "a harbour log " + std::to_string(i), {"blue", "green"});
    for (int i = 0; i < 30; ++i) write(*store, "nothing to see " + std::to_string(i), {"red"});
    decoy = write(*store, "harb rbour", {"red"});
    write(*store, "a harbour log", {"Red"});
    write(*store, "a harbour log", {"red"}, "tenant-b");
    for (int i = 0; i < 6; ++i) {
      expected.insert(expected.begin(),
                      write(*store, (i % 2 == 0 ? "the HARBOUR at " : "harbours, ") + std::to_string(i),
                            i % 3 == 0 ? std::vector<std::string>{"red", "blue"}
                                       : std::vector<std::string>{"green", "red"}));
    }
    forgotten = write(*store, "harbour to forget", {"red"});
    write(*store, "a harbour that expires", {"red"});
  }  // closing indexes every pending row: the searches below read the indexes alone
  {
    auto store = open_or_fail(path);  // forgotten once indexed: taken out of both indexes
    ASSERT_NE(store, nullptr);
    EXPECT_TRUE(ok(store->delete_memory(kDefaultNamespace, forgotten)));
  }
  {
    RawDb raw(path);
    raw.exec("UPDATE memories SET expires_at = " + std::to_string(kNow - 1) +
             " WHERE content LIKE '%expires'");
  }
  MemoryQuery query;
  query.content_contains = "Harbour";
  query.tags = {"red"};
  query.now = kNow;
  auto check = [&](const char* when) {
    auto store = open_or_fail(path);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(RawDb(path).number("SELECT count(*) FROM fts_pending"), 0) << when;
    for (std::size_t limit : {1u, 4u, 50u}) {
      query.limit = limit;
      EXPECT_EQ(ids_page_by_page(*store, query), expected) << when << ", pages of " << limit;
    }
    MemoryQuery both = query;
    both.tags = {"blue", "red"};
    both.limit = 50;
    EXPECT_EQ(ids_page_by_page(*store, both), (std::vector<std::string>{expected[2], expected[5]})) << when;
    // A needle too short for the index keyed by tag is searched in the trigram index, as exactly.
    MemoryQuery short_needle = query;
    short_needle.content_contains = "HARB";
    short_needle.limit = 3;
    auto with_decoy = expected;
    with_decoy.insert(with_decoy.end(), decoy);
    EXPECT_EQ(ids_page_by_page(*store, short_needle), with_decoy) << when;
  };
  check("indexed by the content indexer");
  {
    RawDb raw(path);
    // What the index names for the tag and the needle: the six and the expired one (not purged yet),
    // perhaps the decoy of scattered trigrams; not the one forgotten (gone from the index too), nor
    // the 300 memories of the word under other tags.
    const auto candidates = tag_index_candidates(raw, "red", "harbour");
    EXPECT_GE(candidates, 7);
    EXPECT_LE(candidates, 8);
    EXPECT_EQ(tag_index_candidates(raw, "red", "harbour to forget"), 0)
        << "forgetting takes a memory out of the index";
    EXPECT_EQ(tag_index_candidates(raw, "red", "harbour that expires"), 1) << "until it is purged";
    undo_schema_steps_after(raw, 13);
    raw.exec("PRAGMA user_version = 13");
    raw.exec("INSERT INTO memories_fts (memories_fts, rank) VALUES ('integrity-check', 1)");
  }
  check("indexed by the migration");
  RawDb raw(path);
  EXPECT_EQ(raw.number("PRAGMA user_version"), sqlite::latest_schema_version());
  const auto candidates = tag_index_candidates(raw, "red", "harbour");
  EXPECT_GE(candidates, 7);
  EXPECT_LE(candidates, 8);
  // The search reads that index, by pk newest first (no sort of its matches).
  const auto search = sqlite::build_substring_search(query);
  ASSERT_TRUE(search.has_value());
  EXPECT_THAT(search->indexed.sql, HasSubstr("memories_tag_fts MATCH"));
  MemoryQuery short_needle = query;
  short_needle.content_contains = "harb";
  EXPECT_THAT(sqlite::build_substring_search(short_needle)->indexed.sql, HasSubstr("memories_fts MATCH"));
  const std::string plan = raw.plan(search->indexed.sql);
  EXPECT_THAT(plan, HasSubstr("VIRTUAL TABLE INDEX")) << plan;
  EXPECT_THAT(plan, ::testing::Not(HasSubstr("TEMP B-TREE"))) << plan;
}

// The content indexer merges both content indexes itself (FTS5's own merges, inside the transaction
// that wrote a segment, are off): a file indexed in many small batches keeps few segments a level, and
// its searches still find every memory.
TEST(SqliteStore, TheContentIndexerMergesTheSegmentsOfManySmallBatches) {
  TempDir dir;
  const std::string path = dir.file("memtrace.db");
  IdGenerator ids;
  UnixMillis at = kT0;
  constexpr int kBatches = 45;
  for (int batch = 0; batch < kBatches; ++batch) {
    auto store = open_or_fail(path);  // closing indexes the one pending memory: a segment per index
    ASSERT_NE(store, nullptr);
    if (batch == 0) ok(store->create_session(session_named("s1")));
    Memory memory = memory_in(ids, "s1", "ledger entry " + std::to_string(batch), ++at);
    memory.tags = {"ledger"};
    ok(store->insert_memory(memory));
  }
  {
    RawDb raw(path);
    EXPECT_EQ(raw.number("SELECT count(*) FROM fts_pending"), 0);
    // Merged whenever a level holds 'usermerge' segments (4; 8 in the index keyed by tag), 45 segments
    // become at most 3 a level on 3 levels (7 a level on 2). Left to FTS5, segments this small stay
    // apart until a level holds 16 ('crisismerge'): 15 here, with its own merges on or off.
    EXPECT_LE(fts_segments(raw, "memories_fts"), 9);
    EXPECT_LE(fts_segments(raw, "memories_tag_fts"), 14);
  }
  auto store = open_or_fail(path);
  ASSERT_NE(store, nullptr);
  MemoryQuery query;
  query.content_contains = "LEDGER entry";
  query.now = kNow;
  query.limit = 100;
  EXPECT_EQ(ok(store->query_memories(query)).size(), static_cast<std::size_t>(kBatches));
  query.tags = {"ledger"};
  EXPECT_EQ(ok(store->query_memories(query)).size(), static_cast<std::size_t>(kBatches));
  query.content_contains = "entry 31";
  const auto one = ok(store->query_memories(query));
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].content, "ledger entry 31");
}

// A session's summary counts its live memories from sessions.memory_rows (kept by triggers) less the
// expired rows not purged yet, instead of walking the session's memories; the migration counts the
// rows a file already had.
TEST(SqliteStore, SessionSummaryCountsFromItsRowCounterThroughEveryWriteAndAfterTheMigration) {
  TempDir dir;
  const std::string path = dir.file("memtrace.db");
  IdGenerator ids;
  SqliteOptions options;
  options.path = path;
  options.max_memories_per_session = 6;  // the sliding window deletes too
  auto summary_of = [&](Store& store, const std::string& session, UnixMillis now) {
    SessionQuery query;
    query.id = session;
    query.now = now;
    auto found = ok(store.find_sessions(query));
    EXPECT_EQ(found.size(), 1u) << session;
    return found.empty() ? SessionSummary{} : found.front();
  };
  auto rows_agree = [&](const char* when) {
    RawDb raw(path);
    EXPECT_EQ(raw.number("SELECT count(*) FROM sessions AS s WHERE s.memory_rows <> (SELECT count(*) FROM "
                         "memories AS m WHERE m.ns = s.ns AND m.session_id = s.id)"),
              0)
        << when;
  };
  {
    auto store = open_or_fail(options);
    ASSERT_NE(store, nullptr);
    ok(store->create_session(session_named("s1")));
    ok(store->create_session(session_named("s2")));
    std::vector<std::string> kept;
    for (int i = 0; i < 4; ++i) {
      Memory m = memory_in(ids, "s1", "kept " + std::to_string(i), kT0 + i);
      ok(store->insert_memory(m));
      kept.push_back(m.id);
    }
    for (int i = 0; i < 3; ++i) {
      Memory m = memory_in(ids, "s1", "fleeting " + std::to_string(i), kT0 + 10 + i);
      m.expires_at = kT0 + 1000;
      ok(store->insert_memory(m));
    }  // 7 written: the window of 6 dropped the oldest
    for (int i = 0; i < 2; ++i) ok(store->insert_memory(memory_in(ids, "s2", "other", kT0 + 20 + i)));
    EXPECT_EQ(summary_of(*store, "s1", kT0 + 999).memory_count, 6);
    EXPECT_EQ(summary_of(*store, "s1", kT0 + 999).last_activity, kT0 + 12);
    EXPECT_EQ(summary_of(*store, "s1", kNow).memory_count, 3) << "6 rows, 3 of them expired";
    EXPECT_EQ(summary_of(*store, "s1", kNow).last_activity, kT0 + 3) << "the newest live one";
    EXPECT_FALSE(ok(store->delete_memory(kDefaultNamespace, kept[0]))) << "the window dropped it";
    EXPECT_TRUE(ok(store->delete_memory(kDefaultNamespace, kept[1])));
    EXPECT_EQ(summary_of(*store, "s1", kNow).memory_count, 2);
    EXPECT_EQ(ok(store->purge_expired(kNow)), 3u);
    EXPECT_EQ(summary_of(*store, "s1", kNow).memory_count, 2);
    EXPECT_EQ(summary_of(*store, "s2", kNow).memory_count, 2);
  }
  rows_agree("kept by the triggers");
  {
    RawDb raw(path);
    undo_schema_steps_after(raw, 10);
    raw.exec("PRAGMA user_version = 10");
  }
  auto store = open_or_fail(options);
  ASSERT_NE(store, nullptr);
  rows_agree("counted by the migration");
  EXPECT_EQ(summary_of(*store, "s1", kNow).memory_count, 2);
  EXPECT_EQ(summary_of(*store, "s2", kNow).memory_count, 2);
  ok(store->insert_memory(memory_in(ids, "s2", "after the migration", kT0 + 30)));
  EXPECT_EQ(summary_of(*store, "s2", kNow).memory_count, 3);
  rows_agree("kept after the migration");
}

// A process killed before its indexer ran leaves memories pending; the next store on the file indexes
// them without waiting for a write of its own. A file with nothing pending starts no indexer thread, so
// a store that is only read (or a process that forks right after opening) stays single-threaded.
TEST(SqliteStore, WhatAKilledProcessLeftPendingIsIndexedByTheNextStoreAndNothingElseStartsAThread) {
  TempDir dir;
  const std::string path = dir.file("memtrace.db");
  IdGenerator ids;
  {
    auto store = open_or_fail(path);
    ASSERT_NE(store, nullptr);
    ok(store->create_session(session_named("s1")));
    for (int i = 0; i < 5; ++i)
      ok(store->insert_memory(memory_in(ids, "s1", "kept " + std::to_string(i), kT0 + i)));
  }
  {
    const std::size_t before = threads_of_this_process();
    auto store = open_or_fail(path);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(threads_of_this_process(), before) << "nothing was pending";
  }
  {
    // What a killed process leaves: two rows out of the trigram index and in fts_pending.
    RawDb raw(path);
    raw.exec(
        "INSERT INTO memories_fts (memories_fts, rowid, content) "
        "SELECT 'delete', pk, content FROM memories ORDER BY pk DESC LIMIT 2");
    raw.exec("INSERT INTO fts_pending (pk) SELECT pk FROM memories ORDER BY pk DESC LIMIT 2");
    ASSERT_EQ(raw.number("SELECT count(*) FROM memories_fts WHERE memories_fts MATCH '\"kept\"'"), 3);
  }
  auto store = open_or_fail(path);
  ASSERT_NE(store, nullptr);
  MemoryQuery query;
  query.content_contains = "kept";
  query.now = kNow;
  EXPECT_EQ(ok(store->query_memories(query)).size(), 5u) << "pending memories are found meanwhile";
  RawDb raw(path);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (raw.number("SELECT count(*) FROM fts_pending") != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(raw.number("SELECT count(*) FROM fts_pending"), 0) << "indexed with no write in this process";
  EXPECT_EQ(raw.number("SELECT count(*) FROM memories_fts WHERE memories_fts MATCH '\"kept\"'"), 5);
}

// One indexing transaction holds the write lock, which every write waits for, so it takes no more
// content than a budget of characters (or one memory larger than that): three memories of 10,000
// letters take three transactions; small ones share one.
TEST(SqliteStore, AnIndexingTransactionTakesABoundedAmountOfContent) {
  TempDir dir;
  const std::string path = dir.file("memtrace.db");
  IdGenerator ids;
  std::vector<std::string> contents;
  {
    auto store = open_or_fail(path);
    ASSERT_NE(store, nullptr);
    ok(store->create_session(session_named("s1")));
    for (std::uint32_t i = 0; i < 3; ++i) contents.push_back(letter_soup(10000, i + 1));
    for (int i = 0; i < 4; ++i) contents.push_back("small number " + std::to_string(i));
    for (std::size_t i = 0; i < contents.size(); ++i) {
      ok(store->insert_memory(memory_in(ids, "s1", contents[i], kT0 + static_cast<UnixMillis>(i))));
    }
  }  // closing indexes them all; then they are made pending again, as a killed process leaves them
  RawDb raw(path);
  raw.exec(
      "INSERT INTO memories_fts (memories_fts, rowid, content) SELECT 'delete', pk, content FROM memories");
  raw.exec("INSERT INTO fts_pending (pk) SELECT pk FROM memories");
  SqliteOptions options;
  options.path = path;
  auto database = sqlite::Database::open(options);
  ASSERT_TRUE(database) << database.error().message;
  auto pending = [&] { return raw.number("SELECT count(*) FROM fts_pending"); };

  EXPECT_TRUE(ok(sqlite::index_pending_content(**database, 256, 16 * 1024)));
  EXPECT_EQ(pending(), 6) << "one large memory";
  EXPECT_TRUE(ok(sqlite::index_pending_content(**database, 256, 16 * 1024)));
  EXPECT_EQ(pending(), 5);
  EXPECT_FALSE(ok(sqlite::index_pending_content(**database, 256, 16 * 1024))) << "nothing is left";
  EXPECT_EQ(pending(), 0) << "the last large one and the four small ones";
  raw.exec("INSERT INTO memories_fts (memories_fts, rank) VALUES ('integrity-check', 1)");
  for (const auto& content : contents) {
    EXPECT_EQ(raw.number("SELECT count(*) FROM memories_fts WHERE memories_fts MATCH '\"" +
                         content.substr(5, 20) + "\"'"),
              1)
        << content.substr(0, 20);
  }
}

TEST(SqliteStore, WriteAheadLogStaysBoundedUnderASteadyStreamOfWrites) {
  TempDir dir;
  const std::string path = dir.file("memtrace.db");
  auto store = open_or_fail(path);
  ASSERT_NE(store, nullptr);
  IdGenerator ids;
  ok(store->create_session(session_named("s1")));
  // Each write adds about five pages to the log: 6,000 of them, back to back, add some 120 MB to a
  // log that is never started over. Checkpoints that catch up keep it under its 48 MiB limit.
  for (int i = 0; i < 6000; ++i) {
    Memory m = memory_in(ids, "s1", "steady stream entry " + std::to_string(i), kT0 + i);
    m.tags = {"t" + std::to_string(i % 13)};
    ok(store->insert_memory(m));
  }
  struct stat info {};
  ASSERT_EQ(::stat((path + "-wal").c_str(), &info), 0);
  EXPECT_LT(info.st_size, 70 * 1024 * 1024) << "the write-ahead log kept growing";
}

// ---- locking and several processes ----

TEST(SqliteStore, WriterWaitsForAnotherConnectionsLockWithinTheBusyTimeout) {
  TempDir dir;
  const std::string path = dir.file("memtrace.db");
  auto store = open_or_fail(path);
  ASSERT_NE(store, nullptr);
  ok(store->create_session(session_named("s1")));
  IdGenerator ids;
  RawDb holder(path);
  holder.exec("BEGIN IMMEDIATE");
  std::atomic<bool> inserted{false};
  Result<void> result;
  std::thread writer([&] {
    result = store->insert_memory(memory_in(ids, "s1", "patient", kT0));
    inserted = true;
  });
  // Hold the lock for a while; the store must wait rather than fail with "database is locked".
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(inserted.load());
  holder.exec("COMMIT");
  writer.join();
  EXPECT_TRUE(result.has_value()) << (result ? "" : result.error().message);
  EXPECT_EQ(count_all(*store), 1u);
}

TEST(SqliteStore, LockHeldPastTheBusyTimeoutIsUnavailable) {
  TempDir dir;
  const std::string path = dir.file("memtrace.db");
  SqliteOptions options;
  options.path = path;
  options.busy_timeout_ms = 100;
  auto store = open_or_fail(options);
  ASSERT_NE(store, nullptr);
  RawDb holder(path);
  holder.exec("BEGIN IMMEDIATE");
  auto result = store->create_session(session_named("s1"));
  holder.exec("ROLLBACK");
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(result.error().message, HasSubstr("create session"));
  ok(store->create_session(session_named("s1")));  // and it works once the lock is gone
}

TEST(SqliteStore, TwoStoresOnOneFileWriteConcurrentlyFromManyThreads) {
  TempDir dir;
  const std::string path = dir.file("memtrace.db");
  auto first = open_or_fail(path);
  auto second = open_or_fail(path);
  ASSERT_TRUE(first && second);
  ok(first->create_session(session_named("s1")));
  IdGenerator ids;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      Store& store = t % 2 == 0 ? *first : *second;
      for (int i = 0; i < 250; ++i) {
        Memory m = memory_in(ids, "s1", "thread " + std::to_string(t), kT0 + i, "agent-" + std::to_string(t));
        m.tags = {"a", "b"};
        if (auto inserted = store.insert_memory(m); !inserted) {
          ++failures;
          ADD_FAILURE() << inserted.error().message;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(count_all(*first), 1000u);
  EXPECT_EQ(count_all(*second), 1000u);
}

// Child process body: opens its own store on `path` and inserts `count` memories, each with 2 tags.
int insert_from_child(const std::string& path, const std::string& agent, int count) {
  SqliteOptions options;
  options.path = path;
  auto store = open_sqlite_store(options);
  if (!store) {
    std::fprintf(stderr, "child %s: open: %s\n", agent.c_str(), store.error().message.c_str());
    return 2;
  }
  IdGenerator ids;
  for (int i = 0; i < count; ++i) {
    Memory m = memory_in(ids, "shared", agent + " writes " + std::to_string(i), kT0 + i, agent);
    m.tags = {agent, "both"};
    if (auto inserted = (*store)->insert_memory(m); !inserted) {
      std::fprintf(stderr, "child %s: insert %d: %s\n", agent.c_str(), i, inserted.error().message.c_str());
      return 3;
    }
  }
  return 0;
}

TEST(SqliteStore, TwoProcessesInsertingAtOnceLoseNothing) {
  TempDir dir;
  const std::string path = dir.file("shared.db");
  {
    auto store = open_or_fail(path);
    ASSERT_NE(store, nullptr);
    ok(store->create_session(session_named("shared")));
  }  // closed before fork: children must not inherit open connections
  int start[2];
  ASSERT_EQ(::pipe(start), 0);
  const pid_t one = fork_child(start[0], start[1], [&] { return insert_from_child(path, "proc-1", 1000); });
  const pid_t two = fork_child(start[0], start[1], [&] { return insert_from_child(path, "proc-2", 1000); });
  ASSERT_GT(one, 0);
  ASSERT_GT(two, 0);
  ::close(start[0]);
  ::close(start[1]);  // both children start now
  EXPECT_EQ(wait_child(one, std::chrono::seconds(120)), 0);
  EXPECT_EQ(wait_child(two, std::chrono::seconds(120)), 0);

  auto store = open_or_fail(path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(count_all(*store), 2000u);
  for (const char* agent : {"proc-1", "proc-2"}) {
    MemoryQuery q;
    q.now = kNow;
    q.tags = {agent, "both"};
    q.limit = 5000;
    EXPECT_EQ(ok(store->query_memories(q)).size(), 1000u) << agent;
  }
  auto sessions = ok(store->find_sessions(SessionQuery{}));
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0].memory_count, 2000);
  EXPECT_THAT(sessions[0].agents, ::testing::ElementsAre("proc-1", "proc-2"));
}

// ---- change feed across stores and processes ----

TEST(SqliteStore, SecondStoreOnTheSameFileSeesWritesThroughWatchWithin250ms) {
  TempDir dir;
  const std::string path = dir.file("memtrace.db");
  auto writer = open_or_fail(path);
  auto watcher = open_or_fail(path);
  ASSERT_TRUE(writer && watcher);
  EventRecorder recorder;
  auto subscription = watcher->watch(kDefaultNamespace, recorder.callback());
  IdGenerator ids;
  for (int round = 0; round < 3; ++round) {
    const std::string session_id = "s" + std::to_string(round);
    ok(writer->create_session(session_named(session_id)));
    const auto written = std::chrono::steady_clock::now();
    ok(writer->insert_memory(memory_in(ids, session_id, "news", kT0 + round)));
    ASSERT_TRUE(recorder.wait_for_event(ChangeEvent::Kind::kMemoryWritten, kDefaultNamespace, session_id,
                                        std::chrono::milliseconds(250)))
        << "round " << round;
    const auto latency =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - written);
    std::printf("[ info ] cross-store change latency, round %d: %.1f ms\n", round,
                static_cast<double>(latency.count()) / 1000.0);
    EXPECT_TRUE(recorder.wait_for_event(ChangeEvent::Kind::kSessionChanged, kDefaultNamespace, session_id,
                                        std::chrono::milliseconds(250)));
  }
}

TEST(SqliteStore, AnotherProcessesWritesReachWatch) {
  TempDir dir;
  const std::string path = dir.file("memtrace.db");
  auto store = open_or_fail(path);
  ASSERT_NE(store, nullptr);
  ok(store->create_session(session_named("remote")));
  int start[2];
  int report[2];
  ASSERT_EQ(::pipe(start), 0);
  ASSERT_EQ(::pipe(report), 0);
  // Forked before watch() starts the poller thread, so the child inherits no held locks.
  const pid_t child = fork_child(start[0], start[1], [&] {
    ::close(report[0]);
    SqliteOptions options;
    options.path = path;
    auto remote = open_sqlite_store(options);
    if (!remote) return 2;
    IdGenerator ids;
    Memory m = memory_in(ids, "remote", "from afar", kT0);
    m.agent_id = "remote-agent";
    if (!(*remote)->insert_memory(m)) return 3;
    // Report when the commit returned, on the system-wide monotonic clock.
    const auto committed = std::chrono::steady_clock::now().time_since_epoch().count();
    if (::write(report[1], &committed, sizeof committed) != sizeof committed) return 4;
    return 0;
  });
  ASSERT_GT(child, 0);
  ::close(start[0]);
  ::close(report[1]);

  EventRecorder recorder;
  auto subscription = store->watch(kDefaultNamespace, recorder.callback());
  ::close(start[1]);  // go
  decltype(std::chrono::steady_clock::now().time_since_epoch().count()) committed = 0;
  ASSERT_EQ(::read(report[0], &committed, sizeof committed), static_cast<ssize_t>(sizeof committed));
  ::close(report[0]);
  const bool seen = recorder.wait_for_event(ChangeEvent::Kind::kMemoryWritten, kDefaultNamespace, "remote",
                                            std::chrono::seconds(5));
  const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  EXPECT_EQ(wait_child(child, std::chrono::seconds(30)), 0);
  ASSERT_TRUE(seen);
  const double latency_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::duration(now - committed)).count();
  std::printf("[ info ] cross-process change latency: %.1f ms\n", latency_ms);
  EXPECT_LE(latency_ms, 250.0);
}

TEST(SqliteStore, CallbackMayDestroyItsOwnSubscription) {
  auto store = open_or_fail(":memory:");
  ASSERT_NE(store, nullptr);
  std::mutex mutex;
  std::condition_variable fired_cv;
  int fired = 0;
  std::unique_ptr<ChangeSubscription> subscription;
  {
    std::lock_guard lock(mutex);
    subscription = store->watch(kDefaultNamespace, [&](const ChangeEvent&) {
      std::lock_guard inner(mutex);
      subscription.reset();  // from the poller thread itself
      ++fired;
      fired_cv.notify_all();
    });
  }
  ok(store->create_session(session_named("s1")));
  std::unique_lock lock(mutex);
  ASSERT_TRUE(fired_cv.wait_for(lock, std::chrono::seconds(5), [&] { return fired > 0; }));
  lock.unlock();
  // Further writes reach nobody; a new subscription works again.
  EventRecorder recorder;
  auto again = store->watch(kDefaultNamespace, recorder.callback());
  ok(store->create_session(session_named("s2")));
  EXPECT_TRUE(recorder.wait_for_event(ChangeEvent::Kind::kSessionChanged, kDefaultNamespace, "s2"));
  lock.lock();
  EXPECT_EQ(fired, 1);
  lock.unlock();  // never destroy a subscription (`again`) while holding a lock a callback takes
}

TEST(SqliteStore, SubscriptionMayOutliveTheStore) {
  TempDir dir;
  auto store = open_or_fail(dir.file("memtrace.db"));
  ASSERT_NE(store, nullptr);
  EventRecorder recorder;
  auto subscription = store->watch(kDefaultNamespace, recorder.callback());
  ok(store->create_session(session_named("s1")));
  EXPECT_TRUE(recorder.wait_for_event(ChangeEvent::Kind::kSessionChanged, kDefaultNamespace, "s1"));
  store.reset();         // stops and joins the poller
  subscription.reset();  // then a no-op
}

}  // namespace
}  // namespace memtrace::testing
