// Small pieces of the HTTP wire format shared by the transport: SSE event framing, and JSON-RPC error
// bodies for HTTP error responses. (What kind of message the server sends is said by the message itself:
// jsonrpc::OutboundMessage.)
#pragma once

#include <string>
#include <string_view>

namespace memtrace::jsonrpc {
class Id;
}

namespace memtrace::transport::http {

// One SSE event carrying a JSON-RPC message: "event: message", optional "id:", one "data:" line.
// `data` must not contain raw newlines (our serializer never emits them).
std::string sse_message(std::string_view id, std::string_view data);
// The priming event of SEP-1699: an id with empty data, plus the reconnection delay.
std::string sse_priming(std::string_view id, int retry_ms);
std::string sse_retry(int retry_ms);
inline constexpr std::string_view kSseKeepAlive = ": keep-alive\n\n";

// {"jsonrpc":"2.0","id":..,"error":{"code":..,"message":..}} for HTTP-level refusals; with the refused
// request's id when its body could be read, without an id otherwise.
std::string error_body(int code, std::string_view message, const jsonrpc::Id* id = nullptr);

}  // namespace memtrace::transport::http
