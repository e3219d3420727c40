// A line-oriented MCP client over a ChildProcess running memtrace-mcp, for end-to-end tests.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/child_process.h"

namespace memtrace::testing {

using Json = nlohmann::json;

// The path of the built memtrace-mcp binary.
std::string server_binary();

class McpClient {
 public:
  explicit McpClient(std::vector<std::string> args, std::map<std::string, std::string> env = {});

  // Sends initialize (and notifications/initialized); returns the initialize result.
  Json initialize(const std::string& version = "2025-11-25", const std::string& client_name = "e2e-test");
  // Sends a request and waits for its response (the whole message: result or error).
  // Notifications that arrive meanwhile are kept in notifications().
  Json request(const std::string& method, const Json& params = Json::object(),
               std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // tools/call; returns the result object (content, structuredContent, isError).
  Json call_tool(const std::string& name, const Json& arguments = Json::object());
  void notify(const std::string& method, const Json& params = Json::object());

  // The next message of any kind, or nullopt on timeout/EOF.
  std::optional<Json> next_message(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // The next response (a message with an id and no method), keeping notifications that arrive first.
  std::optional<Json> next_response(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Waits for a notification with this method (from those already received, then new ones).
  std::optional<Json> wait_notification(const std::string& method,
                                        std::chrono::milliseconds timeout = std::chrono::seconds(5));

  std::vector<Json>& notifications() { return notifications_; }
  ChildProcess& process() { return process_; }
  long long next_id() { return ++last_id_; }

 private:
  ChildProcess process_;
  long long last_id_ = 0;
  std::vector<Json> notifications_;
  std::vector<Json> unmatched_;  // responses read while waiting for another id
};

}  // namespace memtrace::testing
