// Multi-agent coordination on the wire: the tools memtrace_claim_task, memtrace_release_task and
// memtrace_share_result, and the resources
//
//   memtrace://tasks/{task_id}     the task's claim (holder, lease) and its shared results, as JSON
//   memtrace://agents/{agent_id}   what an agent did: memories, decisions, results, sessions, last active
//
// (ids percent-encoded; resources.cpp serves them through read_coordination_resource).
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "mcp/resources.h"
#include "mcp/tool_registry.h"
#include "memory/engine.h"
#include "memory/tasks.h"

namespace memtrace::mcp {

inline constexpr const char* kTaskUriTemplate = "memtrace://tasks/{task_id}";
inline constexpr const char* kAgentUriTemplate = "memtrace://agents/{agent_id}";

void register_task_tools(ToolRegistry& registry, Engine& engine);

std::string task_uri(const std::string& task_id);
std::string agent_uri(const std::string& agent_id);

// {holder_agent, holder_session, claimed_at, lease_until}
nlohmann::json claim_to_json(const TaskClaim& claim);
// {task_id, status: "claimed" | "free", claim: {...} | null, results: [memory...], more_results}
nlohmann::json task_to_json(const TaskView& view);
// {id, description, created_at, memories, decisions, results, sessions, counts_are_lower_bounds,
// last_active (null if it wrote nothing), recent_sessions}
nlohmann::json agent_stats_to_json(const AgentStats& stats);

// resources/read of a memtrace://tasks/ or memtrace://agents/ URI; nullopt for any other URI.
std::optional<RpcResult> read_coordination_resource(Engine& engine, const Caller& caller,
                                                    const std::string& uri);
// The entries resources/templates/list adds for them (titles for versions that have them).
nlohmann::json coordination_resource_templates(bool titles);

}  // namespace memtrace::mcp
