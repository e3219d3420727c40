// The memtrace_* tools: argument decoding, the engine call, and the result a model reads.
#pragma once

#include "mcp/tool_registry.h"
#include "memory/engine.h"

namespace memtrace::mcp {

void register_memory_tools(ToolRegistry& registry, Engine& engine);

// The one place where a domain error becomes what a client sees: an isError result whose text says
// what went wrong and, for an unavailable store, what to check.
ToolResult tool_error(const Error& error, const Engine& engine);

// Splits "a, b,c" into ["a","b","c"] where an array of strings is expected (models often send a string).
void split_comma_separated(Json& arguments, const char* field);

}  // namespace memtrace::mcp
