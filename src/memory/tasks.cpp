// Task claims, shared results, task views and agent statistics (rules in tasks.h).
#include "memory/tasks.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "memory/engine_internals.h"
#include "memory/time_text.h"

namespace memtrace {
namespace {

constexpr std::size_t kStatsPage = 1000;
constexpr std::size_t kStatsSessionPage = 100;

bool is_task_id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == ':' || c == '-';
}

std::string describe_holder(const TaskClaim& claim) {
  return "agent " + claim.holder_agent + " (session " + claim.holder_session + ") until " +
         format_iso8601(claim.lease_until);
}

std::string describe_done(const std::string& task_id, const TaskDone& done) {
  return "task " + task_id + " is done: agent " + done.agent + " (session " + done.session +
         ") finished it at " + format_iso8601(done.at) + ", result in memory " + done.result_id;
}

Error stale_token(const std::string& task_id, std::int64_t token, std::int64_t newest,
                  const std::optional<TaskClaim>& current) {
  std::string text = "token " + std::to_string(token) + " is not the current claim on task " + task_id + ": ";
  if (current) {
    text += "your lease ran out and " + describe_holder(*current) + " holds it with token " +
            std::to_string(current->token);
  } else {
    text += "the newest token is " + std::to_string(newest) + " and nobody holds it under yours";
  }
  return Error{ErrorCode::kConflict, text + ". Nothing of yours was recorded; claim another task"};
}

bool held_by(const TaskClaim& claim, const Caller& caller) {
  return claim.holder_agent == caller.agent_id && claim.holder_session == caller.session_id;
}

Result<void> check_caller(const Caller& caller) {
  if (caller.agent_id.empty()) return fail(ErrorCode::kInvalidArgument, "the caller has no agent id");
  if (caller.session_id.empty()) return fail(ErrorCode::kInvalidArgument, "the caller has no session");
  return {};
}

// Counts the memories a query matches, walking pages up to `cap`; true in .second if it stopped there.
Result<std::pair<std::size_t, bool>> count_memories(Store& store, MemoryQuery query, std::size_t cap,
                                                    std::optional<UnixMillis>* newest = nullptr) {
  std::size_t counted = 0;
  for (;;) {
    query.limit = std::min(kStatsPage, cap - counted);
    auto page = store.query_memories(query);
    if (!page) return tl::unexpected(page.error());
    if (newest && counted == 0 && !page->empty()) *newest = page->front().created_at;
    counted += page->size();
    if (page->size() < query.limit) return std::pair{counted, false};
    if (counted >= cap) return std::pair{counted, true};
    query.before_id = page->back().id;
  }
}

}  // namespace

std::string task_tag(const std::string& task_id) {
  return "task:" + task_id;
}

Result<void> check_task_id(const std::string& task_id) {
  if (task_id.empty() || task_id.size() > kMaxTaskIdBytes ||
      !std::all_of(task_id.begin(), task_id.end(), is_task_id_char)) {
    return fail(ErrorCode::kInvalidArgument,
                "task_id is 1-59 characters of letters, digits and _.:- (e.g. \"ticket-42\"); got \"" +
                    task_id + "\"");
  }
  return {};
}

Result<UnixMillis> parse_lease(const std::string& lease) {
  auto ms = parse_duration(lease);
  if (!ms || *ms < kMinLeaseMs || *ms > kMaxLeaseMs) {
    return fail(ErrorCode::kInvalidArgument,
                "lease is a duration from 1s to 24h such as 90s, 5m or 2h; got \"" + lease +
                    "\" (claim again before it ends to keep the task longer)");
  }
  return *ms;
}

Result<ClaimAnswer> claim_task(Engine& engine, const Caller& caller, const ClaimInput& input) {
  if (auto ok = check_task_id(input.task_id); !ok) return tl::unexpected(ok.error());
  auto lease = parse_lease(input.lease.value_or(kDefaultLease));
  if (!lease) return tl::unexpected(lease.error());
  if (auto ok = check_caller(caller); !ok) return tl::unexpected(ok.error());
  if (auto agent = engine.ensure_agent(caller.ns, caller.agent_id); !agent)
    return tl::unexpected(agent.error());
  // Taking part in a session starts with a claim as well as with a write: make sure it is stored (and
  // open), so that the store records the agent in it.
  if (auto session = engine.writable_session(caller, std::nullopt); !session) {
    return tl::unexpected(session.error());
  }
  ClaimAnswer answer;
  answer.now = engine.clock().now_ms();
  auto outcome =
      EngineInternals::store(engine).claim_task(caller.ns, input.task_id, caller.agent_id, caller.session_id,
                                                answer.now + *lease, answer.now, input.token);
  if (!outcome) return tl::unexpected(outcome.error());
  if (outcome->stale_token) {
    std::optional<TaskClaim> current;
    if (outcome->current.holder_agent.size() > 0 && outcome->current.lease_until > answer.now)
      current = outcome->current;
    return tl::unexpected(stale_token(input.task_id, *input.token, outcome->last_token, current));
  }
  answer.claimed = outcome->claimed;
  answer.renewed = outcome->renewed;
  answer.done = outcome->done;
  answer.finished = std::move(outcome->finished);
  answer.claim = std::move(outcome->current);
  return answer;
}

Result<ReleaseAnswer> release_task(Engine& engine, const Caller& caller, const std::string& task_id,
                                   std::optional<std::int64_t> token) {
  if (auto ok = check_task_id(task_id); !ok) return tl::unexpected(ok.error());
  if (auto ok = check_caller(caller); !ok) return tl::unexpected(ok.error());
  const UnixMillis now = engine.clock().now_ms();
  auto released = EngineInternals::store(engine).release_task(caller.ns, task_id, caller.agent_id,
                                                              caller.session_id, now, token);
  if (!released) return tl::unexpected(released.error());
  if (*released) return ReleaseAnswer{true};
  // Why not: explained from a fresh read (the release itself was judged atomically).
  auto task = EngineInternals::store(engine).get_task(caller.ns, task_id, now);
  if (!task) return tl::unexpected(task.error());
  const std::optional<TaskClaim>& current = task->claim;
  if (token && !(current && held_by(*current, caller) && current->token == *token) &&
      (current || task->last_token != *token)) {
    return tl::unexpected(stale_token(task_id, *token, task->last_token, current));
  }
  if (current && !held_by(*current, caller)) {
    return fail(ErrorCode::kConflict, "task " + task_id + " is held by " + describe_holder(*current) +
                                          "; only its holder can release it");
  }
  return ReleaseAnswer{false};
}

Result<bool> reopen_task(Engine& engine, const Caller& caller, const std::string& task_id) {
  if (auto ok = check_task_id(task_id); !ok) return tl::unexpected(ok.error());
  if (auto ok = check_caller(caller); !ok) return tl::unexpected(ok.error());
  return EngineInternals::store(engine).reopen_task(caller.ns, task_id, caller.agent_id, caller.session_id,
                                                    engine.clock().now_ms());
}

Result<SharedResult> share_result(Engine& engine, const Caller& caller, ShareInput input) {
  if (auto ok = check_task_id(input.task_id); !ok) return tl::unexpected(ok.error());
  if (blank(input.result)) {
    return fail(ErrorCode::kInvalidArgument, "result must not be empty: say what the task produced");
  }
  const std::size_t max_bytes = engine.options().max_content_bytes;
  if (input.result.size() > max_bytes) {
    return fail(ErrorCode::kInvalidArgument, "result is " + std::to_string(input.result.size()) +
                                                 " bytes; the limit is " + std::to_string(max_bytes) +
                                                 ". Share a summary, and store details as separate memories");
  }
  if (auto ok = check_caller(caller); !ok) return tl::unexpected(ok.error());
  std::vector<std::string> tags = {task_tag(input.task_id)};
  tags.insert(tags.end(), input.tags.begin(), input.tags.end());
  auto normalized = normalize_tags(tags, engine.options().max_tags);
  if (!normalized) return tl::unexpected(normalized.error());
  auto importance = check_importance(input.importance, kDefaultResultImportance);
  if (!importance) return tl::unexpected(importance.error());

  Store& store = EngineInternals::store(engine);
  if (auto agent = engine.ensure_agent(caller.ns, caller.agent_id); !agent)
    return tl::unexpected(agent.error());
  auto session = engine.writable_session(caller, std::nullopt);
  if (!session) return tl::unexpected(session.error());
  SharedResult shared;
  Memory& memory = shared.memory;
  memory.ns = caller.ns;
  memory.session_id = session->id;
  memory.agent_id = caller.agent_id;
  memory.type = kResultType;
  memory.content = std::move(input.result);
  memory.tags = std::move(*normalized);
  memory.importance = *importance;
  memory.created_at = engine.clock().now_ms();
  memory.id = engine.new_id();
  // The task id in the metadata too, for clients that read metadata rather than tags.
  std::string metadata = "{\"task_id\":\"" + input.task_id + "\"}";  // task ids need no JSON escaping
  memory.metadata_json = std::move(metadata);

  if (input.release) {
    // Done: the claim check, the result and the task's new state in one atomic step.
    auto outcome = store.complete_task(caller.ns, input.task_id, input.token, memory, memory.created_at);
    if (!outcome) return tl::unexpected(outcome.error());
    switch (outcome->refusal) {
      case CompleteOutcome::Refusal::kNone:
        break;
      case CompleteOutcome::Refusal::kDone:
        return fail(ErrorCode::kConflict, describe_done(input.task_id, *outcome->done) +
                                              ". Your result was not recorded; claim another task");
      case CompleteOutcome::Refusal::kStaleToken:
        return tl::unexpected(
            stale_token(input.task_id, *input.token, outcome->last_token, outcome->current));
      case CompleteOutcome::Refusal::kHeld:
        return fail(ErrorCode::kConflict,
                    "task " + input.task_id + " is held by " + describe_holder(*outcome->current) +
                        ", not by you (your lease ran out, or you never claimed it); its result will come "
                        "from there. Nothing of yours was recorded; claim another task");
    }
    shared.was_holder = outcome->was_holder;
    shared.released = outcome->was_holder;
    shared.done = true;
    shared.token = outcome->last_token;
    return shared;
  }

  // An interim result: the task stays claimed.
  auto current = store.get_task_claim(caller.ns, input.task_id, memory.created_at);
  if (!current) return tl::unexpected(current.error());
  if (*current) {
    if (!held_by(**current, caller)) {
      return fail(ErrorCode::kConflict,
                  "task " + input.task_id + " is held by " + describe_holder(**current) +
                      ", not by you (your lease ran out, or you never claimed it); its result will come "
                      "from there. Claim another task");
    }
    if (input.token && (*current)->token != *input.token) {
      return tl::unexpected(stale_token(input.task_id, *input.token, (*current)->token, *current));
    }
    shared.was_holder = true;
    shared.token = (*current)->token;
  }
  if (auto inserted = store.insert_memory(memory); !inserted) return tl::unexpected(inserted.error());
  return shared;
}

Result<TaskView> describe_task(Engine& engine, const Caller& caller, const std::string& task_id) {
  if (auto ok = check_task_id(task_id); !ok) return tl::unexpected(ok.error());
  TaskView view;
  view.task_id = task_id;
  view.now = engine.clock().now_ms();
  auto record = EngineInternals::store(engine).get_task(caller.ns, task_id, view.now);
  if (!record) return tl::unexpected(record.error());
  view.record = std::move(*record);
  view.claim = view.record.claim;
  MemoryQuery query;
  query.ns = caller.ns;
  query.tags = {task_tag(task_id)};
  query.types = {kResultType};
  query.now = view.now;
  query.limit = kMaxTaskResults + 1;
  auto results = EngineInternals::store(engine).query_memories(query);
  if (!results) return tl::unexpected(results.error());
  view.more_results = results->size() > kMaxTaskResults;
  if (view.more_results) results->resize(kMaxTaskResults);
  view.results = std::move(*results);
  return view;
}

Result<std::optional<AgentStats>> agent_stats(Engine& engine, const Caller& caller,
                                              const std::string& agent_id) {
  if (blank(agent_id)) return fail(ErrorCode::kInvalidArgument, "agent id must not be empty");
  Store& store = EngineInternals::store(engine);
  AgentStats stats;
  stats.now = engine.clock().now_ms();
  auto agent = store.get_agent(caller.ns, agent_id);
  if (!agent) return tl::unexpected(agent.error());

  MemoryQuery query;
  query.ns = caller.ns;
  query.agent_id = agent_id;
  query.now = stats.now;
  auto all = count_memories(store, query, kAgentStatsMemoryCap, &stats.last_active);
  if (!all) return tl::unexpected(all.error());
  std::tie(stats.memories, stats.memories_capped) = *all;
  if (!*agent && stats.memories == 0) return std::optional<AgentStats>();
  if (*agent) {
    stats.agent = std::move(**agent);
  } else {  // memories without an agent record (written before agents were recorded)
    stats.agent.ns = caller.ns;
    stats.agent.id = agent_id;
  }
  for (auto [type, count] :
       {std::pair{"decision", &stats.decisions}, std::pair{kResultType, &stats.results}}) {
    query.types = {type};
    auto counted = count_memories(store, query, kAgentStatsMemoryCap);
    if (!counted) return tl::unexpected(counted.error());
    *count = counted->first;
    stats.memories_capped = stats.memories_capped || counted->second;
  }

  SessionQuery sessions;
  sessions.ns = caller.ns;
  sessions.agent_id = agent_id;
  sessions.now = stats.now;
  for (;;) {
    sessions.limit = std::min(kStatsSessionPage, kAgentStatsSessionCap - stats.sessions);
    auto page = store.find_sessions(sessions);
    if (!page) return tl::unexpected(page.error());
    for (const auto& s : *page) {
      if (stats.recent_sessions.size() < kAgentStatsRecentSessions)
        stats.recent_sessions.push_back(s.session.id);
    }
    stats.sessions += page->size();
    if (page->size() < sessions.limit) break;
    if (stats.sessions >= kAgentStatsSessionCap) {
      stats.sessions_capped = true;
      break;
    }
    sessions.before_id = page->back().session.id;
  }
  return std::optional<AgentStats>(std::move(stats));
}

}  // namespace memtrace
