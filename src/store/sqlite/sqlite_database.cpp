// Opening a SQLite database file safely (folders, permissions, WAL, migrations) and lending its connections.
#include "store/sqlite/sqlite_database.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <system_error>
#include <thread>

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include "core/thread_name.h"
#include "store/sqlite/sqlite_schema.h"
#include "store/sqlite/sqlite_tag_index.h"

namespace memtrace::sqlite {
namespace {

Error os_error(const std::string& what, const std::string& path, int error) {
  return Error{ErrorCode::kUnavailable, "cannot open SQLite database " + path + ": " + what + ": " +
                                            std::error_code(error, std::generic_category()).message()};
}

// Creates the missing folders above `path`, each with mode 0700 (existing ones are left as they are).
Result<void> create_parent_folders(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) return {};
  std::filesystem::path prefix;
  for (const auto& part : parent) {
    prefix /= part;
    if (::mkdir(prefix.c_str(), 0700) == 0 || errno == EEXIST) continue;
    return tl::unexpected(os_error("cannot create folder " + prefix.string(), path, errno));
  }
  struct stat info {};
  if (::stat(parent.c_str(), &info) != 0)
    return tl::unexpected(os_error("cannot reach folder " + parent.string(), path, errno));
  if (!S_ISDIR(info.st_mode))
    return tl::unexpected(os_error(parent.string() + " is not a folder", path, ENOTDIR));
  return {};
}

// Creates the file readable and writable by its owner only, if it does not exist yet. SQLite gives its
// -wal and -shm companions the same mode. Opening it here also reports a clear OS error (permission
// denied, is a directory) before SQLite's vaguer "unable to open database file".
Result<void> create_private_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return tl::unexpected(os_error("cannot open the file", path, errno));
  ::close(fd);
  return {};
}

// Runs a pragma that needs a lock SQLite may refuse at once with SQLITE_BUSY (journal_mode while
// another process opens the file), retrying until the busy timeout has passed. Returns its first column.
Result<std::string> pragma_with_retry(Connection& connection, const std::string& sql,
                                      std::string_view operation) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(connection.busy_timeout_ms());
  for (;;) {
    auto statement = connection.prepare(sql, operation);
    if (!statement) return tl::unexpected(statement.error());
    auto row = statement->step();
    if (row) return *row ? statement->text(0) : std::string();
    if (row.error().code != ErrorCode::kUnavailable || std::chrono::steady_clock::now() >= deadline) {
      return tl::unexpected(row.error());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// A read connection's page cache (see configure()).
constexpr std::size_t kReadCacheMib = 1;

// Settings every connection needs, with a page cache of `cache_mib`. journal_mode is a property of the
// file and is set once, by open().
Result<void> configure(Connection& connection, std::size_t cache_mib) {
  // synchronous = NORMAL: in WAL mode a commit is written to the log (so it survives the process being
  // killed) and fsync'd at checkpoints, which keeps the file consistent across a power loss.
  // mmap_size = 0: no memory map for a read connection. A map looked cheaper (no pread per page) but
  // measured slower: whenever another connection has changed the file, SQLite redoes a reader's map and
  // every page it touches faults in again (a search took twice as long beside a stream of writes, and
  // RSS grew by the mapped pages). open() gives the write connection a map; see there.
  // cache_size: 1 MiB for a read connection. Its cache is dropped whenever another connection has
  // committed since its last read, which under writes is every time; a larger one only cost memory and
  // time (8 MiB measured 20% slower and 7 MiB more RSS than 1 MiB on the benchmark's mix). The write
  // connection's cache survives its own commits: its size is SqliteOptions::write_cache_mib.
  // temp_store = MEMORY: the sorts of a search (ORDER BY over a filtered set) stay off temporary files.
  if (auto done =
          connection.exec("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA mmap_size = 0; "
                          "PRAGMA cache_size = -" +
                              std::to_string(cache_mib * 1024) + "; PRAGMA temp_store = MEMORY",
                          "configure the connection");
      !done) {
    return done;
  }
  // The file grows by whole MiBs: a checkpoint that adds pages extends it once per MiB, not per page.
  int chunk_bytes = 1 << 20;
  sqlite3_file_control(connection.handle(), "main", SQLITE_FCNTL_CHUNK_SIZE, &chunk_bytes);
  // The SQL that fills the tag-keyed trigram index (the indexer, the migration) calls it.
  return register_tag_trigram_function(connection);
}

// Process-wide SQLite settings, applied before SQLite initializes (later calls are refused by SQLite,
// harmlessly, e.g. if another part of the process used SQLite first).
void configure_sqlite_library() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Memory statistics take a global mutex on every allocation (and Debian's build has no lookaside
    // allocator to spare it); nothing here reads them. About 15% of the cost of an insert.
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  });
}

}  // namespace

Result<std::shared_ptr<Database>> Database::open(const SqliteOptions& options) {
  configure_sqlite_library();
  if (options.path.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "the SQLite database path is empty; give a file path or :memory:");
  }
  if (options.path.rfind("file:", 0) == 0) {
    return fail(ErrorCode::kInvalidArgument, "SQLite URI filenames are not supported (" + options.path +
                                                 "); give a plain file path or :memory:");
  }
  std::shared_ptr<Database> database(new Database(options));
  if (!database->in_memory_) {
    if (auto created = create_parent_folders(options.path); !created) return tl::unexpected(created.error());
    if (auto created = create_private_file(options.path); !created) return tl::unexpected(created.error());
  }
  auto writer = Connection::open(options.path, ConnectionOptions{options.busy_timeout_ms});
  if (!writer) return tl::unexpected(writer.error());
  database->writer_ = std::move(*writer);
  Connection& connection = *database->writer_;

  if (!database->in_memory_) {
    auto mode = pragma_with_retry(connection, "PRAGMA journal_mode = WAL", "switch to WAL mode");
    if (!mode) return tl::unexpected(mode.error());
    if (*mode != "wal") {
      // E.g. a file system without shared memory support. Still correct, only slower and readers wait.
      spdlog::warn("sqlite: {} could not use WAL mode (journal_mode is {})", options.path, *mode);
    }
  }
  if (auto configured = configure(connection, options.write_cache_mib); !configured) {
    return tl::unexpected(configured.error());
  }
  // The write connection alone maps the file (configure() leaves the read connections without a map).
  // Its map and page cache survive its own commits, and it serves reads whenever it is idle, so a search
  // there reads its pages from the map instead of one pread each. At 100k memories that made a content
  // search 12% faster on one VM and 2.5 times faster on another (832 preads per search before); the
  // mixed benchmark at 10k memories did not change beyond noise, nor did peak RSS.
  if (auto mapped = connection.exec("PRAGMA mmap_size = 1073741824", "map the database file"); !mapped) {
    return tl::unexpected(mapped.error());
  }
  if (auto migrated = migrate(connection); !migrated) return tl::unexpected(migrated.error());
  if (!database->in_memory_) database->start_checkpointer();
  return database;
}

Database::~Database() {
  {
    std::lock_guard lock(checkpoint_mutex_);
    closing_ = true;
  }
  checkpoint_wanted_.notify_one();
  if (checkpointer_.joinable()) checkpointer_.join();
}

void Database::start_checkpointer() {
  // The writer no longer checkpoints in its COMMIT (which would put a burst of page writes on one
  // unlucky request); the hook only asks the checkpointer thread to do it.
  if (auto done = writer_->exec("PRAGMA wal_autocheckpoint = 0", "configure checkpoints"); !done) {
    spdlog::warn("sqlite: {}; checkpoints stay automatic", done.error().message);
    return;
  }
  sqlite3_wal_hook(
      writer_->handle(),
      [](void* self, sqlite3* db, const char*, int pages) -> int {
        if (pages < kCheckpointPages) return SQLITE_OK;
        auto* database = static_cast<Database*>(self);
        if (pages >= kCheckpointPagesLimit) {
          // Writes outpace the checkpointer (a burst of small commits against a slow disk): this
          // commit, which holds the write lock, checkpoints before it returns (after the checkpointer's
          // pass under way, if any: SQLite refuses a second checkpoint at once), so the log cannot
          // grow past the limit and the next write starts it over.
          std::lock_guard one_at_a_time(database->checkpoint_run_mutex_);
          sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
          return SQLITE_OK;
        }
        {
          std::lock_guard lock(database->checkpoint_mutex_);
          database->checkpoint_due_ = true;
          // Started on the first checkpoint that is due, not at open: a store that never fills its
          // log (most short runs, and processes that fork right after opening) has no extra thread.
          if (!database->checkpointer_.joinable() && !database->closing_) {
            database->checkpointer_ = std::thread([database] { database->run_checkpointer(); });
          }
        }
        database->checkpoint_wanted_.notify_one();
        return SQLITE_OK;
      },
      this);
}

void Database::run_checkpointer() {
  name_this_thread("mt-checkpoint");
  std::unique_ptr<Connection> connection;
  std::unique_lock lock(checkpoint_mutex_);
  for (;;) {
    checkpoint_wanted_.wait(lock, [&] { return checkpoint_due_ || closing_; });
    if (closing_) return;
    checkpoint_due_ = false;
    lock.unlock();
    if (!connection) {
      auto opened = open_extra_connection();
      if (opened)
        connection = std::move(*opened);
      else
        spdlog::warn("sqlite: checkpoint connection: {}", opened.error().message);
    }
    if (connection) checkpoint(*connection);
    lock.lock();
  }
}

void Database::checkpoint(Connection& connection) {
  // PASSIVE: copies what no reader still needs back into the database file without blocking anyone.
  // The writer starts the log over only once a checkpoint has caught up with it, and under a steady
  // stream of commits a checkpoint that runs beside the writer never does: the log then grows without
  // end (hundreds of MiB for a few MiB of data), and every read and commit pays for its index. So when
  // the first pass leaves frames behind, a second one runs with writes held back; it copies only
  // what was committed during the first, and the next commit starts the log over.
  int log_frames = 0;
  int copied_frames = 0;
  auto pass = [&] {
    std::lock_guard one_at_a_time(checkpoint_run_mutex_);  // taken after write_mutex_, never before
    const int rc = sqlite3_wal_checkpoint_v2(connection.handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                             &log_frames, &copied_frames);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
      spdlog::warn("sqlite: checkpoint of {} failed: {}", options_.path, sqlite3_errmsg(connection.handle()));
      return false;
    }
    return true;
  };
  if (!pass() || copied_frames >= log_frames) return;
  std::lock_guard writes_held(write_mutex_);
  pass();
}

Result<std::unique_ptr<Connection>> Database::open_extra_connection() const {
  auto connection = Connection::open(options_.path, ConnectionOptions{options_.busy_timeout_ms});
  if (!connection) return connection;
  if (auto configured = configure(**connection, kReadCacheMib); !configured) {
    return tl::unexpected(configured.error());
  }
  return connection;
}

namespace {
thread_local Database::Batch* t_batch = nullptr;  // innermost batch of this thread (one per database)
}  // namespace

Database::Batch::Batch(Database& database) : database_(database), outer_(t_batch) {
  t_batch = this;
}

Database::Batch::~Batch() {
  transaction_.reset();  // rolls back what was not committed
  if (lock_.owns_lock()) lock_.unlock();
  t_batch = outer_;
}

Result<void> Database::Batch::commit() {
  if (!transaction_) return {};
  Result<void> committed;
  if (broken_) {
    committed = fail(ErrorCode::kInternal,
                     "SQLite rolled back the group's transaction after an error; nothing of it was stored");
    broken_ = false;
  } else {
    committed = transaction_->commit();
  }
  transaction_.reset();  // after a failed COMMIT: rolls back
  lock_.unlock();
  return committed;
}

Database::Batch* Database::current_batch() {
  for (Batch* batch = t_batch; batch; batch = batch->outer_) {
    if (&batch->database_ == this) return batch;
  }
  return nullptr;
}

Result<void> Database::begin_batch_transaction(Batch& batch) {
  if (batch.transaction_) {
    if (batch.broken_) return fail(ErrorCode::kInternal, "this group's transaction was rolled back");
    return {};
  }
  batch.lock_ = std::unique_lock(write_mutex_);
  auto transaction = Transaction::begin(*writer_, Transaction::Kind::kWrite, "group commit");
  if (!transaction) {
    batch.lock_.unlock();
    return tl::unexpected(transaction.error());
  }
  batch.transaction_.emplace(std::move(*transaction));
  return {};
}

Result<std::unique_ptr<Connection>> Database::acquire_reader() {
  {
    std::unique_lock lock(pool_mutex_);
    reader_returned_.wait(lock, [&] { return !idle_readers_.empty() || open_readers_ < kMaxReaders; });
    if (!idle_readers_.empty()) {
      auto connection = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return connection;
    }
    ++open_readers_;  // reserve the slot, then open outside the lock
  }
  auto connection = open_extra_connection();
  if (connection) {
    // A reader never writes; query_only turns a bug that tries into an error instead of a lock grab.
    if (auto done = (*connection)->exec("PRAGMA query_only = ON", "configure a read connection"); !done) {
      connection = tl::unexpected(done.error());
    }
  }
  if (!connection) {
    std::lock_guard lock(pool_mutex_);
    --open_readers_;
    reader_returned_.notify_one();
  }
  return connection;
}

void Database::release_reader(std::unique_ptr<Connection> connection) {
  {
    std::lock_guard lock(pool_mutex_);
    idle_readers_.push_back(std::move(connection));
  }
  reader_returned_.notify_one();
}

}  // namespace memtrace::sqlite
