// The coordination tools and resources: argument decoding, the calls into memory/tasks.h, and what a
// model or a client reads back.
#include "mcp/task_tools.h"

#include <string_view>

#include "core/percent_encoding.h"
#include "mcp/memory_json.h"
#include "mcp/memory_tools.h"
#include "mcp/tool_args.h"
#include "memory/time_text.h"

namespace memtrace::mcp {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kTaskPrefix = "memtrace://tasks/";
constexpr std::string_view kAgentPrefix = "memtrace://agents/";

std::string holder_text(const TaskClaim& claim) {
  return "agent " + claim.holder_agent + " (session " + claim.holder_session + ")";
}

std::optional<std::int64_t> token_arg(const Json& args) {
  if (auto it = args.find("token"); it != args.end() && it->is_number_integer())
    return it->get<std::int64_t>();
  return std::nullopt;
}

Json done_to_json(const TaskDone& done) {
  return {{"agent", done.agent},
          {"session", done.session},
          {"at", format_iso8601(done.at)},
          {"result_id", done.result_id}};
}

ToolResult claim_tool(Engine& engine, const Json& args, ToolContext& context) {
  ClaimInput input;
  input.task_id = args.value("task_id", "");
  if (auto it = args.find("lease"); it != args.end() && it->is_string()) input.lease = it->get<std::string>();
  input.token = token_arg(args);
  auto answer = claim_task(engine, context.caller, input);
  if (!answer) return tool_error(answer.error(), engine);
  const TaskClaim& claim = answer->claim;
  ToolResult result;
  result.structured = {{"task_id", input.task_id},
                       {"claimed", answer->claimed},
                       {"renewed", answer->renewed},
                       {"holder", {{"agent", claim.holder_agent}, {"session", claim.holder_session}}},
                       {"claimed_at", format_iso8601(claim.claimed_at)},
                       {"lease_until", format_iso8601(claim.lease_until)},
                       {"done", answer->done}};
  if (answer->claimed) result.structured["token"] = claim.token;
  if (answer->finished) result.structured["finished"] = done_to_json(*answer->finished);
  const std::string until = format_iso8601(claim.lease_until);
  if (answer->done) {
    const TaskDone& done = *answer->finished;
    result.text = "Task " + input.task_id + " is done: agent " + done.agent + " finished it at " +
                  format_iso8601(done.at) + " (result: memory " + done.result_id +
                  "). Move on to another task.";
  } else if (!answer->claimed) {
    result.text = "Task " + input.task_id + " is taken: " + holder_text(claim) + " holds it until " + until +
                  ". Pick another task, or try again after that.";
  } else if (answer->renewed) {
    result.text = "Renewed your claim on task " + input.task_id + " (token " + std::to_string(claim.token) +
                  ") until " + until + ".";
  } else {
    result.text = "Claimed task " + input.task_id + " with token " + std::to_string(claim.token) + " until " +
                  until + ". Do the work, then call memtrace_share_result with task_id \"" + input.task_id +
                  "\" and token " + std::to_string(claim.token) +
                  " (it marks the task done); claim again before then to keep it longer.";
  }
  context.log(LogLevel::kDebug, result.text);
  return result;
}

ToolResult release_tool(Engine& engine, const Json& args, ToolContext& context) {
  const std::string task_id = args.value("task_id", "");
  auto answer = release_task(engine, context.caller, task_id, token_arg(args));
  if (!answer) return tool_error(answer.error(), engine);
  ToolResult result;
  result.structured = {{"task_id", task_id}, {"released", answer->released}};
  result.text = answer->released ? "Released task " + task_id + ": another agent can claim it now."
                                 : "Nobody held task " + task_id +
                                       " (never claimed, released already, or the lease had ended): nothing "
                                       "to release.";
  return result;
}

ToolResult share_tool(Engine& engine, const Json& args, ToolContext& context) {
  ShareInput input;
  input.task_id = args.value("task_id", "");
  input.result = args.value("result", "");
  input.release = args.value("release", true);
  input.tags = strings(args, "tags");
  input.token = token_arg(args);
  if (auto it = args.find("importance"); it != args.end() && it->is_number()) {
    input.importance = it->get<double>();
  }
  const bool release = input.release;
  const std::string task_id = input.task_id;
  auto shared = share_result(engine, context.caller, std::move(input));
  if (!shared) return tool_error(shared.error(), engine);
  const Memory& m = shared->memory;
  ToolResult result;
  result.structured = stored_to_json(m);
  result.structured["task_id"] = task_id;
  result.structured["released"] = shared->released;
  result.structured["done"] = shared->done;
  if (shared->token > 0) result.structured["token"] = shared->token;
  result.text = "Shared the result of task " + task_id + " as memory " + m.id + " in session " +
                m.session_id + " (tag " + task_tag(task_id) + ")";
  if (shared->done) {
    result.text += "; the task is done" + std::string(shared->released ? " and your claim has ended." : ".");
  } else if (!shared->was_holder) {
    result.text += "; you held no claim on it.";
  } else if (!release) {
    result.text += "; you still hold the task.";
  } else {
    result.text += "; your claim had ended meanwhile.";
  }
  context.log(LogLevel::kDebug, result.text);
  return result;
}

ToolResult reopen_tool(Engine& engine, const Json& args, ToolContext& context) {
  const std::string task_id = args.value("task_id", "");
  auto reopened = reopen_task(engine, context.caller, task_id);
  if (!reopened) return tool_error(reopened.error(), engine);
  ToolResult result;
  result.structured = {{"task_id", task_id}, {"reopened", *reopened}};
  result.text = *reopened ? "Reopened task " + task_id + ": any agent can claim it again."
                          : "Task " + task_id + " was not done: nothing to reopen.";
  return result;
}

Json json_contents(const std::string& uri, const Json& body) {
  Json content = {{"uri", uri}, {"mimeType", "application/json"}, {"text", body.dump()}};
  return Json{{"contents", Json::array({std::move(content)})}};
}

}  // namespace

void register_task_tools(ToolRegistry& registry, Engine& engine) {
  registry.add_embedded("memtrace_claim_task", [&engine](const Json& args, ToolContext& context) {
    return claim_tool(engine, args, context);
  });
  registry.add_embedded("memtrace_release_task", [&engine](const Json& args, ToolContext& context) {
    return release_tool(engine, args, context);
  });
  registry.add_embedded(
      "memtrace_share_result",
      [&engine](const Json& args, ToolContext& context) { return share_tool(engine, args, context); },
      [](Json& args) { split_comma_separated(args, "tags"); });
  registry.add_embedded("memtrace_task_reopen", [&engine](const Json& args, ToolContext& context) {
    return reopen_tool(engine, args, context);
  });
}

std::string task_uri(const std::string& task_id) {
  return std::string(kTaskPrefix) + percent_encode(task_id);
}

std::string agent_uri(const std::string& agent_id) {
  return std::string(kAgentPrefix) + percent_encode(agent_id);
}

Json claim_to_json(const TaskClaim& claim) {
  return {{"holder_agent", claim.holder_agent},
          {"holder_session", claim.holder_session},
          {"claimed_at", format_iso8601(claim.claimed_at)},
          {"lease_until", format_iso8601(claim.lease_until)},
          {"token", claim.token}};
}

Json task_to_json(const TaskView& view) {
  Json results = Json::array();
  for (const auto& m : view.results) results.push_back(memory_to_json(m));
  Json history = Json::array();
  for (const auto& e : view.record.history) {
    Json entry = {{"event", e.kind},
                  {"agent", e.agent},
                  {"session", e.session},
                  {"at", format_iso8601(e.at)},
                  {"token", e.token}};
    if (!e.memory_id.empty()) entry["memory_id"] = e.memory_id;
    history.push_back(std::move(entry));
  }
  return {{"task_id", view.task_id},
          {"status", to_string(view.record.state)},
          {"claim", view.claim ? claim_to_json(*view.claim) : Json(nullptr)},
          {"holder", view.claim
                         ? Json{{"agent", view.claim->holder_agent}, {"session", view.claim->holder_session}}
                         : Json(nullptr)},
          {"token", view.claim ? Json(view.claim->token) : Json(nullptr)},
          {"last_token", view.record.last_token},
          {"finished", view.record.done ? done_to_json(*view.record.done) : Json(nullptr)},
          {"history", std::move(history)},
          {"results", std::move(results)},
          {"more_results", view.more_results},
          {"as_of", format_iso8601(view.now)}};
}

Json agent_stats_to_json(const AgentStats& stats) {
  return {{"id", stats.agent.id},
          {"description", stats.agent.description},
          {"created_at",
           stats.agent.created_at > 0 ? Json(format_iso8601(stats.agent.created_at)) : Json(nullptr)},
          {"memories", stats.memories},
          {"decisions", stats.decisions},
          {"results", stats.results},
          {"sessions", stats.sessions},
          {"counts_are_lower_bounds", stats.memories_capped || stats.sessions_capped},
          {"last_active", stats.last_active ? Json(format_iso8601(*stats.last_active)) : Json(nullptr)},
          {"recent_sessions", stats.recent_sessions},
          {"as_of", format_iso8601(stats.now)}};
}

std::optional<RpcResult> read_coordination_resource(Engine& engine, const Caller& caller,
                                                    const std::string& uri) {
  const bool task = uri.rfind(kTaskPrefix, 0) == 0;
  const bool agent = uri.rfind(kAgentPrefix, 0) == 0;
  if (!task && !agent) return std::nullopt;
  std::string_view segment = std::string_view(uri).substr(task ? kTaskPrefix.size() : kAgentPrefix.size());
  if (auto hash = segment.find('#'); hash != std::string_view::npos) segment = segment.substr(0, hash);
  if (segment.find('?') != std::string_view::npos) {
    return RpcResult(tl::unexpected(resource_error(
        Error{ErrorCode::kInvalidArgument, "task and agent resources take no query parameters"}, uri)));
  }
  auto id = percent_decode(segment);
  if (!id || id->empty() || id->find('/') != std::string::npos)
    return RpcResult(tl::unexpected(resource_not_found(uri)));

  if (task) {
    auto view = describe_task(engine, caller, *id);
    if (!view) return RpcResult(tl::unexpected(resource_error(view.error(), uri)));
    return RpcResult(json_contents(uri, task_to_json(*view)));
  }
  auto stats = agent_stats(engine, caller, *id);
  if (!stats) return RpcResult(tl::unexpected(resource_error(stats.error(), uri)));
  if (!*stats) return RpcResult(tl::unexpected(resource_not_found(uri)));
  return RpcResult(json_contents(uri, agent_stats_to_json(**stats)));
}

Json coordination_resource_templates(bool titles) {
  Json task = {{"uriTemplate", kTaskUriTemplate},
               {"name", "task"},
               {"description",
                "A task as JSON: its status (free, claimed, done), the holder and fencing token of the claim "
                "in force, who finished it and when, its history (claimed, released, done, reopened) and the "
                "results agents shared for it (memtrace_share_result), newest first."},
               {"mimeType", "application/json"}};
  Json agent = {{"uriTemplate", kAgentUriTemplate},
                {"name", "agent"},
                {"description",
                 "An agent as JSON: its description, how many memories, decisions and results it wrote, the "
                 "sessions it took part in, and when it was last active."},
                {"mimeType", "application/json"}};
  if (titles) {
    task["title"] = "Task claim and results";
    agent["title"] = "Agent activity";
  }
  return Json::array({std::move(task), std::move(agent)});
}

}  // namespace memtrace::mcp
