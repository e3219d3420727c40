// SSE framing and JSON-RPC error bodies for HTTP refusals.
#include "transport/http/wire.h"

#include <nlohmann/json.hpp>

#include "jsonrpc/message.h"

namespace memtrace::transport::http {

using Json = nlohmann::json;

std::string sse_message(std::string_view id, std::string_view data) {
  std::string out;
  out.reserve(data.size() + id.size() + 32);
  out += "event: message\n";
  if (!id.empty()) {
    out += "id: ";
    out += id;
    out += '\n';
  }
  out += "data: ";
  out += data;
  out += "\n\n";
  return out;
}

std::string sse_priming(std::string_view id, int retry_ms) {
  std::string out = "id: ";
  out += id;
  out += "\nretry: " + std::to_string(retry_ms) + "\ndata: \n\n";
  return out;
}

std::string sse_retry(int retry_ms) {
  return "retry: " + std::to_string(retry_ms) + "\n\n";
}

std::string error_body(int code, std::string_view message, const jsonrpc::Id* id) {
  Json body = {{"jsonrpc", "2.0"}};
  if (id) body["id"] = id->to_json();
  body["error"] = {{"code", code}, {"message", message}};
  return body.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace memtrace::transport::http
