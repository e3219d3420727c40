// The storage interface every backend implements (SQLite, Redis). Small on purpose: the memory engine
// holds the domain rules; a store keeps records atomically and answers queries with indexes.
//
// Thread-safety: every method may be called concurrently from any thread. Results are values; a
// store never throws. Backend errors are mapped once, here at the boundary, to ErrorCode:
// unreachable or busy backend → kUnavailable, deadline → kTimeout, anything unexpected → kInternal.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "store/records.h"

namespace memtrace {

// Something changed in a session: a memory or decision landed or was forgotten, or the session was
// created or closed. Delivered for writes by this process and, where the backend can tell, by others.
struct ChangeEvent {
  enum class Kind { kMemoryWritten, kSessionChanged };
  Kind kind = Kind::kMemoryWritten;
  std::string ns;
  std::string session_id;
};
using ChangeCallback = std::function<void(const ChangeEvent&)>;

// Delivery stops when this is destroyed. Callbacks run on a store-owned thread; keep them short.
class ChangeSubscription {
 public:
  virtual ~ChangeSubscription() = default;
};

// What resume_or_create_session did: the id of the session resumed or created.
struct SessionOpening {
  std::string id;
  bool resumed = false;
};

// Group commit: while a WriteBatch lives, the writes that its thread makes on its store share one
// transaction, begun by the first of them and committed by commit(); reads on that thread see them.
// Each write is still atomic on its own: one that fails leaves nothing behind and the others stand.
// Until commit() returns, nothing of the batch is durable or visible to other readers, so whoever
// acknowledges a write must wait for commit(). Destroyed without commit(), the batch rolls back.
//
// Thread-safety: belongs to the thread that began it; batches do not nest.
//
// A store whose writes are round trips (Redis) may instead send a write_memory that allows it
// (WriteOptions::may_send) without waiting for its answer, so that a group's writes travel together.
// Such a write is not a transaction's: it stands or fails on its own, and the store's next command on
// this thread, of any kind, is executed after it. Its outcome comes with take_sent().
class WriteBatch {
 public:
  virtual ~WriteBatch() = default;
  // Commits what the batch wrote (nothing to do if it wrote nothing). On error nothing of it stays
  // (writes that were sent excepted: each has its own outcome in take_sent()).
  virtual Result<void> commit() = 0;
  // Whether this batch sends writes that allow it (WriteOptions::may_send) rather than waiting for them.
  virtual bool sends_writes() const { return false; }
  // After commit(): the outcome of each write sent since the last take_sent(), by WriteOutcome::sent.
  virtual std::vector<std::pair<std::uint64_t, Result<WriteOutcome>>> take_sent() { return {}; }
};

class Store {
 public:
  virtual ~Store() = default;

  // A batch for this thread's next writes (see WriteBatch), or nullptr where every write commits on its
  // own (a store whose writes are single round trips gains nothing from holding them).
  virtual std::unique_ptr<WriteBatch> begin_batch() { return nullptr; }

  // Where the data lives, for logs and error messages: "sqlite:/home/a/.local/share/memtrace/memtrace.db".
  virtual std::string describe() const = 0;

  // Cheap round trip to the backend, for health checks.
  virtual Result<void> ping() = 0;

  // Creates the agent or, if it exists, updates a non-empty description. Returns the stored record.
  virtual Result<Agent> upsert_agent(const Agent& agent) = 0;
  virtual Result<std::optional<Agent>> get_agent(const std::string& ns, const std::string& id) = 0;
  // Removes the agent's record (its memories, sessions and claims stay, attributed to its id); false if
  // there was none. An agent that writes again is recorded again.
  virtual Result<bool> delete_agent(const std::string& ns, const std::string& id) = 0;

  // kConflict if a session with this id exists in the namespace.
  virtual Result<void> create_session(const Session& session) = 0;
  // Resume-or-create as one atomic step, so that agents starting together with the same metadata
  // (e.g. three support bots for account 42) end up in one session: if an active session of
  // session.ns has every key/value of session.metadata, the newest such is returned (resumed = true)
  // and nothing is written; else `session` is created as create_session would. Of concurrent calls
  // with the same metadata, from any processes, at most one creates. kInvalidArgument if
  // session.metadata is empty (every session would match).
  virtual Result<SessionOpening> resume_or_create_session(const Session& session) = 0;
  virtual Result<std::optional<Session>> get_session(const std::string& ns, const std::string& id) = 0;
  // Marks it closed; false if it does not exist. Closing a closed session is a no-op returning true.
  // `agent` (who closes it) goes into the change feed.
  virtual Result<bool> close_session(const std::string& ns, const std::string& id, UnixMillis at,
                                     const std::string& agent = {}) = 0;
  virtual Result<std::vector<SessionSummary>> find_sessions(const SessionQuery& query) = 0;

  // Writes the memory and all its index entries atomically, and records the agent as taking part in
  // the session. In the same atomic step it checks the session: kNotFound if there is none with that
  // id, kInvalidArgument if it is closed (nothing is written then).
  virtual Result<void> insert_memory(const Memory& memory) = 0;
  // insert_memory with what WriteOptions asks (supersede, deduplicate), all in the same atomic step:
  // either the memory is written and the superseded ones marked, or the duplicate is returned and
  // nothing is written, or an error and nothing is written. memory.superseded_by must be empty.
  virtual Result<WriteOutcome> write_memory(const Memory& memory, const WriteOptions& options) = 0;
  virtual Result<std::optional<Memory>> get_memory(const std::string& ns, const std::string& id,
                                                   UnixMillis now) = 0;
  virtual Result<std::vector<Memory>> query_memories(const MemoryQuery& query) = 0;
  // The session's live memories that nothing superseded, most important first and, at equal importance,
  // newest first (by id): the first query.limit of them, and how many there are (up to count_limit).
  // What a session digest keeps when its budget is tight (memory/context.h), read without walking the
  // rest of the session; with query.with_session, the session's summary too, from the same snapshot.
  virtual Result<RankedMemories> rank_memories(const RankQuery& query) = 0;
  // False if there was no such memory in the namespace. `agent` (who forgets it) goes into the change feed.
  virtual Result<bool> delete_memory(const std::string& ns, const std::string& id,
                                     const std::string& agent = {}) = 0;
  // Removes memories (and their index entries) that expired at or before `now`; returns how many.
  virtual Result<std::size_t> purge_expired(UnixMillis now) = 0;

  // Live changes of namespace `ns` (ChangeEvent), made through this store or, where the backend can
  // tell, by other processes sharing it; every write that starts after watch() returns is reported
  // while the subscription lives (Redis: unless the backend is unreachable then; delivery is
  // at-most-once there). Per namespace because that is what a backend can route: on a Redis Cluster
  // a namespace's events are published on its own shard, and sharded pub/sub has no pattern
  // subscriptions. Watch each namespace you serve; watches are cheap to add and to drop.
  virtual std::unique_ptr<ChangeSubscription> watch(const std::string& ns, ChangeCallback callback) = 0;

  // Task claims (records.h TaskClaim), each call one atomic step: of any number of concurrent claims
  // of a free task, from any processes, exactly one succeeds. A task is free at `now` if it was never
  // claimed, was released, or its lease ran out (lease_until <= now).
  //
  // Claims the task for the holder until `lease_until` if it is free, or renews it if this holder has
  // it (lease_until replaced, claimed_at kept); otherwise nothing changes, claimed is false and
  // `current` is the other holder's claim. A successful claim also records holder_agent as taking part
  // in holder_session, as a write does, if that session exists. kInvalidArgument if lease_until <= now.
  virtual Result<ClaimOutcome> claim_task(const std::string& ns, const std::string& task_id,
                                          const std::string& holder_agent, const std::string& holder_session,
                                          UnixMillis lease_until, UnixMillis now,
                                          std::optional<std::int64_t> token = std::nullopt) = 0;
  //
  // A new claim gets a fencing token larger than any issued before for the task (TaskClaim::token); a
  // renewal keeps it. With `token`, the call is a renewal that is refused (stale_token, nothing changes)
  // unless the token is this holder's and still the newest (its lease may have run out meanwhile, as
  // long as nobody else claimed). A done task is refused (done, finished).
  //
  // Frees the task if this holder has it at `now` (and `token`, if given, is its claim's); false (and
  // nothing changes) if it is free, done or held by another holder.
  virtual Result<bool> release_task(const std::string& ns, const std::string& task_id,
                                    const std::string& holder_agent, const std::string& holder_session,
                                    UnixMillis now, std::optional<std::int64_t> token = std::nullopt) = 0;
  // One atomic step: unless refused, stores `result` as insert_memory would and marks the task done by
  // result's agent and session. Refused (nothing written) if the task is done, if another holder's
  // claim is in force, or if `token` is given and is not the result agent+session's newest claim.
  virtual Result<CompleteOutcome> complete_task(const std::string& ns, const std::string& task_id,
                                                std::optional<std::int64_t> token, const Memory& result,
                                                UnixMillis now) = 0;
  // Makes a done task free again (recorded in its history); false if it was not done.
  virtual Result<bool> reopen_task(const std::string& ns, const std::string& task_id,
                                   const std::string& agent, const std::string& session, UnixMillis now) = 0;
  // Everything known about the task at `now` (a task never claimed is free, with no history).
  virtual Result<TaskRecord> get_task(const std::string& ns, const std::string& task_id, UnixMillis now) = 0;
  // The claim in force at `now`; nullopt if the task is free.
  virtual Result<std::optional<TaskClaim>> get_task_claim(const std::string& ns, const std::string& task_id,
                                                          UnixMillis now) = 0;

  // The durable change feed (records.h FeedChange): every change above (memory written or forgotten,
  // session created or closed, task claimed, released, done or reopened) is appended to its namespace's
  // feed in the same atomic step as the change. Returns the changes after query.cursor, oldest first,
  // at most query.limit. Cursors are opaque, stay valid across restarts and between processes sharing
  // the store. Changes older than the store's retention (at query.now) are gone: a cursor before them
  // is kInvalidArgument naming the oldest cursor to restart from; so is a malformed or foreign cursor.
  virtual Result<ChangePage> read_changes(const ChangeQuery& query) {
    return fail(ErrorCode::kUnavailable, "this store keeps no change feed");
  }

  // API keys of the HTTP transport (records.h ApiKey). A backend that does not keep them answers
  // kUnavailable, so that such a store can still serve stdio and unauthenticated loopback HTTP.
  // kConflict if a key with this id or hash exists.
  virtual Result<void> put_api_key(const ApiKey& key) { return no_api_keys(); }
  // The key with this token hash, revoked or not (the caller checks revoked_at).
  virtual Result<std::optional<ApiKey>> find_api_key_by_hash(const std::string& hash) {
    return no_api_keys();
  }
  // All keys, or those of one namespace, oldest first.
  virtual Result<std::vector<ApiKey>> list_api_keys(const std::optional<std::string>& ns) {
    return no_api_keys();
  }
  // Marks the key revoked at `at`; false if there is no such key. Revoking twice keeps the first time.
  virtual Result<bool> revoke_api_key(const std::string& id, UnixMillis at) { return no_api_keys(); }

  // Whole-store enumerations for the one-shot commands (export, stats): each walks everything it
  // names, so the request path never calls them. Sessions and memories are enumerated with
  // find_sessions / query_memories and their keyset cursors. A backend without them answers
  // kUnavailable (store/sqlite/sqlite_export.cpp, store/redis/redis_export.cpp implement them).
  //
  // Every namespace that holds an agent, a session, a memory or a task claim, sorted.
  virtual Result<std::vector<std::string>> list_namespaces() { return no_export(); }
  // Every agent of the namespace, by id.
  virtual Result<std::vector<Agent>> list_agents(const std::string& ns) { return no_export(); }
  // Every claim of the namespace in force at `now`, by task id.
  virtual Result<std::vector<TaskClaim>> list_task_claims(const std::string& ns, UnixMillis now) {
    return no_export();
  }
  // How many bytes the backend uses for everything it keeps (SQLite: the database file's pages;
  // Redis: the server's used_memory, shared by everything on that server).
  virtual Result<std::uint64_t> storage_bytes() { return no_export(); }

 private:
  static tl::unexpected<Error> no_export() {
    return fail(ErrorCode::kUnavailable, "this store cannot enumerate its records");
  }
  static tl::unexpected<Error> no_api_keys() {
    return fail(ErrorCode::kUnavailable, "this store does not keep API keys");
  }
};

}  // namespace memtrace
