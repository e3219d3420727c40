// SSE over HTTP: resuming a broken Streamable HTTP stream with Last-Event-ID, and the legacy HTTP+SSE
// transport (GET /sse + POST /message) that 2024-11-05 clients use.
#include <gtest/gtest.h>

#include "support/http_client.h"

namespace memtrace::testing {
namespace {

using nlohmann::json;

// POSTs a call of test_tool_with_progress (id `id`, three progress notifications, then its answer) and
// reads the stream's priming event; the test fails unless both happen.
std::optional<SseEvent> begin_progress_call(McpHttpSession& session, int id) {
  json call = {{"jsonrpc", "2.0"},
               {"id", id},
               {"method", "tools/call"},
               {"params", {{"name", "test_tool_with_progress"}, {"_meta", {{"progressToken", 7}}}}}};
  auto reply = session.client().begin("POST", "/mcp", session.headers(), call.dump());
  EXPECT_EQ(reply.status, 200);
  auto priming = session.client().next_event();
  EXPECT_TRUE(priming && priming->has_id);
  return priming;
}

TEST(HttpSseResume, LastEventIdReplaysWhatTheClientMissed) {
  HttpServerProcess server({"--conformance-fixtures"});
  McpHttpSession session(server.port());
  ASSERT_EQ(session.initialize().status, 200);
  auto priming = begin_progress_call(session, 21);
  ASSERT_TRUE(priming && priming->has_id);
  auto first = session.client().next_event();
  ASSERT_TRUE(first && first->has_id);
  EXPECT_EQ(json::parse(first->data)["params"]["progress"], 0);
  session.client().close();  // the connection breaks mid-call

  HttpClient resumed(server.port());
  Headers headers = {{"Accept", "text/event-stream"},
                     {"Mcp-Session-Id", session.session_id()},
                     {"MCP-Protocol-Version", "2025-11-25"},
                     {"Last-Event-ID", first->id}};
  auto again = resumed.begin("GET", "/mcp", headers);
  ASSERT_EQ(again.status, 200);
  std::vector<json> messages;
  while (auto event = resumed.next_event()) {
    if (event->data.empty()) continue;
    EXPECT_TRUE(event->has_id);
    messages.push_back(json::parse(event->data));
  }
  // Exactly what followed the last event seen: progress 50 and 100, then the answer; then the stream ends.
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[0]["params"]["progress"], 50);
  EXPECT_EQ(messages[1]["params"]["progress"], 100);
  EXPECT_EQ(messages[2]["id"], 21);
  EXPECT_TRUE(resumed.body_done());

  // Resuming from the priming id replays the whole stream.
  HttpClient from_start(server.port());
  headers.back().second = priming->id;
  ASSERT_EQ(from_start.begin("GET", "/mcp", headers).status, 200);
  int count = 0;
  while (auto event = from_start.next_event()) count += event->data.empty() ? 0 : 1;
  EXPECT_EQ(count, 4);
}

// The bytes the server keeps for resumption (memtrace_replay_buffer_bytes on /metrics).
long long replay_buffer_bytes(std::uint16_t port) {
  HttpClient client(port);
  const std::string text = client.request("GET", "/metrics").body;
  const std::string name = "\nmemtrace_replay_buffer_bytes ";
  auto at = text.find(name);
  if (at == std::string::npos) return -1;
  return std::stoll(text.substr(at + name.size()));
}

// An answer sent as plain JSON carries no event id, so no client can resume its stream: the server
// keeps no copy of it (a busy session used to hold its last 512 answers). An answer that follows
// events of its stream is kept, and resumable from them.
TEST(HttpSseResume, OnlyAnswersAClientCouldResumeAreKept) {
  HttpServerProcess server({"--conformance-fixtures"});
  McpHttpSession session(server.port());
  ASSERT_EQ(session.initialize().status, 200);
  for (int i = 0; i < 40; ++i) {
    json call = {{"jsonrpc", "2.0"},
                 {"id", session.next_id()},
                 {"method", "tools/call"},
                 {"params", {{"name", "test_simple_text"}}}};
    auto reply = session.post(call);
    ASSERT_EQ(reply.status, 200);
    ASSERT_EQ(reply.header("content-type"), "application/json");
  }
  EXPECT_EQ(replay_buffer_bytes(server.port()), 0);

  auto priming = begin_progress_call(session, 99);
  ASSERT_TRUE(priming && priming->has_id);
  int events = 0;
  std::size_t bytes = 0;
  while (auto event = session.client().next_event()) {
    if (event->data.empty()) continue;
    ++events;
    bytes += event->data.size();
  }
  ASSERT_EQ(events, 4) << "three progress notifications and the answer";
  EXPECT_EQ(replay_buffer_bytes(server.port()), static_cast<long long>(bytes));

  // And the stream can be read again from its priming id, answer included.
  HttpClient resumed(server.port());
  Headers headers = {{"Accept", "text/event-stream"},
                     {"Mcp-Session-Id", session.session_id()},
                     {"MCP-Protocol-Version", "2025-11-25"},
                     {"Last-Event-ID", priming->id}};
  ASSERT_EQ(resumed.begin("GET", "/mcp", headers).status, 200);
  std::vector<json> again;
  while (auto event = resumed.next_event()) {
    if (!event->data.empty()) again.push_back(json::parse(event->data));
  }
  ASSERT_EQ(again.size(), 4u);
  EXPECT_EQ(again.back()["id"], 99);
}

TEST(HttpSseResume, ServerClosedStreamIsResumedWithTheResult) {
  // SEP-1699 polling: test_reconnection has the server close its POST stream mid-call.
  HttpServerProcess server({"--conformance-fixtures"});
  McpHttpSession session(server.port());
  ASSERT_EQ(session.initialize().status, 200);
  json call = {
      {"jsonrpc", "2.0"}, {"id", 41}, {"method", "tools/call"}, {"params", {{"name", "test_reconnection"}}}};
  auto reply = session.client().begin("POST", "/mcp", session.headers(), call.dump());
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.header("content-type"), "text/event-stream");
  auto priming = session.client().next_event();
  ASSERT_TRUE(priming && priming->has_id && priming->data.empty());
  EXPECT_TRUE(priming->retry.has_value());
  EXPECT_FALSE(session.client().next_event()) << "the stream ends without the result";

  HttpClient resumed(server.port());
  Headers headers = {{"Accept", "text/event-stream"},
                     {"Mcp-Session-Id", session.session_id()},
                     {"Last-Event-ID", priming->id}};
  ASSERT_EQ(resumed.begin("GET", "/mcp", headers).status, 200);
  json result;
  while (auto event = resumed.next_event()) {
    if (!event->data.empty()) result = json::parse(event->data);
  }
  EXPECT_EQ(result["id"], 41);
  EXPECT_NE(result.dump().find("Reconnection test completed"), std::string::npos) << result.dump();
}

TEST(HttpSseResume, CancelledCallEndsItsStreamForGoodAndWithdrawsItsSamplingRequest) {
  HttpServerProcess server({"--conformance-fixtures"});
  McpHttpSession session(server.port());
  ASSERT_EQ(session.initialize().status, 200);
  HttpClient listener(server.port());  // the standalone stream, where unrelated messages go
  ASSERT_EQ(session.listen(listener), 200);

  json call = {{"jsonrpc", "2.0"},
               {"id", 51},
               {"method", "tools/call"},
               {"params", {{"name", "test_sampling"}, {"arguments", {{"prompt", "never answered"}}}}}};
  ASSERT_EQ(session.client().begin("POST", "/mcp", session.headers(), call.dump()).status, 200);
  auto priming = session.client().next_event();
  ASSERT_TRUE(priming && priming->has_id && priming->data.empty());
  auto sampling = session.client().next_event();
  ASSERT_TRUE(sampling);
  json asked = json::parse(sampling->data);
  ASSERT_EQ(asked["method"], "sampling/createMessage") << asked.dump();

  HttpClient canceller(server.port());
  json cancel = {{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"}, {"params", {{"requestId", 51}}}};
  EXPECT_EQ(canceller.request("POST", "/mcp", session.headers(), cancel.dump()).status, 202);

  // The call's stream ends, with no answer.
  while (auto event = session.client().next_event()) ADD_FAILURE() << "unexpected event: " << event->data;
  EXPECT_TRUE(session.client().body_done());
  // The sampling request it made is withdrawn: the client is told on the standalone stream.
  bool withdrawn = false;
  while (auto event = listener.next_event(std::chrono::seconds(5))) {
    if (event->data.empty()) continue;
    json message = json::parse(event->data);
    if (message.value("method", "") == "notifications/cancelled") {
      EXPECT_EQ(message["params"]["requestId"], asked["id"]);
      withdrawn = true;
      break;
    }
  }
  EXPECT_TRUE(withdrawn);
  // A client resuming the ended stream (as SDK clients do after a priming event) is told, the SSE way,
  // not to reconnect: 204 No Content, not an error that it would retry.
  HttpClient resumer(server.port());
  Headers headers = session.headers();
  headers.emplace_back("Last-Event-ID", priming->id);
  EXPECT_EQ(resumer.request("GET", "/mcp", headers).status, 204);
  // The session goes on.
  EXPECT_TRUE(session.call("ping", json::object()).contains("result"));
}

TEST(HttpSseResume, UnknownLastEventIdIs400) {
  HttpServerProcess server;
  McpHttpSession session(server.port());
  ASSERT_EQ(session.initialize().status, 200);
  HttpClient client(server.port());
  Headers headers = {{"Accept", "text/event-stream"},
                     {"Mcp-Session-Id", session.session_id()},
                     {"Last-Event-ID", "garbage"}};
  EXPECT_EQ(client.request("GET", "/mcp", headers).status, 400);
}

TEST(HttpSseResume, UnrelatedNotificationsWaitForTheGetStream) {
  HttpServerProcess server;
  McpHttpSession session(server.port());
  ASSERT_EQ(session.initialize().status, 200);
  auto subscribed = session.call("resources/subscribe", {{"uri", "memtrace://sessions/current/context"}});
  ASSERT_TRUE(subscribed.contains("result")) << subscribed.dump();
  session.call_tool("memtrace_remember", {{"content", "queued before any GET stream"}});
  // The notification was produced while no stream was open; the first GET stream delivers it.
  HttpClient listener(server.port());
  ASSERT_EQ(session.listen(listener), 200);
  bool updated = false;
  while (auto event = listener.next_event(std::chrono::seconds(5))) {
    if (event->data.find("notifications/resources/updated") != std::string::npos) {
      updated = true;
      break;
    }
  }
  EXPECT_TRUE(updated);
}

// ---- legacy HTTP+SSE -------------------------------------------------------------------------------

struct LegacySession {
  explicit LegacySession(std::uint16_t port) : stream(port), poster(port) {
    auto reply = stream.begin("GET", "/sse", {{"Accept", "text/event-stream"}});
    if (reply.status != 200) throw std::runtime_error("GET /sse: " + std::to_string(reply.status));
    auto endpoint = stream.next_event();
    if (!endpoint || endpoint->event != "endpoint") throw std::runtime_error("no endpoint event");
    path = endpoint->data;
  }
  HttpReply post(const json& message) {
    return poster.request("POST", path, {{"Content-Type", "application/json"}}, message.dump());
  }
  json next_message() {
    for (;;) {
      auto event = stream.next_event();
      if (!event) throw std::runtime_error("SSE stream ended");
      if (event->event == "message") return json::parse(event->data);
    }
  }
  HttpClient stream;
  HttpClient poster;
  std::string path;
};

TEST(HttpLegacySse, EndpointEventThenMessagesOnTheStream) {
  HttpServerProcess server;
  LegacySession legacy(server.port());
  EXPECT_EQ(legacy.path.rfind("/message?sessionId=", 0), 0u) << legacy.path;
  auto reply = legacy.post({{"jsonrpc", "2.0"},
                            {"id", 1},
                            {"method", "initialize"},
                            {"params",
                             {{"protocolVersion", "2024-11-05"},
                              {"capabilities", json::object()},
                              {"clientInfo", {{"name", "old"}, {"version", "1"}}}}}});
  EXPECT_EQ(reply.status, 202);
  auto init = legacy.next_message();
  EXPECT_EQ(init["id"], 1);
  EXPECT_EQ(init["result"]["protocolVersion"], "2024-11-05");
  EXPECT_EQ(legacy.post({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}).status, 202);
  EXPECT_EQ(legacy.post({{"jsonrpc", "2.0"}, {"id", 2}, {"method", "tools/list"}}).status, 202);
  auto tools = legacy.next_message();
  EXPECT_EQ(tools["id"], 2);
  EXPECT_FALSE(tools["result"]["tools"].empty());
  // 2024-11-05 clients see no fields newer than their version.
  for (const auto& tool : tools["result"]["tools"]) EXPECT_FALSE(tool.contains("outputSchema"));
}

TEST(HttpLegacySse, UnknownSessionIs404AndMalformedJsonIs400) {
  HttpServerProcess server;
  HttpClient client(server.port());
  auto reply =
      client.request("POST", "/message?sessionId=feedfacefeedfacefeedfacefeedface",
                     {{"Content-Type", "application/json"}}, R"({"jsonrpc":"2.0","id":1,"method":"ping"})");
  EXPECT_EQ(reply.status, 404);
  EXPECT_EQ(client.request("POST", "/message", {{"Content-Type", "application/json"}}, "{}").status, 400);
  LegacySession legacy(server.port());
  reply = legacy.poster.request("POST", legacy.path, {{"Content-Type", "application/json"}}, "{oops");
  EXPECT_EQ(reply.status, 400);
}

TEST(HttpLegacySse, ClosingTheStreamEndsTheSession) {
  HttpServerProcess server;
  std::string path;
  {
    LegacySession legacy(server.port());
    path = legacy.path;
    legacy.stream.close();
  }
  // The server notices the closed stream at its next write at the latest; poll with a deadline.
  HttpClient client(server.port());
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    status = client
                 .request("POST", path, {{"Content-Type", "application/json"}},
                          R"({"jsonrpc":"2.0","id":1,"method":"ping"})")
                 .status;
    if (status == 404) break;
  }
  EXPECT_EQ(status, 404);
}

}  // namespace
}  // namespace memtrace::testing
