#include "transport/http/request_metadata.h"

#include <array>

#include "mcp/modern_era.h"

namespace memtrace::transport::http {
namespace {

// RFC 9110 §5.5: a field value is parsed without its surrounding whitespace.
std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int base64_digit(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

std::optional<std::string> base64_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string out;
  unsigned int bits = 0;
  int count = 0;
  for (char c : text) {
    int digit = base64_digit(c);
    if (digit < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<unsigned int>(digit);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<char>((bits >> count) & 0xFF));
    }
  }
  return out;
}

// Where Mcp-Name comes from: params.name (tools/call, prompts/get) or params.uri (resources/read).
std::optional<std::string> name_source(const jsonrpc::Request& message) {
  const char* field = nullptr;
  if (message.method == "tools/call" || message.method == "prompts/get") field = "name";
  if (message.method == "resources/read") field = "uri";
  if (!field) return std::nullopt;
  if (!message.params.is_object() || !message.params.contains(field) || !message.params[field].is_string()) {
    return std::string();  // the body lacks it: the handler will say so (-32602)
  }
  return message.params[field].get<std::string>();
}

}  // namespace

std::optional<std::string> decode_header_value(std::string_view value) {
  constexpr std::string_view kPrefix = "=?base64?";
  constexpr std::string_view kSuffix = "?=";
  if (value.size() >= kPrefix.size() + kSuffix.size() && value.substr(0, kPrefix.size()) == kPrefix &&
      value.substr(value.size() - kSuffix.size()) == kSuffix) {
    return base64_decode(value.substr(kPrefix.size(), value.size() - kPrefix.size() - kSuffix.size()));
  }
  return std::string(value);
}

std::optional<std::string> header_mismatch(const HttpRequest& request, const jsonrpc::Request& message) {
  if (!request.has_header("mcp-protocol-version")) return "the MCP-Protocol-Version header is required";
  const std::string_view version = trimmed(request.header("mcp-protocol-version"));
  if (auto body_version = mcp::modern::requested_version(message.params); body_version && *body_version != version) {
    return "MCP-Protocol-Version header value '" + std::string(version) + "' does not match the body's " +
           mcp::modern::kProtocolVersionKey + " '" + *body_version + "'";
  }
  if (!request.has_header("mcp-method")) return "the Mcp-Method header is required";
  const std::string_view method = trimmed(request.header("mcp-method"));
  if (method != message.method) {
    return "Mcp-Method header value '" + std::string(method) + "' does not match body value '" + message.method + "'";
  }
  auto name = name_source(message);
  if (!name || name->empty()) return std::nullopt;
  if (!request.has_header("mcp-name")) return "the Mcp-Name header is required for " + message.method;
  auto decoded = decode_header_value(trimmed(request.header("mcp-name")));
  if (!decoded) return "the Mcp-Name header holds invalid base64";
  if (*decoded != *name) {
    return "Mcp-Name header value '" + *decoded + "' does not match body value '" + *name + "'";
  }
  return std::nullopt;
}

}  // namespace memtrace::transport::http
