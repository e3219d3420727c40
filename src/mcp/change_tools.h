// The durable change feed on the wire: the tool memtrace_changes and the resource template
//
//   memtrace://changes{?cursor,session_id}   the caller's namespace's changes after cursor, as JSON
//
// (both answer {changes: [...], next_cursor, more}; resources.cpp serves the resource through
// read_change_resource). notifications/resources/updated stays the wake-up; this is what to read then.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "mcp/resources.h"
#include "mcp/tool_registry.h"
#include "memory/engine.h"
#include "memory/changes.h"

namespace memtrace::mcp {

inline constexpr const char* kChangesUriTemplate = "memtrace://changes{?cursor,session_id}";

void register_change_tools(ToolRegistry& registry, Engine& engine);

// {changes: [{cursor, kind, at, agent, session_id, subject, memory_id | task_id}], next_cursor, more}
nlohmann::json change_page_to_json(const ChangePage& page);

// resources/read of memtrace://changes[?cursor=..&session_id=..]; nullopt for any other URI.
std::optional<RpcResult> read_change_resource(Engine& engine, const Caller& caller, const std::string& uri);
// The entry resources/templates/list adds for it.
nlohmann::json change_resource_template(bool titles);

}  // namespace memtrace::mcp
