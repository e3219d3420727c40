// Multi-agent coordination: claiming tasks with leases, releasing them, sharing results, and what is
// known about one task or one agent. Domain rules only (validation, defaults, who may do what); no
// JSON-RPC, no JSON.
//
// A claim's holder is the caller's agent AND its current session (store/records.h TaskClaim). A shared
// result is a memory of type "result" tagged "task:<task_id>" in the caller's session, so recall,
// search, the session context and the store's change feed (resource subscriptions) see it like any
// other memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "memory/engine.h"
#include "store/records.h"

namespace memtrace {

inline constexpr const char* kDefaultLease = "5m";
inline constexpr UnixMillis kMinLeaseMs = 1000;                   // 1 s
inline constexpr UnixMillis kMaxLeaseMs = 24LL * 60 * 60 * 1000;  // 24 h: a longer job renews
inline constexpr std::size_t kMaxTaskIdBytes = 59;                // "task:" + id is a tag (<= 64 bytes)
inline constexpr const char* kResultType = "result";
inline constexpr double kDefaultResultImportance = 0.6;
inline constexpr std::size_t kMaxTaskResults = 20;  // results a task view lists (newest first)
// Agent statistics count by walking the agent's memories and sessions; past these they are lower bounds.
inline constexpr std::size_t kAgentStatsMemoryCap = 10000;
inline constexpr std::size_t kAgentStatsSessionCap = 500;
inline constexpr std::size_t kAgentStatsRecentSessions = 10;

// "task:<task_id>", the tag every shared result of the task carries.
std::string task_tag(const std::string& task_id);
// 1-59 characters of letters, digits and _.:- (so that task_tag() is a valid tag).
Result<void> check_task_id(const std::string& task_id);
// "5m" → 300000, within kMinLeaseMs..kMaxLeaseMs; each error is a sentence a model can act on.
Result<UnixMillis> parse_lease(const std::string& lease);

struct ClaimInput {
  std::string task_id;
  std::optional<std::string> lease;   // default kDefaultLease
  std::optional<std::int64_t> token;  // renewing: the token of the caller's claim
};

struct ClaimAnswer {
  bool claimed = false;  // the caller holds the task now
  bool renewed = false;  // ... and held it before this call
  bool done = false;     // the task is done (finished says by whom): claimed is false, move on
  TaskClaim claim;       // the claim in force: the caller's, or the other holder's (token: the claim's)
  std::optional<TaskDone> finished;
  UnixMillis now = 0;  // the time the claim was judged at
};

// Claims (or, as the holder, renews) a task for the caller's agent and current session. A claim counts
// as taking part in the session: the session is created if it is the caller's own and not stored yet,
// and the agent is recorded in it. Another holder's claim, or a task already done, is not an error:
// claimed is false. A token that is not the caller's current claim's (its lease ran out and another
// agent claimed the task) is kConflict, saying so.
Result<ClaimAnswer> claim_task(Engine& engine, const Caller& caller, const ClaimInput& input);

struct ReleaseAnswer {
  bool released = false;  // false: the task was free (never claimed, released, or its lease ran out)
};

// Releases the caller's claim, so that another agent can claim the task (giving up without a result).
// kConflict, naming the holder, if another holder has the task (one agent cannot release another's
// claim), or if `token` is given and is not the current claim's.
Result<ReleaseAnswer> release_task(Engine& engine, const Caller& caller, const std::string& task_id,
                                   std::optional<std::int64_t> token = std::nullopt);

// Makes a done task claimable again (any agent may); false if it was not done. Recorded in its history.
Result<bool> reopen_task(Engine& engine, const Caller& caller, const std::string& task_id);

struct ShareInput {
  std::string task_id;
  std::string result;
  bool release = true;  // true: the task is done (claim ended); false: an interim result, claim kept
  std::optional<std::int64_t> token;  // the caller's claim token; omitted: the caller's current claim
  std::vector<std::string> tags;      // more tags besides task:<task_id>
  std::optional<double> importance;   // default kDefaultResultImportance
};

struct SharedResult {
  Memory memory;
  bool released = false;    // the caller's claim was released
  bool was_holder = false;  // the caller held the claim when sharing
  bool done = false;        // the task is done now, with this result
  std::int64_t token = 0;   // the token of the claim the result was shared under (0: none)
};

// Stores the result in the caller's current session and (release, the default) marks the task done
// and ends the caller's claim, in one atomic step in the store. kConflict, saying why, and nothing is
// stored: if another holder has the task, if `token` is not the current claim's (the caller's lease ran
// out and the task was claimed again: its result will come from there), or if the task is done already.
// A task nobody holds may be shared freely.
Result<SharedResult> share_result(Engine& engine, const Caller& caller, ShareInput input);

struct TaskView {
  std::string task_id;
  TaskRecord record;               // state, holder, token, who finished it, history
  std::optional<TaskClaim> claim;  // in force now; nullopt: free or done
  std::vector<Memory> results;     // newest first, at most kMaxTaskResults
  bool more_results = false;
  UnixMillis now = 0;
};

// The task's claim and its shared results (found by tag across the caller's namespace).
Result<TaskView> describe_task(Engine& engine, const Caller& caller, const std::string& task_id);

struct AgentStats {
  Agent agent;
  std::size_t memories = 0;  // live memories the agent wrote (every type)
  std::size_t decisions = 0;
  std::size_t results = 0;
  std::size_t sessions = 0;      // sessions it created, wrote into or claimed a task from
  bool memories_capped = false;  // counted up to kAgentStatsMemoryCap: the counts are lower bounds
  bool sessions_capped = false;
  std::optional<UnixMillis> last_active;     // its newest memory's time
  std::vector<std::string> recent_sessions;  // newest first, at most kAgentStatsRecentSessions
  UnixMillis now = 0;
};

// What the agent has done in the caller's namespace; nullopt if the namespace has never seen it.
Result<std::optional<AgentStats>> agent_stats(Engine& engine, const Caller& caller,
                                              const std::string& agent_id);

}  // namespace memtrace
