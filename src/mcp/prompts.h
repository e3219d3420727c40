// The memtrace_context prompt: a session's context digest as an embedded markdown resource, ready
// to be put in front of a model (prompts/list, prompts/get).
#pragma once

#include <nlohmann/json.hpp>

#include "mcp/protocol_version.h"
#include "mcp/resources.h"
#include "memory/engine.h"

namespace memtrace::mcp {

inline constexpr const char* kContextPromptName = "memtrace_context";

RpcResult list_prompts(ProtocolVersion version, const nlohmann::json& params);
// Unknown prompt, a non-string argument, a bad since or an unknown session → -32602.
RpcResult get_prompt(Engine& engine, const Caller& caller, const nlohmann::json& params);

}  // namespace memtrace::mcp
