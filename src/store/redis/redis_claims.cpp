// Task claims on Redis: the claim and release scripts, and decoding a stored claim (layout: redis_claims.h).
#include "store/redis/redis_claims.h"

#include <charconv>
#include <string_view>
#include <vector>

#include "store/redis/redis_keys.h"

namespace memtrace::redis {
namespace {

// Shared by both scripts. KEYS[1] is the namespace prefix; ARGV[1] the task id.
constexpr std::string_view kClaimPrelude = R"lua(
local P = KEYS[1]
local key = P .. 'tc:' .. ARGV[1]

local function encode(items)
  local parts = {}
  for i, v in ipairs(items) do parts[i] = #v .. ':' .. v end
  return table.concat(parts)
end

-- A stored claim as {agent, session, claimed_at, lease_until}; a malformed one reads as lapsed.
local function decode(s)
  local out, pos = {}, 1
  while pos <= #s do
    local colon = string.find(s, ':', pos, true)
    if not colon then break end
    local n = tonumber(string.sub(s, pos, colon - 1)) or 0
    out[#out + 1] = string.sub(s, colon + 1, colon + n)
    pos = colon + n + 1
  end
  return {agent = out[1] or '', session = out[2] or '', claimed_at = out[3] or '0',
          lease_until = tonumber(out[4] or '0') or 0}
end
)lua";

// ARGV: task_id, agent, session, lease_until, now. Returns {claimed 0|1, renewed 0|1, stored claim}.
// SET NX PX takes a task nobody holds in one step (the common case, and the reference pattern); only a
// key that exists is read and judged: lapsed (by the caller's clock) or the caller's own → set anew.
constexpr std::string_view kClaim = R"lua(
local agent, session, lease_until, now = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local ttl = tonumber(lease_until) - tonumber(now)

local function take(claimed_at)
  -- The holder takes part in its session (if stored), as a remember would record it.
  if redis.call('EXISTS', P .. 's:' .. session) == 1 then
    redis.call('SADD', P .. 'sp:' .. session, agent)
    redis.call('ZADD', P .. 'si:a:' .. agent, 0, session)
  end
  return encode({agent, session, claimed_at, lease_until})
end

local fresh = encode({agent, session, now, lease_until})
if redis.call('SET', key, fresh, 'NX', 'PX', ttl) then
  take(now)
  return {1, 0, fresh}
end
local stored = redis.call('GET', key)
local held = decode(stored)
local in_force = held.lease_until > tonumber(now)
if in_force and (held.agent ~= agent or held.session ~= session) then return {0, 0, stored} end
local value = take(in_force and held.claimed_at or now)
redis.call('SET', key, value, 'PX', ttl)
return {1, in_force and 1 or 0, value}
)lua";

// ARGV: task_id, agent, session, now. Returns 1 if the caller's claim in force was deleted, else 0.
constexpr std::string_view kRelease = R"lua(
local stored = redis.call('GET', key)
if not stored then return 0 end
local held = decode(stored)
if held.agent ~= ARGV[2] or held.session ~= ARGV[3] or held.lease_until <= tonumber(ARGV[4]) then
  return 0
end
redis.call('DEL', key)
return 1
)lua";

std::string with_claim_prelude(std::string_view body) {
  return std::string(kClaimPrelude) + std::string(body);
}

template <class Number>
Number parse_number(std::string_view text) {
  Number value{};
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

TaskClaim decode_claim(const std::string& ns, const std::string& task_id, std::string_view stored) {
  auto items = decode_list(stored);
  items.resize(4);
  return TaskClaim{ns,
                   task_id,
                   std::move(items[0]),
                   std::move(items[1]),
                   parse_number<UnixMillis>(items[2]),
                   parse_number<UnixMillis>(items[3])};
}

Result<void> check(const std::string& ns, const std::string& task_id, const std::string* holder_agent,
                   const std::string* holder_session) {
  if (ns.empty()) return fail(ErrorCode::kInvalidArgument, "namespace must not be empty");
  if (task_id.empty()) return fail(ErrorCode::kInvalidArgument, "task id must not be empty");
  if ((holder_agent && holder_agent->empty()) || (holder_session && holder_session->empty())) {
    return fail(ErrorCode::kInvalidArgument, "a claim holder needs an agent and a session");
  }
  return {};
}

Error unexpected_shape(const char* script) {
  return Error{ErrorCode::kInternal,
               std::string("redis store: the ") + script + " script answered in an unexpected shape"};
}

}  // namespace

ClaimScripts::ClaimScripts()
    : claim("claim_task", with_claim_prelude(kClaim)),
      release("release_task", with_claim_prelude(kRelease)) {}

Result<ClaimOutcome> claim_task(Connection& connection, ClaimScripts& scripts, const std::string& ns,
                                const std::string& task_id, const std::string& holder_agent,
                                const std::string& holder_session, UnixMillis lease_until, UnixMillis now) {
  if (auto ok = check(ns, task_id, &holder_agent, &holder_session); !ok) return tl::unexpected(ok.error());
  if (lease_until <= now) return fail(ErrorCode::kInvalidArgument, "a lease must end after now");
  auto reply = scripts.claim.run(
      connection, namespace_prefix(ns),
      {task_id, holder_agent, holder_session, std::to_string(lease_until), std::to_string(now)});
  if (!reply) return tl::unexpected(reply.error());
  const redisReply* r = reply->get();
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3)
    return tl::unexpected(unexpected_shape("claim"));
  ClaimOutcome outcome;
  outcome.claimed = reply_integer(r->element[0]) != 0;
  outcome.renewed = reply_integer(r->element[1]) != 0;
  outcome.current = decode_claim(ns, task_id, reply_string(r->element[2]));
  return outcome;
}

Result<bool> release_task(Connection& connection, ClaimScripts& scripts, const std::string& ns,
                          const std::string& task_id, const std::string& holder_agent,
                          const std::string& holder_session, UnixMillis now) {
  if (auto ok = check(ns, task_id, &holder_agent, &holder_session); !ok) return tl::unexpected(ok.error());
  auto reply = scripts.release.run(connection, namespace_prefix(ns),
                                   {task_id, holder_agent, holder_session, std::to_string(now)});
  if (!reply) return tl::unexpected(reply.error());
  return reply_integer(reply->get()) != 0;
}

Result<std::optional<TaskClaim>> get_task_claim(Connection& connection, const std::string& ns,
                                                const std::string& task_id, UnixMillis now) {
  if (auto ok = check(ns, task_id, nullptr, nullptr); !ok) return tl::unexpected(ok.error());
  // The key the scripts build as P .. 'tc:' .. task_id.
  auto reply = connection.command({"GET", namespace_prefix(ns) + "tc:" + task_id});
  if (!reply) return tl::unexpected(reply.error());
  if ((*reply)->type != REDIS_REPLY_STRING) return std::optional<TaskClaim>();
  TaskClaim claim = decode_claim(ns, task_id, reply_string(reply->get()));
  if (claim.lease_until <= now) return std::optional<TaskClaim>();
  return std::optional<TaskClaim>(std::move(claim));
}

}  // namespace memtrace::redis
