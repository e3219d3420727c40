// The durable change feed between memtrace-mcp processes on one store (SQLite file, or Redis): a subscriber
// that is away while another process writes comes back with its cursor and reads everything it missed,
// each change once, in order.
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/e2e_store.h"
#include "support/mcp_client.h"

namespace memtrace::testing {
namespace {

struct ChangeFeed : ::testing::Test {
  E2eStore e2e;

  static Json ok(McpClient& client, const std::string& tool, const Json& args) {
    Json r = client.call_tool(tool, args);
    EXPECT_FALSE(r.value("isError", false)) << tool << ": " << r.dump() << "\nstderr:\n"
                                            << client.process().stderr_text();
    return r;
  }
};

TEST_F(ChangeFeed, ASubscriberAwayWhileAnotherProcessWritesReadsEverythingOnceInOrder) {
  constexpr int kMemories = 1000;
  std::string cursor;
  {
    McpClient subscriber{e2e.shared_args({"--agent", "subscriber"})};
    subscriber.initialize();
    Json first = ok(subscriber, "memtrace_changes", Json::object())["structuredContent"];
    EXPECT_TRUE(first["changes"].empty()) << first.dump();
    cursor = first["next_cursor"];
    ASSERT_FALSE(cursor.empty());
  }  // the subscriber's process exits here

  std::vector<std::string> written;
  {
    McpClient writer{e2e.shared_args({"--agent", "writer"})};
    writer.initialize();
    for (int i = 0; i < kMemories; ++i) {
      Json stored = ok(writer, "memtrace_remember", {{"content", "note " + std::to_string(i)}});
      written.push_back(stored["structuredContent"]["id"]);
    }
  }

  // A new process with the old cursor: every memory once, in the order written, across pages.
  McpClient back{e2e.shared_args({"--agent", "subscriber"})};
  back.initialize();
  std::vector<std::string> read;
  std::set<std::string> cursors;
  for (int page = 0; page < 20; ++page) {
    Json answer = ok(back, "memtrace_changes",
                     {{"cursor", cursor}, {"kinds", {"memory.written"}}, {"limit", 300}})["structuredContent"];
    for (const auto& change : answer["changes"]) {
      EXPECT_EQ(change["kind"], "memory.written");
      EXPECT_EQ(change["agent"], "writer");
      read.push_back(change["subject"]);
      EXPECT_TRUE(cursors.insert(change["cursor"].get<std::string>()).second) << "cursor seen twice";
    }
    cursor = answer["next_cursor"];
    if (!answer["more"].get<bool>()) break;
  }
  ASSERT_EQ(read.size(), written.size());
  EXPECT_EQ(read, written);

  // Nothing new: the same cursor comes back, so the subscriber can poll with it.
  Json idle = ok(back, "memtrace_changes", {{"cursor", cursor}})["structuredContent"];
  EXPECT_TRUE(idle["changes"].empty()) << idle.dump();
  EXPECT_EQ(idle["next_cursor"], cursor);
}

TEST_F(ChangeFeed, TheResourceServesTheSamePageAndBadCursorsGetASentence) {
  McpClient client{e2e.shared_args({"--agent", "alpha", "--session", "S1"})};
  client.initialize();
  Json stored = ok(client, "memtrace_remember", {{"content", "the router is a TP-Link"}});
  const std::string id = stored["structuredContent"]["id"];
  ok(client, "memtrace_claim_task", {{"task_id", "t1"}});

  Json tool = ok(client, "memtrace_changes", {{"session_id", "S1"}})["structuredContent"];
  Json read = client.request("resources/read", {{"uri", "memtrace://changes?session_id=S1"}});
  ASSERT_TRUE(read.contains("result")) << read.dump();
  Json resource = Json::parse(read["result"]["contents"][0]["text"].get<std::string>());
  EXPECT_EQ(resource, tool);
  ASSERT_EQ(tool["changes"].size(), 3u) << tool.dump();
  EXPECT_EQ(tool["changes"][0]["kind"], "session.created");
  EXPECT_EQ(tool["changes"][1]["kind"], "memory.written");
  EXPECT_EQ(tool["changes"][1]["memory_id"], id);
  EXPECT_EQ(tool["changes"][2]["kind"], "task.claimed");
  EXPECT_EQ(tool["changes"][2]["task_id"], "t1");
  EXPECT_EQ(tool["changes"][2]["agent"], "alpha");

  // After the memory's cursor, through the resource: only the claim.
  const std::string after = tool["changes"][1]["cursor"];
  Json rest = client.request("resources/read", {{"uri", "memtrace://changes?cursor=" + after}});
  ASSERT_TRUE(rest.contains("result")) << rest.dump();
  Json page = Json::parse(rest["result"]["contents"][0]["text"].get<std::string>());
  ASSERT_EQ(page["changes"].size(), 1u) << page.dump();
  EXPECT_EQ(page["changes"][0]["kind"], "task.claimed");

  // Forgetting is a change too, by whoever forgot.
  McpClient beta{e2e.shared_args({"--agent", "beta"})};
  beta.initialize();
  ok(beta, "memtrace_forget", {{"id", id}});
  Json forgotten =
      ok(client, "memtrace_changes", {{"cursor", after}, {"kinds", {"memory.forgotten"}}})["structuredContent"];
  ASSERT_EQ(forgotten["changes"].size(), 1u) << forgotten.dump();
  EXPECT_EQ(forgotten["changes"][0]["memory_id"], id);
  EXPECT_EQ(forgotten["changes"][0]["agent"], "beta");
  EXPECT_EQ(forgotten["changes"][0]["session_id"], "S1");

  Json bad = client.call_tool("memtrace_changes", {{"cursor", "yesterday"}});
  EXPECT_TRUE(bad.value("isError", false)) << bad.dump();
  EXPECT_NE(bad.dump().find("omit the cursor"), std::string::npos) << bad.dump();
  Json unknown = client.call_tool("memtrace_changes", {{"kinds", {"memory.eaten"}}});
  EXPECT_TRUE(unknown.value("isError", false)) << unknown.dump();
  Json templates = client.request("resources/templates/list");
  EXPECT_NE(templates.dump().find("memtrace://changes{?cursor,session_id}"), std::string::npos)
      << templates.dump();
}

}  // namespace
}  // namespace memtrace::testing
