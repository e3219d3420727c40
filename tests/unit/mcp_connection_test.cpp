// An MCP connection driven in-process: concurrency guarantees, cancellation, handler failures,
// progress, and tool results that match their declared output schemas.
#include <condition_variable>
#include <future>
#include <mutex>

#include <gtest/gtest.h>

#include "mcp/schema_validator.h"
#include "mcp/server.h"
#include "store/sqlite/sqlite_store.h"
#include "support/inbox.h"

namespace memtrace::mcp {
namespace {

using memtrace::testing::Inbox;

// A latch a test tool waits on.
struct Gate {
  std::mutex mutex;
  std::condition_variable cv;
  bool open = false;
  bool entered = false;
  void wait() {
    std::unique_lock lock(mutex);
    entered = true;
    cv.notify_all();
    cv.wait(lock, [&] { return open; });
  }
  void wait_entered() {
    std::unique_lock lock(mutex);
    cv.wait_for(lock, std::chrono::seconds(5), [&] { return entered; });
  }
  void release() {
    std::lock_guard lock(mutex);
    open = true;
    cv.notify_all();
  }
};

Json test_tool(const std::string& name) {
  return {{"name", name},
          {"description", "test"},
          {"inputSchema", {{"type", "object"}, {"additionalProperties", false}}}};
}

struct ConnectionTest : ::testing::Test {
  std::unique_ptr<Store> store = *open_sqlite_store({":memory:"});
  SystemClock clock;
  Engine engine{*store, clock};
  Server server{engine, ServerOptions{}};
  Inbox inbox;
  Gate gate;
  std::unique_ptr<Connection> connection;

  void SetUp() override {
    server.tools().add(test_tool("slow"), [this](const Json&, ToolContext&) {
      gate.wait();
      ToolResult r;
      r.text = "slow done";
      return r;
    });
    server.tools().add(test_tool("explode"),
                       [](const Json&, ToolContext&) -> ToolResult { throw std::runtime_error("kaboom"); });
    server.tools().add(test_tool("progressive"), [](const Json&, ToolContext& context) {
      context.progress(0, 2, "starting");
      context.progress(1, 2, "");
      context.progress(2, 2, "done");
      ToolResult r;
      r.text = "ok";
      return r;
    });
    connection = std::make_unique<Connection>(server, inbox);
    send({{"jsonrpc", "2.0"},
          {"id", "init"},
          {"method", "initialize"},
          {"params", {{"protocolVersion", "2025-11-25"}, {"clientInfo", {{"name", "unit"}}}}}});
    ASSERT_TRUE(inbox.reply_to("init"));
  }
  void TearDown() override {
    gate.release();
    connection->drain(std::chrono::seconds(5));
  }
  void send(const Json& message) { connection->receive(message.dump()); }
  Json call(const Json& id, const std::string& tool, const Json& args = Json::object(),
            const Json& meta = nullptr) {
    Json params = {{"name", tool}, {"arguments", args}};
    if (!meta.is_null()) params["_meta"] = meta;
    send({{"jsonrpc", "2.0"}, {"id", id}, {"method", "tools/call"}, {"params", params}});
    auto reply = inbox.reply_to(id);
    EXPECT_TRUE(reply) << "no reply to " << id;
    return reply ? *reply : Json();
  }
};

TEST_F(ConnectionTest, PingIsAnsweredWhileASlowToolRuns) {
  send({{"jsonrpc", "2.0"}, {"id", 1}, {"method", "tools/call"}, {"params", {{"name", "slow"}}}});
  gate.wait_entered();
  send({{"jsonrpc", "2.0"}, {"id", 2}, {"method", "ping"}});
  EXPECT_TRUE(inbox.reply_to(2, std::chrono::seconds(2)));
  EXPECT_FALSE(inbox.reply_to(1, std::chrono::milliseconds(50)));  // still running
  gate.release();
  auto done = inbox.reply_to(1);
  ASSERT_TRUE(done);
  EXPECT_EQ((*done)["result"]["content"][0]["text"], "slow done");
}

TEST_F(ConnectionTest, CancelledCallGetsNoReply) {
  send({{"jsonrpc", "2.0"}, {"id", 1}, {"method", "tools/call"}, {"params", {{"name", "slow"}}}});
  gate.wait_entered();
  send({{"jsonrpc", "2.0"},
        {"method", "notifications/cancelled"},
        {"params", {{"requestId", 1}, {"reason", "user"}}}});
  gate.release();
  EXPECT_TRUE(connection->drain(std::chrono::seconds(5)));
  EXPECT_FALSE(inbox.reply_to(1, std::chrono::milliseconds(100)));
  // The connection keeps working.
  send({{"jsonrpc", "2.0"}, {"id", 3}, {"method", "ping"}});
  EXPECT_TRUE(inbox.reply_to(3));
}

TEST_F(ConnectionTest, CancellingACallWithdrawsWhatItAskedOfTheClient) {
  std::promise<Result<Json>> asked;
  server.tools().add(test_tool("asks"), [&asked](const Json&, ToolContext& context) {
    asked.set_value(context.request("sampling/createMessage", Json::object(), std::chrono::seconds(60)));
    ToolResult r;
    r.text = "asked";
    return r;
  });
  send({{"jsonrpc", "2.0"}, {"id", 7}, {"method", "tools/call"}, {"params", {{"name", "asks"}}}});
  auto request = inbox.take([](const Json& m) { return m.value("method", "") == "sampling/createMessage"; });
  ASSERT_TRUE(request);
  send({{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"}, {"params", {{"requestId", 7}}}});

  // The client is told its sampling request is withdrawn, and the tool stops waiting at once (not after
  // its 60 s timeout).
  auto withdrawn =
      inbox.take([](const Json& m) { return m.value("method", "") == "notifications/cancelled"; });
  ASSERT_TRUE(withdrawn);
  EXPECT_EQ((*withdrawn)["params"]["requestId"], (*request)["id"]);
  auto answer = asked.get_future();
  ASSERT_EQ(answer.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_FALSE(answer.get());
  EXPECT_TRUE(connection->drain(std::chrono::seconds(5)));
  EXPECT_FALSE(inbox.reply_to(7, std::chrono::milliseconds(100)));
  // A late answer to the withdrawn request is ignored, and the connection keeps working.
  send({{"jsonrpc", "2.0"}, {"id", (*request)["id"]}, {"result", {{"role", "assistant"}}}});
  send({{"jsonrpc", "2.0"}, {"id", 8}, {"method", "ping"}});
  EXPECT_TRUE(inbox.reply_to(8));
}

TEST_F(ConnectionTest, ThrowingHandlerBecomesInternalErrorAndTheServerLivesOn) {
  Json reply = call(1, "explode");
  EXPECT_EQ(reply["error"]["code"], -32603);
  EXPECT_EQ(reply["error"]["message"].get<std::string>().find("kaboom"),
            std::string::npos);  // no internals leak
  EXPECT_FALSE(call(2, "memtrace_recall")["result"].value("isError", false));
}

TEST_F(ConnectionTest, ProgressNotificationsCarryTheTokenAndIncrease) {
  Json reply = call(1, "progressive", Json::object(), {{"progressToken", "tok"}});
  EXPECT_TRUE(reply.contains("result"));
  double last = -1;
  for (int i = 0; i < 3; ++i) {
    auto n = inbox.take([](const Json& m) { return m.value("method", "") == "notifications/progress"; });
    ASSERT_TRUE(n);
    EXPECT_EQ((*n)["params"]["progressToken"], "tok");
    EXPECT_GT((*n)["params"]["progress"].get<double>(), last);
    last = (*n)["params"]["progress"];
  }
}

TEST_F(ConnectionTest, NoProgressWithoutAToken) {
  call(1, "progressive");
  EXPECT_FALSE(inbox.take([](const Json& m) { return m.value("method", "") == "notifications/progress"; },
                          std::chrono::milliseconds(50)));
}

TEST_F(ConnectionTest, EveryMemoryToolResultMatchesItsOutputSchema) {
  Json stored = call(1, "memtrace_remember",
                     {{"content", "x"}, {"tags", {"a"}}, {"ttl", "1d"}, {"metadata", {{"k", 1}}}})["result"];
  std::string id = stored["structuredContent"]["id"];
  Json results = {
      {"memtrace_remember", stored},
      {"memtrace_decide", call(2, "memtrace_decide", {{"decision", "d"}, {"reasoning", "r"}})["result"]},
      {"memtrace_recall", call(3, "memtrace_recall", {{"limit", 1}})["result"]},
      {"memtrace_search", call(4, "memtrace_search", {{"content_contains", "x"}, {"tags", {"a"}}})["result"]},
      {"memtrace_forget", call(5, "memtrace_forget", {{"id", id}})["result"]},
  };
  for (auto it = results.begin(); it != results.end(); ++it) {
    const Json* definition = server.tools().definition(it.key());
    ASSERT_NE(definition, nullptr);
    SchemaValidator output((*definition)["outputSchema"]);
    ASSERT_FALSE(it.value().value("isError", false)) << it.key() << ": " << it.value().dump();
    EXPECT_EQ(output.validate(it.value()["structuredContent"]), std::nullopt) << it.key();
  }
  // The recall page was limited to 1 and says there is more.
  EXPECT_TRUE(results["memtrace_recall"]["structuredContent"].contains("next_cursor"));
}

TEST_F(ConnectionTest, ToolsListIsStableAndNamesAreValid) {
  send({{"jsonrpc", "2.0"}, {"id", 1}, {"method", "tools/list"}});
  auto first = inbox.reply_to(1);
  send({{"jsonrpc", "2.0"}, {"id", 2}, {"method", "tools/list"}});
  auto second = inbox.reply_to(2);
  ASSERT_TRUE(first && second);
  EXPECT_EQ((*first)["result"], (*second)["result"]);
}

}  // namespace
}  // namespace memtrace::mcp
