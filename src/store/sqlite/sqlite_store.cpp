// The SQLite Store: records, indexes, substring search and the change log, each write in one transaction.
#include "store/sqlite/sqlite_store.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <set>
#include <string_view>
#include <utility>
#include <variant>

#include <spdlog/spdlog.h>

#include "store/sqlite/sqlite_change_feed.h"
#include "store/sqlite/sqlite_database.h"
#include "store/sqlite/sqlite_export.h"
#include "store/sqlite/sqlite_handle.h"

namespace memtrace {
namespace {

using sqlite::Connection;
using sqlite::Database;
using sqlite::Statement;
using sqlite::Transaction;

// The change log keeps a few minutes of history: enough for any poller that is alive to catch up.
constexpr std::int64_t kChangeRetentionMs = std::int64_t{5} * 60 * 1000;
// Writes between two prunings of the change log.
constexpr std::uint64_t kPruneEvery = 512;
// Expired memories deleted per transaction, so that a large purge does not hold the write lock long.
constexpr std::size_t kPurgeBatch = 256;

std::int64_t wall_clock_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// ---- memories.tags: the tags in their given order, as a JSON array of strings ----

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (byte < 0x20) {
      out += "\\u00";
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 15]);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

std::string encode_tags(const std::vector<std::string>& tags) {
  std::string out = "[";
  for (std::size_t i = 0; i < tags.size(); ++i) {
    if (i != 0) out.push_back(',');
    append_json_string(out, tags[i]);
  }
  out.push_back(']');
  return out;
}

void append_utf8(std::string& out, std::uint32_t code_point) {
  if (code_point < 0x80) {
    out.push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else if (code_point < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (code_point >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (code_point >> 18)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
}

// Decodes what encode_tags wrote (and any JSON array of strings); stops quietly at malformed input.
std::vector<std::string> decode_tags(std::string_view json) {
  std::vector<std::string> tags;
  std::size_t i = 0;
  auto hex4 = [&](std::size_t at, std::uint32_t& value) {
    if (at + 4 > json.size()) return false;
    value = 0;
    for (std::size_t k = at; k < at + 4; ++k) {
      const char c = json[k];
      value <<= 4;
      if (c >= '0' && c <= '9')
        value |= static_cast<std::uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        value |= static_cast<std::uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        value |= static_cast<std::uint32_t>(c - 'A' + 10);
      else
        return false;
    }
    return true;
  };
  while (i < json.size()) {
    while (i < json.size() && json[i] != '"') ++i;
    if (i >= json.size()) break;
    ++i;
    std::string tag;
    bool closed = false;
    while (i < json.size()) {
      const char c = json[i++];
      if (c == '"') {
        closed = true;
        break;
      }
      if (c != '\\' || i >= json.size()) {
        tag.push_back(c);
        continue;
      }
      const char escape = json[i++];
      switch (escape) {
        case 'n':
          tag.push_back('\n');
          break;
        case 't':
          tag.push_back('\t');
          break;
        case 'r':
          tag.push_back('\r');
          break;
        case 'b':
          tag.push_back('\b');
          break;
        case 'f':
          tag.push_back('\f');
          break;
        case 'u': {
          std::uint32_t unit = 0;
          if (!hex4(i, unit)) return tags;
          i += 4;
          std::uint32_t low = 0;
          if (unit >= 0xD800 && unit < 0xDC00 && i + 6 <= json.size() && json[i] == '\\' &&
              json[i + 1] == 'u' && hex4(i + 2, low) && low >= 0xDC00 && low < 0xE000) {
            unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
            i += 6;
          }
          append_utf8(tag, unit);
          break;
        }
        default:
          tag.push_back(escape);
          break;  // \" \\ \/
      }
    }
    if (!closed) break;
    tags.push_back(std::move(tag));
  }
  return tags;
}

// ---- content search helpers ----

std::size_t utf8_length(std::string_view text) {
  std::size_t count = 0;
  for (char c : text) count += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  return count;
}

// An FTS5 query matching `needle` as one phrase: in double quotes, inner quotes doubled, so that no
// character of the needle (* : ^ - ( ) AND OR NEAR ...) is read as query syntax. With the trigram
// tokenizer a phrase matches wherever the needle occurs as a substring.
std::string fts_phrase(std::string_view needle) {
  std::string out = "\"";
  for (char c : needle) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

// ---- rows ----

constexpr std::string_view kMemoryColumns =
    "m.id, m.session_id, m.agent_id, m.type, m.content, m.tags, m.importance, m.created_at, m.expires_at, "
    "m.metadata_json, m.reasoning";

Memory read_memory(const Statement& row, const std::string& ns) {
  Memory memory;
  memory.ns = ns;
  memory.id = row.text(0);
  memory.session_id = row.text(1);
  memory.agent_id = row.text(2);
  memory.type = row.text(3);
  memory.content = row.text(4);
  memory.tags = decode_tags(row.text(5));
  memory.importance = row.real(6);
  memory.created_at = row.int64(7);
  memory.expires_at = row.optional_int64(8);
  memory.metadata_json = row.text(9);
  memory.reasoning = row.optional_text(10);
  return memory;
}

constexpr std::string_view kSessionColumns =
    "s.id, s.created_by, s.status, s.created_at, s.updated_at, s.closed_at";

Session read_session(const Statement& row, const std::string& ns) {
  Session session;
  session.ns = ns;
  session.id = row.text(0);
  session.created_by = row.text(1);
  session.status = row.text(2) == "closed" ? SessionStatus::kClosed : SessionStatus::kActive;
  session.created_at = row.int64(3);
  session.updated_at = row.int64(4);
  session.closed_at = row.optional_int64(5);
  return session;
}

// SQL assembled from optional filters, with its arguments in placeholder order.
struct DynamicQuery {
  using Arg = std::variant<std::string, std::int64_t, double>;
  std::string sql;
  std::vector<Arg> args;

  void bind_all(Statement& statement) const {
    for (const auto& arg : args) std::visit([&](const auto& value) { statement.bind(value); }, arg);
  }
};

std::int64_t clamp_limit(std::size_t limit) {
  return limit > static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())
             ? std::numeric_limits<std::int64_t>::max()
             : static_cast<std::int64_t>(limit);
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

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(std::shared_ptr<Database> database)
      : database_(std::move(database)), feed_(std::make_shared<sqlite::ChangeFeed>(database_)) {}

  ~SqliteStore() override { feed_->shutdown(); }

  std::string describe() const override {
    return database_->in_memory() ? "memory" : "sqlite:" + database_->options().path;
  }

  std::unique_ptr<WriteBatch> begin_batch() override { return std::make_unique<Batch>(*database_, feed_); }

  Result<void> ping() override {
    return database_->read([](Connection& connection) -> Result<void> {
      auto statement = connection.prepare("SELECT 1", "ping");
      if (!statement) return tl::unexpected(statement.error());
      auto row = statement->step();
      if (!row) return tl::unexpected(row.error());
      return {};
    });
  }

  Result<Agent> upsert_agent(const Agent& agent) override {
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

  Result<std::optional<Agent>> get_agent(const std::string& ns, const std::string& id) override {
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

  Result<void> create_session(const Session& session) override {
    return write("create session",
                 [&](Connection& connection) { return insert_session(connection, session); });
  }

  Result<SessionOpening> resume_or_create_session(const Session& session) override {
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
      if (auto created = insert_session(connection, session); !created)
        return tl::unexpected(created.error());
      return SessionOpening{session.id, false};
    });
  }

  Result<std::optional<Session>> get_session(const std::string& ns, const std::string& id) override {
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

  Result<bool> close_session(const std::string& ns, const std::string& id, UnixMillis at) override {
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
          if (auto logged = append_change(connection, sqlite::kChangeSession, ns, id); !logged) {
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

  Result<std::vector<SessionSummary>> find_sessions(const SessionQuery& query) override {
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

  Result<void> insert_memory(const Memory& memory) override {
    return write("store memory", [&](Connection& connection) -> Result<void> {
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
            "created_at, "
            "expires_at, metadata_json, reasoning) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
            "?12)",
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
            .bind(memory.reasoning);
        if (auto done = statement->run(); !done) {
          if (done.error().code == ErrorCode::kConflict) {
            return fail(ErrorCode::kConflict, "a memory with id " + memory.id +
                                                  " already exists in namespace " + memory.ns + " (" +
                                                  done.error().message + ")");
          }
          return done;
        }
        pk = sqlite3_last_insert_rowid(connection.handle());
      }
      {
        auto statement = connection.prepare("INSERT INTO memories_fts (rowid, content) VALUES (?1, ?2)",
                                            "index memory content");
        if (!statement) return tl::unexpected(statement.error());
        statement->bind(pk).bind(memory.content);
        if (auto done = statement->run(); !done) return done;
      }
      for (const auto& tag : memory.tags) {
        auto statement =
            connection.prepare("INSERT OR IGNORE INTO memory_tags (ns, tag, memory_id) VALUES (?1, ?2, ?3)",
                               "index memory tags");
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
      return append_change(connection, sqlite::kChangeMemory, memory.ns, memory.session_id);
    });
  }

  Result<std::optional<Memory>> get_memory(const std::string& ns, const std::string& id,
                                           UnixMillis now) override {
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

  Result<std::vector<Memory>> query_memories(const MemoryQuery& query) override {
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

  Result<bool> delete_memory(const std::string& ns, const std::string& id) override {
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
        target = ExpiredRow{statement->int64(0), ns, id, statement->text(1), statement->text(2),
                            statement->text(3)};
      }
      if (auto removed = remove_memory(connection, target); !removed) return tl::unexpected(removed.error());
      if (auto logged = append_change(connection, sqlite::kChangeMemory, ns, target.session_id); !logged) {
        return tl::unexpected(logged.error());
      }
      return true;
    });
  }

  Result<std::size_t> purge_expired(UnixMillis now) override {
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
          if (auto logged = append_change(connection, sqlite::kChangeMemory, ns, session_id); !logged) {
            return tl::unexpected(logged.error());
          }
        }
        return rows.size();
      });
      if (!batch) return tl::unexpected(batch.error());
      purged += *batch;
      if (*batch < kPurgeBatch) return purged;
    }
  }

  std::unique_ptr<ChangeSubscription> watch(ChangeCallback callback) override {
    return feed_->subscribe(std::move(callback));
  }

  // ---- whole-store enumerations (export, stats): sqlite_export.cpp ------------------------------------

  Result<std::vector<std::string>> list_namespaces() override {
    return database_->read([](Connection& connection) { return sqlite::list_namespaces(connection); });
  }
  Result<std::vector<Agent>> list_agents(const std::string& ns) override {
    return database_->read([&](Connection& connection) { return sqlite::list_agents(connection, ns); });
  }
  Result<std::vector<TaskClaim>> list_task_claims(const std::string& ns, UnixMillis now) override {
    return database_->read(
        [&](Connection& connection) { return sqlite::list_task_claims(connection, ns, now); });
  }
  Result<std::uint64_t> storage_bytes() override {
    return database_->read([](Connection& connection) { return sqlite::database_bytes(connection); });
  }

  // ---- API keys (HTTP transport) ---------------------------------------------------------------------

  Result<void> put_api_key(const ApiKey& key) override {
    return write("store API key", [&](Connection& connection) -> Result<void> {
      auto statement = connection.prepare(
          "INSERT INTO api_keys (id, ns, hash, label, created_at, revoked_at) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
          "store API key");
      if (!statement) return tl::unexpected(statement.error());
      statement->bind(key.id)
          .bind(key.ns)
          .bind(key.hash)
          .bind(key.label)
          .bind(key.created_at)
          .bind(key.revoked_at);
      if (auto done = statement->run(); !done) {
        if (done.error().code == ErrorCode::kConflict) {
          return fail(ErrorCode::kConflict, "API key " + key.id + " exists");
        }
        return done;
      }
      return {};
    });
  }

  Result<std::optional<ApiKey>> find_api_key_by_hash(const std::string& hash) override {
    return database_->read([&](Connection& connection) -> Result<std::optional<ApiKey>> {
      auto statement = connection.prepare(
          "SELECT id, ns, hash, label, created_at, revoked_at FROM api_keys WHERE hash = ?1", "find API key");
      if (!statement) return tl::unexpected(statement.error());
      statement->bind(hash);
      auto row = statement->step();
      if (!row) return tl::unexpected(row.error());
      if (!*row) return std::optional<ApiKey>();
      return std::optional<ApiKey>(read_api_key(*statement));
    });
  }

  Result<std::vector<ApiKey>> list_api_keys(const std::optional<std::string>& ns) override {
    return database_->read([&](Connection& connection) -> Result<std::vector<ApiKey>> {
      auto statement = connection.prepare(
          ns ? "SELECT id, ns, hash, label, created_at, revoked_at FROM api_keys WHERE ns = ?1 "
               "ORDER BY created_at, id"
             : "SELECT id, ns, hash, label, created_at, revoked_at FROM api_keys ORDER BY created_at, id",
          "list API keys");
      if (!statement) return tl::unexpected(statement.error());
      if (ns) statement->bind(*ns);
      std::vector<ApiKey> keys;
      for (;;) {
        auto row = statement->step();
        if (!row) return tl::unexpected(row.error());
        if (!*row) break;
        keys.push_back(read_api_key(*statement));
      }
      return keys;
    });
  }

  Result<bool> revoke_api_key(const std::string& id, UnixMillis at) override {
    return write("revoke API key", [&](Connection& connection) -> Result<bool> {
      auto statement = connection.prepare(
          "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1 RETURNING id",
          "revoke API key");
      if (!statement) return tl::unexpected(statement.error());
      statement->bind(id).bind(at);
      auto row = statement->step();
      if (!row) return tl::unexpected(row.error());
      bool found = *row;
      if (auto done = statement->run(); !done) return tl::unexpected(done.error());
      return found;
    });
  }

  // ---- task claims: each call one BEGIN IMMEDIATE transaction, so claims of one task queue up ------

  Result<ClaimOutcome> claim_task(const std::string& ns, const std::string& task_id,
                                  const std::string& holder_agent, const std::string& holder_session,
                                  UnixMillis lease_until, UnixMillis now) override {
    if (auto checked = check_claim(task_id, holder_agent, holder_session); !checked) {
      return tl::unexpected(checked.error());
    }
    if (lease_until <= now) return fail(ErrorCode::kInvalidArgument, "a lease must end after now");
    return write("claim task", [&](Connection& connection) -> Result<ClaimOutcome> {
      auto held = read_claim(connection, ns, task_id, now);
      if (!held) return tl::unexpected(held.error());
      ClaimOutcome outcome;
      if (*held && ((*held)->holder_agent != holder_agent || (*held)->holder_session != holder_session)) {
        outcome.current = std::move(**held);
        return outcome;
      }
      outcome.claimed = true;
      outcome.renewed = held->has_value();
      outcome.current = TaskClaim{
          ns, task_id, holder_agent, holder_session, *held ? (*held)->claimed_at : now, lease_until};
      {
        auto statement = connection.prepare(
            "INSERT OR REPLACE INTO task_claims "
            "(ns, task_id, holder_agent, holder_session, claimed_at, lease_until) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            "claim task");
        if (!statement) return tl::unexpected(statement.error());
        statement->bind(ns)
            .bind(task_id)
            .bind(holder_agent)
            .bind(holder_session)
            .bind(outcome.current.claimed_at)
            .bind(lease_until);
        if (auto done = statement->run(); !done) return tl::unexpected(done.error());
      }
      // The holder takes part in its session (if stored), as a write would record it.
      auto statement = connection.prepare(
          "INSERT INTO session_agents (ns, session_id, agent_id, wrote) SELECT ?1, ?2, ?3, 1 "
          "WHERE EXISTS (SELECT 1 FROM sessions WHERE ns = ?1 AND id = ?2) "
          "ON CONFLICT (ns, session_id, agent_id) DO UPDATE SET wrote = 1 WHERE wrote = 0",
          "record the claim holder in its session");
      if (!statement) return tl::unexpected(statement.error());
      statement->bind(ns).bind(holder_session).bind(holder_agent);
      if (auto done = statement->run(); !done) return tl::unexpected(done.error());
      return outcome;
    });
  }

  Result<bool> release_task(const std::string& ns, const std::string& task_id,
                            const std::string& holder_agent, const std::string& holder_session,
                            UnixMillis now) override {
    if (auto checked = check_claim(task_id, holder_agent, holder_session); !checked) {
      return tl::unexpected(checked.error());
    }
    return write("release task", [&](Connection& connection) -> Result<bool> {
      auto statement = connection.prepare(
          "DELETE FROM task_claims WHERE ns = ?1 AND task_id = ?2 AND holder_agent = ?3 "
          "AND holder_session = ?4 AND lease_until > ?5",
          "release task");
      if (!statement) return tl::unexpected(statement.error());
      statement->bind(ns).bind(task_id).bind(holder_agent).bind(holder_session).bind(now);
      if (auto done = statement->run(); !done) return tl::unexpected(done.error());
      return statement->changes() > 0;
    });
  }

  Result<std::optional<TaskClaim>> get_task_claim(const std::string& ns, const std::string& task_id,
                                                  UnixMillis now) override {
    return database_->read([&](Connection& connection) { return read_claim(connection, ns, task_id, now); });
  }

 private:
  static Result<void> check_claim(const std::string& task_id, const std::string& holder_agent,
                                  const std::string& holder_session) {
    if (task_id.empty()) return fail(ErrorCode::kInvalidArgument, "task id must not be empty");
    if (holder_agent.empty() || holder_session.empty()) {
      return fail(ErrorCode::kInvalidArgument, "a claim holder needs an agent and a session");
    }
    return {};
  }

  // The claim of the task in force at `now`, if any.
  static Result<std::optional<TaskClaim>> read_claim(Connection& connection, const std::string& ns,
                                                     const std::string& task_id, UnixMillis now) {
    auto statement = connection.prepare(
        "SELECT holder_agent, holder_session, claimed_at, lease_until FROM task_claims "
        "WHERE ns = ?1 AND task_id = ?2 AND lease_until > ?3",
        "read task claim");
    if (!statement) return tl::unexpected(statement.error());
    statement->bind(ns).bind(task_id).bind(now);
    auto row = statement->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return std::optional<TaskClaim>();
    return std::optional<TaskClaim>(TaskClaim{ns, task_id, statement->text(0), statement->text(1),
                                              statement->int64(2), statement->int64(3)});
  }

  static ApiKey read_api_key(const sqlite::Statement& statement) {
    ApiKey key;
    key.id = statement.text(0);
    key.ns = statement.text(1);
    key.hash = statement.text(2);
    key.label = statement.text(3);
    key.created_at = statement.int64(4);
    key.revoked_at = statement.optional_int64(5);
    return key;
  }

  // What deleting a memory needs to remove its index entries.
  struct ExpiredRow {
    std::int64_t pk = 0;
    std::string ns;
    std::string id;
    std::string session_id;
    std::string content;
    std::string tags;
  };

  // Runs `body` in a BEGIN IMMEDIATE transaction on the write connection, commits if it succeeded
  // (rolls back otherwise), then wakes the change feed.
  template <class F>
  auto write(std::string_view operation, F&& body) -> std::invoke_result_t<F&, Connection&> {
    using R = std::invoke_result_t<F&, Connection&>;
    R result = database_->write([&](Connection& connection) -> R {
      auto transaction = Transaction::begin(connection, Transaction::Kind::kWrite, operation);
      if (!transaction) return tl::unexpected(transaction.error());
      R value = body(connection);
      if (!value) return value;
      if (auto committed = transaction->commit(); !committed) return tl::unexpected(committed.error());
      return value;
    });
    // After the write lock is released; a batch's writes are announced when it commits.
    if (result && !database_->in_batch()) feed_->notify_local_write();
    return result;
  }

  // Appends to the change log (in the caller's transaction) and now and then prunes old entries.
  Result<void> append_change(Connection& connection, int kind, const std::string& ns,
                             const std::string& session_id) {
    const std::int64_t now = wall_clock_ms();
    {
      auto statement = connection.prepare(
          "INSERT INTO changes (at, kind, ns, session_id) VALUES (?1, ?2, ?3, ?4)", "log the change");
      if (!statement) return tl::unexpected(statement.error());
      statement->bind(now).bind(kind).bind(ns).bind(session_id);
      if (auto done = statement->run(); !done) return done;
    }
    if (writes_.fetch_add(1, std::memory_order_relaxed) % kPruneEvery != kPruneEvery - 1) return {};
    // Deletes the entries older than the retention, always keeping the newest. The subquery walks from
    // the oldest entry and stops at the first young one, so it costs what it deletes.
    auto statement = connection.prepare(
        "DELETE FROM changes WHERE seq < coalesce("
        "(SELECT seq FROM changes WHERE at >= ?1 ORDER BY seq LIMIT 1), (SELECT max(seq) FROM changes))",
        "prune the change log");
    if (!statement) return tl::unexpected(statement.error());
    statement->bind(now - kChangeRetentionMs);
    return statement->run();
  }

  // The sessions matching `query`, newest first, at most query.limit, as kSessionColumns.
  static DynamicQuery session_query(const SessionQuery& query) {
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

  // The session row, its metadata and its creator as a participant, and the change event; inside the
  // caller's write transaction. kConflict if the id is taken.
  Result<void> insert_session(Connection& connection, const Session& session) {
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
    return append_change(connection, sqlite::kChangeSession, session.ns, session.id);
  }

  // The session's status, or nullopt if there is no such session.
  static Result<std::optional<SessionStatus>> session_status(Connection& connection, const std::string& ns,
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

  // The sliding window (SqliteOptions::max_memories_per_session), inside the write that just stored
  // `written`: drops the session's memories past the window, expired ones first (by the new memory's
  // time), then the least important, ties the oldest; never `written`.
  Result<void> keep_window(Connection& connection, const Memory& written) {
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
    spdlog::debug("session {}: the window of {} memories evicted {}", written.session_id, max,
                  victims.size());
    return {};
  }

  // Deletes a memory row with its tag rows and its FTS entry (external content: the FTS 'delete'
  // command needs the indexed text, which is why callers read it first).
  static Result<void> remove_memory(Connection& connection, const ExpiredRow& row) {
    for (const auto& tag : decode_tags(row.tags)) {
      auto statement = connection.prepare(
          "DELETE FROM memory_tags WHERE ns = ?1 AND tag = ?2 AND memory_id = ?3", "remove memory tags");
      if (!statement) return tl::unexpected(statement.error());
      statement->bind(row.ns).bind(tag).bind(row.id);
      if (auto done = statement->run(); !done) return done;
    }
    {
      auto statement = connection.prepare(
          "INSERT INTO memories_fts (memories_fts, rowid, content) VALUES ('delete', ?1, ?2)",
          "remove memory content");
      if (!statement) return tl::unexpected(statement.error());
      statement->bind(row.pk).bind(row.content);
      if (auto done = statement->run(); !done) return done;
    }
    auto statement = connection.prepare("DELETE FROM memories WHERE pk = ?1", "remove memory");
    if (!statement) return tl::unexpected(statement.error());
    statement->bind(row.pk);
    return statement->run();
  }

  static Result<Metadata> read_metadata(Connection& connection, const std::string& ns,
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

  static Result<void> fill_summary(Connection& connection, SessionSummary& summary, UnixMillis now) {
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
  static DynamicQuery build_memory_query(const MemoryQuery& query) {
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
    if (use_fts) {
      q.sql = select +
              " FROM memories_fts CROSS JOIN memories AS m ON m.pk = memories_fts.rowid"
              " WHERE memories_fts MATCH ? AND m.ns = ?";
      q.args = {fts_phrase(*needle), query.ns};
      fts_done = true;
    } else if (query.session_id) {
      q.sql =
          select + " FROM memories AS m INDEXED BY memories_by_session WHERE m.ns = ? AND m.session_id = ?";
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
    if (!query.types.empty()) {
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
      q.sql += " AND m.pk IN (SELECT rowid FROM memories_fts WHERE memories_fts MATCH ?)";
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

  const std::shared_ptr<Database> database_;
  const std::shared_ptr<sqlite::ChangeFeed> feed_;
  std::atomic<std::uint64_t> writes_{0};
};

}  // namespace

Result<std::unique_ptr<Store>> open_sqlite_store(const SqliteOptions& options) {
  auto database = Database::open(options);
  if (!database) return tl::unexpected(database.error());
  return std::unique_ptr<Store>(std::make_unique<SqliteStore>(std::move(*database)));
}

}  // namespace memtrace
