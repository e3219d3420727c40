// The 2026-07-28 (stateless) era on the Streamable HTTP endpoint beside the legacy one: requests with
// MCP-Protocol-Version 2026-07-28 and their _meta are served without initialize or a session, with
// the era's status codes and header checks.
#include <csignal>

#include <gtest/gtest.h>

#include "support/http_client.h"

namespace memtrace::testing {
namespace {

using nlohmann::json;

json meta(const std::string& version = "2026-07-28") {
  return {{"io.modelcontextprotocol/protocolVersion", version},
          {"io.modelcontextprotocol/clientCapabilities", json::object()},
          {"io.modelcontextprotocol/clientInfo", {{"name", "http-modern"}, {"version", "1"}}}};
}

// The headers a modern client sends for `method` (and `name`: Mcp-Name where the method has one).
Headers modern_headers(const std::string& method, const std::string& name = {},
                       const std::string& version = "2026-07-28") {
  Headers headers = {{"Accept", "application/json, text/event-stream"},
                     {"Content-Type", "application/json"},
                     {"MCP-Protocol-Version", version},
                     {"Mcp-Method", method}};
  if (!name.empty()) headers.emplace_back("Mcp-Name", name);
  return headers;
}

std::string body(int id, const std::string& method, json params) {
  return json({{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}}).dump();
}

TEST(HttpStateless, DiscoverAndToolsWorkWithoutASession) {
  HttpServerProcess server;
  HttpClient client(server.port());
  auto discovered = client.request("POST", "/mcp", modern_headers("server/discover"),
                                   body(1, "server/discover", {{"_meta", meta()}}));
  ASSERT_EQ(discovered.status, 200) << discovered.body;
  EXPECT_TRUE(discovered.header("mcp-session-id").empty());  // no session is minted
  json result = discovered.json()["result"];
  EXPECT_EQ(result["supportedVersions"], json::array({"2026-07-28"}));
  EXPECT_EQ(result["resultType"], "complete");
  EXPECT_EQ(result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"], "memtrace-mcp");

  auto stored = client.request(
      "POST", "/mcp", modern_headers("tools/call", "memtrace_remember"),
      body(2, "tools/call",
           {{"name", "memtrace_remember"}, {"arguments", {{"content", "Grace likes compilers"}}}, {"_meta", meta()}}));
  ASSERT_EQ(stored.status, 200) << stored.body;
  EXPECT_EQ(stored.json()["result"]["structuredContent"]["agent_id"], "http-modern");

  // Another request, another connection: the same (stateless) session finds it.
  HttpClient other(server.port());
  auto found = other.request(
      "POST", "/mcp", modern_headers("tools/call", "memtrace_search"),
      body(3, "tools/call", {{"name", "memtrace_search"}, {"arguments", {{"content_contains", "compilers"}}}, {"_meta", meta()}}));
  ASSERT_EQ(found.status, 200) << found.body;
  EXPECT_NE(found.body.find("Grace likes compilers"), std::string::npos);
}

TEST(HttpStateless, ErrorsCarryTheIdAndTheEraStatusCodes) {
  HttpServerProcess server;
  HttpClient client(server.port());
  // Missing _meta: -32602, 400.
  auto reply = client.request("POST", "/mcp", modern_headers("tools/list"), body(11, "tools/list", json::object()));
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.json()["error"]["code"], -32602);
  EXPECT_EQ(reply.json()["id"], 11);
  // A version we do not speak: -32022 naming what we do, 400.
  reply = client.request("POST", "/mcp", modern_headers("tools/list", {}, "2099-01-01"),
                         body(12, "tools/list", {{"_meta", meta("2099-01-01")}}));
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.json()["error"]["code"], -32022);
  EXPECT_EQ(reply.json()["error"]["data"]["supported"], json::array({"2026-07-28"}));
  EXPECT_EQ(reply.json()["id"], 12);
  // Removed and unknown methods: -32601, 404.
  for (const char* method : {"ping", "initialize", "no/such"}) {
    reply = client.request("POST", "/mcp", modern_headers(method), body(13, method, {{"_meta", meta()}}));
    EXPECT_EQ(reply.status, 404) << method;
    EXPECT_EQ(reply.json()["error"]["code"], -32601) << method;
    EXPECT_EQ(reply.json()["id"], 13);
  }
  // Unknown resource: -32602 with the URI, 400.
  const std::string uri = "memtrace://sessions/nope/context";
  reply = client.request("POST", "/mcp", modern_headers("resources/read", uri),
                         body(14, "resources/read", {{"uri", uri}, {"_meta", meta()}}));
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.json()["error"]["code"], -32602);
  EXPECT_EQ(reply.json()["error"]["data"]["uri"], uri);
}

TEST(HttpStateless, HeadersThatDisagreeWithTheBodyAre32020) {
  HttpServerProcess server;
  HttpClient client(server.port());
  auto list = body(21, "tools/list", {{"_meta", meta()}});
  auto reply = client.request("POST", "/mcp", modern_headers("prompts/list"), list);
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.json()["error"]["code"], -32020);
  EXPECT_EQ(reply.json()["id"], 21);

  Headers no_method = modern_headers("tools/list");
  no_method.pop_back();
  EXPECT_EQ(client.request("POST", "/mcp", no_method, list).json()["error"]["code"], -32020);

  auto call = body(22, "tools/call", {{"name", "memtrace_recall"}, {"arguments", json::object()}, {"_meta", meta()}});
  EXPECT_EQ(client.request("POST", "/mcp", modern_headers("tools/call", "memtrace_search"), call).json()["error"]["code"],
            -32020);
  EXPECT_EQ(client.request("POST", "/mcp", modern_headers("tools/call"), call).json()["error"]["code"], -32020);
  // Mcp-Name in the base64 sentinel form, with surrounding whitespace: accepted.
  reply = client.request("POST", "/mcp", modern_headers("tools/call", " =?base64?bWVtdHJhY2VfcmVjYWxs?= "), call);
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_TRUE(reply.json().contains("result"));
  // The header names 2026-07-28, the body another version.
  reply = client.request("POST", "/mcp", modern_headers("tools/list"), body(23, "tools/list", {{"_meta", meta("2099-01-01")}}));
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.json()["error"]["code"], -32020);
}

TEST(HttpStateless, LegacySessionsAreServedAsBefore) {
  HttpServerProcess server;
  McpHttpSession session(server.port());
  ASSERT_EQ(session.initialize("2025-11-25").status, 200);
  ASSERT_FALSE(session.session_id().empty());
  json listed = session.call("tools/list");
  EXPECT_FALSE(listed["result"].contains("resultType"));
  // Without a session and without a modern version, a request is still told to initialize.
  HttpClient client(server.port());
  Headers legacy = {{"Accept", "application/json, text/event-stream"}, {"Content-Type", "application/json"}};
  auto reply = client.request("POST", "/mcp", legacy, R"({"jsonrpc":"2.0","id":5,"method":"tools/list"})");
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.json()["id"], 5);
}

TEST(HttpStateless, ListenStreamAcknowledgesAndCarriesResourceListChanges) {
  HttpServerProcess server;
  HttpClient listener(server.port());
  auto started = listener.begin(
      "POST", "/mcp", modern_headers("subscriptions/listen"),
      body(31, "subscriptions/listen", {{"notifications", {{"resourcesListChanged", true}}}, {"_meta", meta()}}));
  ASSERT_EQ(started.status, 200);
  EXPECT_EQ(started.header("content-type"), "text/event-stream");
  auto ack = listener.next_event();
  ASSERT_TRUE(ack.has_value());
  json acknowledged = json::parse(ack->data);
  EXPECT_EQ(acknowledged["method"], "notifications/subscriptions/acknowledged");
  EXPECT_EQ(acknowledged["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], 31);

  HttpClient writer(server.port());
  auto created = writer.request(
      "POST", "/mcp", modern_headers("tools/call", "memtrace_session_create"),
      body(32, "tools/call",
           {{"name", "memtrace_session_create"}, {"arguments", {{"metadata", {{"ticket", "9"}}}}}, {"_meta", meta()}}));
  ASSERT_EQ(created.status, 200) << created.body;
  auto changed = listener.next_event();
  ASSERT_TRUE(changed.has_value());
  json notification = json::parse(changed->data);
  EXPECT_EQ(notification["method"], "notifications/resources/list_changed");
  EXPECT_EQ(notification["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], 31);

  // Shutting down ends the subscription gracefully: its final answer, then the end of the stream, and the
  // server does not wait for the listener as for a call in flight.
  server.process().kill(SIGTERM);
  auto last = listener.next_event();
  ASSERT_TRUE(last.has_value());
  json answer = json::parse(last->data);
  EXPECT_EQ(answer["id"], 31);
  EXPECT_EQ(answer["result"]["resultType"], "complete");
  EXPECT_EQ(answer["result"]["_meta"]["io.modelcontextprotocol/subscriptionId"], 31);
  EXPECT_TRUE(listener.body_ended());
  EXPECT_EQ(server.process().wait(), 0);
}

TEST(HttpStateless, ARunningRequestHoldsOneOfItsKeysSessionPlaces) {
  HttpServerProcess server({"--max-sessions-per-key", "1"});
  HttpClient listener(server.port());
  auto started =
      listener.begin("POST", "/mcp", modern_headers("subscriptions/listen"),
                     body(41, "subscriptions/listen",
                          {{"notifications", {{"resourcesListChanged", true}}}, {"_meta", meta()}}));
  ASSERT_EQ(started.status, 200);
  ASSERT_TRUE(listener.next_event().has_value());  // acknowledged: the subscription is running

  // The key's one place is taken by a request that is running, so neither another stateless request nor
  // a legacy session can have it: 429, and the stateless refusal carries its request's id.
  HttpClient other(server.port());
  auto refused = other.request("POST", "/mcp", modern_headers("tools/list"),
                               body(42, "tools/list", {{"_meta", meta()}}));
  EXPECT_EQ(refused.status, 429) << refused.body;
  EXPECT_FALSE(refused.header("retry-after").empty());
  EXPECT_EQ(refused.json()["id"], 42);
  McpHttpSession legacy(server.port());
  EXPECT_EQ(legacy.initialize().status, 429);
}

}  // namespace
}  // namespace memtrace::testing
