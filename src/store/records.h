// The records a store keeps: agents, sessions, memories; and the queries it answers.
// Plain data, no behaviour. Times are Unix milliseconds (UTC).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"

namespace memtrace {

inline constexpr const char* kDefaultNamespace = "default";

struct Agent {
  std::string ns = kDefaultNamespace;
  std::string id;  // the agent's name is its id: "researcher", "claude-code"
  std::string description;
  UnixMillis created_at = 0;
};

enum class SessionStatus { kActive, kClosed };
const char* to_string(SessionStatus status);

// Session metadata: key → the value as compact JSON text ("\"42\"" for the string 42, "42" for the
// number). Stores compare values as text, so {"account_id":"42"} never matches {"account_id":42}.
using Metadata = std::map<std::string, std::string>;

struct Session {
  std::string ns = kDefaultNamespace;
  std::string id;
  std::string created_by;  // agent id
  Metadata metadata;
  SessionStatus status = SessionStatus::kActive;
  UnixMillis created_at = 0;
  UnixMillis updated_at = 0;
  std::optional<UnixMillis> closed_at;
};

// A session with what a listing shows about it.
struct SessionSummary {
  Session session;
  std::vector<std::string> agents;  // agents that wrote into it, sorted
  std::int64_t memory_count = 0;    // live (unexpired) memories
  UnixMillis last_activity = 0;     // newest memory's created_at, else the session's updated_at
};

struct Memory {
  std::string ns = kDefaultNamespace;
  std::string id;  // time-sortable (core/ids.h): larger is newer
  std::string session_id;
  std::string agent_id;
  std::string type = "observation";  // observation | action | event | fact | decision | result
  std::string content;
  std::vector<std::string> tags;  // exact-match labels, deduplicated, in the order given
  double importance = 0.5;        // 0..1
  UnixMillis created_at = 0;
  std::optional<UnixMillis> expires_at;
  std::string metadata_json = "{}";      // a JSON object, stored and returned verbatim
  std::optional<std::string> reasoning;  // decisions only
  // Set when a newer memory superseded this one (memtrace_remember's supersedes): that memory's id, and
  // its created_at as the time this one stopped being true. Both or neither.
  std::optional<std::string> superseded_by;
  std::optional<UnixMillis> valid_until;
};

// What a write asks beyond storing the memory (Store::write_memory).
struct WriteOptions {
  // Ids of memories of the same namespace that the new memory supersedes: in the same atomic step they
  // get superseded_by = the new id and valid_until = its created_at. Refused (kNotFound / kConflict,
  // nothing written) if one is unknown (or expired), or already superseded.
  std::vector<std::string> supersedes;
  // > 0: if a live, not superseded memory of the namespace with the same content, type, tags (in any
  // order), agent and session was created within the last dedup_window_ms before the new memory's
  // created_at, nothing is written and that memory is returned (checked in the same atomic step, so
  // of identical concurrent writes from any processes one is stored). With supersedes, the duplicate
  // counts only if it already supersedes every one of them (a retried call); otherwise the write goes
  // ahead. 0: never deduplicate.
  std::int64_t dedup_window_ms = 0;
  // Set: if a live memory of the namespace was written with this key within kIdempotencyWindowMs
  // before the new memory's created_at, nothing is written and that memory is returned, whatever its
  // content (checked in the same atomic step, so a retried write is stored at most once); otherwise
  // the write records the key for the new memory.
  std::optional<std::string> idempotency_key;
  // The caller can take the outcome later: inside a WriteBatch, a store may send the write without
  // waiting for it and answer WriteOutcome::sent; the outcome then comes from WriteBatch::take_sent()
  // after commit(). The caller must not assume the memory is stored (or report it stored) before that.
  bool may_send = false;
};
// How long an idempotency key is remembered.
inline constexpr std::int64_t kIdempotencyWindowMs = std::int64_t{24} * 60 * 60 * 1000;

// What write_memory did.
struct WriteOutcome {
  // The outcome of a write answered by `earlier`, the memory already stored.
  static WriteOutcome deduplicated(Memory earlier) {
    WriteOutcome outcome;
    outcome.duplicate_of = std::move(earlier);
    return outcome;
  }

  // Set when the write was deduplicated: the memory already stored, returned instead of a copy.
  std::optional<Memory> duplicate_of;
  // Set when the write was sent and not waited for (WriteOptions::may_send): its number in the batch,
  // under which WriteBatch::take_sent() reports what it did.
  std::optional<std::uint64_t> sent;
};

inline constexpr std::size_t kMaxSupersedes = 32;

// Memories matching every given filter, newest first (by id, descending).
struct MemoryQuery {
  std::string ns = kDefaultNamespace;
  std::optional<std::string> session_id;
  std::optional<std::string> agent_id;
  std::vector<std::string> types;               // any of
  std::vector<std::string> tags;                // all of (exact)
  std::optional<std::string> content_contains;  // case-insensitive substring
  std::optional<double> min_importance;
  std::optional<UnixMillis> since;       // created_at >= since
  std::optional<UnixMillis> until;       // created_at < until
  std::optional<std::string> before_id;  // keyset cursor: only ids < before_id
  UnixMillis now = 0;                    // memories with expires_at <= now are never returned
  bool exclude_superseded = false;       // leave out memories with superseded_by (reads for models)
  std::size_t limit = 50;
};

// A session's memories in the order a digest keeps them (Store::rank_memories).
struct RankQuery {
  std::string ns = kDefaultNamespace;
  std::string session_id;
  UnixMillis now = 0;  // memories with expires_at <= now are left out
  std::size_t limit = 50;
  // Counting stops here: a session of a million memories is not walked to say how many it holds.
  std::size_t count_limit = 1000;
  // Also describe the session (RankedMemories::session), in the same read: a digest's whole input in
  // one request to the store.
  bool with_session = false;
  // Set (max_weight > 0): a store may stop reading memories once those it read weigh more than
  // max_weight in all (weight.of(m) each), returning them; a digest needs none past the one that fills
  // its budget. The count is unaffected. Unset, `limit` alone bounds the read.
  struct Weight {
    std::size_t per_memory = 0;
    // Each of these fields counts its size in bytes, up to its cap.
    std::size_t agent_cap = 0, type_cap = 0, content_cap = 0;
    std::size_t of(const Memory& m) const {
      auto capped = [](std::size_t size, std::size_t cap) { return size < cap ? size : cap; };
      return per_memory + capped(m.agent_id.size(), agent_cap) + capped(m.type.size(), type_cap) +
             capped(m.content.size(), content_cap);
    }
  } weight;
  std::size_t max_weight = 0;

  // How far a store counts: one past both bounds, so that reaching it says there are more.
  std::size_t count_up_to() const { return (limit > count_limit ? limit : count_limit) + 1; }
};

struct RankedMemories {
  // Most important first; at equal importance newest first (by id, descending, as recall orders).
  std::vector<Memory> memories;
  // How many there are in all (memories.size() when they are all there); when there are more than
  // max(limit, count_limit), a number above both and total_is_lower_bound.
  std::size_t total = 0;
  bool total_is_lower_bound = false;
  // With RankQuery::with_session: the session's summary (as find_sessions gives it), or nothing if
  // there is no such session (then there are no memories either).
  std::optional<SessionSummary> session;
};

struct SessionQuery {
  std::string ns = kDefaultNamespace;
  Metadata metadata_contains;  // every key/value must be present
  std::optional<SessionStatus> status;
  std::optional<std::string> agent_id;   // sessions this agent created or wrote into
  std::optional<std::string> before_id;  // keyset cursor on session id (newest first)
  std::optional<std::string> id;         // this session only (describing one session)
  UnixMillis now = 0;  // memories with expires_at <= now are not counted in memory_count/last_activity
  std::size_t limit = 20;
};

// An API key for the HTTP transport. The secret token ("mtk_…") is shown once when the key is created
// and never stored: only its SHA-256 is kept. Every request made with the key is confined to `ns`.
struct ApiKey {
  std::string id;  // public handle (what `keys list` shows and `keys revoke` takes)
  std::string ns = kDefaultNamespace;
  std::string hash;   // lower-case hex SHA-256 of the token
  std::string label;  // a note for people ("ci", "alice's laptop"); may be empty
  UnixMillis created_at = 0;
  std::optional<UnixMillis> revoked_at;
};

// A lease on a task id: while it runs, no other holder can claim the task. The holder is an agent AND
// a session, so one agent cannot release another's claim, and one agent working in two sessions holds
// claims as two holders. A claim is in force while now < lease_until; afterwards the task is free.
struct TaskClaim {
  std::string ns = kDefaultNamespace;
  std::string task_id;
  std::string holder_agent;
  std::string holder_session;
  UnixMillis claimed_at = 0;   // when this holder took it (kept when the holder renews)
  UnixMillis lease_until = 0;  // exclusive: free from this time on
  // Fencing token: each new claim of the task gets one larger than any issued before for it (a renewal
  // keeps it). Calls that pass a token are refused once another claim has superseded it.
  std::int64_t token = 0;
};

enum class TaskState { kFree, kClaimed, kDone };
const char* to_string(TaskState state);

// One step in a task's life, as its history lists it.
struct TaskEvent {
  std::string kind;  // claimed | released | done | reopened
  std::string agent;
  std::string session;
  UnixMillis at = 0;
  std::int64_t token = 0;  // the claim's fencing token (0: none)
  std::string memory_id;   // done: the result's memory id
};

// Who finished a task, when, and the memory holding its result.
struct TaskDone {
  std::string agent;
  std::string session;
  UnixMillis at = 0;
  std::string result_id;
};

// Everything a store knows about a task.
struct TaskRecord {
  std::string ns = kDefaultNamespace;
  std::string task_id;
  TaskState state = TaskState::kFree;  // kClaimed only while a lease is in force
  std::optional<TaskClaim> claim;      // in force at the time asked
  std::int64_t last_token = 0;         // the largest token issued for the task (0: never claimed)
  std::optional<TaskDone> done;
  std::vector<TaskEvent> history;  // oldest first, at most kMaxTaskHistory (the newest)
};
inline constexpr std::size_t kMaxTaskHistory = 50;

// What complete_task did.
struct CompleteOutcome {
  enum class Refusal { kNone, kHeld, kStaleToken, kDone };
  Refusal refusal = Refusal::kNone;  // kNone: the result is stored and the task is done
  bool was_holder = false;           // the caller held the claim (in force, or lapsed and not retaken)
  std::optional<TaskClaim> current;  // kHeld, kStaleToken: the claim in force, if any
  std::int64_t last_token = 0;       // kStaleToken: the task's newest token
  std::optional<TaskDone> done;      // kDone: who finished it; kNone: the caller
};

struct ClaimOutcome {
  bool claimed = false;      // the caller holds the task now (a new claim or a renewal)
  bool renewed = false;      // claimed, and the caller already held it before this call
  TaskClaim current;         // the claim in force after the call: the caller's, or the other holder's
  bool done = false;         // refused: the task is done (finished says by whom)
  bool stale_token = false;  // refused: the token given is not the caller's current claim's
  std::optional<TaskDone> finished;
  std::int64_t last_token = 0;  // the task's newest token
};


// The durable change feed: one entry per change of a namespace, in the order the changes took effect,
// appended in the same atomic step as the change itself.
namespace change_kind {
inline constexpr const char* kMemoryWritten = "memory.written";
inline constexpr const char* kMemoryForgotten = "memory.forgotten";
inline constexpr const char* kMemorySuperseded = "memory.superseded";
inline constexpr const char* kSessionCreated = "session.created";
inline constexpr const char* kSessionClosed = "session.closed";
inline constexpr const char* kTaskClaimed = "task.claimed";
inline constexpr const char* kTaskReleased = "task.released";
inline constexpr const char* kTaskDone = "task.done";
inline constexpr const char* kTaskReopened = "task.reopened";
}  // namespace change_kind
// Every kind above, in that order.
const std::vector<std::string>& all_change_kinds();

struct FeedChange {
  std::string cursor;  // opaque: its position in the namespace's feed
  std::string kind;    // change_kind
  UnixMillis at = 0;
  std::string agent;       // who made the change
  std::string session_id;  // the session it happened in (session.*: the session itself)
  std::string subject;     // memory id, session id or task id, by kind
};

struct ChangeQuery {
  std::string ns = kDefaultNamespace;
  std::optional<std::string> cursor;      // changes after this one; nullopt: from the oldest kept
  std::optional<std::string> session_id;  // only changes in this session
  std::vector<std::string> kinds;         // only these kinds; empty: all
  std::size_t limit = 100;
  UnixMillis now = 0;  // the retention window ends here
};

struct ChangePage {
  std::vector<FeedChange> changes;  // oldest first
  // Where the next read starts: the last change returned, or, when none matched, as far as the feed
  // was read (the given cursor when nothing at all happened since).
  std::string next_cursor;
  bool more = false;  // stopped at the limit (or the store's scan budget); read again at once
};

}  // namespace memtrace
