// The 2026-07-28 ("modern") protocol era: what a stateless request carries in params._meta, what the
// server answers to server/discover, and what every answer to a modern request carries back
// (resultType, serverInfo, caching hints, -32602 for unknown resources). No transport here.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "jsonrpc/message.h"
#include "mcp/tool_registry.h"

namespace memtrace::mcp::modern {

using Json = nlohmann::json;

inline constexpr std::string_view kVersion = "2026-07-28";
inline constexpr int kHeaderMismatch = -32020;
inline constexpr int kMissingClientCapability = -32021;
inline constexpr int kUnsupportedVersion = -32022;

inline constexpr const char* kProtocolVersionKey = "io.modelcontextprotocol/protocolVersion";
inline constexpr const char* kClientCapabilitiesKey = "io.modelcontextprotocol/clientCapabilities";
inline constexpr const char* kClientInfoKey = "io.modelcontextprotocol/clientInfo";
inline constexpr const char* kLogLevelKey = "io.modelcontextprotocol/logLevel";
inline constexpr const char* kServerInfoKey = "io.modelcontextprotocol/serverInfo";
inline constexpr const char* kSubscriptionIdKey = "io.modelcontextprotocol/subscriptionId";
// memtrace's own: the session a stateless request works in (there is no connection to remember it).
inline constexpr const char* kSessionKey = "memtrace/sessionId";

// The modern versions this server speaks, newest first.
const std::vector<std::string>& versions();

// The protocol version a request's params._meta names; nullopt when it names none.
std::optional<std::string> requested_version(const Json& params);

// What a modern request says about its client.
struct RequestMeta {
  std::string version;
  Json client_capabilities = Json::object();
  std::string client_name;                // empty when clientInfo is absent (it is a SHOULD)
  std::optional<LogLevel> log_level;      // none: the server sends no notifications/message
  std::string session_id;                 // memtrace/sessionId; empty: the server's default
};

// Reads and checks params._meta: -32602 when a required field is missing or malformed, -32022 when
// the version is not one we speak.
tl::expected<RequestMeta, jsonrpc::ErrorObject> read_meta(const Json& params);

jsonrpc::ErrorObject unsupported_version(const std::string& requested);
// -32021 naming `capability` (e.g. "sampling") as the one the client did not declare.
jsonrpc::ErrorObject missing_capability(const std::string& capability);

// Methods that 2026-07-28 removed; a modern request for one is answered -32601.
bool removed_method(std::string_view method);

// Adds what every modern result carries: resultType (unless the handler set one), the server's
// identity in _meta, and caching hints on list and read results.
void finish_result(std::string_view method, Json& result, const Json& server_info);
// Modern error codes: resource-not-found is -32602 (with data.uri) instead of -32002.
void finish_error(jsonrpc::ErrorObject& error);

}  // namespace memtrace::mcp::modern
