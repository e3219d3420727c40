// Task claims on Redis: one string key per claimed task, taken with SET NX PX, renewed and released by
// compare-and-set / compare-and-delete scripts. The Store methods of the Redis store delegate here.
//
//   P tc:<task_id>   string   "<n>:<holder agent><n>:<holder session><n>:<claimed_at><n>:<lease_until>"
//                             (redis_keys.h encode_list), PX = lease_until - now
//
// P is the namespace prefix (redis_keys.h), so a claim lives in its namespace's slot like everything
// else. Whether a claim is in force is judged by the caller's clock (`now`, as for memory expiry): the
// PX only lets Redis drop claims nobody released. A stored claim whose lease_until <= now is free even
// while the key still exists, and is overwritten by the next claim.
#pragma once

#include <optional>
#include <string>

#include "core/error.h"
#include "store/records.h"
#include "store/redis/redis_connection.h"
#include "store/redis/redis_scripts.h"

namespace memtrace::redis {

// The claim scripts, loaded on first use (and again after NOSCRIPT). One instance per store.
// Thread-safety: as Script: run from any thread, each with its own connection.
struct ClaimScripts {
  ClaimScripts();
  // SET NX PX; else, if the stored claim lapsed or is the caller's, SET it anew (keeping claimed_at on
  // a renewal); records the holder in its session's participants when it took the task.
  Script claim;
  // DEL only if the stored claim is the caller's and still in force.
  Script release;
};

// The Store contract of claim_task / release_task / get_task_claim (store/store.h), on one connection.
Result<ClaimOutcome> claim_task(Connection& connection, ClaimScripts& scripts, const std::string& ns,
                                const std::string& task_id, const std::string& holder_agent,
                                const std::string& holder_session, UnixMillis lease_until, UnixMillis now);
Result<bool> release_task(Connection& connection, ClaimScripts& scripts, const std::string& ns,
                          const std::string& task_id, const std::string& holder_agent,
                          const std::string& holder_session, UnixMillis now);
Result<std::optional<TaskClaim>> get_task_claim(Connection& connection, const std::string& ns,
                                                const std::string& task_id, UnixMillis now);

}  // namespace memtrace::redis
