// Streamable HTTP 2026-07-28 "request metadata": the MCP-Protocol-Version, Mcp-Method and Mcp-Name
// headers mirror the body so that intermediaries can route without parsing it; the server checks that
// they agree with the body it is about to serve (HeaderMismatch, -32020, HTTP 400).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "jsonrpc/message.h"
#include "transport/http/exchange.h"

namespace memtrace::transport::http {

// The value of an Mcp-Name or Mcp-Param-* header: as sent, or decoded from "=?base64?...?=";
// nullopt if the sentinel form does not hold valid base64.
std::optional<std::string> decode_header_value(std::string_view value);

// Why the headers of `request` disagree with its body `message` (one JSON-RPC request of the modern
// era), or nullopt if they agree.
std::optional<std::string> header_mismatch(const HttpRequest& request, const jsonrpc::Request& message);

}  // namespace memtrace::transport::http
