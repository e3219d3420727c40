// The connections of one SQLite store: a write connection behind a mutex and a pool of readers.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <vector>

#include "core/error.h"
#include "store/sqlite/sqlite_handle.h"
#include "store/sqlite/sqlite_store.h"

namespace memtrace::sqlite {

// Owns the connections to one database and lends them out, one thread per connection at a time.
// A file database has one write connection (writes are serialised by SQLite anyway; a process-local
// mutex makes them queue here instead of spinning on the file lock) and up to kMaxReaders read
// connections, opened on demand: in WAL mode readers run in parallel with each other and with the
// writer. ":memory:" has a single connection serving reads and writes under the write mutex, since a
// private in-memory database cannot be opened twice.
//
// Thread-safety: read() and write() may be called from any thread; the callable gets exclusive use of
// the connection for its duration. Do not call read() or write() from inside the callable.
class Database {
 public:
  static constexpr std::size_t kMaxReaders = 4;

  // Creates folders and file as documented on open_sqlite_store, opens the write connection, sets WAL
  // mode and the pragmas, and migrates the schema.
  static Result<std::shared_ptr<Database>> open(const SqliteOptions& options);

  bool in_memory() const { return in_memory_; }
  const SqliteOptions& options() const { return options_; }

  // Runs f(Connection&) on the write connection.
  template <class F>
  auto write(F&& f) -> std::invoke_result_t<F&, Connection&> {
    std::lock_guard lock(write_mutex_);
    return f(*writer_);
  }

  // Runs f(Connection&) on a read connection. f must return a Result.
  template <class F>
  auto read(F&& f) -> std::invoke_result_t<F&, Connection&> {
    if (in_memory_) return write(f);
    auto connection = acquire_reader();
    if (!connection) return tl::unexpected(connection.error());
    ReaderLease lease{this, std::move(*connection)};
    return f(*lease.connection);
  }

  // A new connection of its own to the same file (for the change-feed poller). Files only.
  Result<std::unique_ptr<Connection>> open_extra_connection() const;

 private:
  struct ReaderLease {
    Database* owner;
    std::unique_ptr<Connection> connection;
    ~ReaderLease() { owner->release_reader(std::move(connection)); }
  };

  explicit Database(SqliteOptions options)
      : options_(std::move(options)), in_memory_(options_.path == ":memory:") {}
  Result<std::unique_ptr<Connection>> acquire_reader();
  void release_reader(std::unique_ptr<Connection> connection);

  const SqliteOptions options_;
  const bool in_memory_;

  std::mutex write_mutex_;
  std::unique_ptr<Connection> writer_;

  std::mutex pool_mutex_;
  std::condition_variable reader_returned_;
  std::vector<std::unique_ptr<Connection>> idle_readers_;
  std::size_t open_readers_ = 0;  // idle + lent out
};

}  // namespace memtrace::sqlite
