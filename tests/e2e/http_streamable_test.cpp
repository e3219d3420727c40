// Streamable HTTP at /mcp against the real binary: every status code the transport answers, JSON vs SSE
// answers, sessions, and the standalone GET stream.
#include <set>

#include <gtest/gtest.h>

#include "support/http_client.h"

namespace memtrace::testing {
namespace {

using nlohmann::json;

const Headers kPostHeaders = {{"Accept", "application/json, text/event-stream"},
                              {"Content-Type", "application/json"}};

std::string initialize_body(int id = 1) {
  return json({{"jsonrpc", "2.0"},
               {"id", id},
               {"method", "initialize"},
               {"params",
                {{"protocolVersion", "2025-11-25"},
                 {"capabilities", json::object()},
                 {"clientInfo", {{"name", "t"}, {"version", "1"}}}}}})
      .dump();
}

TEST(HttpStreamable, InitializeAnswersJsonWithASessionId) {
  HttpServerProcess server;
  HttpClient client(server.port());
  auto reply = client.request("POST", "/mcp", kPostHeaders, initialize_body());
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.header("content-type"), "application/json");
  std::string id = reply.header("mcp-session-id");
  ASSERT_EQ(id.size(), 32u);  // 128 bits from the CSPRNG, hex
  for (char c : id) EXPECT_TRUE(c >= 0x21 && c <= 0x7e);
  auto body = reply.json();
  EXPECT_EQ(body["id"], 1);
  EXPECT_EQ(body["result"]["protocolVersion"], "2025-11-25");

  McpHttpSession other(server.port());
  ASSERT_EQ(other.initialize().status, 200);
  EXPECT_NE(other.session_id(), id);
}

TEST(HttpStreamable, EveryNegotiableVersionWorks) {
  HttpServerProcess server;
  for (std::string version : {"2025-03-26", "2025-06-18", "2025-11-25"}) {
    McpHttpSession session(server.port());
    auto reply = session.initialize(version);
    ASSERT_EQ(reply.status, 200);
    EXPECT_EQ(reply.json()["result"]["protocolVersion"], version);
    auto tools = session.call("tools/list");
    EXPECT_FALSE(tools["result"]["tools"].empty()) << version;
  }
}

TEST(HttpStreamable, NotificationsAndResponsesGet202) {
  HttpServerProcess server;
  McpHttpSession session(server.port());
  ASSERT_EQ(session.initialize().status, 200);
  auto reply = session.post({{"jsonrpc", "2.0"}, {"method", "notifications/roots/list_changed"}});
  EXPECT_EQ(reply.status, 202);
  EXPECT_TRUE(reply.body.empty());
  reply = session.post({{"jsonrpc", "2.0"}, {"id", 99}, {"result", json::object()}});
  EXPECT_EQ(reply.status, 202);
}

TEST(HttpStreamable, RequestWithoutSessionIs400AndUnknownSessionIs404) {
  HttpServerProcess server;
  HttpClient client(server.port());
  std::string ping = R"({"jsonrpc":"2.0","id":5,"method":"ping"})";
  auto reply = client.request("POST", "/mcp", kPostHeaders, ping);
  EXPECT_EQ(reply.status, 400);
  Headers with_unknown = kPostHeaders;
  with_unknown.emplace_back("Mcp-Session-Id", "0123456789abcdef0123456789abcdef");
  reply = client.request("POST", "/mcp", with_unknown, ping);
  EXPECT_EQ(reply.status, 404);
  EXPECT_EQ(reply.json()["error"]["code"], -32001);
}

// A refusal of a request whose body could be read carries that request's id, whatever the status, so
// that a client can tell which of its calls failed.
TEST(HttpStreamable, EveryRefusalOfAReadableRequestCarriesItsId) {
  HttpServerProcess server;
  HttpClient client(server.port());
  const std::string ping = R"({"jsonrpc":"2.0","id":"call-5","method":"ping"})";
  const auto expect_id = [](const HttpReply& reply, int status) {
    EXPECT_EQ(reply.status, status) << reply.body;
    auto body = json::parse(reply.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << reply.body;
    EXPECT_EQ(body.value("id", json()), "call-5") << status << ": " << reply.body;
    EXPECT_TRUE(body.contains("error")) << reply.body;
  };
  expect_id(client.request("POST", "/mcp", kPostHeaders, ping), 400);  // no session
  Headers unknown = kPostHeaders;
  unknown.emplace_back("Mcp-Session-Id", "0123456789abcdef0123456789abcdef");
  expect_id(client.request("POST", "/mcp", unknown, ping), 404);
  expect_id(client.request("POST", "/mcp",
                           {{"Accept", "application/json"}, {"Content-Type", "application/json"}}, ping),
            406);
  expect_id(client.request(
                "POST", "/mcp",
                {{"Accept", "application/json, text/event-stream"}, {"Content-Type", "text/plain"}}, ping),
            415);
  Headers foreign = kPostHeaders;
  foreign.emplace_back("Origin", "http://evil.example");
  expect_id(client.request("POST", "/mcp", foreign, ping), 403);
  McpHttpSession session(server.port());
  ASSERT_EQ(session.initialize().status, 200);
  Headers bad_version = session.headers();
  bad_version.emplace_back("MCP-Protocol-Version", "1999-01-01");
  expect_id(session.client().request("POST", "/mcp", bad_version, ping), 400);
  expect_id(client.request("POST", "/message?sessionId=0123456789abcdef", kPostHeaders, ping), 404);
}

TEST(HttpStreamable, DeleteEndsTheSessionThen404) {
  HttpServerProcess server;
  McpHttpSession session(server.port());
  ASSERT_EQ(session.initialize().status, 200);
  auto reply = session.client().request("DELETE", "/mcp", session.headers());
  EXPECT_EQ(reply.status, 200);
  reply = session.post({{"jsonrpc", "2.0"}, {"id", 2}, {"method", "ping"}});
  EXPECT_EQ(reply.status, 404);
  reply = session.client().request("DELETE", "/mcp", session.headers());
  EXPECT_EQ(reply.status, 404);
  reply = session.client().request("DELETE", "/mcp", {});
  EXPECT_EQ(reply.status, 400);
}

TEST(HttpStreamable, UnsupportedProtocolVersionHeaderIs400) {
  HttpServerProcess server;
  McpHttpSession session(server.port());
  ASSERT_EQ(session.initialize().status, 200);
  auto reply = session.post({{"jsonrpc", "2.0"}, {"id", 2}, {"method", "ping"}},
                            {{"MCP-Protocol-Version", "1999-01-01"}});
  EXPECT_EQ(reply.status, 400);
  EXPECT_NE(reply.body.find("1999-01-01"), std::string::npos);
}

TEST(HttpStreamable, WrongAcceptIs406AndWrongContentTypeIs415) {
  HttpServerProcess server;
  HttpClient client(server.port());
  auto reply =
      client.request("POST", "/mcp", {{"Accept", "application/json"}, {"Content-Type", "application/json"}},
                     initialize_body());
  EXPECT_EQ(reply.status, 406);
  reply = client.request("POST", "/mcp",
                         {{"Accept", "application/json, text/event-stream"}, {"Content-Type", "text/plain"}},
                         initialize_body());
  EXPECT_EQ(reply.status, 415);
  McpHttpSession session(server.port());
  ASSERT_EQ(session.initialize().status, 200);
  reply = session.client().request(
      "GET", "/mcp", {{"Accept", "application/json"}, {"Mcp-Session-Id", session.session_id()}});
  EXPECT_EQ(reply.status, 406);
}

TEST(HttpStreamable, BodyOverTheLimitIs413) {
  HttpServerProcess server({"--max-body-bytes", "2048"});
  HttpClient client(server.port());
  std::string big =
      R"({"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":")" + std::string(4096, 'x') + "\"}}";
  auto reply = client.request("POST", "/mcp", kPostHeaders, big);
  EXPECT_EQ(reply.status, 413);
  // The limit is per body: a small request on a new connection is fine.
  HttpClient again(server.port());
  EXPECT_EQ(again.request("POST", "/mcp", kPostHeaders, initialize_body()).status, 200);
}

TEST(HttpStreamable, SecondInitializeOnASessionIs400) {
  HttpServerProcess server;
  McpHttpSession session(server.port());
  ASSERT_EQ(session.initialize().status, 200);
  auto reply = session.client().request("POST", "/mcp", session.headers(), initialize_body(7));
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.json()["error"]["code"], -32600);
  EXPECT_EQ(reply.json()["id"], 7);
}

TEST(HttpStreamable, MalformedJsonIs400ParseError) {
  HttpServerProcess server;
  HttpClient client(server.port());
  auto reply = client.request("POST", "/mcp", kPostHeaders, "{not json");
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.json()["error"]["code"], -32700);
  EXPECT_FALSE(reply.json().contains("id"));
  reply = client.request("POST", "/mcp", kPostHeaders, R"({"jsonrpc":"2.0","id":3})");
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.json()["error"]["code"], -32600);
}

TEST(HttpStreamable, UnknownPathIs404AndUnknownMethodIs405) {
  HttpServerProcess server;
  HttpClient client(server.port());
  EXPECT_EQ(client.request("GET", "/nothing-here").status, 404);
  auto reply = client.request("PUT", "/mcp", kPostHeaders, "{}");
  EXPECT_EQ(reply.status, 405);
  EXPECT_EQ(reply.header("allow"), "GET, POST, DELETE");
}

TEST(HttpStreamable, ProgressMakesTheAnswerAnSseStream) {
  HttpServerProcess server({"--conformance-fixtures"});
  McpHttpSession session(server.port());
  ASSERT_EQ(session.initialize().status, 200);
  json call = {{"jsonrpc", "2.0"},
               {"id", 10},
               {"method", "tools/call"},
               {"params", {{"name", "test_tool_with_progress"}, {"_meta", {{"progressToken", "tok"}}}}}};
  auto reply = session.client().begin("POST", "/mcp", session.headers(), call.dump());
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.header("content-type"), "text/event-stream");
  EXPECT_EQ(reply.header("mcp-session-id"), session.session_id());
  auto priming = session.client().next_event();
  ASSERT_TRUE(priming);
  EXPECT_TRUE(priming->has_id);
  EXPECT_TRUE(priming->data.empty());
  EXPECT_TRUE(priming->retry.has_value());
  std::vector<double> progress;
  std::set<std::string> ids;
  json result;
  while (auto event = session.client().next_event()) {
    EXPECT_TRUE(ids.insert(event->id).second) << "event ids are unique";
    auto message = json::parse(event->data);
    if (message.value("method", "") == "notifications/progress") {
      EXPECT_EQ(message["params"]["progressToken"], "tok");
      progress.push_back(message["params"]["progress"]);
    } else {
      result = message;
    }
  }
  EXPECT_EQ(progress, (std::vector<double>{0, 50, 100}));
  EXPECT_EQ(result["id"], 10);
  EXPECT_TRUE(result.contains("result"));
  // The stream ended with the answer; the connection serves the next request.
  EXPECT_EQ(session.call("ping")["result"], json::object());
}

TEST(HttpStreamable, ConcurrentPostsOnOneSessionEachGetTheirAnswer) {
  HttpServerProcess server({"--conformance-fixtures"});
  McpHttpSession session(server.port());
  ASSERT_EQ(session.initialize().status, 200);
  // Three connections, three requests in flight at once; each answer goes to its own POST.
  std::vector<std::unique_ptr<HttpClient>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(std::make_unique<HttpClient>(server.port()));
    json call = {{"jsonrpc", "2.0"},
                 {"id", 100 + i},
                 {"method", "tools/call"},
                 {"params", {{"name", "test_tool_with_logging"}}}};
    auto reply = clients.back()->begin("POST", "/mcp", session.headers(), call.dump());
    ASSERT_EQ(reply.status, 200);
  }
  for (int i = 0; i < 3; ++i) {
    std::string body = clients[i]->read_body();
    EXPECT_NE(body.find("\"id\":" + std::to_string(100 + i)), std::string::npos) << body;
  }
}

TEST(HttpStreamable, GetStreamCarriesUnrelatedNotifications) {
  HttpServerProcess server;
  McpHttpSession session(server.port());
  ASSERT_EQ(session.initialize().status, 200);
  HttpClient listener(server.port());
  Headers get_headers = {{"Accept", "text/event-stream"},
                         {"Mcp-Session-Id", session.session_id()},
                         {"MCP-Protocol-Version", "2025-11-25"}};
  auto reply = listener.begin("GET", "/mcp", get_headers);
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.header("content-type"), "text/event-stream");
  auto priming = listener.next_event();
  ASSERT_TRUE(priming && priming->has_id && priming->data.empty());

  // A second standalone stream on the same session is refused.
  HttpClient second(server.port());
  EXPECT_EQ(second.request("GET", "/mcp", get_headers).status, 409);

  // Subscribe to the current session's context; a write there is announced on the GET stream only.
  auto subscribed = session.call("resources/subscribe", {{"uri", "memtrace://sessions/current/context"}});
  ASSERT_TRUE(subscribed.contains("result")) << subscribed.dump();
  auto stored = session.call_tool("memtrace_remember", {{"content", "the GET stream works"}});
  ASSERT_FALSE(stored.value("isError", false)) << stored.dump();
  bool updated = false;
  while (auto event = listener.next_event(std::chrono::seconds(5))) {
    auto message = json::parse(event->data);
    EXPECT_FALSE(message.contains("id")) << "no responses on the standalone stream";
    if (message.value("method", "") == "notifications/resources/updated") {
      updated = true;
      break;
    }
  }
  EXPECT_TRUE(updated);
  EXPECT_TRUE(session.notifications().empty() ||
              session.notifications().front().value("method", "") != "notifications/resources/updated");
}

TEST(HttpStreamable, GetWithoutSessionIs400) {
  HttpServerProcess server;
  HttpClient client(server.port());
  EXPECT_EQ(client.request("GET", "/mcp", {{"Accept", "text/event-stream"}}).status, 400);
  EXPECT_EQ(
      client.request("GET", "/mcp", {{"Accept", "text/event-stream"}, {"Mcp-Session-Id", "nope"}}).status,
      404);
}

}  // namespace
}  // namespace memtrace::testing
