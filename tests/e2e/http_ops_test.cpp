// The HTTP server's defences and operations: Host/Origin checks, limits and timeouts, /healthz,
// /metrics, and a graceful stop on SIGTERM.
#include <signal.h>

#include <gtest/gtest.h>

#include "support/http_client.h"

namespace memtrace::testing {
namespace {

using nlohmann::json;

std::string initialize_body() {
  return json({{"jsonrpc", "2.0"},
               {"id", 1},
               {"method", "initialize"},
               {"params",
                {{"protocolVersion", "2025-11-25"},
                 {"capabilities", json::object()},
                 {"clientInfo", {{"name", "t"}, {"version", "1"}}}}}})
      .dump();
}

Headers post_headers(Headers extra = {}) {
  Headers h = {{"Accept", "application/json, text/event-stream"}, {"Content-Type", "application/json"}};
  h.insert(h.end(), extra.begin(), extra.end());
  return h;
}

TEST(HttpSecurity, ForeignHostIsRefused) {
  HttpServerProcess server;
  HttpClient client(server.port(), "evil.example.com");
  auto reply = client.request("POST", "/mcp", post_headers(), initialize_body());
  EXPECT_EQ(reply.status, 403);
  // Loopback names with the server's port are fine; another port is not.
  std::string port = std::to_string(server.port());
  for (std::string host : {"localhost:" + port, "127.0.0.1:" + port, "[::1]:" + port}) {
    HttpClient ok(server.port(), host);
    EXPECT_EQ(ok.request("POST", "/mcp", post_headers(), initialize_body()).status, 200) << host;
  }
  HttpClient wrong_port(server.port(), "localhost:1");
  EXPECT_EQ(wrong_port.request("POST", "/mcp", post_headers(), initialize_body()).status, 403);
}

TEST(HttpSecurity, ForeignOriginIsRefusedOnEveryEndpoint) {
  HttpServerProcess server;
  HttpClient client(server.port());
  Headers evil = {{"Origin", "http://evil.example.com"}};
  EXPECT_EQ(client.request("POST", "/mcp", post_headers(evil), initialize_body()).status, 403);
  EXPECT_EQ(client.request("GET", "/sse", evil).status, 403);
  EXPECT_EQ(client.request("GET", "/healthz", evil).status, 403);
  std::string own = "http://localhost:" + std::to_string(server.port());
  EXPECT_EQ(client.request("POST", "/mcp", post_headers({{"Origin", own}}), initialize_body()).status, 200);
}

TEST(HttpSecurity, AllowOriginAdmitsAConfiguredOriginWithCors) {
  HttpServerProcess server({"--allow-origin", "https://app.example.com"});
  HttpClient client(server.port());
  auto reply = client.request("POST", "/mcp", post_headers({{"Origin", "https://app.example.com"}}),
                              initialize_body());
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.header("access-control-allow-origin"), "https://app.example.com");
  EXPECT_NE(reply.header("access-control-expose-headers").find("Mcp-Session-Id"), std::string::npos);
  auto preflight = client.request("OPTIONS", "/mcp", {{"Origin", "https://app.example.com"}});
  EXPECT_EQ(preflight.status, 204);
  EXPECT_EQ(
      client
          .request("POST", "/mcp", post_headers({{"Origin", "https://other.example.com"}}), initialize_body())
          .status,
      403);
}

TEST(HttpLimits, SlowClientIsCutOffAfterTheHeaderTimeout) {
  HttpServerProcess server({"--header-timeout", "0.3"});
  HttpClient slow(server.port());
  slow.write_raw("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n");  // and then nothing
  EXPECT_TRUE(slow.closed_by_peer(std::chrono::seconds(10)));
  HttpClient silent(server.port());
  EXPECT_TRUE(silent.closed_by_peer(std::chrono::seconds(10)));
}

TEST(HttpLimits, IdleKeepAliveConnectionIsClosed) {
  HttpServerProcess server({"--idle-timeout", "0.3"});
  HttpClient client(server.port());
  EXPECT_EQ(client.request("GET", "/healthz").status, 200);
  EXPECT_TRUE(client.closed_by_peer(std::chrono::seconds(10)));
}

TEST(HttpLimits, ConnectionsOverTheLimitGet503) {
  HttpServerProcess server({"--max-connections", "2"});
  HttpClient a(server.port());
  HttpClient b(server.port());
  EXPECT_EQ(a.request("GET", "/healthz").status, 200);
  EXPECT_EQ(b.request("GET", "/healthz").status, 200);
  HttpClient c(server.port());
  auto reply = c.request("GET", "/healthz");
  EXPECT_EQ(reply.status, 503);
}

TEST(HttpLimits, SessionsOverTheLimitGet503) {
  HttpServerProcess server({"--max-sessions", "2"});
  McpHttpSession a(server.port());
  McpHttpSession b(server.port());
  McpHttpSession c(server.port());
  EXPECT_EQ(a.initialize().status, 200);
  EXPECT_EQ(b.initialize().status, 200);
  EXPECT_EQ(c.initialize().status, 503);
  // Ending one makes room.
  EXPECT_EQ(a.client().request("DELETE", "/mcp", a.headers()).status, 200);
  McpHttpSession d(server.port());
  EXPECT_EQ(d.initialize().status, 200);
}

TEST(HttpLimits, IdleSessionsExpire) {
  HttpServerProcess server({"--session-idle-timeout", "0.2"});
  McpHttpSession session(server.port());
  ASSERT_EQ(session.initialize().status, 200);
  // Expiry runs on a timer. Watch the open-sessions gauge (which does not touch the session) until it
  // drops, with a deadline; then the session id is unknown.
  HttpClient client(server.port());
  bool expired = false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!expired && std::chrono::steady_clock::now() < deadline) {
    auto metrics = client.request("GET", "/metrics").body;
    expired = metrics.find("memtrace_sessions_open{transport=\"streamable_http\"} 0") != std::string::npos;
  }
  ASSERT_TRUE(expired);
  auto reply =
      client.request("POST", "/mcp", session.headers(), R"({"jsonrpc":"2.0","id":9,"method":"ping"})");
  EXPECT_EQ(reply.status, 404);
}

TEST(HttpOps, HealthzReportsTheStore) {
  HttpServerProcess server;
  HttpClient client(server.port());
  auto reply = client.request("GET", "/healthz");
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.json(), json({{"status", "ok"}, {"store", "reachable"}}));
}

TEST(HttpOps, MetricsInPrometheusFormat) {
  HttpServerProcess server({"--conformance-fixtures"});
  McpHttpSession session(server.port());
  ASSERT_EQ(session.initialize().status, 200);
  session.call_tool("test_simple_text");
  session.call_tool("test_error_handling");
  HttpClient client(server.port());
  client.request("GET", "/nowhere");
  auto reply = client.request("GET", "/metrics");
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.header("content-type").rfind("text/plain; version=0.0.4", 0), 0u);
  const std::string& text = reply.body;
  for (const char* needle : {
           "# TYPE memtrace_http_requests_total counter",
           R"(memtrace_http_requests_total{method="POST",route="/mcp",status="200"})",
           R"(memtrace_http_requests_total{method="GET",route="other",status="404"} 1)",
           R"(memtrace_rpc_requests_total{method="tools/call"} 2)",
           "# TYPE memtrace_tool_call_duration_seconds histogram",
           R"(memtrace_tool_call_duration_seconds_count{tool="test_simple_text"} 1)",
           R"(memtrace_tool_call_duration_seconds_bucket{tool="test_simple_text",le="+Inf"} 1)",
           R"(memtrace_tool_call_errors_total{tool="test_error_handling"} 1)",
           R"(memtrace_errors_total{kind="tool"} 1)",
           R"(memtrace_sessions_open{transport="streamable_http"} 1)",
           "memtrace_store_up 1",
       }) {
    EXPECT_NE(text.find(needle), std::string::npos) << needle << "\n" << text;
  }
}

TEST(HttpOps, SigtermFinishesCallsInFlightThenExitsZero) {
  HttpServerProcess server({"--conformance-fixtures"});
  McpHttpSession session(server.port());
  ASSERT_EQ(session.initialize().status, 200);
  HttpClient listener(server.port());
  ASSERT_EQ(session.listen(listener), 200);
  json call = {{"jsonrpc", "2.0"},
               {"id", 31},
               {"method", "tools/call"},
               {"params", {{"name", "test_tool_with_progress"}, {"_meta", {{"progressToken", 1}}}}}};
  auto reply = session.client().begin("POST", "/mcp", session.headers(), call.dump());
  ASSERT_EQ(reply.status, 200);
  auto priming = session.client().next_event();
  auto first = session.client().next_event();
  ASSERT_TRUE(first && !first->data.empty());  // the call is running now

  server.process().kill(SIGTERM);
  json last;
  while (auto event = session.client().next_event()) {
    if (!event->data.empty()) last = json::parse(event->data);
  }
  EXPECT_EQ(last["id"], 31) << "the call in flight was answered";
  EXPECT_TRUE(last.contains("result"));
  EXPECT_TRUE(listener.body_ended()) << "the GET stream was closed";
  EXPECT_EQ(server.process().wait(std::chrono::seconds(20)), 0);
  EXPECT_THROW(HttpClient refused(server.port()), std::runtime_error);
}

}  // namespace
}  // namespace memtrace::testing
