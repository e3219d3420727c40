// The SQLite Store's class and the row helpers its files share; internal to store/sqlite.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "store/deferred_indexer.h"
#include "store/sqlite/sqlite_change_feed.h"
#include "store/sqlite/sqlite_database.h"
#include "store/sqlite/sqlite_handle.h"
#include "store/sqlite/sqlite_trigram_sample.h"
#include "store/store.h"

namespace memtrace::sqlite {

// ---- rows (sqlite_rows.cpp) ----

// memories.tags: the tags in their given order, as a JSON array of strings.
std::string encode_tags(const std::vector<std::string>& tags);
// Decodes what encode_tags wrote (and any JSON array of strings); stops quietly at malformed input.
std::vector<std::string> decode_tags(std::string_view json);

std::size_t utf8_length(std::string_view text);
// The byte trigram of `text` at `at`, ASCII letters folded as SQLite's lower() folds them, as a 24-bit
// number: how the tag-keyed index (stored in files: never change it) and the trigram sample count them.
inline std::uint32_t folded_trigram(std::string_view text, std::size_t at) {
  auto fold = [](char c) -> std::uint32_t {
    const auto byte = static_cast<unsigned char>(c);
    return byte >= 'A' && byte <= 'Z' ? byte - 'A' + 'a' : byte;
  };
  return fold(text[at]) << 16 | fold(text[at + 1]) << 8 | fold(text[at + 2]);
}
// Every folded_trigram of `text`, in order.
inline std::vector<std::uint32_t> folded_trigrams(std::string_view text) {
  std::vector<std::uint32_t> out;
  if (text.size() >= 3) out.reserve(text.size() - 2);
  for (std::size_t i = 0; i + 2 < text.size(); ++i) out.push_back(folded_trigram(text, i));
  return out;
}
// An FTS5 query matching `needle` as one phrase (see sqlite_rows.cpp).
std::string fts_phrase(std::string_view needle);

inline constexpr std::string_view kMemoryColumns =
    "m.id, m.session_id, m.agent_id, m.type, m.content, m.tags, m.importance, m.created_at, m.expires_at, "
    "m.metadata_json, m.reasoning, m.superseded_by, m.valid_until";
inline constexpr std::size_t kMemoryColumnCount = std::ranges::count(kMemoryColumns, ',') + 1;
Memory read_memory(const Statement& row, const std::string& ns);

inline constexpr std::string_view kSessionColumns =
    "s.id, s.created_by, s.status, s.created_at, s.updated_at, s.closed_at";
Session read_session(const Statement& row, const std::string& ns);

// id, ns, hash, label, created_at, revoked_at
ApiKey read_api_key(const Statement& statement);

// SQL assembled from optional filters, with its arguments in placeholder order.
struct DynamicQuery {
  using Arg = std::variant<std::string, std::int64_t, double>;
  std::string sql;
  std::vector<Arg> args;

  void bind_all(Statement& statement) const {
    for (const auto& arg : args) std::visit([&](const auto& value) { statement.bind(value); }, arg);
  }
};

inline std::int64_t clamp_limit(std::size_t limit) {
  return limit > static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())
             ? std::numeric_limits<std::int64_t>::max()
             : static_cast<std::int64_t>(limit);
}

// ---- the store ----
//
// Its methods live by job: sqlite_store.cpp (core and writes), sqlite_queries.cpp (reads and query
// building), sqlite_claims.cpp (task claims), sqlite_keys.cpp (API keys), sqlite_changes.cpp (the
// durable change feed).
//
// Thread-safety: every method may be called from any thread (see Database and ChangeFeed).
// The statement of a memory query (recall, search, the session context): driven by the most selective
// index the filters name (sqlite_queries.cpp).
DynamicQuery build_memory_query(const MemoryQuery& query);

// A search for a substring of three characters or more: its candidates from the trigram index newest
// first by pk, and those not indexed yet. Each row is kMemoryColumns and then its id high-water mark
// (memories.id_hwm; sqlite_queries.cpp says how the search stops early).
struct SubstringSearch {
  DynamicQuery pending;
  DynamicQuery indexed;
};
// nullopt when the query names no substring the trigram index can look up (build_memory_query then).
// `trigrams`: the FTS5 query that names the candidates in memories_fts, when it is not the needle as a
// phrase (TrigramSample::rarest_query); unused when the tag-keyed index is searched.
std::optional<SubstringSearch> build_substring_search(const MemoryQuery& query,
                                                      const std::optional<std::string>& trigrams = {});

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(std::shared_ptr<Database> database);
  ~SqliteStore() override;

  std::string describe() const override;
  std::unique_ptr<WriteBatch> begin_batch() override;
  Result<void> ping() override;

  Result<Agent> upsert_agent(const Agent& agent) override;
  Result<std::optional<Agent>> get_agent(const std::string& ns, const std::string& id) override;
  Result<bool> delete_agent(const std::string& ns, const std::string& id) override;

  Result<void> create_session(const Session& session) override;
  Result<SessionOpening> resume_or_create_session(const Session& session) override;
  Result<std::optional<Session>> get_session(const std::string& ns, const std::string& id) override;
  Result<bool> close_session(const std::string& ns, const std::string& id, UnixMillis at,
                             const std::string& agent) override;
  Result<std::vector<SessionSummary>> find_sessions(const SessionQuery& query) override;

  Result<void> insert_memory(const Memory& memory) override;
  Result<WriteOutcome> write_memory(const Memory& memory, const WriteOptions& options) override;
  Result<std::optional<Memory>> get_memory(const std::string& ns, const std::string& id,
                                           UnixMillis now) override;
  Result<std::vector<Memory>> query_memories(const MemoryQuery& query) override;
  Result<RankedMemories> rank_memories(const RankQuery& query) override;
  Result<bool> delete_memory(const std::string& ns, const std::string& id, const std::string& agent) override;
  Result<std::size_t> purge_expired(UnixMillis now) override;

  std::unique_ptr<ChangeSubscription> watch(const std::string& ns, ChangeCallback callback) override;
  Result<ChangePage> read_changes(const ChangeQuery& query) override;

  // Whole-store enumerations (export, stats): sqlite_export.cpp.
  Result<std::vector<std::string>> list_namespaces() override;
  Result<std::vector<Agent>> list_agents(const std::string& ns) override;
  Result<std::vector<TaskClaim>> list_task_claims(const std::string& ns, UnixMillis now) override;
  Result<std::uint64_t> storage_bytes() override;

  Result<void> put_api_key(const ApiKey& key) override;
  Result<std::optional<ApiKey>> find_api_key_by_hash(const std::string& hash) override;
  Result<std::vector<ApiKey>> list_api_keys(const std::optional<std::string>& ns) override;
  Result<bool> revoke_api_key(const std::string& id, UnixMillis at) override;

  Result<ClaimOutcome> claim_task(const std::string& ns, const std::string& task_id,
                                  const std::string& holder_agent, const std::string& holder_session,
                                  UnixMillis lease_until, UnixMillis now,
                                  std::optional<std::int64_t> token) override;
  Result<bool> release_task(const std::string& ns, const std::string& task_id,
                            const std::string& holder_agent, const std::string& holder_session,
                            UnixMillis now, std::optional<std::int64_t> token) override;
  Result<CompleteOutcome> complete_task(const std::string& ns, const std::string& task_id,
                                        std::optional<std::int64_t> token, const Memory& result,
                                        UnixMillis now) override;
  Result<bool> reopen_task(const std::string& ns, const std::string& task_id, const std::string& agent,
                           const std::string& session, UnixMillis now) override;
  Result<TaskRecord> get_task(const std::string& ns, const std::string& task_id, UnixMillis now) override;
  Result<std::optional<TaskClaim>> get_task_claim(const std::string& ns, const std::string& task_id,
                                                  UnixMillis now) override;

 private:
  // What deleting a memory needs to remove its index entries.
  struct ExpiredRow {
    std::int64_t pk = 0;
    std::string ns;
    std::string id;
    std::string session_id;
    std::string content;
    std::string tags;
  };

  static Result<void> check_claim(const std::string& task_id, const std::string& holder_agent,
                                  const std::string& holder_session);
  static Result<std::optional<TaskClaim>> read_claim(Connection& connection, const std::string& ns,
                                                     const std::string& task_id, UnixMillis now);

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

  // One row of the change log (sqlite_changes.cpp): it wakes watchers (wake) and, with a kind, is an
  // entry of the durable feed.
  struct LoggedChange {
    int wake = kChangeMemory;
    const char* kind = nullptr;  // change_kind; nullptr: wakes watchers only (e.g. expiry)
    std::string_view ns;
    std::string_view session_id;
    std::string_view agent;
    std::string_view subject;
    UnixMillis at = 0;
  };
  // Appends to the change log in the caller's transaction, and now and then trims it to the retention.
  Result<void> append_change(Connection& connection, const LoggedChange& change);
  // memory.superseded for `memory_id`, by `agent` in `session_id`; for the write that supersedes it,
  // inside that write's transaction.
  Result<void> append_superseded(Connection& connection, std::string_view ns, std::string_view memory_id,
                                 std::string_view agent, std::string_view session_id, UnixMillis at);
  // Deletes the log's entries older than the retention at `now`, always keeping the newest.
  Result<void> trim_changes(Connection& connection, UnixMillis now);
  static DynamicQuery session_query(const SessionQuery& query);
  Result<void> insert_session(Connection& connection, const Session& session);
  static Result<std::optional<SessionStatus>> session_status(Connection& connection, const std::string& ns,
                                                             const std::string& id);
  Result<void> keep_window(Connection& connection, const Memory& written);
  // insert_memory inside the caller's write transaction.
  Result<void> insert_memory_row(Connection& connection, const Memory& memory);
  // write_memory's steps (sqlite_supersede.cpp), inside the caller's write transaction.
  static Result<std::optional<Memory>> find_by_idempotency_key(Connection& connection, const Memory& memory,
                                                               const std::string& key);
  static Result<std::optional<Memory>> find_duplicate(Connection& connection, const Memory& memory,
                                                      const WriteOptions& options);
  Result<void> supersede(Connection& connection, const Memory& newer, const std::vector<std::string>& ids);
  static Result<void> remove_memory(Connection& connection, const ExpiredRow& row);
  static Result<Metadata> read_metadata(Connection& connection, const std::string& ns, const std::string& id);
  static Result<void> fill_summary(Connection& connection, SessionSummary& summary, UnixMillis now);
  // find_sessions inside the caller's read transaction.
  static Result<std::vector<SessionSummary>> read_sessions(Connection& connection, const SessionQuery& query);
  // query_memories for a build_substring_search: at most query.limit rows, largest id first.
  static Result<std::vector<Memory>> search_substring(Connection& connection, const SubstringSearch& search,
                                                      const MemoryQuery& query);

  const std::shared_ptr<Database> database_;
  const std::shared_ptr<ChangeFeed> feed_;
  // Declared after database_: destroyed first, indexing what is left while the database is open.
  const std::unique_ptr<DeferredIndexer> indexer_;
  // Which trigrams of a needle a content search asks memories_fts for.
  TrigramSample trigram_sample_;
  std::atomic<std::uint64_t> writes_{0};
};

}  // namespace memtrace::sqlite
