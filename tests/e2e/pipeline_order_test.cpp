// One client, one order: calls a client sends without waiting for the answers take effect in the order
// sent. A search pipelined right behind a remember finds it; a share_result pipelined right behind its
// claim finds the claim held. Over stdio (on SQLite and, as redis.StdioPipeline.*, on Redis) and over
// Streamable HTTP (on SQLite and on a private Redis).
#include <map>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "support/e2e_store.h"
#include "support/http_client.h"
#include "support/mcp_client.h"
#include "support/redis_server.h"
#include "support/temp_dir.h"

namespace memtrace::testing {
namespace {

constexpr int kRememberSearchPairs = 1000;
constexpr int kClaimSharePairs = 200;

Json tool_call(long long id, const std::string& name, const Json& arguments) {
  return {{"jsonrpc", "2.0"},
          {"id", id},
          {"method", "tools/call"},
          {"params", {{"name", name}, {"arguments", arguments}}}};
}

// A word no other pair uses, so that a search for it finds exactly its own memory.
std::string marker(int i) {
  return "pipelined-marker-" + std::to_string(i) + "-end";
}

// How many of the pipelined searches missed the memory remembered just before them, given the answers
// by id (searches have the even ids 2, 4, ...; a remember the odd id before its search).
int count_search_misses(const std::map<long long, Json>& answers) {
  int misses = 0;
  for (int i = 0; i < kRememberSearchPairs; ++i) {
    const auto& remembered = answers.at(2 * i + 1);
    EXPECT_FALSE(remembered["result"].value("isError", false)) << remembered.dump();
    const auto& found = answers.at(2 * i + 2)["result"];
    const auto& memories = found["structuredContent"]["memories"];
    if (memories.size() != 1 ||
        memories[0]["content"].get<std::string>().find(marker(i)) == std::string::npos) {
      ++misses;
    }
  }
  return misses;
}

// Same for claim (odd ids) → share (even ids): a share that did not find its claim is an error result.
int count_share_misses(const std::map<long long, Json>& answers, long long first_id) {
  int misses = 0;
  for (int i = 0; i < kClaimSharePairs; ++i) {
    const auto& claimed = answers.at(first_id + 2 * i);
    EXPECT_TRUE(claimed["result"]["structuredContent"].value("claimed", false)) << claimed.dump();
    const auto& shared = answers.at(first_id + 2 * i + 1)["result"];
    if (shared.value("isError", false)) ++misses;
  }
  return misses;
}

TEST(StdioPipeline, EveryCallTakesEffectInTheOrderSent) {
  E2eStore store;
  McpClient client(store.single_args({"--agent", "pipeliner"}));
  client.initialize();

  // Everything is written before any answer is read: 1,000 remember → search pairs, then 200 claim →
  // share pairs, one write per pair so that the server sees them back to back.
  std::string batch;
  long long id = 0;
  for (int i = 0; i < kRememberSearchPairs; ++i) {
    batch += tool_call(++id, "memtrace_remember", {{"content", "note " + marker(i)}}).dump() + "\n";
    batch += tool_call(++id, "memtrace_search", {{"content_contains", marker(i)}}).dump() + "\n";
    if (batch.size() > 32 * 1024) {
      client.process().write(batch);
      batch.clear();
    }
  }
  const long long first_claim = id + 1;
  for (int i = 0; i < kClaimSharePairs; ++i) {
    const std::string task = "pipelined-task-" + std::to_string(i);
    batch += tool_call(++id, "memtrace_claim_task", {{"task_id", task}, {"lease", "5m"}}).dump() + "\n";
    batch +=
        tool_call(++id, "memtrace_share_result", {{"task_id", task}, {"result", "done " + task}}).dump() +
        "\n";
  }
  client.process().write(batch);

  std::map<long long, Json> answers;
  long long last_seen = 0;
  while (static_cast<long long>(answers.size()) < id) {
    auto answer = client.next_response(std::chrono::seconds(60));
    ASSERT_TRUE(answer) << "no answer after " << answers.size() << " of " << id;
    const long long answered = (*answer)["id"].get<long long>();
    // The answers come back in the order the calls were sent, too.
    EXPECT_GT(answered, last_seen);
    last_seen = answered;
    answers[answered] = std::move(*answer);
  }
  EXPECT_EQ(count_search_misses(answers), 0);
  EXPECT_EQ(count_share_misses(answers, first_claim), 0);
}

// On Redis a write into a session the server has written into before is sent without waiting, and the
// call answered once the group's writes are confirmed. A pipelined client sees what each write did, in
// order: a duplicate answered as the memory already stored, a write into a session closed just before
// it refused, and nothing behind it seeing what was refused. Over stdio, on SQLite and on Redis.
TEST(StdioPipeline, EachPipelinedWriteIsAnsweredWithWhatItDid) {
  E2eStore store;
  McpClient client(store.single_args({"--agent", "pipeliner"}));
  client.initialize();
  std::string batch;
  batch +=
      tool_call(1, "memtrace_remember", {{"content", "the router needs a firmware update"}}).dump() + "\n";
  batch +=
      tool_call(2, "memtrace_remember", {{"content", "the router needs a firmware update"}}).dump() + "\n";
  batch += tool_call(3, "memtrace_remember", {{"content", "the customer prefers email"}}).dump() + "\n";
  batch += tool_call(4, "memtrace_session_close", Json::object()).dump() + "\n";
  batch += tool_call(5, "memtrace_remember", {{"content", "written after the close"}}).dump() + "\n";
  batch += tool_call(6, "memtrace_search", {{"content_contains", "after the close"}}).dump() + "\n";
  batch += tool_call(7, "memtrace_search", {{"content_contains", "prefers email"}}).dump() + "\n";
  client.process().write(batch);

  std::map<long long, Json> answers;
  long long last_seen = 0;
  while (answers.size() < 7) {
    auto answer = client.next_response(std::chrono::seconds(30));
    ASSERT_TRUE(answer) << "no answer after " << answers.size() << " of 7";
    const long long answered = (*answer)["id"].get<long long>();
    EXPECT_GT(answered, last_seen) << "answers out of order";
    last_seen = answered;
    answers[answered] = (*answer)["result"];
  }
  const std::string first_id = answers[1]["structuredContent"]["id"];
  EXPECT_FALSE(answers[1].value("isError", false)) << answers[1].dump();
  // The same content again within the dedup window: the memory already stored, not a copy.
  EXPECT_EQ(answers[2]["structuredContent"]["id"], first_id) << answers[2].dump();
  EXPECT_TRUE(answers[2]["structuredContent"].value("deduplicated", false)) << answers[2].dump();
  EXPECT_NE(answers[2]["content"][0]["text"].get<std::string>().find("Already stored"), std::string::npos);
  EXPECT_FALSE(answers[3].value("isError", false)) << answers[3].dump();
  EXPECT_FALSE(answers[4].value("isError", false)) << answers[4].dump();
  // Written into the session closed just before: refused, saying why.
  EXPECT_TRUE(answers[5].value("isError", false)) << answers[5].dump();
  EXPECT_NE(answers[5]["content"][0]["text"].get<std::string>().find("closed"), std::string::npos)
      << answers[5].dump();
  EXPECT_EQ(answers[6]["structuredContent"]["memories"].size(), 0u) << answers[6].dump();
  EXPECT_EQ(answers[7]["structuredContent"]["memories"].size(), 1u) << answers[7].dump();
}

// A pipelined HTTP client: one MCP session, two keep-alive connections. The second request is sent
// as soon as the first one's answer has started (its SSE stream is open), before its result is read.
class HttpPipeline : public ::testing::TestWithParam<std::string> {};

TEST_P(HttpPipeline, EveryCallTakesEffectInTheOrderSent) {
  TempDir dir;
  std::unique_ptr<RedisServer> redis;
  std::string store = "sqlite:" + dir.file("memtrace.db");
  if (GetParam() == "redis") {
    redis = std::make_unique<RedisServer>();
    store = redis->url();
  }
  HttpServerProcess server({"--store", store, "--agent", "pipeliner"});
  McpHttpSession session(server.port());
  ASSERT_EQ(session.initialize().status, 200);
  HttpClient first(server.port());
  HttpClient second(server.port());

  // Reads the final JSON-RPC message of an answer begun with HttpClient::begin.
  auto finish = [](HttpClient& client, HttpReply reply) -> Json {
    if (reply.header("content-type").rfind("text/event-stream", 0) != 0) {
      return Json::parse(client.read_body());
    }
    Json last;
    while (auto event = client.next_event()) {
      if (event->data.empty()) continue;
      auto parsed = Json::parse(event->data);
      if (!parsed.contains("method")) last = std::move(parsed);
    }
    return last;
  };

  std::map<long long, Json> answers;
  long long id = 0;
  auto pipelined_pair = [&](const std::string& tool_a, const Json& args_a, const std::string& tool_b,
                            const Json& args_b) {
    const long long a = ++id;
    const long long b = ++id;
    HttpReply begun = first.begin("POST", "/mcp", session.headers(), tool_call(a, tool_a, args_a).dump());
    ASSERT_EQ(begun.status, 200);
    HttpReply begun_b = second.begin("POST", "/mcp", session.headers(), tool_call(b, tool_b, args_b).dump());
    ASSERT_EQ(begun_b.status, 200);
    answers[a] = finish(first, begun);
    answers[b] = finish(second, begun_b);
  };
  for (int i = 0; i < kRememberSearchPairs; ++i) {
    pipelined_pair("memtrace_remember", {{"content", "note " + marker(i)}}, "memtrace_search",
                   {{"content_contains", marker(i)}});
  }
  const long long first_claim = id + 1;
  for (int i = 0; i < kClaimSharePairs; ++i) {
    const std::string task = "pipelined-task-" + std::to_string(i);
    pipelined_pair("memtrace_claim_task", {{"task_id", task}, {"lease", "5m"}}, "memtrace_share_result",
                   {{"task_id", task}, {"result", "done " + task}});
  }
  EXPECT_EQ(count_search_misses(answers), 0);
  EXPECT_EQ(count_share_misses(answers, first_claim), 0);
}

INSTANTIATE_TEST_SUITE_P(Stores, HttpPipeline, ::testing::Values("sqlite", "redis"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace memtrace::testing
