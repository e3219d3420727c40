// The memory tools end to end over stdio: what a model stores, finds, decides and forgets, and the
// errors it gets when it asks wrongly.
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "support/e2e_store.h"
#include "support/mcp_client.h"

namespace memtrace::testing {
namespace {

struct StdioTools : ::testing::Test {
  E2eStore e2e;
  McpClient client{e2e.single_args({"--agent", "tester"})};
  void SetUp() override { client.initialize("2025-11-25"); }

  std::string remember(const Json& args) {
    Json result = client.call_tool("memtrace_remember", args);
    EXPECT_FALSE(result.value("isError", false)) << result.dump();
    return result["structuredContent"]["id"];
  }
  std::string error_text(const std::string& tool, const Json& args) {
    Json result = client.call_tool(tool, args);
    EXPECT_TRUE(result.value("isError", false)) << result.dump();
    return result["content"][0]["text"];
  }
};

TEST_F(StdioTools, RememberReturnsWhereItWentAndRecallFindsItNewestFirst) {
  Json first = client.call_tool("memtrace_remember",
                                {{"content", "user prefers dark mode"}, {"tags", {"preference"}}});
  auto s = first["structuredContent"];
  EXPECT_EQ(s["agent_id"], "tester");
  EXPECT_EQ(s["id"].get<std::string>().size(), 26u);
  EXPECT_FALSE(s["session_id"].get<std::string>().empty());
  EXPECT_TRUE(s["created_at"].get<std::string>().back() == 'Z');
  remember({{"content", "user lives in Lisbon"}, {"type", "fact"}, {"importance", 0.9}});

  Json recall = client.call_tool("memtrace_recall", {{"since", "30m"}});
  auto memories = recall["structuredContent"]["memories"];
  ASSERT_EQ(memories.size(), 2u);
  EXPECT_EQ(memories[0]["content"], "user lives in Lisbon");
  EXPECT_EQ(memories[0]["type"], "fact");
  EXPECT_EQ(memories[1]["tags"], Json::array({"preference"}));
  EXPECT_EQ(recall["structuredContent"]["scope"]["namespace"], "default");
  EXPECT_TRUE(recall["structuredContent"]["scope"].contains("since"));
  // The text rendering carries the same facts for clients that only read text.
  std::string text = recall["content"][0]["text"];
  EXPECT_NE(text.find("2 memories (newest first)"), std::string::npos);
  EXPECT_NE(text.find("user prefers dark mode"), std::string::npos);
}

TEST_F(StdioTools, SearchCombinesSubstringTagsTypesAndImportance) {
  remember({{"content", "Router model TP-Link AX3000 keeps rebooting"},
            {"tags", {"internet", "router"}},
            {"importance", 0.8}});
  remember({{"content", "Customer asked about the HBO package"}, {"tags", {"tv"}}, {"importance", 0.3}});
  remember({{"content", "router replaced under warranty"}, {"tags", {"internet"}}, {"type", "action"}});

  auto search = [&](const Json& args) {
    return client.call_tool("memtrace_search", args)["structuredContent"]["memories"];
  };
  EXPECT_EQ(search({{"content_contains", "ROUTER"}}).size(), 2u);
  EXPECT_EQ(search({{"content_contains", "router"}, {"tags", {"router"}}}).size(), 1u);
  EXPECT_EQ(search({{"tags", {"internet"}}, {"types", {"action"}}}).size(), 1u);
  EXPECT_EQ(search({{"min_importance", 0.7}}).size(), 1u);
  EXPECT_EQ(search({{"tags", {"inter"}}}).size(), 0u);  // tags match exactly
  Json none = client.call_tool("memtrace_search", {{"content_contains", "satellite"}});
  EXPECT_EQ(none["structuredContent"]["scope"]["content_contains"], "satellite");
  EXPECT_NE(none["content"][0]["text"].get<std::string>().find("No memories"), std::string::npos);
}

TEST_F(StdioTools, CommaSeparatedTagsAreSplit) {
  remember({{"content", "x"}, {"tags", "billing, urgent"}});
  Json found = client.call_tool("memtrace_search", {{"tags", {"urgent", "billing"}}});
  EXPECT_EQ(found["structuredContent"]["memories"].size(), 1u);
}

TEST_F(StdioTools, DecisionKeepsItsReasoningAndIsFoundByType) {
  Json decided =
      client.call_tool("memtrace_decide", {{"decision", "Use PostgreSQL"}, {"reasoning", "team knows it"}});
  EXPECT_FALSE(decided.value("isError", false));
  Json found = client.call_tool("memtrace_search", {{"types", {"decision"}}});
  auto memory = found["structuredContent"]["memories"][0];
  EXPECT_EQ(memory["content"], "Use PostgreSQL");
  EXPECT_EQ(memory["reasoning"], "team knows it");
  EXPECT_EQ(memory["type"], "decision");
}

TEST_F(StdioTools, ForgetRemovesExactlyThatMemory) {
  std::string keep = remember({{"content", "keep me"}});
  std::string drop = remember({{"content", "wrong fact"}});
  Json forgotten = client.call_tool("memtrace_forget", {{"id", drop}});
  EXPECT_EQ(forgotten["structuredContent"]["forgotten"], true);
  auto memories = client.call_tool("memtrace_recall")["structuredContent"]["memories"];
  ASSERT_EQ(memories.size(), 1u);
  EXPECT_EQ(memories[0]["id"], keep);
  EXPECT_NE(error_text("memtrace_forget", {{"id", drop}}).find("there is no memory"), std::string::npos);
}

TEST_F(StdioTools, PaginationWithCursorVisitsEveryMemoryOnce) {
  for (int i = 0; i < 7; ++i) remember({{"content", "note " + std::to_string(i)}});
  std::set<std::string> seen;
  Json args = {{"limit", 3}};
  int pages = 0;
  for (;;) {
    auto page = client.call_tool("memtrace_recall", args)["structuredContent"];
    for (const auto& m : page["memories"]) EXPECT_TRUE(seen.insert(m["id"]).second);
    ++pages;
    if (!page.contains("next_cursor")) break;
    args["cursor"] = page["next_cursor"];
  }
  EXPECT_EQ(seen.size(), 7u);
  EXPECT_EQ(pages, 3);
}

TEST_F(StdioTools, TtlSetsExpiry) {
  Json stored = client.call_tool("memtrace_remember", {{"content", "temporary"}, {"ttl", "1h"}});
  EXPECT_TRUE(stored["structuredContent"].contains("expires_at"));
}

TEST_F(StdioTools, BadArgumentsAreToolErrorsAModelCanActOn) {
  EXPECT_EQ(error_text("memtrace_remember", {{"content", "x"}, {"importance", 5}}),
            "Invalid arguments for memtrace_remember: importance must be between 0 and 1, got 5");
  EXPECT_NE(error_text("memtrace_recall", {{"since", "last tuesday"}})
                .find("since accepts 30s, 15m, 4h, 7d, 2w or an ISO-8601 time"),
            std::string::npos);
  EXPECT_NE(error_text("memtrace_remember", {}).find("content is required"), std::string::npos);
  EXPECT_NE(error_text("memtrace_remember", {{"content", "   "}}).find("content must not be empty"),
            std::string::npos);
  EXPECT_NE(error_text("memtrace_remember", {{"content", "x"}, {"tags", {"has space"}}}).find("tags[0]"),
            std::string::npos);
  EXPECT_NE(error_text("memtrace_decide", {{"decision", "x"}}).find("reasoning is required"),
            std::string::npos);
  EXPECT_NE(error_text("memtrace_recall", {{"cursor", "bogus"}}).find("cursor"), std::string::npos);
  EXPECT_NE(error_text("memtrace_remember", {{"content", "x"}, {"session_id", "01ARZ3NDEKTSV4RRFFQ69G5FAV"}})
                .find("there is no session"),
            std::string::npos);
}

TEST_F(StdioTools, ContentOverTheLimitIsRefusedWithTheLimit) {
  McpClient small{e2e.single_args({"--max-content-bytes", "100"})};
  small.initialize();
  Json result = small.call_tool("memtrace_remember", {{"content", std::string(101, 'a')}});
  EXPECT_TRUE(result.value("isError", false));
  EXPECT_NE(result["content"][0]["text"].get<std::string>().find("the limit is 100"), std::string::npos);
}

TEST(StdioAgent, AgentDefaultsToTheClientName) {
  E2eStore e2e;
  McpClient client{e2e.single_args()};
  client.initialize("2025-11-25", "claude-code");
  Json stored = client.call_tool("memtrace_remember", {{"content", "x"}});
  EXPECT_EQ(stored["structuredContent"]["agent_id"], "claude-code");
}

TEST(StdioAgent, OlderClientsGetTextOnlyResults) {
  E2eStore e2e;
  McpClient client{e2e.single_args()};
  client.initialize("2024-11-05");
  Json stored = client.call_tool("memtrace_remember", {{"content", "x"}});
  EXPECT_FALSE(stored.contains("structuredContent"));
  EXPECT_NE(stored["content"][0]["text"].get<std::string>().find("Stored memory"), std::string::npos);
}

TEST(StdioWindow, MaxMemoriesPerSessionKeepsTheMostImportantAndNewest) {
  E2eStore e2e;
  McpClient client{e2e.single_args({"--max-memories-per-session", "2"})};
  client.initialize("2025-11-25");
  for (const auto& [content, importance] : std::vector<std::pair<std::string, double>>{
           {"keep: allergy to penicillin", 1.0}, {"small talk about weather", 0.1}, {"newest note", 0.5}}) {
    Json stored = client.call_tool("memtrace_remember", {{"content", content}, {"importance", importance}});
    ASSERT_FALSE(stored.value("isError", false)) << stored.dump();
  }
  auto memories = client.call_tool("memtrace_recall", {{"since", "1h"}})["structuredContent"]["memories"];
  ASSERT_EQ(memories.size(), 2u) << memories.dump();
  EXPECT_EQ(memories[0]["content"], "newest note");
  EXPECT_EQ(memories[1]["content"], "keep: allergy to penicillin");
}

}  // namespace
}  // namespace memtrace::testing
