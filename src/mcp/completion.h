// completion/complete: suggestions for the session_id argument of the session context template and
// of the memtrace_context prompt (prefix match over recent session ids), and for its since argument.
#pragma once

#include <nlohmann/json.hpp>

#include "mcp/resources.h"
#include "memory/engine.h"

namespace memtrace::mcp {

inline constexpr std::size_t kMaxCompletionValues = 100;  // the protocol's limit per answer
inline constexpr std::size_t kCompletionScan = 500;       // recent sessions looked at

// {completion: {values (at most 100), total, hasMore}}. A malformed ref or argument, or an unknown
// prompt → -32602; an argument or resource that has no suggestions → an empty list.
RpcResult complete(Engine& engine, const Caller& caller, const nlohmann::json& params);

}  // namespace memtrace::mcp
