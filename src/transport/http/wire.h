// Small pieces of the HTTP wire format shared by the transport: what kind of JSON-RPC message the
// server is sending, SSE event framing, and JSON-RPC error bodies for HTTP error responses.
#pragma once

#include <string>
#include <string_view>

namespace memtrace::transport::http {

enum class OutboundKind { kResponse, kNotification, kRequest, kBatch, kUnknown };

struct OutboundInfo {
  OutboundKind kind = OutboundKind::kUnknown;
  bool is_error = false;       // a JSON-RPC error response
  bool is_tool_error = false;  // a result carrying "isError": true (only looked for when asked)
};

// Classifies a serialized message by its top-level keys without building a DOM. With `look_for_tool_error`
// the result object is scanned for isError as well (costs a full SAX pass over the result).
OutboundInfo classify_outbound(std::string_view message, bool look_for_tool_error = false);

// One SSE event carrying a JSON-RPC message: "event: message", optional "id:", one "data:" line.
// `data` must not contain raw newlines (our serializer never emits them).
std::string sse_message(std::string_view id, std::string_view data);
// The priming event of SEP-1699: an id with empty data, plus the reconnection delay.
std::string sse_priming(std::string_view id, int retry_ms);
std::string sse_retry(int retry_ms);
inline constexpr std::string_view kSseKeepAlive = ": keep-alive\n\n";

// {"jsonrpc":"2.0","error":{"code":..,"message":..}} without id, for HTTP-level refusals.
std::string error_body(int code, std::string_view message);

}  // namespace memtrace::transport::http
