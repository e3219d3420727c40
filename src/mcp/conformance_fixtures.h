// The test tools, resources and prompts that the official MCP conformance suite calls by fixed names
// (test_simple_text, test://static-text, test_prompt_with_arguments, ...). Registered only under
// --conformance-fixtures; a normal server never offers them.
#pragma once

#include "mcp/server.h"

namespace memtrace::mcp {

// Adds the fixtures to `server`. Call before the first connection.
void register_conformance_fixtures(Server& server);

}  // namespace memtrace::mcp
