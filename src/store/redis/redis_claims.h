// Task claims on Redis: one hash per task that was ever claimed, and its history list, changed only by
// the scripts in redis_claims.cpp, each one atomic step. The Store methods of the Redis store delegate here.
//
//   P tk:<task_id>   hash   a, s: holder (or finisher) agent and session; ca: claimed_at; lu: lease_until;
//                           tok: the newest fencing token; st: claimed | free | done; da: done_at;
//                           r: the result's memory id
//   P th:<task_id>   list   the task's history, the newest 50 events (redis_keys.h encode_list of
//                           kind, agent, session, at, token, memory id)
//
// P is the namespace prefix (redis_keys.h), so a task lives in its namespace's slot like everything
// else, and completing a task writes its result memory in the same script. Whether a claim is in force
// is judged by the caller's clock (`now`, as for memory expiry). The hash never expires: the token must
// only grow, also across restarts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "store/records.h"
#include "store/redis/redis_connection.h"
#include "store/redis/redis_scripts.h"

namespace memtrace::redis {

// The claim scripts, loaded on first use (and again after NOSCRIPT). One instance per store.
// Thread-safety: as Script: run from any thread, each with its own connection.
struct ClaimScripts {
  ClaimScripts();
  Script claim;     // claim or renew (token checked), recording the holder in its session
  Script release;   // frees the caller's claim in force
  Script complete;  // the remember script and the task marked done, if the claim check passes
  Script reopen;    // done → free
  Script get;       // the task and its history
};

// The Store contract of claim_task / release_task / get_task_claim (store/store.h), on one connection.
Result<ClaimOutcome> claim_task(Connection& connection, ClaimScripts& scripts, const std::string& ns,
                                const std::string& task_id, const std::string& holder_agent,
                                const std::string& holder_session, UnixMillis lease_until, UnixMillis now,
                                std::optional<std::int64_t> token);
Result<bool> release_task(Connection& connection, ClaimScripts& scripts, const std::string& ns,
                          const std::string& task_id, const std::string& holder_agent,
                          const std::string& holder_session, UnixMillis now,
                          std::optional<std::int64_t> token);
// remember_args: the remember script's arguments for the result memory (redis_store.cpp).
Result<CompleteOutcome> complete_task(Connection& connection, ClaimScripts& scripts, const std::string& ns,
                                      const std::string& task_id, std::optional<std::int64_t> token,
                                      std::vector<std::string> remember_args, UnixMillis now);
Result<bool> reopen_task(Connection& connection, ClaimScripts& scripts, const std::string& ns,
                         const std::string& task_id, const std::string& agent, const std::string& session,
                         UnixMillis now);
Result<TaskRecord> get_task(Connection& connection, ClaimScripts& scripts, const std::string& ns,
                            const std::string& task_id, UnixMillis now);
Result<std::optional<TaskClaim>> get_task_claim(Connection& connection, ClaimScripts& scripts,
                                                const std::string& ns, const std::string& task_id,
                                                UnixMillis now);

}  // namespace memtrace::redis
