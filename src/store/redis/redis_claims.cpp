// Task claims on Redis: the claim, release, complete and reopen scripts, and decoding a task (layout:
// redis_claims.h).
#include "store/redis/redis_claims.h"

#include <charconv>
#include <string_view>
#include <vector>

#include "store/redis/embedded_lua.h"
#include "store/redis/redis_keys.h"
#include "store/redis/redis_scripts.h"

namespace memtrace::redis {
namespace {

// Helpers every task script starts with (after the store's prelude, which sets P and decode_list).
constexpr std::string_view kTaskPrelude = "task_prelude";

// ARGV: task_id, agent, session, lease_until, now, token ('' for none).
// Returns {outcome (claimed | renewed | held | stale | done), task}.
constexpr std::string_view kClaim = "claim";

// ARGV: task_id, agent, session, now, token ('' for none). 1 if the caller's claim in force was freed.
constexpr std::string_view kRelease = "release";

// ARGV 1-13: as the remember script (the result memory); 14: task_id, 15: token ('' for none), 16: now.
// Checks the claim, stores the result and marks the task done, all or nothing.
// Returns {outcome (done | held | stale | finished), was_holder 0|1, task}.
constexpr std::string_view kComplete = "complete_task";

// ARGV: task_id, agent, session, now. 1 if a done task was made claimable again.
constexpr std::string_view kReopen = "reopen_task";

// ARGV: task_id. Returns {task, history entries oldest first}.
constexpr std::string_view kGetTask = "get_task";

// lua/<name>.lua after the helpers it uses of the store's and the tasks' (names resolved when a store
// builds its scripts, as in redis_scripts.cpp). `before` goes between the helpers and the script
// (complete_task needs the remember function there).
std::string task_script(std::string_view name, const std::string& before = {}) {
  return script_text(before + std::string(embedded_lua(name)), embedded_lua(kTaskPrelude));
}

template <class Number>
Number parse_number(std::string_view text) {
  Number value{};
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

// The stored task as the scripts' task_reply gives it.
struct StoredTask {
  std::string agent, session;
  UnixMillis claimed_at = 0, lease_until = 0;
  std::int64_t token = 0;
  std::string state;
  UnixMillis done_at = 0;
  std::string result_id;

  TaskClaim claim(const std::string& ns, const std::string& task_id) const {
    return TaskClaim{ns, task_id, agent, session, claimed_at, lease_until, token};
  }
  TaskDone finished() const { return TaskDone{agent, session, done_at, result_id}; }
  bool in_force(UnixMillis now) const { return state == "claimed" && lease_until > now; }
};

std::optional<StoredTask> decode_task(const redisReply* r) {
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 8) return std::nullopt;
  auto text = [&](std::size_t i) { return std::string(reply_string(r->element[i])); };
  StoredTask t;
  t.agent = text(0);
  t.session = text(1);
  t.claimed_at = parse_number<UnixMillis>(text(2));
  t.lease_until = parse_number<UnixMillis>(text(3));
  t.token = parse_number<std::int64_t>(text(4));
  t.state = text(5);
  t.done_at = parse_number<UnixMillis>(text(6));
  t.result_id = text(7);
  return t;
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

std::string token_arg(std::optional<std::int64_t> token) {
  return token ? std::to_string(*token) : std::string();
}

}  // namespace

ClaimScripts::ClaimScripts()
    : claim("claim_task", task_script(kClaim)),
      release("release_task", task_script(kRelease)),
      complete("complete_task", task_script(kComplete, remember_function())),
      reopen("reopen_task", task_script(kReopen)),
      get("get_task", task_script(kGetTask)) {}

Result<ClaimOutcome> claim_task(Connection& connection, ClaimScripts& scripts, const std::string& ns,
                                const std::string& task_id, const std::string& holder_agent,
                                const std::string& holder_session, UnixMillis lease_until, UnixMillis now,
                                std::optional<std::int64_t> token) {
  if (auto ok = check(ns, task_id, &holder_agent, &holder_session); !ok) return tl::unexpected(ok.error());
  if (lease_until <= now) return fail(ErrorCode::kInvalidArgument, "a lease must end after now");
  auto reply = scripts.claim.run(connection, namespace_prefix(ns),
                                 {task_id, holder_agent, holder_session, std::to_string(lease_until),
                                  std::to_string(now), token_arg(token)});
  if (!reply) return tl::unexpected(reply.error());
  const redisReply* r = reply->get();
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2)
    return tl::unexpected(unexpected_shape("claim"));
  auto task = decode_task(r->element[1]);
  if (!task) return tl::unexpected(unexpected_shape("claim"));
  const std::string_view what = reply_string(r->element[0]);
  ClaimOutcome outcome;
  outcome.last_token = task->token;
  outcome.claimed = what == "claimed" || what == "renewed";
  outcome.renewed = what == "renewed";
  outcome.stale_token = what == "stale";
  outcome.done = what == "done";
  if (outcome.done) outcome.finished = task->finished();
  if (outcome.claimed || outcome.done || task->in_force(now)) outcome.current = task->claim(ns, task_id);
  return outcome;
}

Result<bool> release_task(Connection& connection, ClaimScripts& scripts, const std::string& ns,
                          const std::string& task_id, const std::string& holder_agent,
                          const std::string& holder_session, UnixMillis now,
                          std::optional<std::int64_t> token) {
  if (auto ok = check(ns, task_id, &holder_agent, &holder_session); !ok) return tl::unexpected(ok.error());
  auto reply =
      scripts.release.run(connection, namespace_prefix(ns),
                          {task_id, holder_agent, holder_session, std::to_string(now), token_arg(token)});
  if (!reply) return tl::unexpected(reply.error());
  return reply_integer(reply->get()) != 0;
}

Result<CompleteOutcome> complete_task(Connection& connection, ClaimScripts& scripts, const std::string& ns,
                                      const std::string& task_id, std::optional<std::int64_t> token,
                                      std::vector<std::string> remember_args, UnixMillis now) {
  if (auto ok = check(ns, task_id, nullptr, nullptr); !ok) return tl::unexpected(ok.error());
  remember_args.push_back(task_id);
  remember_args.push_back(token_arg(token));
  remember_args.push_back(std::to_string(now));
  auto reply = scripts.complete.run(connection, namespace_prefix(ns), remember_args);
  if (!reply) return tl::unexpected(reply.error());
  const redisReply* r = reply->get();
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3)
    return tl::unexpected(unexpected_shape("complete"));
  auto task = decode_task(r->element[2]);
  if (!task) return tl::unexpected(unexpected_shape("complete"));
  const std::string_view what = reply_string(r->element[0]);
  CompleteOutcome outcome;
  outcome.last_token = task->token;
  outcome.was_holder = reply_integer(r->element[1]) != 0;
  if (what == "done") {
    outcome.done = task->finished();
  } else if (what == "finished") {
    outcome.refusal = CompleteOutcome::Refusal::kDone;
    outcome.done = task->finished();
  } else {
    outcome.refusal =
        what == "stale" ? CompleteOutcome::Refusal::kStaleToken : CompleteOutcome::Refusal::kHeld;
    if (task->in_force(now)) outcome.current = task->claim(ns, task_id);
  }
  return outcome;
}

Result<bool> reopen_task(Connection& connection, ClaimScripts& scripts, const std::string& ns,
                         const std::string& task_id, const std::string& agent, const std::string& session,
                         UnixMillis now) {
  if (auto ok = check(ns, task_id, &agent, &session); !ok) return tl::unexpected(ok.error());
  auto reply =
      scripts.reopen.run(connection, namespace_prefix(ns), {task_id, agent, session, std::to_string(now)});
  if (!reply) return tl::unexpected(reply.error());
  return reply_integer(reply->get()) != 0;
}

Result<TaskRecord> get_task(Connection& connection, ClaimScripts& scripts, const std::string& ns,
                            const std::string& task_id, UnixMillis now) {
  if (auto ok = check(ns, task_id, nullptr, nullptr); !ok) return tl::unexpected(ok.error());
  auto reply = scripts.get.run(connection, namespace_prefix(ns), {task_id});
  if (!reply) return tl::unexpected(reply.error());
  const redisReply* r = reply->get();
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2)
    return tl::unexpected(unexpected_shape("get_task"));
  auto task = decode_task(r->element[0]);
  if (!task) return tl::unexpected(unexpected_shape("get_task"));
  TaskRecord record;
  record.ns = ns;
  record.task_id = task_id;
  record.last_token = task->token;
  if (task->state == "done") {
    record.state = TaskState::kDone;
    record.done = task->finished();
  } else if (task->in_force(now)) {
    record.state = TaskState::kClaimed;
    record.claim = task->claim(ns, task_id);
  }
  const redisReply* entries = r->element[1];
  for (std::size_t i = 0; entries && entries->type == REDIS_REPLY_ARRAY && i < entries->elements; ++i) {
    auto items = decode_list(reply_string(entries->element[i]));
    items.resize(6);
    record.history.push_back(TaskEvent{items[0], items[1], items[2], parse_number<UnixMillis>(items[3]),
                                       parse_number<std::int64_t>(items[4]), items[5]});
  }
  return record;
}

Result<std::optional<TaskClaim>> get_task_claim(Connection& connection, ClaimScripts& scripts,
                                                const std::string& ns, const std::string& task_id,
                                                UnixMillis now) {
  auto record = get_task(connection, scripts, ns, task_id, now);
  if (!record) return tl::unexpected(record.error());
  return std::move(record->claim);
}

}  // namespace memtrace::redis
