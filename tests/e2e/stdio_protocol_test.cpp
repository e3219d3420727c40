// The built binary over stdio: lifecycle, version negotiation, field gating, and a corpus of
// malformed and hostile inputs, each answered correctly with the server still up afterwards.
#include <gtest/gtest.h>

#include "support/e2e_store.h"
#include "support/mcp_client.h"

namespace memtrace::testing {
namespace {

// A server on this test's store (memory, or Redis in the redis.* run) with debug logging on stderr.
McpClient serve(const E2eStore& store, std::vector<std::string> extra = {}) {
  extra.insert(extra.begin(), {"--log-level", "debug"});
  return McpClient(store.single_args(std::move(extra)));
}

TEST(StdioLifecycle, EchoesEachSupportedVersionAndCounterOffersUnknownOnes) {
  E2eStore e2e;
  for (const char* version : {"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"}) {
    auto client = serve(e2e);
    Json reply = client.initialize(version);
    EXPECT_EQ(reply["result"]["protocolVersion"], version);
    EXPECT_EQ(reply["result"]["serverInfo"]["name"], "memtrace-mcp");
    EXPECT_TRUE(reply["result"]["capabilities"].contains("tools"));
    EXPECT_TRUE(reply["result"]["capabilities"].contains("logging"));
    std::string instructions = reply["result"]["instructions"];
    EXPECT_NE(instructions.find("memtrace_remember"), std::string::npos);
  }
  auto client = serve(e2e);
  EXPECT_EQ(client.initialize("1999-01-01")["result"]["protocolVersion"], "2025-11-25");
}

TEST(StdioLifecycle, ToolFieldsFollowTheNegotiatedVersion) {
  E2eStore e2e;
  struct Expect {
    const char* version;
    bool annotations, title, output_schema;
  } cases[] = {{"2024-11-05", false, false, false},
               {"2025-03-26", true, false, false},
               {"2025-06-18", true, true, true},
               {"2025-11-25", true, true, true}};
  for (const auto& c : cases) {
    auto client = serve(e2e);
    client.initialize(c.version);
    Json tools = client.request("tools/list")["result"]["tools"];
    ASSERT_GE(tools.size(), 5u) << c.version;
    for (const auto& tool : tools) {
      EXPECT_EQ(tool.contains("annotations"), c.annotations) << c.version << " " << tool["name"];
      EXPECT_EQ(tool.contains("title"), c.title) << c.version << " " << tool["name"];
      EXPECT_EQ(tool.contains("outputSchema"), c.output_schema) << c.version << " " << tool["name"];
      EXPECT_EQ(tool["inputSchema"]["type"], "object");
    }
    Json stored = client.call_tool("memtrace_remember", {{"content", "x"}});
    EXPECT_EQ(stored.contains("structuredContent"), c.output_schema) << c.version;
  }
}

TEST(StdioLifecycle, RequestBeforeInitializeGetsAnErrorNotSilence) {
  E2eStore e2e;
  auto client = serve(e2e);
  Json reply = client.request("tools/list");
  EXPECT_EQ(reply["error"]["code"], -32600);
  EXPECT_EQ(reply["id"], 1);
  // ping is allowed before initialize.
  EXPECT_TRUE(client.request("ping").contains("result"));
  // server/discover belongs to the stateless era, which wants its _meta: a modern error (-32602), so a
  // modern client learns that this server speaks its era.
  EXPECT_EQ(client.request("server/discover")["error"]["code"], -32602);
  // And initialize still works afterwards.
  EXPECT_EQ(client.initialize()["result"]["protocolVersion"], "2025-11-25");
}

TEST(StdioLifecycle, SecondInitializeIsRefused) {
  E2eStore e2e;
  auto client = serve(e2e);
  client.initialize();
  EXPECT_EQ(client.request("initialize", {{"protocolVersion", "2025-11-25"}})["error"]["code"], -32600);
}

TEST(StdioLifecycle, LoggingSetLevelEnablesNotificationsAndRejectsBadLevels) {
  E2eStore e2e;
  auto client = serve(e2e);
  client.initialize();
  EXPECT_EQ(client.request("logging/setLevel", {{"level", "loud"}})["error"]["code"], -32602);
  EXPECT_TRUE(client.request("logging/setLevel", {{"level", "debug"}}).contains("result"));
  client.call_tool("memtrace_remember", {{"content", "logged"}});
  auto message = client.wait_notification("notifications/message");
  ASSERT_TRUE(message);
  EXPECT_EQ((*message)["params"]["level"], "debug");
}

TEST(StdioLifecycle, BatchesOnlyUnder2025_03_26) {
  E2eStore e2e;
  {
    auto client = serve(e2e);
    client.initialize("2025-03-26");
    client.process().write_line(R"([{"jsonrpc":"2.0","id":"b1","method":"ping"},)"
                                R"({"jsonrpc":"2.0","id":"b2","method":"tools/list"}])");
    auto reply = client.next_response();
    ASSERT_TRUE(reply);
    ASSERT_TRUE(reply->is_array());
    EXPECT_EQ(reply->size(), 2u);
  }
  {
    auto client = serve(e2e);
    client.initialize("2025-11-25");
    client.process().write_line(R"([{"jsonrpc":"2.0","id":"b1","method":"ping"}])");
    auto reply = client.next_response();
    ASSERT_TRUE(reply);
    EXPECT_EQ((*reply)["error"]["code"], -32600);
  }
}

TEST(StdioLifecycle, EndOfInputFinishesInFlightWorkAndExitsZero) {
  E2eStore e2e;
  auto client = serve(e2e);
  client.initialize();
  client.process().write_line(
      R"({"jsonrpc":"2.0","id":77,"method":"tools/call","params":{"name":"memtrace_remember","arguments":{"content":"last words"}}})");
  client.process().close_stdin();
  auto reply = client.next_response();
  ASSERT_TRUE(reply);
  EXPECT_EQ((*reply)["id"], 77);
  EXPECT_FALSE((*reply)["result"].value("isError", false));
  EXPECT_EQ(client.process().wait(), 0);
}

// One hostile input and what must come back.
struct HostileCase {
  std::string name;
  std::string line;
  int expected_code;  // 0: no reply at all (a notification)
  Json expected_id;   // null: the error carries no id
};

std::vector<HostileCase> hostile_corpus() {
  const Json none = nullptr;
  return {
      {"truncated json", R"({"jsonrpc":"2.0","id":1,"method":"ping")", -32700, none},
      {"plain text", "hello server", -32700, none},
      {"trailing comma", R"({"jsonrpc":"2.0","id":1,"method":"ping",})", -32700, none},
      {"single quotes", R"({'jsonrpc':'2.0','id':1,'method':'ping'})", -32700, none},
      {"invalid utf-8 bytes", "\xff\xfe\xfd", -32700, none},
      {"invalid utf-8 in string", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"pi\xc3\x28ng\"}", -32700, none},
      {"lone surrogate escape", R"({"jsonrpc":"2.0","id":"s","method":"\ud800"})", -32700, none},
      {"nul byte", std::string(R"({"jsonrpc":"2.0","id":1,)") + '\0' + R"("method":"ping"})", -32700, none},
      {"number", "42", -32600, none},
      {"string", R"("ping")", -32600, none},
      {"null", "null", -32600, none},
      {"empty object", "{}", -32600, none},
      {"empty batch", "[]", -32600, none},
      {"batch under 2025-11-25", R"([{"jsonrpc":"2.0","id":1,"method":"ping"}])", -32600, none},
      {"missing jsonrpc", R"({"id":2,"method":"ping"})", -32600, 2},
      {"wrong jsonrpc version", R"({"jsonrpc":"1.0","id":3,"method":"ping"})", -32600, 3},
      {"method not a string", R"({"jsonrpc":"2.0","id":4,"method":7})", -32600, 4},
      {"params a string", R"({"jsonrpc":"2.0","id":5,"method":"ping","params":"x"})", -32600, 5},
      {"null id", R"({"jsonrpc":"2.0","id":null,"method":"ping"})", -32600, none},
      {"boolean id", R"({"jsonrpc":"2.0","id":true,"method":"ping"})", -32600, none},
      {"object id", R"({"jsonrpc":"2.0","id":{"x":1},"method":"ping"})", -32600, none},
      {"fractional id", R"({"jsonrpc":"2.0","id":1.5,"method":"ping"})", -32600, none},
      {"unknown method", R"({"jsonrpc":"2.0","id":6,"method":"memory/steal"})", -32601, 6},
      {"unknown method string id", R"({"jsonrpc":"2.0","id":"abc","method":"nope"})", -32601, "abc"},
      {"huge integer id", R"({"jsonrpc":"2.0","id":9007199254740993,"method":"nope"})", -32601,
       9007199254740993LL},
      {"negative id", R"({"jsonrpc":"2.0","id":-1,"method":"nope"})", -32601, -1},
      {"empty string id", R"({"jsonrpc":"2.0","id":"","method":"nope"})", -32601, ""},
      {"unknown tool", R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"rm_rf"}})", -32602,
       7},
      {"tool name missing", R"({"jsonrpc":"2.0","id":8,"method":"tools/call","params":{}})", -32602, 8},
      {"tool name wrong type", R"({"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":5}})",
       -32602, 9},
      {"arguments not an object",
       R"({"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"name":"memtrace_recall","arguments":[1]}})",
       -32602, 10},
      {"bad cursor on tools/list",
       R"({"jsonrpc":"2.0","id":11,"method":"tools/list","params":{"cursor":"zz"}})", -32602, 11},
      {"bad log level", R"({"jsonrpc":"2.0","id":12,"method":"logging/setLevel","params":{"level":7}})",
       -32602, 12},
      {"second initialize",
       R"({"jsonrpc":"2.0","id":13,"method":"initialize","params":{"protocolVersion":"2025-11-25"}})", -32600,
       13},
      {"unknown notification", R"({"jsonrpc":"2.0","method":"notifications/unknown"})", 0, none},
      {"cancel for unknown request",
       R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":999}})", 0, none},
      {"notification with bad params",
       R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":[1,2]})", 0, none},
      {"response from client", R"({"jsonrpc":"2.0","id":50,"result":{}})", 0, none},
      {"deeply nested", std::string(5000, '[') + std::string(5000, ']'), -32600, none},
  };
}

TEST(StdioHostileInput, EveryInputIsAnsweredCorrectlyAndTheServerStaysUp) {
  E2eStore e2e;
  auto corpus = hostile_corpus();
  ASSERT_GE(corpus.size(), 30u);
  auto client = serve(e2e);
  client.initialize("2025-11-25");
  long long probe = 100000;
  for (const auto& c : corpus) {
    client.process().write_line(c.line);
    // A ping after each input. A ping is answered at once, so it may overtake the answer of a call that
    // is still running (a tool call, say); everything else the input produced comes before it.
    ++probe;
    client.process().write_line(Json{{"jsonrpc", "2.0"}, {"id", probe}, {"method", "ping"}}.dump());
    auto first = client.next_response();
    ASSERT_TRUE(first) << c.name << ": no output at all; is the server still up?";
    if (c.expected_code == 0) {
      EXPECT_EQ((*first)["id"], probe)
          << c.name << ": a notification must get no reply, got " << first->dump();
      continue;
    }
    std::optional<Json> pong;
    if (first->contains("id") && first->at("id") == probe && !first->contains("error")) {
      pong = std::move(first);
      first = client.next_response();
      ASSERT_TRUE(first) << c.name << ": no answer to the input";
    }
    ASSERT_TRUE(first->contains("error")) << c.name << ": " << first->dump();
    EXPECT_EQ((*first)["error"]["code"], c.expected_code) << c.name << ": " << first->dump();
    if (c.expected_id.is_null()) {
      EXPECT_FALSE(first->contains("id")) << c.name << ": " << first->dump();
    } else {
      EXPECT_EQ((*first)["id"], c.expected_id) << c.name;
    }
    if (!pong) pong = client.next_response();
    ASSERT_TRUE(pong) << c.name << ": the server stopped answering";
    EXPECT_EQ((*pong)["id"], probe) << c.name << ": " << pong->dump();
  }
  // Still fully working.
  Json stored = client.call_tool("memtrace_remember", {{"content", "survived the corpus"}});
  EXPECT_FALSE(stored.value("isError", false));
}

TEST(StdioHostileInput, OversizedLineIsRefusedWithItsIdAndTheStreamStaysInSync) {
  E2eStore e2e;
  auto client = serve(e2e, {"--max-line-bytes", "65536"});
  client.initialize();
  std::string huge =
      R"({"jsonrpc":"2.0","id":"big","method":"tools/call","params":{"name":"memtrace_remember",)"
      R"("arguments":{"content":")" +
      std::string(5 * 1024 * 1024, 'x') + R"("}}})";
  client.process().write_line(huge);
  Json reply = client.request("ping");  // reads past the error, keeping it as unmatched
  EXPECT_TRUE(reply.contains("result"));
  // The error came first, with the id recovered from the line's prefix.
  McpClient fresh = serve(e2e, {"--max-line-bytes", "65536"});
  fresh.initialize();
  fresh.process().write_line(huge);
  auto error = fresh.next_response();
  ASSERT_TRUE(error);
  EXPECT_EQ((*error)["id"], "big");
  EXPECT_EQ((*error)["error"]["code"], -32600);
  EXPECT_NE((*error)["error"]["message"].get<std::string>().find("65536-byte limit"), std::string::npos);
  EXPECT_TRUE(fresh.request("ping").contains("result"));
}

TEST(StdioHostileInput, CrlfAndBlankLinesAreTolerated) {
  E2eStore e2e;
  auto client = serve(e2e);
  client.process().write(
      "\r\n\n"
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18"}})"
      "\r\n\r\n");
  auto reply = client.next_response();
  ASSERT_TRUE(reply);
  EXPECT_EQ((*reply)["result"]["protocolVersion"], "2025-06-18");
}

TEST(StdioPurity, StdoutCarriesOnlyProtocolMessagesEvenWithDebugLogging) {
  E2eStore e2e;
  McpClient client{e2e.single_args({"--log-level", "trace"})};
  client.initialize();
  client.call_tool("memtrace_remember", {{"content", "a"}, {"tags", {"x"}}});
  client.call_tool("memtrace_recall");
  client.call_tool("memtrace_search", {{"content_contains", "a"}});
  client.request("tools/call", {{"name", "nope"}});
  client.process().write_line("garbage");
  client.process().close_stdin();
  // Every remaining line must be a JSON-RPC message (next_message throws on anything else).
  while (auto message = client.next_message(std::chrono::seconds(5))) {
    EXPECT_EQ((*message)["jsonrpc"], "2.0") << message->dump();
  }
  EXPECT_EQ(client.process().wait(), 0);
  EXPECT_NE(client.process().stderr_text().find("memtrace-mcp"), std::string::npos);
}

}  // namespace
}  // namespace memtrace::testing
