// The session tools through an MCP connection: create or resume by metadata, close (and the rule
// that a closed session takes no writes), search, context, agent registration, output schemas.
#include <set>

#include <gtest/gtest.h>

#include "mcp/schema_validator.h"
#include "session_test_harness.h"

namespace memtrace {
namespace {

using testing::Json;
using testing::SessionHarness;
using testing::TestClient;

struct SessionToolsTest : ::testing::Test {
  SessionHarness h;
  TestClient client{h.server};

  void SetUp() override { client.initialize(); }

  Json create(const Json& args) {
    Json r = client.call_tool("memtrace_session_create", args);
    EXPECT_FALSE(r.value("isError", false)) << r.dump();
    return r;
  }
  void expect_matches_output_schema(const std::string& tool, const Json& result) {
    const Json* definition = h.server.tools().definition(tool);
    ASSERT_NE(definition, nullptr) << tool;
    mcp::SchemaValidator output((*definition)["outputSchema"]);
    ASSERT_TRUE(result.contains("structuredContent")) << result.dump();
    EXPECT_EQ(output.validate(result["structuredContent"]), std::nullopt) << tool << ": " << result.dump();
  }
};

TEST_F(SessionToolsTest, ToolsAreListedWithStrictInputSchemas) {
  Json tools = client.result("tools/list")["tools"];
  std::set<std::string> names;
  for (const auto& t : tools) {
    names.insert(t["name"].get<std::string>());
    EXPECT_EQ(t["inputSchema"]["additionalProperties"], false) << t["name"];
    EXPECT_TRUE(t.contains("outputSchema")) << t["name"];
    EXPECT_TRUE(t.contains("title")) << t["name"];
    EXPECT_TRUE(t["annotations"].contains("readOnlyHint")) << t["name"];
  }
  for (const char* name : {"memtrace_session_create", "memtrace_session_close", "memtrace_session_search",
                           "memtrace_session_context", "memtrace_agent_register"}) {
    EXPECT_TRUE(names.count(name)) << name;
  }
  Json bad = client.call_tool("memtrace_session_create", {{"metadata", {{"a", "1"}}}, {"color", "red"}});
  EXPECT_TRUE(bad.value("isError", false));
}

TEST_F(SessionToolsTest, CreateSwitchesTheCurrentSessionAndResumesByMetadata) {
  const std::string before = client.session_id();
  Json first = create({{"metadata", {{"account_id", "42"}, {"channel", "telegram"}}}});
  EXPECT_EQ(first["structuredContent"]["resumed"], false);
  const std::string id = first["structuredContent"]["session"]["id"];
  EXPECT_NE(id, before);
  EXPECT_EQ(client.session_id(), id);
  EXPECT_EQ(first["structuredContent"]["session"]["metadata"],
            Json({{"account_id", "42"}, {"channel", "telegram"}}));
  expect_matches_output_schema("memtrace_session_create", first);

  Json stored = client.remember("Customer prefers email over phone.");
  EXPECT_EQ(stored["structuredContent"]["session_id"], id);

  // Another agent on another connection finds the same customer's session by a subset of its metadata.
  TestClient other(h.server);
  other.initialize("2025-11-25", "billing-bot");
  Json resumed = other.call_tool("memtrace_session_create", {{"metadata", {{"account_id", "42"}}}});
  EXPECT_EQ(resumed["structuredContent"]["resumed"], true);
  EXPECT_EQ(resumed["structuredContent"]["session"]["id"], id);
  EXPECT_EQ(resumed["structuredContent"]["session"]["memory_count"], 1);
  EXPECT_EQ(other.session_id(), id);
  EXPECT_NE(resumed["content"][0]["text"].get<std::string>().find("Resumed session " + id),
            std::string::npos);

  // Values are compared as JSON: the number 42 is not the string "42".
  Json number = other.call_tool("memtrace_session_create", {{"metadata", {{"account_id", 42}}}});
  EXPECT_EQ(number["structuredContent"]["resumed"], false);
  EXPECT_NE(number["structuredContent"]["session"]["id"], id);

  // resume:false always starts a new session, even when one matches.
  Json fresh =
      client.call_tool("memtrace_session_create", {{"metadata", {{"account_id", "42"}}}, {"resume", false}});
  EXPECT_EQ(fresh["structuredContent"]["resumed"], false);
  EXPECT_NE(fresh["structuredContent"]["session"]["id"], id);

  // Without metadata, a new session every time.
  Json a = create(Json::object());
  Json b = create(Json::object());
  EXPECT_NE(a["structuredContent"]["session"]["id"], b["structuredContent"]["session"]["id"]);
  EXPECT_EQ(a["structuredContent"]["resumed"], false);
}

TEST_F(SessionToolsTest, ResumeTakesTheNewestActiveMatchAndSkipsClosedOnes) {
  Json older = create({{"metadata", {{"ticket", "T-1"}}}});
  h.clock.advance_ms(1000);
  Json newer = create({{"metadata", {{"ticket", "T-1"}}}, {"resume", false}});
  const std::string newer_id = newer["structuredContent"]["session"]["id"];
  Json resumed = create({{"metadata", {{"ticket", "T-1"}}}});
  EXPECT_EQ(resumed["structuredContent"]["session"]["id"], newer_id);

  Json closed = client.call_tool("memtrace_session_close", {{"session_id", newer_id}});
  ASSERT_FALSE(closed.value("isError", false)) << closed.dump();
  resumed = create({{"metadata", {{"ticket", "T-1"}}}});
  EXPECT_EQ(resumed["structuredContent"]["session"]["id"], older["structuredContent"]["session"]["id"]);
}

TEST_F(SessionToolsTest, AClosedSessionTakesNoNewMemories) {
  create({{"metadata", {{"task", "closing"}}}});
  const std::string id = client.session_id();
  client.remember("Before closing.");
  Json closed = client.call_tool("memtrace_session_close");
  ASSERT_FALSE(closed.value("isError", false)) << closed.dump();
  EXPECT_EQ(closed["structuredContent"]["session"]["status"], "closed");
  EXPECT_TRUE(closed["structuredContent"]["session"].contains("closed_at"));
  EXPECT_EQ(closed["structuredContent"]["session"]["memory_count"], 1);
  expect_matches_output_schema("memtrace_session_close", closed);

  Json write = client.call_tool("memtrace_remember", {{"content", "After closing."}});
  EXPECT_TRUE(write.value("isError", false));
  const std::string why = write["content"][0]["text"];
  EXPECT_NE(why.find("session " + id + " is closed"), std::string::npos) << why;
  EXPECT_NE(why.find("memtrace_session_create"), std::string::npos) << why;

  Json decision = client.call_tool("memtrace_decide", {{"decision", "d"}, {"reasoning", "r"}});
  EXPECT_TRUE(decision.value("isError", false));

  // Also when another connection names the session explicitly.
  TestClient other(h.server);
  other.initialize();
  Json named = other.call_tool("memtrace_remember", {{"content", "sneaking in"}, {"session_id", id}});
  EXPECT_TRUE(named.value("isError", false));

  // Still readable, and closing again is harmless.
  Json context = client.call_tool("memtrace_session_context");
  EXPECT_NE(context["content"][0]["text"].get<std::string>().find("Before closing."), std::string::npos);
  EXPECT_EQ(context["content"][0]["text"].get<std::string>().find("After closing."), std::string::npos);
  EXPECT_FALSE(client.call_tool("memtrace_session_close", {{"session_id", id}}).value("isError", false));

  // A new session makes writing possible again.
  create(Json::object());
  client.remember("In the next session.");
}

TEST_F(SessionToolsTest, ClosingTheUnwrittenCurrentSessionStillClosesIt) {
  Json closed = client.call_tool("memtrace_session_close");
  ASSERT_FALSE(closed.value("isError", false)) << closed.dump();
  EXPECT_EQ(closed["structuredContent"]["session"]["id"], client.session_id());
  EXPECT_TRUE(client.call_tool("memtrace_remember", {{"content", "x"}}).value("isError", false));
}

TEST_F(SessionToolsTest, ClosingAnUnknownSessionIsAToolError) {
  Json r = client.call_tool("memtrace_session_close", {{"session_id", "nope"}});
  EXPECT_TRUE(r.value("isError", false));
  EXPECT_NE(r["content"][0]["text"].get<std::string>().find("there is no session nope"), std::string::npos);
}

TEST_F(SessionToolsTest, SearchFiltersAndPagesNewestFirst) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    h.clock.advance_ms(1000);
    Json r = create({{"metadata", {{"team", "red"}, {"n", std::to_string(i)}}}, {"resume", false}});
    ids.push_back(r["structuredContent"]["session"]["id"]);
    client.remember("note " + std::to_string(i));
  }
  create({{"metadata", {{"team", "blue"}}}});
  client.call_tool("memtrace_session_close", {{"session_id", ids[1]}});

  Json page = client.call_tool("memtrace_session_search", {{"metadata", {{"team", "red"}}}, {"limit", 2}});
  expect_matches_output_schema("memtrace_session_search", page);
  Json sessions = page["structuredContent"]["sessions"];
  ASSERT_EQ(sessions.size(), 2u);
  EXPECT_EQ(sessions[0]["id"], ids[4]);
  EXPECT_EQ(sessions[1]["id"], ids[3]);
  EXPECT_EQ(sessions[0]["agents"], Json::array({"tester"}));
  EXPECT_EQ(sessions[0]["memory_count"], 1);
  ASSERT_TRUE(page["structuredContent"].contains("next_cursor"));

  std::vector<std::string> all;
  for (const auto& s : sessions) all.push_back(s["id"]);
  Json cursor = page["structuredContent"]["next_cursor"];
  while (!cursor.is_null()) {
    Json next = client.call_tool("memtrace_session_search",
                                 {{"metadata", {{"team", "red"}}}, {"limit", 2}, {"cursor", cursor}});
    for (const auto& s : next["structuredContent"]["sessions"]) all.push_back(s["id"]);
    cursor = next["structuredContent"].value("next_cursor", Json());
  }
  EXPECT_EQ(all, std::vector<std::string>(ids.rbegin(), ids.rend()));

  Json active =
      client.call_tool("memtrace_session_search", {{"metadata", {{"team", "red"}}}, {"status", "active"}});
  EXPECT_EQ(active["structuredContent"]["sessions"].size(), 4u);
  Json closed = client.call_tool("memtrace_session_search", {{"status", "closed"}});
  ASSERT_EQ(closed["structuredContent"]["sessions"].size(), 1u);
  EXPECT_EQ(closed["structuredContent"]["sessions"][0]["id"], ids[1]);

  Json by_agent = client.call_tool("memtrace_session_search", {{"agent_id", "nobody"}});
  EXPECT_TRUE(by_agent["structuredContent"]["sessions"].empty());
  EXPECT_EQ(by_agent["content"][0]["text"], "No sessions involving agent nobody.");

  Json text = client.call_tool("memtrace_session_search", {{"metadata", {{"team", "blue"}}}});
  EXPECT_NE(text["content"][0]["text"].get<std::string>().find("← current"), std::string::npos);
}

TEST_F(SessionToolsTest, ContextToolReturnsTheDigestAsTextAndStructure) {
  create({{"metadata", {{"account_id", "7"}}}});
  client.remember("Router is a TP-Link AX50.", {{"importance", 0.9}, {"tags", {"router"}}});
  client.call_tool("memtrace_decide",
                   {{"decision", "Send a technician."}, {"reasoning", "Firmware did not help."}});
  Json r = client.call_tool("memtrace_session_context");
  ASSERT_FALSE(r.value("isError", false)) << r.dump();
  expect_matches_output_schema("memtrace_session_context", r);
  const std::string text = r["content"][0]["text"];
  EXPECT_EQ(r["structuredContent"]["context"], text);
  EXPECT_EQ(r["structuredContent"]["session_id"], client.session_id());
  EXPECT_EQ(r["structuredContent"]["tokens_estimate"], (text.size() + 3) / 4);
  EXPECT_EQ(r["structuredContent"]["omitted"], 0);
  EXPECT_NE(text.find("## Decisions\n- "), std::string::npos) << text;
  EXPECT_NE(text.find("Send a technician. — because: Firmware did not help."), std::string::npos) << text;
  EXPECT_NE(text.find("## Important\n- "), std::string::npos) << text;
  EXPECT_NE(text.find("Metadata: account_id=\"7\""), std::string::npos) << text;

  Json small = client.call_tool("memtrace_session_context", {{"max_tokens", 30}});
  EXPECT_LE(small["structuredContent"]["tokens_estimate"].get<int>(), 30);
  EXPECT_GT(small["structuredContent"]["omitted"].get<int>(), 0);

  Json decisions =
      client.call_tool("memtrace_session_context", {{"types", "decision"}});  // a string is accepted
  EXPECT_EQ(decisions["content"][0]["text"].get<std::string>().find("TP-Link"), std::string::npos);

  Json missing = client.call_tool("memtrace_session_context", {{"session_id", "nope"}});
  EXPECT_TRUE(missing.value("isError", false));
  Json bad = client.call_tool("memtrace_session_context", {{"max_tokens", 0}});
  EXPECT_TRUE(bad.value("isError", false));
}

TEST_F(SessionToolsTest, AgentRegisterCreatesAndUpdates) {
  Json r =
      client.call_tool("memtrace_agent_register",
                       {{"name", "researcher"}, {"description", "Investigates topics and stores findings"}});
  ASSERT_FALSE(r.value("isError", false)) << r.dump();
  expect_matches_output_schema("memtrace_agent_register", r);
  EXPECT_EQ(r["structuredContent"]["id"], "researcher");
  EXPECT_EQ(r["structuredContent"]["description"], "Investigates topics and stores findings");
  EXPECT_NE(r["content"][0]["text"].get<std::string>().find("This connection writes as tester"),
            std::string::npos);

  Json again =
      client.call_tool("memtrace_agent_register", {{"name", "researcher"}, {"description", "Reads papers"}});
  EXPECT_EQ(again["structuredContent"]["description"], "Reads papers");
  EXPECT_EQ(again["structuredContent"]["created_at"], r["structuredContent"]["created_at"]);
  auto stored = h.store->get_agent(kDefaultNamespace, "researcher");
  ASSERT_TRUE(stored && *stored);
  EXPECT_EQ((*stored)->description, "Reads papers");

  EXPECT_TRUE(client.call_tool("memtrace_agent_register", {{"name", "  "}}).value("isError", false));
}

}  // namespace
}  // namespace memtrace
