#include "support/mcp_client.h"

#include <stdexcept>

namespace memtrace::testing {

std::string server_binary() {
  return MEMTRACE_BINARY;
}

namespace {
std::vector<std::string> with_binary(std::vector<std::string> args) {
  args.insert(args.begin(), server_binary());
  return args;
}
}  // namespace

McpClient::McpClient(std::vector<std::string> args, std::map<std::string, std::string> env)
    : process_(with_binary(std::move(args)), std::move(env)) {}

Json McpClient::initialize(const std::string& version, const std::string& client_name) {
  Json result = request("initialize", {{"protocolVersion", version},
                                       {"capabilities", Json::object()},
                                       {"clientInfo", {{"name", client_name}, {"version", "1.0"}}}});
  notify("notifications/initialized");
  return result;
}

std::optional<Json> McpClient::next_message(std::chrono::milliseconds timeout) {
  auto line = process_.read_line(timeout);
  if (!line) return std::nullopt;
  Json message = Json::parse(*line, nullptr, false);
  if (message.is_discarded()) throw std::runtime_error("server wrote a non-JSON line to stdout: " + *line);
  return message;
}

Json McpClient::request(const std::string& method, const Json& params, std::chrono::milliseconds timeout) {
  long long id = next_id();
  Json message = {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}};
  if (!params.is_null()) message["params"] = params;
  process_.write_line(message.dump());
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw std::runtime_error("no response to " + method + " within the deadline");
    auto reply = next_message(left);
    if (!reply) throw std::runtime_error("no response to " + method + " (stdout closed or timed out)");
    if (reply->contains("id") && (*reply)["id"] == id && !reply->contains("method")) return *reply;
    if (reply->contains("method") && !reply->contains("id")) {
      notifications_.push_back(*reply);
    } else {
      unmatched_.push_back(*reply);
    }
  }
}

Json McpClient::call_tool(const std::string& name, const Json& arguments) {
  Json reply = request("tools/call", {{"name", name}, {"arguments", arguments}});
  if (!reply.contains("result")) throw std::runtime_error("tools/call " + name + " failed: " + reply.dump());
  return reply["result"];
}

void McpClient::notify(const std::string& method, const Json& params) {
  Json message = {{"jsonrpc", "2.0"}, {"method", method}};
  if (!params.is_null()) message["params"] = params;
  process_.write_line(message.dump());
}

std::optional<Json> McpClient::next_response(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto message = next_message(left);
    if (!message) return std::nullopt;
    if (message->is_object() && message->contains("method") && !message->contains("id")) {
      notifications_.push_back(*message);
      continue;
    }
    return message;
  }
}

std::optional<Json> McpClient::wait_notification(const std::string& method,
                                                 std::chrono::milliseconds timeout) {
  for (auto it = notifications_.begin(); it != notifications_.end(); ++it) {
    if ((*it)["method"] == method) {
      Json found = *it;
      notifications_.erase(it);
      return found;
    }
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto message = next_message(left);
    if (!message) return std::nullopt;
    if ((*message).value("method", "") == method) return message;
    if (message->contains("method") && !message->contains("id")) notifications_.push_back(*message);
  }
}

}  // namespace memtrace::testing
