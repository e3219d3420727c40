// The test tools, resources and prompts that the official MCP conformance suite calls by fixed names
// (test_simple_text, test://static-text, test_prompt_with_arguments, ...). Registered only under
// --conformance-fixtures, and compiled in only when the build enables MEMTRACE_CONFORMANCE_FIXTURES (tests
// and CI do; a shipped build does not), so a shipped server holds no test tools.
#pragma once

#include "mcp/server.h"

namespace memtrace::conformance {

// Adds the fixtures to `server`. Call before the first connection.
void register_conformance_fixtures(mcp::Server& server);

}  // namespace memtrace::conformance
