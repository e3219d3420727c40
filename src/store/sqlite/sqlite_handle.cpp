// Owning wrappers for SQLite handles, the statement cache, the transaction guard and the error mapping.
#include "store/sqlite/sqlite_handle.h"

#include <algorithm>
#include <cerrno>
#include <span>
#include <system_error>
#include <thread>

#include <spdlog/spdlog.h>

#include "store/sqlite/sqlite_wal_vfs.h"

namespace memtrace::sqlite {
namespace {

// Cached statements beyond this many are dropped (when none is borrowed); only dynamic queries with
// unusual filter combinations grow the cache, the fixed ones number a few dozen.
constexpr std::size_t kMaxCachedStatements = 256;

std::string database_name(sqlite3* db) {
  if (db == nullptr) return {};
  const char* name = sqlite3_db_filename(db, "main");
  return name == nullptr || *name == '\0' ? std::string(":memory:") : std::string(name);
}

}  // namespace

Error to_error(int rc, sqlite3* db, std::string_view operation) {
  const int primary = rc & 0xff;
  std::string detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  if (db != nullptr && sqlite3_errcode(db) != rc) detail = sqlite3_errstr(rc);  // errmsg is stale
  std::string message = std::string(operation) + " failed: " + detail;
  switch (primary) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Error{ErrorCode::kUnavailable, message + " (another connection held the database " +
                                                database_name(db) +
                                                " for longer than the busy timeout; retry later)"};
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_PROTOCOL: {
      const int os_error = db != nullptr ? sqlite3_system_errno(db) : 0;
      if (os_error != 0)
        message += std::string(" (") + std::error_code(os_error, std::generic_category()).message() + ")";
      return Error{ErrorCode::kUnavailable, message + " [database " + database_name(db) + "]"};
    }
    case SQLITE_CONSTRAINT:
      return Error{ErrorCode::kConflict, message};
    default:
      return Error{ErrorCode::kInternal, message};
  }
}

// ---- Statement ----

Statement::Statement(Connection& connection, sqlite3_stmt* stmt, bool* in_use, bool owned,
                     std::string_view operation)
    : connection_(&connection), stmt_(stmt), in_use_(in_use), owned_(owned), operation_(operation) {
  ++connection_->statements_out_;
}

Statement::Statement(Statement&& other) noexcept
    : connection_(other.connection_),
      stmt_(other.stmt_),
      in_use_(other.in_use_),
      owned_(other.owned_),
      operation_(other.operation_),
      next_index_(other.next_index_),
      bind_error_(other.bind_error_) {
  other.stmt_ = nullptr;
  other.in_use_ = nullptr;
  other.owned_ = false;
}

Statement::~Statement() {
  if (stmt_ == nullptr) return;
  --connection_->statements_out_;
  if (owned_) {
    sqlite3_finalize(stmt_);
    return;
  }
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  if (in_use_ != nullptr) *in_use_ = false;
}

Statement& Statement::bind(std::string_view text) {
  int rc = sqlite3_bind_text64(stmt_, next_index_++, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

Statement& Statement::bind(std::int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, next_index_++, value);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

Statement& Statement::bind(double value) {
  int rc = sqlite3_bind_double(stmt_, next_index_++, value);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

Statement& Statement::bind(std::nullptr_t) {
  int rc = sqlite3_bind_null(stmt_, next_index_++);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

Statement& Statement::bind(const std::optional<std::string>& text) {
  return text ? bind(std::string_view(*text)) : bind(nullptr);
}

Statement& Statement::bind(const std::optional<std::int64_t>& value) {
  return value ? bind(*value) : bind(nullptr);
}

Result<bool> Statement::step() {
  if (bind_error_ != SQLITE_OK) {
    return tl::unexpected(to_error(bind_error_, connection_->handle(), operation_));
  }
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return tl::unexpected(to_error(rc, connection_->handle(), operation_));
}

Result<void> Statement::run() {
  for (;;) {
    auto row = step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return {};
  }
}

bool Statement::is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::string Statement::text(int column) const {
  const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  const int size = sqlite3_column_bytes(stmt_, column);
  return data == nullptr ? std::string() : std::string(data, static_cast<std::size_t>(size));
}

std::int64_t Statement::int64(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

double Statement::real(int column) const {
  return sqlite3_column_double(stmt_, column);
}

std::optional<std::string> Statement::optional_text(int column) const {
  if (is_null(column)) return std::nullopt;
  return text(column);
}

std::optional<std::int64_t> Statement::optional_int64(int column) const {
  if (is_null(column)) return std::nullopt;
  return int64(column);
}

int Statement::changes() const {
  return sqlite3_changes(connection_->handle());
}

// ---- Connection ----

Connection::Connection(sqlite3* db, std::string path, ConnectionOptions options)
    : db_(db), path_(std::move(path)), options_(options) {}

Connection::~Connection() {
  if (statements_out_ != 0)
    spdlog::error("sqlite: closing {} with {} statements still borrowed", path_, statements_out_);
  for (auto& [sql, cached] : cache_) sqlite3_finalize(cached.stmt);
  cache_.clear();
  // All statements are finalized, so close cannot fail with SQLITE_BUSY; close_v2 is the safe choice
  // should a bug leave one behind.
  sqlite3_close_v2(db_);
}

Result<std::unique_ptr<Connection>> Connection::open(const std::string& path,
                                                     const ConnectionOptions& options) {
  sqlite3* db = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  // File databases go through the VFS that writes a commit's log in one system call (sqlite_wal_vfs.h).
  const char* vfs = path == ":memory:" ? nullptr : batched_wal_vfs_name();
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, vfs);
  if (rc != SQLITE_OK) {
    std::string message = "cannot open SQLite database " + path + ": " +
                          (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    const int os_error = db != nullptr ? sqlite3_system_errno(db) : 0;
    if (os_error != 0)
      message += std::string(" (") + std::error_code(os_error, std::generic_category()).message() + ")";
    sqlite3_close_v2(db);
    return fail(ErrorCode::kUnavailable, std::move(message));
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, options.busy_timeout_ms);
  return std::unique_ptr<Connection>(new Connection(db, path, options));
}

bool Connection::in_transaction() const {
  return sqlite3_get_autocommit(db_) == 0;
}

Result<Statement> Connection::prepare(std::string_view sql, std::string_view operation) {
  if (statements_out_ == 0 && cache_.size() >= kMaxCachedStatements) {
    for (auto& [text, cached] : cache_) sqlite3_finalize(cached.stmt);
    cache_.clear();
  }
  auto found = cache_.find(sql);
  if (found != cache_.end() && !found->second.in_use) {
    found->second.in_use = true;
    return Statement(*this, found->second.stmt, &found->second.in_use, false, operation);
  }
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    found == cache_.end() ? SQLITE_PREPARE_PERSISTENT : 0, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return tl::unexpected(to_error(rc, db_, operation));
  }
  if (found != cache_.end()) {
    // The cached statement is busy further up this call stack; use a private one this time.
    return Statement(*this, stmt, nullptr, true, operation);
  }
  auto [slot, inserted] = cache_.emplace(std::string(sql), Cached{stmt, true});
  return Statement(*this, stmt, &slot->second.in_use, false, operation);
}

Result<void> Connection::exec(const std::string& sql, std::string_view operation) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
  sqlite3_free(message);  // sqlite3_errmsg still holds the text for to_error
  if (rc != SQLITE_OK) return tl::unexpected(to_error(rc, db_, operation));
  return {};
}

// ---- Transaction ----

Result<Transaction> Transaction::begin(Connection& connection, Kind kind, std::string_view operation) {
  if (sqlite3_get_autocommit(connection.handle()) == 0) {
    // Inside a group commit: the outer transaction already holds the locks this one would take.
    auto statement = connection.prepare("SAVEPOINT step", operation);
    if (!statement) return tl::unexpected(statement.error());
    if (auto done = statement->run(); !done) return tl::unexpected(done.error());
    return Transaction(connection, operation, true);
  }
  const char* sql = kind == Kind::kWrite ? "BEGIN IMMEDIATE" : "BEGIN";
  // The busy handler already waits up to busy_timeout for the lock. SQLite still reports
  // SQLITE_BUSY at once in a few cases (e.g. while another process recovers the WAL), so BEGIN is
  // retried with a short backoff until the same deadline.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(connection.busy_timeout_ms());
  auto backoff = std::chrono::milliseconds(1);
  for (;;) {
    auto statement = connection.prepare(sql, operation);
    if (!statement) return tl::unexpected(statement.error());
    const int rc = sqlite3_step(statement->stmt_);
    if (rc == SQLITE_DONE) return Transaction(connection, operation, false);
    const int primary = rc & 0xff;
    if ((primary != SQLITE_BUSY && primary != SQLITE_LOCKED) ||
        std::chrono::steady_clock::now() >= deadline) {
      return tl::unexpected(to_error(rc, connection.handle(), operation));
    }
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(20));
  }
}

Transaction::Transaction(Transaction&& other) noexcept
    : connection_(other.connection_),
      operation_(other.operation_),
      nested_(other.nested_),
      open_(other.open_) {
  other.open_ = false;
}

Transaction::~Transaction() {
  if (!open_) return;
  // After some errors (disk full, I/O error) SQLite has already rolled back; then there is nothing to do.
  if (sqlite3_get_autocommit(connection_->handle()) != 0) return;
  static constexpr const char* kRollbackSavepoint[] = {"ROLLBACK TO step", "RELEASE step"};
  static constexpr const char* kRollback[] = {"ROLLBACK"};
  const auto steps =
      nested_ ? std::span<const char* const>(kRollbackSavepoint) : std::span<const char* const>(kRollback);
  for (const char* sql : steps) {
    auto statement = connection_->prepare(sql, "roll back");
    if (!statement) {
      spdlog::error("sqlite: {}", statement.error().message);
      return;
    }
    if (auto done = statement->run(); !done) {
      spdlog::error("sqlite: {} ({})", done.error().message, operation_);
      return;
    }
  }
}

Result<void> Transaction::commit() {
  auto statement = connection_->prepare(nested_ ? "RELEASE step" : "COMMIT", operation_);
  if (!statement) return tl::unexpected(statement.error());
  if (auto done = statement->run(); !done) return done;  // still open: the destructor rolls back
  open_ = false;
  return {};
}

}  // namespace memtrace::sqlite
