// Facts that supersede facts and no pile of duplicates, end to end over stdio: memtrace_remember's
// supersedes and deduplication, and what recall, search and the session context show afterwards.
#include <signal.h>

#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/child_process.h"
#include "support/e2e_store.h"
#include "support/mcp_client.h"
#include "support/redis_server.h"

namespace memtrace::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct SupersedeDedup : ::testing::Test {
  E2eStore e2e;

  static Json remember(McpClient& client, const Json& args) {
    Json result = client.call_tool("memtrace_remember", args);
    EXPECT_FALSE(result.value("isError", false)) << result.dump();
    return result["structuredContent"];
  }
  static std::string refusal(McpClient& client, const Json& args) {
    Json result = client.call_tool("memtrace_remember", args);
    EXPECT_TRUE(result.value("isError", false)) << result.dump();
    return result["content"][0]["text"];
  }
  static std::vector<std::string> contents(const Json& page) {
    std::vector<std::string> out;
    for (const auto& m : page["structuredContent"]["memories"]) out.push_back(m["content"]);
    return out;
  }
  static void finish(McpClient& client) {
    client.process().close_stdin();
    ASSERT_EQ(client.process().wait(), 0) << client.process().stderr_text();
  }
};

TEST_F(SupersedeDedup, ARetriedRememberOrDecideWithItsIdempotencyKeyIsStoredOnce) {
  // Dedup by content is off here: only the key makes the retry safe.
  McpClient client{e2e.single_args({"--agent", "billing", "--session", "acct-7", "--dedup-window", "0"})};
  client.initialize();
  Json first = remember(client, {{"content", "refund issued"}, {"idempotency_key", "refund-7-a"}});
  EXPECT_EQ(first["deduplicated"], false);
  // A client that timed out retries with the same key: the first memory comes back, nothing new is stored.
  Json retry = remember(client, {{"content", "refund issued"}, {"idempotency_key", "refund-7-a"}});
  EXPECT_EQ(retry["id"], first["id"]);
  EXPECT_EQ(retry["deduplicated"], true);
  // Without the key the same content is stored again (the window is off), with another key too.
  Json unkeyed = remember(client, {{"content", "refund issued"}});
  EXPECT_NE(unkeyed["id"], first["id"]);
  Json decided = client.call_tool("memtrace_decide", {{"decision", "refund in full"},
                                                      {"reasoning", "the outage was ours"},
                                                      {"idempotency_key", "decide-7"}});
  ASSERT_FALSE(decided.value("isError", false)) << decided.dump();
  Json decided_again = client.call_tool("memtrace_decide", {{"decision", "refund in full"},
                                                            {"reasoning", "the outage was ours"},
                                                            {"idempotency_key", "decide-7"}});
  ASSERT_FALSE(decided_again.value("isError", false)) << decided_again.dump();
  EXPECT_EQ(decided_again["structuredContent"]["id"], decided["structuredContent"]["id"]);
  EXPECT_EQ(decided_again["structuredContent"]["deduplicated"], true);
  EXPECT_THAT(decided_again["content"][0]["text"].get<std::string>(), HasSubstr("no copy was stored"));
  Json page = client.call_tool("memtrace_recall");
  EXPECT_EQ(page["structuredContent"]["memories"].size(), 3u) << page.dump();
  EXPECT_THAT(refusal(client, {{"content", "x"}, {"idempotency_key", "   "}}),
              HasSubstr("idempotency_key must not be blank"));
  finish(client);
}

// Redis frozen mid-write: the call times out without knowing whether the write landed. The error says
// so and how to retry; the retry with the same key leaves exactly one memory, landed or not.
TEST(IdempotentRetry, AWriteThatTimedOutIsRetriedSafelyWithItsKey) {
  RedisServer redis;
  McpClient client{{"--store", redis.url(), "--agent", "billing", "--session", "acct-9", "--dedup-window",
                    "0", "--redis-command-timeout-ms", "300"}};
  client.initialize();
  Json warm = client.call_tool("memtrace_remember", {{"content", "session opened"}});
  ASSERT_FALSE(warm.value("isError", false)) << warm.dump();

  ASSERT_EQ(::kill(redis.pid(), SIGSTOP), 0);
  Json lost = client.call_tool("memtrace_remember",
                               {{"content", "refund 9 issued"}, {"idempotency_key", "refund-9"}});
  ASSERT_EQ(::kill(redis.pid(), SIGCONT), 0);
  ASSERT_TRUE(lost.value("isError", false)) << lost.dump();
  const std::string text = lost["content"][0]["text"];
  EXPECT_THAT(text, HasSubstr("may or may not have been stored"));
  EXPECT_THAT(text, HasSubstr("same idempotency_key"));

  Json retried;
  for (int attempt = 0; attempt < 20; ++attempt) {  // the server may still be reconnecting
    retried = client.call_tool("memtrace_remember",
                               {{"content", "refund 9 issued"}, {"idempotency_key", "refund-9"}});
    if (!retried.value("isError", false)) break;
  }
  ASSERT_FALSE(retried.value("isError", false)) << retried.dump();
  Json again = client.call_tool("memtrace_remember",
                                {{"content", "refund 9 issued"}, {"idempotency_key", "refund-9"}});
  EXPECT_EQ(again["structuredContent"]["id"], retried["structuredContent"]["id"]);
  EXPECT_EQ(again["structuredContent"]["deduplicated"], true);
  Json found = client.call_tool("memtrace_search", {{"content_contains", "refund 9"}});
  EXPECT_EQ(found["structuredContent"]["memories"].size(), 1u) << found.dump();
  client.process().close_stdin();
  EXPECT_EQ(client.process().wait(), 0) << client.process().stderr_text();
}

TEST_F(SupersedeDedup, ASupersededFactLeavesRecallSearchAndTheContext) {
  McpClient client{e2e.single_args({"--agent", "support", "--session", "acct-42"})};
  client.initialize();
  Json old = remember(client, {{"content", "the customer's router is a TP-Link"}, {"type", "fact"}});
  Json unrelated = remember(client, {{"content", "customer prefers email"}});
  Json newer = remember(
      client,
      {{"content", "the customer's router is a Netgear"}, {"type", "fact"}, {"supersedes", {old["id"]}}});
  EXPECT_EQ(newer["superseded"], Json::array({old["id"]}));
  EXPECT_EQ(newer["deduplicated"], false);

  EXPECT_EQ(contents(client.call_tool("memtrace_recall")),
            (std::vector<std::string>{"the customer's router is a Netgear", "customer prefers email"}));
  EXPECT_EQ(contents(client.call_tool("memtrace_search", {{"content_contains", "router"}})),
            (std::vector<std::string>{"the customer's router is a Netgear"}));

  // Asked for, the superseded memory comes back carrying what replaced it and when.
  Json all = client.call_tool("memtrace_recall", {{"include_superseded", true}});
  auto memories = all["structuredContent"]["memories"];
  ASSERT_EQ(memories.size(), 3u);
  EXPECT_EQ(memories[2]["id"], old["id"]);
  EXPECT_EQ(memories[2]["superseded_by"], newer["id"]);
  EXPECT_EQ(memories[2]["valid_until"], newer["created_at"]);
  EXPECT_FALSE(memories[0].contains("superseded_by"));
  EXPECT_EQ(all["structuredContent"]["scope"]["include_superseded"], true);
  EXPECT_THAT(all["content"][0]["text"].get<std::string>(),
              HasSubstr("[superseded by " + newer["id"].get<std::string>()));
  Json searched =
      client.call_tool("memtrace_search", {{"content_contains", "router"}, {"include_superseded", true}});
  EXPECT_EQ(searched["structuredContent"]["memories"].size(), 2u);

  // The session context (tool and resource) says what is true now.
  std::string context = client.call_tool("memtrace_session_context")["structuredContent"]["context"];
  EXPECT_THAT(context, HasSubstr("router is a Netgear"));
  EXPECT_THAT(context, Not(HasSubstr("TP-Link")));
  EXPECT_THAT(context, HasSubstr("customer prefers email"));
  Json read = client.request("resources/read", {{"uri", "memtrace://sessions/current/context"}});
  std::string resource = read["result"]["contents"][0]["text"];
  EXPECT_THAT(resource, HasSubstr("router is a Netgear"));
  EXPECT_THAT(resource, Not(HasSubstr("TP-Link")));
  (void)unrelated;
  finish(client);
}

TEST_F(SupersedeDedup, SupersedingAnotherNamespacesMemoryIsRefusedAndNothingIsStored) {
  McpClient a{e2e.shared_args({"--agent", "a", "--namespace", "tenant-a", "--session", "s"})};
  a.initialize();
  Json theirs = remember(a, {{"content", "tenant a's fact"}});
  McpClient b{e2e.shared_args({"--agent", "b", "--namespace", "tenant-b", "--session", "s"})};
  b.initialize();
  std::string text = refusal(b, {{"content", "trying to override"}, {"supersedes", {theirs["id"]}}});
  EXPECT_THAT(text, HasSubstr("cannot supersede memory " + theirs["id"].get<std::string>()));
  EXPECT_THAT(text, HasSubstr("nothing was stored"));
  EXPECT_TRUE(b.call_tool("memtrace_recall", {{"include_superseded", true}})["structuredContent"]["memories"]
                  .empty());
  // Tenant a's memory is untouched.
  auto mine = a.call_tool("memtrace_recall")["structuredContent"]["memories"];
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_FALSE(mine[0].contains("superseded_by"));
  // An id nobody has is refused the same way.
  EXPECT_THAT(refusal(a, {{"content", "x"}, {"supersedes", {"01ARZ3NDEKTSV4RRFFQ69G5FAV"}}}),
              HasSubstr("cannot supersede memory 01ARZ3NDEKTSV4RRFFQ69G5FAV"));
  EXPECT_EQ(a.call_tool("memtrace_recall")["structuredContent"]["memories"].size(), 1u);
  finish(a);
  finish(b);
}

TEST_F(SupersedeDedup, SupersedingAnAlreadySupersededMemoryNamesItsSuccessor) {
  McpClient client{e2e.single_args({"--agent", "tester"})};
  client.initialize();
  Json v1 = remember(client, {{"content", "plan v1"}});
  Json v2 = remember(client, {{"content", "plan v2"}, {"supersedes", {v1["id"]}}});
  std::string text = refusal(client, {{"content", "plan v3"}, {"supersedes", {v1["id"]}}});
  EXPECT_THAT(text, HasSubstr("already superseded by " + v2["id"].get<std::string>()));
  EXPECT_EQ(contents(client.call_tool("memtrace_recall")), (std::vector<std::string>{"plan v2"}));
  remember(client, {{"content", "plan v3"}, {"supersedes", {v2["id"]}}});
  EXPECT_EQ(contents(client.call_tool("memtrace_recall")), (std::vector<std::string>{"plan v3"}));
  finish(client);
}

TEST_F(SupersedeDedup, ARepeatedRememberReturnsTheFirstMemory) {
  McpClient client{e2e.single_args({"--agent", "tester"})};
  client.initialize();
  Json first = remember(client, {{"content", "user prefers dark mode"}, {"tags", {"ui", "preference"}}});
  EXPECT_EQ(first["deduplicated"], false);
  Json result = client.call_tool("memtrace_remember",
                                 {{"content", "user prefers dark mode"}, {"tags", {"preference", "ui"}}});
  ASSERT_FALSE(result.value("isError", false)) << result.dump();
  EXPECT_EQ(result["structuredContent"]["id"], first["id"]);
  EXPECT_EQ(result["structuredContent"]["created_at"], first["created_at"]);
  EXPECT_EQ(result["structuredContent"]["deduplicated"], true);
  EXPECT_THAT(result["content"][0]["text"].get<std::string>(), HasSubstr("no copy was stored"));
  EXPECT_EQ(client.call_tool("memtrace_recall")["structuredContent"]["memories"].size(), 1u);

  // Other tags, type or session: a memory of its own.
  EXPECT_NE(remember(client, {{"content", "user prefers dark mode"}, {"tags", {"ui"}}})["id"], first["id"]);
  EXPECT_NE(remember(client, {{"content", "user prefers dark mode"},
                              {"tags", {"ui", "preference"}},
                              {"type", "fact"}})["id"],
            first["id"]);
  Json session = client.call_tool("memtrace_session_create", {{"metadata", {{"account_id", "7"}}}});
  ASSERT_FALSE(session.value("isError", false)) << session.dump();
  Json elsewhere = remember(client, {{"content", "user prefers dark mode"},
                                     {"tags", {"ui", "preference"}},
                                     {"session_id", session["structuredContent"]["session"]["id"]}});
  EXPECT_NE(elsewhere["id"], first["id"]);
  EXPECT_EQ(elsewhere["deduplicated"], false);
  EXPECT_EQ(client.call_tool("memtrace_recall")["structuredContent"]["memories"].size(), 4u);
  finish(client);
}

TEST_F(SupersedeDedup, AnotherAgentsEqualMemoryIsNoDuplicate) {
  McpClient first{e2e.shared_args({"--agent", "alice", "--session", "shared"})};
  first.initialize();
  McpClient second{e2e.shared_args({"--agent", "bob", "--session", "shared"})};
  second.initialize();
  Json a = remember(first, {{"content", "the build is green"}});
  Json b = remember(second, {{"content", "the build is green"}});
  EXPECT_NE(a["id"], b["id"]);
  EXPECT_EQ(b["deduplicated"], false);
  finish(first);
  finish(second);
}

TEST_F(SupersedeDedup, AZeroWindowStoresCopies) {
  McpClient client{e2e.single_args({"--agent", "tester", "--dedup-window", "0"})};
  client.initialize();
  Json first = remember(client, {{"content", "heartbeat"}});
  Json second = remember(client, {{"content", "heartbeat"}});
  EXPECT_NE(first["id"], second["id"]);
  EXPECT_EQ(second["deduplicated"], false);
  EXPECT_EQ(client.call_tool("memtrace_recall")["structuredContent"]["memories"].size(), 2u);
  finish(client);
}

TEST_F(SupersedeDedup, TwoProcessesRememberingTheSameThingAtOnceStoreOneMemory) {
  constexpr int kRounds = 20;
  McpClient one{e2e.shared_args({"--agent", "twin", "--session", "race"})};
  one.initialize();
  McpClient two{e2e.shared_args({"--agent", "twin", "--session", "race"})};
  two.initialize();
  for (int round = 0; round < kRounds; ++round) {
    const Json args = {{"content", "observed event #" + std::to_string(round)}};
    Json first, second;
    std::thread racer([&] { first = two.call_tool("memtrace_remember", args); });
    second = one.call_tool("memtrace_remember", args);
    racer.join();
    ASSERT_FALSE(first.value("isError", false)) << first.dump();
    ASSERT_FALSE(second.value("isError", false)) << second.dump();
    EXPECT_EQ(first["structuredContent"]["id"], second["structuredContent"]["id"]) << "round " << round;
    EXPECT_NE(first["structuredContent"]["deduplicated"], second["structuredContent"]["deduplicated"])
        << "round " << round;
  }
  Json all = one.call_tool("memtrace_recall", {{"limit", 200}});
  EXPECT_EQ(all["structuredContent"]["memories"].size(), static_cast<std::size_t>(kRounds));
  finish(one);
  finish(two);
}

TEST_F(SupersedeDedup, BadSupersedesAreRefusedWithASentence) {
  McpClient client{e2e.single_args({"--agent", "tester"})};
  client.initialize();
  Json result = client.call_tool("memtrace_remember", {{"content", "x"}, {"supersedes", {"not-an-id"}}});
  EXPECT_TRUE(result.value("isError", false)) << result.dump();
  std::vector<std::string> many;
  for (int i = 10; i < 43; ++i) many.push_back("01ARZ3NDEKTSV4RRFFQ69G5F" + std::to_string(i));  // 33 ids
  result = client.call_tool("memtrace_remember", {{"content", "x"}, {"supersedes", many}});
  EXPECT_TRUE(result.value("isError", false)) << result.dump();
  EXPECT_TRUE(client.call_tool("memtrace_recall")["structuredContent"]["memories"].empty());
  finish(client);
}

TEST(DedupWindowFlag, IsListedInHelpAndABadValueIsAOneLineErrorNamingIt) {
  ChildProcess help({server_binary(), "--help"});
  std::string out;
  while (auto line = help.read_line()) out += *line + "\n";
  EXPECT_EQ(help.wait(), 0);
  EXPECT_THAT(out, HasSubstr("--dedup-window"));
  EXPECT_THAT(out, HasSubstr("MEMTRACE_DEDUP_WINDOW"));

  ChildProcess bad({server_binary(), "--store", "memory", "--dedup-window", "soon"});
  EXPECT_NE(bad.wait(), 0);
  EXPECT_THAT(bad.stderr_text(), HasSubstr("--dedup-window"));
  EXPECT_FALSE(bad.read_line(std::chrono::milliseconds(100)));  // nothing on stdout
}

TEST(DedupWindowFlag, TheEnvironmentTwinTurnsItOff) {
  McpClient client{{}, {{"MEMTRACE_STORE", "memory"}, {"MEMTRACE_DEDUP_WINDOW", "0"}}};
  client.initialize();
  std::string first = client.call_tool("memtrace_remember", {{"content", "x"}})["structuredContent"]["id"];
  std::string second = client.call_tool("memtrace_remember", {{"content", "x"}})["structuredContent"]["id"];
  EXPECT_NE(first, second);
}

}  // namespace
}  // namespace memtrace::testing
