// Task claims on Redis: the claim and release scripts, and decoding a stored claim (layout: redis_claims.h).
#include "store/redis/redis_claims.h"

#include <charconv>
#include <string_view>
#include <vector>

#include "store/redis/embedded_lua.h"
#include "store/redis/redis_keys.h"

namespace memtrace::redis {
namespace {

// Shared by both scripts. KEYS[1] is the namespace prefix; ARGV[1] the task id.
constexpr std::string_view kClaimPrelude = "claim_prelude";

// ARGV: task_id, agent, session, lease_until, now. Returns {claimed 0|1, renewed 0|1, stored claim}.
// SET NX PX takes a task nobody holds in one step (the common case, and the reference pattern); only a
// key that exists is read and judged: lapsed (by the caller's clock) or the caller's own → set anew.
constexpr std::string_view kClaim = "claim";

// ARGV: task_id, agent, session, now. Returns 1 if the caller's claim in force was deleted, else 0.
constexpr std::string_view kRelease = "release";

// Looked up when a store builds its scripts (see with_prelude in redis_scripts.cpp).
std::string with_claim_prelude(std::string_view name) {
  return std::string(embedded_lua(kClaimPrelude)) + std::string(embedded_lua(name));
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
