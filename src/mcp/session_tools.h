// The session tools (memtrace_session_create/close/search/context, memtrace_agent_register) and how
// sessions and agents look on the wire.
#pragma once

#include <nlohmann/json.hpp>

#include "mcp/tool_registry.h"
#include "memory/engine.h"

namespace memtrace::mcp {

void register_session_tools(ToolRegistry& registry, Engine& engine);

// {id, status, metadata, created_by, created_at, updated_at, closed_at?, agents, memory_count,
// last_activity}; metadata values are the JSON they were given as.
nlohmann::json session_to_json(const SessionSummary& summary);
nlohmann::json agent_to_json(const Agent& agent);

// Session metadata from a JSON object: each value kept as compact JSON text (records.h).
Metadata metadata_from_json(const nlohmann::json& object);
// "account_id=\"42\", channel=\"telegram\"" for a model to read.
std::string describe_metadata(const Metadata& metadata);

}  // namespace memtrace::mcp
