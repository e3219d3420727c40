// The Lua scripts that make every Redis store operation one atomic step, and the EVALSHA runner.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "store/redis/redis_connection.h"
#include "store/redis/redis_pipeline.h"

namespace memtrace::redis {

// A Lua script run with EVALSHA. It is loaded (SCRIPT LOAD) on first use and again whenever Redis
// answers NOSCRIPT (after a restart, a failover or SCRIPT FLUSH). KEYS[1] is always the namespace
// prefix (redis_keys.h): the script derives its other keys from it, all in the prefix's slot.
// Thread-safety: run() may be called from any thread, each with its own connection.
class Script {
 public:
  Script(std::string name, std::string source) : name_(std::move(name)), source_(std::move(source)) {}
  Result<ReplyPtr> run(Connection& connection, const std::string& prefix,
                       const std::vector<std::string>& args);
  // The script sent on `connection` without waiting for it (PipelinedConnection::send), or nullopt where
  // it cannot be: a connection of its own, or a script not loaded yet. A reply of NOSCRIPT (Redis lost
  // its script cache meanwhile) means nothing ran: the caller runs it again with run(), which reloads.
  Result<std::optional<SentCommand>> send(Connection& connection, const std::string& prefix,
                                          const std::vector<std::string>& args);
  // The EVALSHA command that runs it, for a caller that sends it with others
  // (PipelinedConnection::send_all); empty while the script is not loaded (run() loads it). A reply of
  // NOSCRIPT means nothing ran, as for send().
  std::vector<std::string> evalsha(const std::string& prefix, const std::vector<std::string>& args);
  const std::string& name() const { return name_; }

 private:
  Result<std::string> load(Connection& connection);

  const std::string name_;
  const std::string source_;
  std::mutex mutex_;
  std::string sha_;  // empty until loaded
};

// The text of a script: `body` after those of the store's helpers it uses (lua/prelude.lua, then
// `more_helpers`), see link_script().
std::string script_text(std::string_view body, std::string_view more_helpers = {});
// The remember script (insert_memory) as a Lua function `remember()` returning what the script would,
// for scripts that store a memory as part of a larger step (completing a task): put it in their body.
std::string remember_function();

// One instance per store. What each script does is written above it in redis_scripts.cpp; its text
// is lua/<name>.lua.
struct Scripts {
  Scripts();
  Script remember;        // insert_memory: hash + every index + participants + window + SPUBLISH
  Script write_memory;    // write_memory: remember + dedup key + supersede marks, checked before writing
  Script forget;          // delete_memory: hash + every index entry + SPUBLISH
  Script get_memory;      // get_memory, dropping the index entries of a memory Redis expired
  Script query_memories;  // query_memories: plan by index sizes, walk newest first, filter, verify
  Script rank_memories;   // rank_memories: a session's importance zset walked down and counted
  Script index_content;   // one batch of pending memories into the trigram sets (DeferredIndexer)
  Script purge_expired;   // purge_expired: one batch of the expiry zset of a namespace
  Script create_session;  // create_session (or resume by metadata): hash + indexes + SPUBLISH
  Script close_session;   // close_session + SPUBLISH
  Script find_sessions;   // find_sessions with summaries (agents, live count, last activity)
  Script upsert_agent;    // upsert_agent
  Script put_api_key;     // put_api_key: record + hash lookup + listing, refusing duplicates
  Script find_api_key;    // find_api_key_by_hash
  Script list_api_keys;   // list_api_keys, oldest first, optionally of one namespace
  Script revoke_api_key;  // revoke_api_key, keeping the first revocation time
  Script read_changes;    // read_changes: one page of the namespace's change feed stream
};

}  // namespace memtrace::redis
