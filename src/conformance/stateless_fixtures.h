// Conformance fixtures of the 2026-07-28 requirement set (conformance 0.2.0-alpha.12): the diagnostic
// tools of server-stateless and the input-required (multi round-trip) tools and prompt.
#pragma once

#include <optional>

#include "mcp/resources.h"
#include "mcp/tool_registry.h"

namespace memtrace::conformance {

void register_stateless_tools(mcp::ToolRegistry& tools);
// The fixture prompts of this set, for prompts/list, and prompts/get of them (nullopt for others).
nlohmann::json stateless_prompts();
std::optional<mcp::RpcResult> get_stateless_prompt(const nlohmann::json& params);

}  // namespace memtrace::conformance
