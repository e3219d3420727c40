// Owning wrappers for SQLite handles: a connection with a prepared-statement cache, a bound statement
// that resets itself, a transaction guard that rolls back unless committed, and the one function
// that maps SQLite result codes to ErrorCode.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <sqlite3.h>

#include "core/error.h"

namespace memtrace::sqlite {

// The only place SQLite result codes become ErrorCode: busy/locked (after busy_timeout), cannot
// open, I/O, disk full, not a database → kUnavailable; constraint → kConflict; anything else →
// kInternal. The message names the operation and carries sqlite3_errmsg (and the file for
// environment failures). `db` may be null (then sqlite3_errstr is used).
Error to_error(int rc, sqlite3* db, std::string_view operation);

class Connection;

// A prepared statement borrowed from a Connection's cache (or owned, if the cached one is already in
// use), with arguments bound left to right. On destruction it is reset and its bindings cleared, so it
// holds no read lock and is ready for the next use. Text is bound as a copy (SQLITE_TRANSIENT), so
// temporaries are safe to pass.
//
// Thread-safety: none; it belongs to the thread that holds its Connection.
class Statement {
 public:
  Statement(Connection& connection, sqlite3_stmt* stmt, bool* in_use, bool owned, std::string_view operation);
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  Statement& bind(std::string_view text);
  Statement& bind(const char* text) { return bind(std::string_view(text)); }
  Statement& bind(const std::string& text) { return bind(std::string_view(text)); }
  Statement& bind(std::int64_t value);
  Statement& bind(int value) { return bind(static_cast<std::int64_t>(value)); }
  Statement& bind(double value);
  Statement& bind(std::nullptr_t);
  Statement& bind(const std::optional<std::string>& text);
  Statement& bind(const std::optional<std::int64_t>& value);

  // One step: true if a row is available, false when done.
  Result<bool> step();
  // Steps to completion, ignoring rows (for INSERT/UPDATE/DELETE).
  Result<void> run();

  bool is_null(int column) const;
  std::string text(int column) const;
  std::int64_t int64(int column) const;
  double real(int column) const;
  std::optional<std::string> optional_text(int column) const;
  std::optional<std::int64_t> optional_int64(int column) const;

  // Rows changed by the last INSERT/UPDATE/DELETE on this connection.
  int changes() const;

 private:
  friend class Transaction;

  Connection* connection_;
  sqlite3_stmt* stmt_;
  bool* in_use_;  // the cache slot's flag; null when owned
  bool owned_;
  std::string_view operation_;  // a string literal naming the operation, for error messages
  int next_index_ = 1;
  int bind_error_ = SQLITE_OK;
};

struct ConnectionOptions {
  int busy_timeout_ms = 5000;  // how long a statement waits for another connection's lock
};

// One sqlite3 connection, opened in multi-thread mode (SQLITE_OPEN_NOMUTEX): the owner serialises
// access. Prepared statements are cached by SQL text for the connection's lifetime, so hot paths never
// re-parse SQL.
//
// Thread-safety: not thread-safe; one thread at a time (the store's mutexes and pool ensure that).
class Connection {
 public:
  // Opens (creating if needed) the database at `path`; ":memory:" for a private in-memory database.
  // Failure → kUnavailable naming the path and the OS error.
  static Result<std::unique_ptr<Connection>> open(const std::string& path, const ConnectionOptions& options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // A ready statement for `sql`, from the cache when possible. `operation` names what it does in
  // error messages and must outlive the statement (use a string literal).
  Result<Statement> prepare(std::string_view sql, std::string_view operation);
  // Runs one or more statements without caching (schema changes, pragmas).
  Result<void> exec(const std::string& sql, std::string_view operation);

  sqlite3* handle() const { return db_; }
  // False in autocommit mode: no transaction open (also after SQLite rolled one back on its own).
  bool in_transaction() const;
  const std::string& path() const { return path_; }
  int busy_timeout_ms() const { return options_.busy_timeout_ms; }

 private:
  friend class Statement;
  struct Cached {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;  // borrowed by a live Statement
  };
  // Lets the cache be searched with a string_view, without building a std::string per lookup.
  struct SqlHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view sql) const { return std::hash<std::string_view>{}(sql); }
  };

  Connection(sqlite3* db, std::string path, ConnectionOptions options);

  sqlite3* db_;
  std::string path_;
  ConnectionOptions options_;
  std::unordered_map<std::string, Cached, SqlHash, std::equal_to<>> cache_;
  int statements_out_ = 0;  // borrowed statements alive; the cache is only trimmed when none are
};

// A transaction that rolls back unless commit() succeeds. Writes use BEGIN IMMEDIATE so that
// concurrent writers (threads or processes) queue on the busy timeout at BEGIN instead of failing
// with SQLITE_BUSY in the middle of a transaction; BEGIN is retried on SQLITE_BUSY until the busy
// timeout has passed, for the few cases in which SQLite reports busy without waiting.
//
// Begun inside another transaction (a group commit, see Database::Batch), it is a SAVEPOINT instead:
// commit() releases it into the outer transaction and rolling back undoes only its own changes.
//
// Thread-safety: none; used by the thread holding the connection. Declare it before the statements
// it covers, so they are reset before it ends.
class Transaction {
 public:
  enum class Kind { kRead, kWrite };

  static Result<Transaction> begin(Connection& connection, Kind kind, std::string_view operation);
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  Result<void> commit();

 private:
  Transaction(Connection& connection, std::string_view operation, bool nested)
      : connection_(&connection), operation_(operation), nested_(nested) {}

  Connection* connection_;
  std::string_view operation_;
  bool nested_ = false;  // a savepoint inside an outer transaction
  bool open_ = true;
};

}  // namespace memtrace::sqlite
