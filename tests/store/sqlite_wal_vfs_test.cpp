// The VFS that writes a commit's log in one system call (src/store/sqlite/sqlite_wal_vfs.h): fewer
// writes, and nothing else a user could tell apart. Every test counts the unix VFS's pwrite64 calls on
// the log file, and reads what was written through a second connection on SQLite's own VFS, as another
// process would.
#include "store/sqlite/sqlite_wal_vfs.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "support/temp_dir.h"

namespace memtrace::testing {
namespace {

using Pwrite64 = ssize_t (*)(int, const void*, size_t, off_t);

// Counts the unix VFS's pwrite64 calls on files whose name ends in "-wal", while installed.
class LogWriteCounter {
 public:
  LogWriteCounter() {
    unix_ = sqlite3_vfs_find("unix");
    real_ = reinterpret_cast<Pwrite64>(unix_->xGetSystemCall(unix_, "pwrite64"));
    calls_ = 0;
    real_pwrite_ = real_;
    EXPECT_EQ(unix_->xSetSystemCall(unix_, "pwrite64", reinterpret_cast<sqlite3_syscall_ptr>(&counting)),
              SQLITE_OK);
  }
  ~LogWriteCounter() {
    unix_->xSetSystemCall(unix_, "pwrite64", reinterpret_cast<sqlite3_syscall_ptr>(real_));
  }
  LogWriteCounter(const LogWriteCounter&) = delete;
  LogWriteCounter& operator=(const LogWriteCounter&) = delete;

  int calls() const { return calls_.load(); }

 private:
  static inline std::atomic<int> calls_{0};
  static inline Pwrite64 real_pwrite_ = nullptr;
  sqlite3_vfs* unix_ = nullptr;
  Pwrite64 real_ = nullptr;

  static ssize_t counting(int fd, const void* data, size_t size, off_t offset) {
    std::error_code ignored;
    const auto target =
        std::filesystem::read_symlink("/proc/self/fd/" + std::to_string(fd), ignored).string();
    if (target.size() > 4 && target.compare(target.size() - 4, 4, "-wal") == 0) ++calls_;
    return real_pwrite_(fd, data, size, offset);
  }
};

sqlite3* open_db(const std::string& path, const char* vfs) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs), SQLITE_OK);
  return db;
}

void exec(sqlite3* db, const std::string& sql) {
  char* error = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
      << (error ? error : "") << " in " << sql;
  sqlite3_free(error);
}

std::int64_t scalar(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* statement = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  std::int64_t value = -1;
  if (sqlite3_step(statement) == SQLITE_ROW) value = sqlite3_column_int64(statement, 0);
  sqlite3_finalize(statement);
  return value;
}

// What PRAGMA integrity_check says: "ok" for a sound file.
std::string integrity(sqlite3* db) {
  sqlite3_stmt* check = nullptr;
  std::string verdict = "cannot check";
  if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &check, nullptr) == SQLITE_OK &&
      sqlite3_step(check) == SQLITE_ROW) {
    verdict = reinterpret_cast<const char*>(sqlite3_column_text(check, 0));
  }
  sqlite3_finalize(check);
  return verdict;
}

// A table with three indexes, so that one inserted row dirties several pages, as a remember does.
void create_schema(sqlite3* db) {
  exec(db,
       "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0;"
       "CREATE TABLE notes (id INTEGER PRIMARY KEY, a TEXT, b TEXT, c TEXT);"
       "CREATE INDEX notes_a ON notes (a); CREATE INDEX notes_b ON notes (b); CREATE INDEX notes_c ON notes "
       "(c);");
}

// Inserts `rows` rows in one transaction; their text is long enough to spread over many pages.
void insert_rows(sqlite3* db, int first, int rows) {
  exec(db, "BEGIN; WITH RECURSIVE n(i) AS (SELECT " + std::to_string(first) +
               " UNION ALL SELECT i + 1 FROM n WHERE i < " + std::to_string(first + rows - 1) +
               ") INSERT INTO notes SELECT i, printf('%0400d', i), printf('%0400d', -i), printf('%0400d', i "
               "* 7) FROM n;"
               "COMMIT;");
}

TEST(BatchedWalVfs, ACommitOfManyPagesWritesItsLogInOneCallWhereSqlitesOwnVfsMakesTwoPerPage) {
  TempDir dir;
  ASSERT_NE(memtrace::sqlite::batched_wal_vfs_name(), nullptr);
  for (const char* vfs : {memtrace::sqlite::batched_wal_vfs_name(), static_cast<const char*>(nullptr)}) {
    const std::string path = dir.file(vfs ? "batched.db" : "plain.db");
    sqlite3* db = open_db(path, vfs);
    create_schema(db);
    insert_rows(db, 1, 20);  // the log exists and has its header: what follows is one commit's frames
    LogWriteCounter counter;
    insert_rows(db, 1000, 8);  // 8 rows of 1.2 KB in a table and three indexes: about 12 pages
    const int writes = counter.calls();
    if (vfs != nullptr) {
      EXPECT_EQ(writes, 1) << "the commit's frames, gathered";
    } else {
      EXPECT_GE(writes, 16) << "SQLite's own VFS: a frame header and a page, apart, for every page";
    }
    sqlite3_close(db);
  }
}

TEST(BatchedWalVfs, AnotherConnectionOnSqlitesOwnVfsSeesEveryCommitAsSoonAsItReturns) {
  TempDir dir;
  const std::string path = dir.file("shared.db");
  sqlite3* writer = open_db(path, memtrace::sqlite::batched_wal_vfs_name());
  create_schema(writer);
  sqlite3* reader = open_db(path, nullptr);
  for (int round = 0; round < 30; ++round) {
    insert_rows(writer, 1 + round * 10, 10);
    ASSERT_EQ(scalar(reader, "SELECT count(*) FROM notes"), (round + 1) * 10);
    ASSERT_EQ(scalar(reader, "SELECT count(*) FROM notes WHERE c = printf('%0400d', " +
                                 std::to_string(round * 10 + 5) + " * 7)"),
              1);
  }
  sqlite3_close(reader);
  sqlite3_close(writer);
}

TEST(BatchedWalVfs, AProcessKilledRightAfterItsCommitsReturnedLosesNoneOfThem) {
  TempDir dir;
  const std::string path = dir.file("killed.db");
  {
    sqlite3* db = open_db(path, nullptr);
    create_schema(db);
    sqlite3_close(db);
  }
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // No checkpoint, no close: the commits live only in the log when the process dies.
    sqlite3* db = open_db(path, memtrace::sqlite::batched_wal_vfs_name());
    exec(db,
         "PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0");  // as the store: no sync at commit
    for (int round = 0; round < 25; ++round) insert_rows(db, 1 + round * 4, 4);
    raise(SIGKILL);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  sqlite3* db = open_db(path, nullptr);
  EXPECT_EQ(scalar(db, "SELECT count(*) FROM notes"), 100);
  EXPECT_EQ(scalar(db, "SELECT max(id) FROM notes"), 100);
  EXPECT_EQ(integrity(db), "ok");
  sqlite3_close(db);
}

TEST(BatchedWalVfs, ATransactionLargerThanTheGatherLimitOrSpillingItsCacheCommitsWholeAndExact) {
  TempDir dir;
  const std::string path = dir.file("large.db");
  sqlite3* writer = open_db(path, memtrace::sqlite::batched_wal_vfs_name());
  create_schema(writer);
  {
    LogWriteCounter counter;
    exec(writer, "PRAGMA cache_size = 10000");  // the whole transaction stays in memory until its commit
    insert_rows(writer, 1, 2000);               // about 1,200 pages over four b-trees: 5 MB of log
    EXPECT_GE(counter.calls(), 30) << "more than the gather limit: passed on in pieces";
    EXPECT_LE(counter.calls(), 60) << "of 124 KiB each, not frame by frame";
  }
  // A 20-page cache: the transaction spills pages to the log before its commit, reads some of them back
  // and writes newer versions of them, in place, before the commit.
  exec(writer, "PRAGMA cache_size = 20");
  exec(writer,
       "BEGIN; UPDATE notes SET b = printf('%0400d', id + 1) WHERE id % 3 = 0; "
       "UPDATE notes SET c = 'x' || c WHERE id % 5 = 0; COMMIT;");
  sqlite3* reader = open_db(path, nullptr);
  EXPECT_EQ(scalar(reader, "SELECT count(*) FROM notes"), 2000);
  EXPECT_EQ(scalar(reader, "SELECT count(*) FROM notes WHERE b = printf('%0400d', id + 1)"), 666);
  EXPECT_EQ(scalar(reader, "SELECT count(*) FROM notes WHERE substr(c, 1, 1) = 'x'"), 400);
  EXPECT_EQ(scalar(reader, "SELECT count(*) FROM notes INDEXED BY notes_b WHERE b > ''"), 2000);
  EXPECT_EQ(integrity(reader), "ok");
  // A checkpoint copies what the log holds into the database file, and the file then stands alone.
  exec(writer, "PRAGMA wal_checkpoint(TRUNCATE)");
  sqlite3_close(reader);
  sqlite3_close(writer);
  std::filesystem::remove(path + "-wal");
  sqlite3* alone = open_db(path, nullptr);
  EXPECT_EQ(scalar(alone, "SELECT count(*) FROM notes WHERE b = printf('%0400d', id + 1)"), 666);
  sqlite3_close(alone);
}

}  // namespace
}  // namespace memtrace::testing
