// What each Lua script of the Redis store does (their text: lua/*.lua, compiled in), and EVALSHA with
// reload on NOSCRIPT.
#include "store/redis/redis_scripts.h"

#include <string_view>

#include "store/redis/embedded_lua.h"
#include "store/redis/redis_script_linker.h"

namespace memtrace::redis {
namespace {

// Helpers every script starts with. P is the namespace prefix "mt:v1:{ns}:". (Each constant names its
// script: lua/<name>.lua.)
constexpr std::string_view kPrelude = "prelude";

// insert_memory. One atomic step: the memory string (PEXPIREAT when it has a TTL that lies ahead of
// the server's clock, and then its unindex record), every index entry, the session's participants, the
// agent's sessions, the sliding window, and the change event. The content index is filled later
// (index_content).
// ARGV: id session agent type content tags(encoded) importance created_at expires_at|'' metadata
//       has_reasoning(0|1) reasoning max_per_session new_namespace_layout(1|2, namespace_layout in the
//       prelude)
constexpr std::string_view kRemember = "remember";

// write_memory: remember() with deduplication and supersedes, as one step (lua/write_memory.lua says how).
// ARGV: the remember script's 14, then superseded_by|'' valid_until|'' dedup_window_ms fingerprint ns
//       n_supersedes id... Returns {'stored', evicted} or {'duplicate', the earlier memory's string}.
constexpr std::string_view kWriteMemory = "write_memory";

// delete_memory. ARGV: id now agent. Returns 1 if a live memory was removed (and then appends
// memory.forgotten to the change feed).
constexpr std::string_view kForget = "forget";

// get_memory. ARGV: id. The memory's string, or nil; if Redis expired it, its index entries go too.
constexpr std::string_view kGetMemory = "get_memory";

// query_memories, one bounded slice. Plans by index sizes (ZLEXCOUNT/ZCOUNT O(log n), STRLEN and SCARD
// O(1)): the smallest of the all-of zsets (the session's; in layout 1 also the agent's and the tags'), the
// union of the type zsets (layout 1), or every memory drives a walk newest first. Postings drive it
// instead when that is cheaper: the intersection of a needle's trigram postings and, in layout 1 with a
// needle, its tags' postings, in layout 2 always the agent's, the tags' and a lone type's, streamed newest
// first a chunk at a time, with the memories still pending indexing. A since/until or importance window
// small enough to list whole (list_max) is listed and sorted when that is cheaper still. Each candidate is
// checked against the other filters (ZSCORE, the memory's fields, expiry vs now, and finally the
// lower-cased content contains the needle); a memory Redis expired is unindexed on the spot. Stops after
// `limit` matches or `budget` candidates. ARGV: now before limit budget since until min_importance needle
// list_max exclude_superseded(0|1) session|'' agent|'' n_types type... n_trigrams trigram... n_tags tag...
// Returns {last examined id, more (0|1), examined, memory strings...}.
constexpr std::string_view kQueryMemories = "query_memories";

// rank_memories, one bounded slice of a session's importance zset, from rank `from` down: counts its
// live memories that nothing superseded (until `count_to` of them; a session with mi:ss on its first
// slice, from its index sizes) and returns the memory strings of the first `want` of them; with_session also
// describes the session; stops returning memories once they outweigh max_weight (if > 0; weighed as
// RankQuery::Weight). ARGV: now session from want budget count_to with_session(0|1) max_weight
// per_memory agent_cap type_cap content_cap.
// Returns {next rank, more (0|1), examined, counted, session record or {}, memory strings...}.
constexpr std::string_view kRankMemories = "rank_memories";

// index_content: one step of the namespace's pending memories into the postings, bounded by memories
// and by entries added (so by Redis time, whatever the memories' sizes), then a step of the postings'
// sweep if one is due. ARGV: batch additions sweep-entries. Returns how many are still pending (plus
// one while a sweep has more to do).
constexpr std::string_view kIndexContent = "index_content";

// purge_expired, one batch of one namespace, and the change feed trimmed (approximately) to the
// retention. ARGV: now batch oldest-time-kept. Returns how many were removed.
constexpr std::string_view kPurgeExpired = "purge_expired";

// create_session and resume_or_create_session. ARGV: id created_by status created_at updated_at
// closed_at|'' resume(0|1) n_metadata (key value index-suffix)...
// resume=1: the newest active session holding every metadata pair is returned as {its id, 1} and
// nothing is written. Otherwise (or when none holds them) the session is created: {id, 0}; a taken
// id is MT_CONFLICT. Resume and create are one script, so concurrent callers cannot both create.
constexpr std::string_view kCreateSession = "create_session";

// close_session. ARGV: id at agent (for the change feed). 0: no such session; 1: closed now or already.
constexpr std::string_view kCloseSession = "close_session";

// find_sessions, one bounded slice: the smallest of the status/agent/metadata zsets (or every
// session) drives a walk newest first by id; the others are checked with ZSCORE. Each match comes
// with its summary: participants, live memory count (by now), newest live memory's created_at.
// ARGV: now before limit budget status|'' n_all all-of-suffix... only|'' (this session id alone).
// Returns {last examined id, more (0|1), examined, {session-fields, agents, count, last_activity}...}.
constexpr std::string_view kFindSessions = "find_sessions";

// upsert_agent. ARGV: id description created_at. Returns the stored fields.
constexpr std::string_view kUpsertAgent = "upsert_agent";

// put_api_key (KEYS[1] = the API key prefix). ARGV: id ns hash label created_at revoked_at|''.
constexpr std::string_view kPutApiKey = "put_api_key";

// find_api_key_by_hash. ARGV: hash. The key's fields, or an empty array.
constexpr std::string_view kFindApiKey = "find_api_key";

// list_api_keys. ARGV: ns|'' (all). Arrays of fields, oldest first.
constexpr std::string_view kListApiKeys = "list_api_keys";

// revoke_api_key. ARGV: id at. 0: no such key; 1: revoked now or before (the first time stays).
constexpr std::string_view kRevokeApiKey = "revoke_api_key";
// read_changes, one page of the namespace's change feed (the stream P..'feed' every write script
// appends to, see feed() in the prelude). Refuses a cursor below the floor (the newest entry trimmed or
// older than the cutoff) or above the stream's last id. Walks forward from the cursor keeping the
// entries of the session (if any) and kinds (if any), up to limit matches or budget entries.
// ARGV: cursor|'' session|'' kinds(encoded)|'' limit cutoff budget.
// Returns {'ok', next_cursor, more(0|1), {id, kind, at, agent, session, subject}...},
// {'malformed'}, {'ahead', last id} or {'expired', floor id}.
constexpr std::string_view kReadChanges = "read_changes";

// The text of lua/<name>.lua after the helpers it uses. The constants above are names, looked up
// when a store builds its scripts: the texts live in another translation unit, and a store may be
// opened during static initialization (the tests' child processes are).
std::string with_prelude(std::string_view name) {
  return script_text(embedded_lua(name));
}

}  // namespace

std::string script_text(std::string_view body, std::string_view more_helpers) {
  std::string helpers(embedded_lua(kPrelude));
  if (!more_helpers.empty()) {
    if (!helpers.empty() && helpers.back() != '\n') helpers += '\n';
    helpers += more_helpers;
  }
  return link_script(helpers, body);
}

std::string remember_function() {
  return "local function remember()\n" + std::string(embedded_lua(kRemember)) + "\nend\n";
}

Scripts::Scripts()
    : remember("remember", with_prelude(kRemember)),
      write_memory("write_memory",
                   script_text(remember_function() + std::string(embedded_lua(kWriteMemory)))),
      forget("forget", with_prelude(kForget)),
      get_memory("get_memory", with_prelude(kGetMemory)),
      query_memories("query_memories", with_prelude(kQueryMemories)),
      rank_memories("rank_memories", with_prelude(kRankMemories)),
      index_content("index_content", with_prelude(kIndexContent)),
      purge_expired("purge_expired", with_prelude(kPurgeExpired)),
      create_session("create_session", with_prelude(kCreateSession)),
      close_session("close_session", with_prelude(kCloseSession)),
      find_sessions("find_sessions", with_prelude(kFindSessions)),
      upsert_agent("upsert_agent", with_prelude(kUpsertAgent)),
      put_api_key("put_api_key", with_prelude(kPutApiKey)),
      find_api_key("find_api_key", with_prelude(kFindApiKey)),
      list_api_keys("list_api_keys", with_prelude(kListApiKeys)),
      revoke_api_key("revoke_api_key", with_prelude(kRevokeApiKey)),
      read_changes("read_changes", with_prelude(kReadChanges)) {}

Result<std::string> Script::load(Connection& connection) {
  auto reply = connection.command({"SCRIPT", "LOAD", source_});
  if (!reply) return tl::unexpected(reply.error());
  std::string sha(reply_string(reply->get()));
  if (sha.empty()) return fail(ErrorCode::kInternal, "SCRIPT LOAD of " + name_ + " returned no digest");
  std::lock_guard lock(mutex_);
  sha_ = sha;
  return sha;
}

Result<ReplyPtr> Script::run(Connection& connection, const std::string& prefix,
                             const std::vector<std::string>& args) {
  std::string sha;
  {
    std::lock_guard lock(mutex_);
    sha = sha_;
  }
  if (sha.empty()) {
    auto loaded = load(connection);
    if (!loaded) return tl::unexpected(loaded.error());
    sha = *loaded;
  }
  for (int attempt = 0;; ++attempt) {
    std::vector<std::string_view> argv = {"EVALSHA", sha, "1", prefix};
    argv.reserve(args.size() + 4);
    for (const auto& arg : args) argv.push_back(arg);
    std::string raw_error;
    auto reply = connection.command(argv, &raw_error);
    if (reply || attempt > 0 || raw_error.rfind("NOSCRIPT", 0) != 0) return reply;
    // Redis restarted or flushed its script cache since we loaded it: load it again, once.
    auto loaded = load(connection);
    if (!loaded) return tl::unexpected(loaded.error());
    sha = *loaded;
  }
}

std::vector<std::string> Script::evalsha(const std::string& prefix, const std::vector<std::string>& args) {
  std::string sha;
  {
    std::lock_guard lock(mutex_);
    sha = sha_;
  }
  if (sha.empty()) return {};
  std::vector<std::string> command = {"EVALSHA", std::move(sha), "1", prefix};
  command.insert(command.end(), args.begin(), args.end());
  return command;
}

Result<std::optional<SentCommand>> Script::send(Connection& connection, const std::string& prefix,
                                                const std::vector<std::string>& args) {
  PipelinedConnection* pipelined = connection.pipelined();
  if (!pipelined) return std::optional<SentCommand>();
  const auto command = evalsha(prefix, args);
  if (command.empty()) return std::optional<SentCommand>();
  auto sent = pipelined->send(std::vector<std::string_view>(command.begin(), command.end()));
  if (!sent) return tl::unexpected(sent.error());
  return std::optional<SentCommand>(std::move(*sent));
}

}  // namespace memtrace::redis
