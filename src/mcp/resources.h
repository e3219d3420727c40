// Sessions as MCP resources: the memtrace:// URIs, resources/list (paginated over recent sessions),
// resources/templates/list, resources/read, and resolving the URI a client subscribes to.
//
//   memtrace://sessions/current/context        the connection's current session, as markdown
//   memtrace://sessions/{session_id}/context   any session, as markdown; query: ?since=4h&max_tokens=500
//                                              &types=decision,fact
//   memtrace://sessions/{session_id}           the session record with agents and counts, as JSON
//   memtrace://changes{?cursor,session_id}     the change feed, as JSON (served by mcp/change_tools.h)
//   memtrace://tasks/{task_id}, memtrace://agents/{agent_id}   claims, results, agent activity, as JSON
//                                              (served by mcp/task_tools.h)
//
// Session ids are percent-encoded in URIs (ids made by memtrace-mcp need no encoding).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "jsonrpc/message.h"
#include "mcp/protocol_version.h"
#include "memory/engine.h"

namespace memtrace::mcp {

// A method's answer: its result, or the JSON-RPC error to reply with.
using RpcResult = tl::expected<nlohmann::json, jsonrpc::ErrorObject>;

inline constexpr const char* kCurrentContextUri = "memtrace://sessions/current/context";
inline constexpr const char* kContextUriTemplate = "memtrace://sessions/{session_id}/context";
inline constexpr const char* kSessionUriTemplate = "memtrace://sessions/{session_id}";
inline constexpr std::size_t kResourcePageSize = 50;

struct SessionUri {
  enum class Kind { kContext, kRecord };
  Kind kind = Kind::kContext;
  bool current = false;    // memtrace://sessions/current/context
  std::string session_id;  // decoded; empty when `current`
  std::optional<std::string> since;
  std::optional<std::size_t> max_tokens;
  std::vector<std::string> types;
};

// nullopt: not a memtrace session URI (unknown resource). An error: a session URI with a bad query.
tl::expected<std::optional<SessionUri>, std::string> parse_session_uri(std::string_view uri);

std::string percent_encode(std::string_view text);
std::string context_uri(const std::string& session_id);
std::string record_uri(const std::string& session_id);

RpcResult list_resources(Engine& engine, const Caller& caller, ProtocolVersion version,
                         const nlohmann::json& params);
RpcResult list_resource_templates(ProtocolVersion version, const nlohmann::json& params);
RpcResult read_resource(Engine& engine, const Caller& caller, const nlohmann::json& params);

// What resources/subscribe is about: the URI as sent, the session it watches now, and whether it
// follows the connection's current session. Unknown session → -32002, like resources/read.
struct SubscriptionTarget {
  std::string uri;
  std::string session_id;
  bool follows_current = false;
};
tl::expected<SubscriptionTarget, jsonrpc::ErrorObject> resolve_subscription(Engine& engine,
                                                                            const Caller& caller,
                                                                            const nlohmann::json& params);

// The uri param of resources/read, subscribe and unsubscribe; -32602 if it is missing.
tl::expected<std::string, jsonrpc::ErrorObject> uri_param(const nlohmann::json& params);

// -32002 (legacy era; the 2026-07-28 era's finishing turns it into -32602) for a URI that names nothing.
jsonrpc::ErrorObject resource_not_found(const std::string& uri);

// The one mapping from a domain error met while serving a resource or prompt to a JSON-RPC error.
jsonrpc::ErrorObject resource_error(const Error& error, const std::string& uri);

}  // namespace memtrace::mcp
