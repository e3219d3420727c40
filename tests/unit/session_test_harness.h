// An in-process MCP client for the session, resource, prompt and completion tests: a Server on an
// in-memory SQLite store with a manual clock, and connections whose messages land in an Inbox.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "mcp/server.h"
#include "memory/time_text.h"
#include "store/sqlite/sqlite_store.h"
#include "support/inbox.h"

namespace memtrace::testing {

using Json = nlohmann::json;

inline UnixMillis at(const char* iso) {
  return *parse_iso8601(iso);
}

// A notifications/resources/updated for `uri`.
inline bool is_update(const Json& m, const std::string& uri) {
  return m.value("method", "") == "notifications/resources/updated" && m["params"]["uri"] == uri;
}

// One client connection of a SessionHarness.
class TestClient {
 public:
  TestClient(mcp::Server& server, mcp::ConnectionOptions options = {})
      : connection_(std::make_unique<mcp::Connection>(server, inbox_, std::move(options))) {}
  ~TestClient() {
    if (connection_) connection_->drain(std::chrono::seconds(5));
  }

  // initialize + notifications/initialized; the initialize result.
  Json initialize(const std::string& version = "2025-11-25", const std::string& name = "unit") {
    Json result = request("initialize", {{"protocolVersion", version},
                                         {"capabilities", Json::object()},
                                         {"clientInfo", {{"name", name}, {"version", "1"}}}});
    send({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
    EXPECT_TRUE(result.contains("result")) << result.dump();
    return result.contains("result") ? result["result"] : Json();
  }
  void send(const Json& message) { connection_->receive(message.dump()); }
  // The whole reply (result or error), or null if none arrives in time.
  Json request(const std::string& method, const Json& params = Json::object()) {
    Json id = ++last_id_;
    send({{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}});
    auto reply = inbox_.reply_to(id);
    EXPECT_TRUE(reply) << "no reply to " << method;
    return reply ? *reply : Json();
  }
  // The result of a successful request (a failure is reported and yields null).
  Json result(const std::string& method, const Json& params = Json::object()) {
    Json reply = request(method, params);
    EXPECT_TRUE(reply.contains("result")) << method << ": " << reply.dump();
    return reply.contains("result") ? reply["result"] : Json();
  }
  // tools/call's result object (content, structuredContent, isError).
  Json call_tool(const std::string& name, const Json& arguments = Json::object()) {
    return result("tools/call", {{"name", name}, {"arguments", arguments}});
  }
  Json remember(const std::string& content, const Json& extra = Json::object()) {
    Json args = extra;
    args["content"] = content;
    Json r = call_tool("memtrace_remember", args);
    EXPECT_FALSE(r.value("isError", false)) << r.dump();
    return r;
  }
  std::string session_id() const { return connection_->caller().session_id; }
  Inbox& inbox() { return inbox_; }
  // Closes the connection (as a transport does when its client goes away).
  void close() {
    connection_->drain(std::chrono::seconds(5));
    connection_.reset();
  }

 private:
  Inbox inbox_;
  std::unique_ptr<mcp::Connection> connection_;
  long long last_id_ = 0;
};

struct SessionHarness {
  explicit SessionHarness(mcp::ServerOptions options = {})
      : server(engine, with_defaults(std::move(options))) {}

  static mcp::ServerOptions with_defaults(mcp::ServerOptions options) {
    if (options.agent.empty()) options.agent = "tester";
    if (options.worker_threads > 2) options.worker_threads = 2;
    return options;
  }

  std::unique_ptr<Store> store = *open_sqlite_store({":memory:"});
  ManualClock clock{at("2026-11-20T09:00:00Z")};
  Engine engine{*store, clock};
  mcp::Server server;
};

}  // namespace memtrace::testing
