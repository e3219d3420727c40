// The memory engine: the domain rules of remembering, recalling, searching, deciding and forgetting.
// It validates what callers ask for, fills in defaults (agent, session, time window), keeps sessions
// and agents consistent, and asks the store. It knows nothing of JSON-RPC or MCP.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/error.h"
#include "core/ids.h"
#include "store/store.h"

namespace memtrace {

// Who is asking. One per MCP connection: its namespace (tenant), its agent, its current session.
struct Caller {
  std::string ns = kDefaultNamespace;
  std::string agent_id;
  std::string session_id;
};

struct EngineOptions {
  std::size_t max_content_bytes = 64 * 1024;  // per memory
  std::size_t default_limit = 50;             // memories per page unless asked
  std::size_t max_limit = 200;                // the most a caller may ask for in one page
  std::size_t page_byte_budget = 48 * 1024;   // a page stops early past this much content
  std::size_t max_tags = 32;
  // A remember equal to a memory written this recently returns that memory instead of a copy
  // (WriteOptions::dedup_window_ms); 0 turns it off. Default 24 hours.
  std::int64_t dedup_window_ms = std::int64_t{24} * 60 * 60 * 1000;
};

struct RememberInput {
  std::string content;
  std::vector<std::string> tags;
  std::optional<double> importance;  // default 0.5
  std::string type = "observation";
  std::optional<std::string> session_id;  // default: the caller's session
  std::string metadata_json = "{}";
  std::optional<std::string> ttl;  // "7d"
  // Ids of memories of the caller's namespace that this one supersedes (at most kMaxSupersedes).
  std::vector<std::string> supersedes;
  // A retried write with the same key returns the first (WriteOptions::idempotency_key).
  std::optional<std::string> idempotency_key;
};

struct DecideInput {
  std::string decision;
  std::string reasoning;
  std::optional<std::string> session_id;
  std::vector<std::string> tags;
  std::optional<double> importance;  // default 0.7: decisions matter more than a passing observation
  std::optional<std::string> idempotency_key;  // as RememberInput's
};

class WriteConfirmation;

struct Stored {
  Memory memory;
  // The remember matched a memory written within the dedup window: `memory` is that one, and nothing
  // new was stored.
  bool deduplicated = false;
  std::vector<std::string> superseded;  // the ids this write superseded (none when deduplicated)
  // Set when the write was only sent, inside a WriteGroup: the rest of this Stored is what it will be if
  // it succeeds and is no duplicate; the confirmation, complete after the group's commit, says what it
  // did. Whoever answers the call answers with that.
  std::shared_ptr<const WriteConfirmation> confirmation;
};

// What a write that was sent and not waited for did (Engine::WriteGroup): known once the group has
// committed. Until then outcome() is an error saying so.
class WriteConfirmation {
 public:
  const Result<Stored>& outcome() const;

 private:
  friend class Engine;
  std::optional<Result<Stored>> outcome_;
};

// A memory as another API describes it (the REST binding): any type of all_memory_types(), the
// importance already decided by the caller, reasoning optional even for decisions.
struct WriteInput {
  std::string content;
  std::string type = "observation";
  std::vector<std::string> tags;
  double importance = 0.5;
  std::optional<std::string> session_id;  // default: the caller's session
  std::string metadata_json = "{}";
  std::optional<std::string> reasoning;
};

struct RecallInput {
  std::optional<std::string> since;  // default "24h"
  std::optional<std::string> session_id;
  std::optional<std::string> agent_id;
  std::vector<std::string> types;
  std::optional<std::int64_t> limit;
  std::optional<std::string> cursor;
  bool include_superseded = false;  // also memories a newer one superseded
};

struct SearchInput {
  std::optional<std::string> content_contains;
  std::vector<std::string> tags;
  std::vector<std::string> types;
  std::optional<double> min_importance;
  std::optional<std::string> since;
  std::optional<std::string> until;
  std::optional<std::string> session_id;
  std::optional<std::string> agent_id;
  std::optional<std::int64_t> limit;
  std::optional<std::string> cursor;
  bool include_superseded = false;  // also memories a newer one superseded
};

// What a read looked at, echoed so that an empty answer is never misread.
struct Scope {
  std::string ns;
  std::optional<std::string> session_id;
  std::optional<std::string> agent_id;
  std::optional<UnixMillis> since;
  std::optional<UnixMillis> until;
  std::vector<std::string> types;
  std::vector<std::string> tags;
  std::optional<std::string> content_contains;
  std::optional<double> min_importance;
  bool include_superseded = false;
  std::size_t limit = 0;
};

struct Page {
  std::vector<Memory> memories;
  std::optional<std::string> next_cursor;
  Scope scope;
};

// The memory types a caller may store with remember (decisions and results have their own tools).
const std::vector<std::string>& rememberable_types();
// Every type a memory can have, for filters.
const std::vector<std::string>& all_memory_types();

// Thread-safety: all methods may be called concurrently.
class Engine {
 public:
  Engine(Store& store, const Clock& clock, EngineOptions options = {});

  Result<Stored> remember(const Caller& caller, RememberInput input);
  Result<Stored> decide(const Caller& caller, DecideInput input);
  Result<Page> recall(const Caller& caller, const RecallInput& input);
  Result<Page> search(const Caller& caller, const SearchInput& input);
  // Removes one memory of the caller's namespace; kNotFound if there is none with that id.
  Result<Memory> forget(const Caller& caller, const std::string& id);

  // Group commit of one group of calls (Store::begin_batch): the writes made on this thread until
  // commit() share one transaction where the store supports it. Whoever answers those calls must wait
  // for commit(): only then are their writes durable. A store without batches commits each write alone,
  // and commit() has nothing to do.
  //
  // On a store whose writes are round trips, a memory write of the group whose session is known to take
  // writes is sent without waiting (WriteOptions::may_send): the call gets a Stored with a confirmation,
  // which commit() completes. Everything the thread does next through the engine comes after it.
  class WriteGroup {
   public:
    explicit WriteGroup(Engine& engine);
    ~WriteGroup();
    WriteGroup(const WriteGroup&) = delete;
    WriteGroup& operator=(const WriteGroup&) = delete;
    Result<void> commit();

   private:
    friend class Engine;
    struct Sent {
      std::uint64_t number;
      std::shared_ptr<WriteConfirmation> confirmation;
      Caller caller;
      Memory memory;
      std::optional<std::string> session_id;
      WriteOptions options;
    };
    Engine& engine_;
    std::unique_ptr<WriteBatch> batch_;
    std::vector<Sent> sent_;
    bool confirming_ = false;
    WriteGroup* outer_;
  };

  // What the layers above need of the store, and no more (they never hold the Store itself).
  // Where the memory lives, for messages: "sqlite:/home/a/.local/share/memtrace/memtrace.db".
  std::string describe_store() const { return store_.describe(); }
  // A cheap round trip to the store, for health checks.
  Result<void> ping();
  // Changes of namespace `ns`, from this process and (where the store can tell) others.
  std::unique_ptr<ChangeSubscription> watch(const std::string& ns, ChangeCallback callback) {
    return store_.watch(ns, std::move(callback));
  }
  Result<std::vector<SessionSummary>> find_sessions(const SessionQuery& query) {
    return store_.find_sessions(query);
  }

  // Administration and other bindings (engine_admin.cpp). Each reads or writes the caller's namespace.
  Result<Stored> write(const Caller& caller, WriteInput input);
  // The live memory with this id; nullopt if there is none (or it expired).
  Result<std::optional<Memory>> find_memory(const Caller& caller, const std::string& id);
  // The memories matching `query` (its ns and now are the caller's and the clock's), newest first;
  // query.limit is capped at max_scan_page.
  Result<std::vector<Memory>> scan(const Caller& caller, MemoryQuery query);
  static constexpr std::size_t max_scan_page = 1000;
  Result<std::optional<Agent>> find_agent(const std::string& ns, const std::string& id);
  // Every agent recorded in the namespace, by id (walks them all: for administration, not hot paths).
  Result<std::vector<Agent>> list_agents(const std::string& ns);
  // Removes the agent's record, not what it wrote; false if there was none.
  Result<bool> delete_agent(const std::string& ns, const std::string& id);
  Result<std::optional<SessionSummary>> find_session(const std::string& ns, const std::string& id);
  const Clock& clock() const { return clock_; }
  const EngineOptions& options() const { return options_; }
  std::string new_id() { return ids_.next(clock_.now_ms()); }

  // The session a write goes to, created on first use if it is the caller's own current session;
  // an error if it is closed or (when named explicitly) unknown.
  Result<Session> writable_session(const Caller& caller, const std::optional<std::string>& requested);
  // Records the agent on first use in this process.
  Result<void> ensure_agent(const std::string& ns, const std::string& agent_id);

 private:
  Result<Stored> store_memory(const Caller& caller, Memory memory, const std::optional<std::string>& session_id,
                              const WriteOptions& options = {});
  // The domain functions of this layer (sessions, tasks, context) reach the store through it.
  friend struct EngineInternals;

  Result<Page> run_query(MemoryQuery query, Scope scope, const std::optional<std::string>& cursor);
  Result<std::size_t> page_limit(const std::optional<std::int64_t>& requested) const;

  Store& store_;
  const Clock& clock_;
  EngineOptions options_;
  IdGenerator ids_;
  std::mutex known_agents_mutex_;
  std::set<std::pair<std::string, std::string>> known_agents_;
  // Sessions a write of this process went into, in a group whose writes can be sent: a write into one
  // may be sent without waiting (WriteGroup), since only a session that exists and is open takes it.
  // Forgotten when a write into it fails, and all at once past kKnownSessionsMax.
  bool session_known(const std::string& ns, const std::string& id);
  void know_session(const std::string& ns, const std::string& id, bool known);
  static constexpr std::size_t kKnownSessionsMax = 4096;
  std::mutex known_sessions_mutex_;
  std::set<std::pair<std::string, std::string>> known_sessions_;
  // This thread's WriteGroup if it is this engine's and its batch sends writes (else null): only then
  // are sessions recorded as known and writes into them sent.
  WriteGroup* sending_group();
  // What store_memory answers for a write the store has done.
  Stored stored(Memory memory, WriteOutcome& written, const WriteOptions& options);
  // Completes the confirmation of a write the group sent, from the store's outcome.
  void confirm(WriteGroup::Sent& sent, Result<WriteOutcome> outcome);
};

// Validation shared with other entry points; each error is a sentence a model can act on.
Result<std::vector<std::string>> normalize_tags(const std::vector<std::string>& tags, std::size_t max_tags);
Result<double> check_importance(std::optional<double> importance, double fallback);

}  // namespace memtrace
