// The connections of one SQLite store: a write connection behind a mutex and a pool of readers.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "core/error.h"
#include "core/fair_mutex.h"
#include "store/sqlite/sqlite_handle.h"
#include "store/sqlite/sqlite_store.h"

namespace memtrace::sqlite {

// Owns the connections to one database and lends them out, one thread per connection at a time.
// A file database has one write connection (writes are serialised by SQLite anyway; a process-local
// mutex makes them queue here instead of spinning on the file lock) and up to kMaxReaders read
// connections, opened on demand: in WAL mode readers run in parallel with each other and with the
// writer. A read finds the write connection idle more often than not (one client's calls alternate),
// and then runs there, where the page cache is warm. ":memory:" has a single connection serving reads and
// writes under the write mutex, since a private in-memory database cannot be opened twice.
//
// Group commit: while a Batch lives on a thread, that thread's write() calls share one transaction on
// the write connection (the first one takes the write lock and begins it; each write() is then a
// savepoint inside it), and its read() calls after the first write run on the write connection, so
// they see what the batch wrote. commit() ends it. Other threads' writes wait for the batch meanwhile,
// so a batch is kept short: one group of one client's calls.
//
// Thread-safety: read() and write() may be called from any thread; the callable gets exclusive use of
// the connection for its duration. Do not call read() or write() from inside the callable.
class Database {
 public:
  static constexpr std::size_t kMaxReaders = 4;

  // See above. One per thread at a time; rolls back if destroyed without commit().
  class Batch {
   public:
    explicit Batch(Database& database);
    ~Batch();
    Batch(const Batch&) = delete;
    Batch& operator=(const Batch&) = delete;
    // Commits what was written (nothing to do if nothing was) and releases the write lock.
    Result<void> commit();
    bool wrote() const { return transaction_.has_value(); }

   private:
    friend class Database;
    Database& database_;
    Batch* outer_;
    std::unique_lock<FairMutex> lock_;
    std::optional<Transaction> transaction_;
    bool broken_ = false;  // SQLite rolled the transaction back under us
  };

  // Creates folders and file as documented on open_sqlite_store, opens the write connection, sets WAL
  // mode and the pragmas, and migrates the schema.
  static Result<std::shared_ptr<Database>> open(const SqliteOptions& options);

  bool in_memory() const { return in_memory_; }
  // Whether this thread has a batch open on this database.
  bool in_batch() { return current_batch() != nullptr; }
  const SqliteOptions& options() const { return options_; }

  // Runs f(Connection&) on the write connection.
  template <class F>
  auto write(F&& f) -> std::invoke_result_t<F&, Connection&> {
    if (Batch* batch = current_batch()) {
      if (auto begun = begin_batch_transaction(*batch); !begun) return tl::unexpected(begun.error());
      auto result = f(*writer_);
      // Some errors (disk full, I/O) make SQLite roll back the whole transaction, the batch's earlier
      // writes with it: the batch must then fail as a whole, never commit the rest as if nothing happened.
      if (!writer_->in_transaction()) batch->broken_ = true;
      return result;
    }
    std::lock_guard lock(write_mutex_);
    return f(*writer_);
  }

  // Runs f(Connection&) on a read connection. f must return a Result.
  template <class F>
  auto read(F&& f) -> std::invoke_result_t<F&, Connection&> {
    if (Batch* batch = current_batch(); batch && batch->wrote()) return f(*writer_);
    if (in_memory_) {
      std::lock_guard lock(write_mutex_);
      return f(*writer_);
    }
    // An idle write connection serves the read: its page cache survives its own commits, while a read
    // connection's is dropped whenever anyone has committed since its last read (under writes, every
    // time). Measured on the benchmark's mix: +40% calls/s at 16 in flight. A write that arrives
    // meanwhile waits for the read; reads that overlap take read connections.
    if (write_mutex_.try_lock()) {
      std::lock_guard adopted(write_mutex_, std::adopt_lock);
      return f(*writer_);
    }
    auto connection = acquire_reader();
    if (!connection) return tl::unexpected(connection.error());
    ReaderLease lease{this, std::move(*connection)};
    return f(*lease.connection);
  }

  // A new connection of its own to the same file (for the change-feed poller). Files only.
  Result<std::unique_ptr<Connection>> open_extra_connection() const;

  ~Database();

 private:
  struct ReaderLease {
    Database* owner;
    std::unique_ptr<Connection> connection;
    ~ReaderLease() { owner->release_reader(std::move(connection)); }
  };

  // This thread's batch on this database, if any.
  Batch* current_batch();
  Result<void> begin_batch_transaction(Batch& batch);

  explicit Database(SqliteOptions options)
      : options_(std::move(options)), in_memory_(options_.path == ":memory:") {}
  Result<std::unique_ptr<Connection>> acquire_reader();
  void release_reader(std::unique_ptr<Connection> connection);

  const SqliteOptions options_;
  const bool in_memory_;

  // Fair: the content indexer, which runs its batches back to back, must not keep a request's write
  // waiting for more than the batch under way (a std::mutex let it win every race to lock again: a
  // remember waited 437 ms behind eight batches of large memories).
  FairMutex write_mutex_;
  std::unique_ptr<Connection> writer_;

  // WAL checkpoints run on a thread of their own, off the request path: the write connection's WAL
  // hook (automatic checkpoints off) wakes it when the log has grown past kCheckpointPages. A long log
  // (16 MiB of 4 KiB pages) lets a checkpoint write each hot page once for many commits.
  static constexpr int kCheckpointPages = 4096;
  // Past this many pages the committing writer checkpoints itself (see start_checkpointer()).
  static constexpr int kCheckpointPagesLimit = 3 * kCheckpointPages;
  void start_checkpointer();
  void run_checkpointer();
  void checkpoint(Connection& connection);
  std::mutex checkpoint_run_mutex_;  // held while a checkpoint runs; lock order: write_mutex_ first
  std::mutex checkpoint_mutex_;
  std::condition_variable checkpoint_wanted_;
  bool checkpoint_due_ = false;
  bool closing_ = false;
  std::thread checkpointer_;

  std::mutex pool_mutex_;
  std::condition_variable reader_returned_;
  std::vector<std::unique_ptr<Connection>> idle_readers_;
  std::size_t open_readers_ = 0;  // idle + lent out
};

}  // namespace memtrace::sqlite
