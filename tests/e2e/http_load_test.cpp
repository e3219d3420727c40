// Many keep-alive connections sharing a few MCP sessions, thousands of tool calls at once: every call
// gets its reply. Many sessions on Redis at once: their calls share one connection to Redis, and each
// finds its own writes. (A finished stream's sink used to be named by its address; when the allocator reused
// that address for another request's sink in the same session, the late cleanup dropped that request's
// stream, and its connection ended without an answer.)
#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "support/http_client.h"
#include "support/redis_server.h"

namespace memtrace::testing {
namespace {

struct LoadResult {
  std::size_t answered = 0;
  std::size_t lost = 0;
  std::string first_failure;
};

LoadResult run_load(std::size_t connections, std::size_t sessions, std::size_t calls_per_connection) {
  HttpServerProcess server({"--max-connections-per-peer", "1024", "--workers", "4"});
  std::vector<std::unique_ptr<McpHttpSession>> owners;
  for (std::size_t i = 0; i < sessions; ++i) {
    owners.push_back(std::make_unique<McpHttpSession>(server.port()));
    if (owners.back()->initialize().status != 200) throw std::runtime_error("initialize failed");
  }
  std::atomic<std::size_t> answered{0};
  std::atomic<std::size_t> lost{0};
  std::mutex failure_mutex;
  std::string first_failure;
  std::vector<std::thread> threads;
  for (std::size_t c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      McpHttpSession client(server.port(), *owners[c % sessions]);
      for (std::size_t i = 0; i < calls_per_connection; ++i) {
        long long id = static_cast<long long>(c * 1000000 + i);
        nlohmann::json call = {{"jsonrpc", "2.0"},
                               {"id", id},
                               {"method", "tools/call"},
                               {"params", {{"name", "memtrace_recall"}, {"arguments", {{"limit", 1}}}}}};
        std::string why;
        try {
          HttpReply reply = client.post(call);
          if (reply.status != 200) {
            why = "HTTP " + std::to_string(reply.status) + " " + reply.body;
          } else if (reply.body.empty()) {
            why = "no reply (connection closed)";
          } else {
            auto body = reply.json();
            if (body.value("id", nlohmann::json()) != id || !body.contains("result")) why = body.dump();
          }
        } catch (const std::exception& e) {
          why = e.what();
        }
        if (why.empty()) {
          ++answered;
          continue;
        }
        ++lost;
        std::lock_guard lock(failure_mutex);
        if (first_failure.empty()) first_failure = "call " + std::to_string(id) + ": " + why;
        return;  // this connection is gone; the others carry on
      }
    });
  }
  for (auto& t : threads) t.join();
  return LoadResult{answered.load(), lost.load(), first_failure};
}

TEST(HttpLoad, SixteenKeepAliveConnectionsOnOneSessionLoseNoReply) {
  auto result = run_load(16, 1, 300);
  EXPECT_EQ(result.lost, 0u) << result.first_failure;
  EXPECT_EQ(result.answered, 16u * 300u);
}

// Issue 12's bar: 64 keep-alive connections, 20,000 calls (here 20,480), not one reply lost.
TEST(HttpLoad, SixtyFourKeepAliveConnectionsOnFourSessionsLoseNoneOfTwentyThousandReplies) {
  auto result = run_load(64, 4, 320);
  EXPECT_EQ(result.lost, 0u) << result.first_failure;
  EXPECT_EQ(result.answered, 64u * 320u);
}

// Eight MCP sessions on Redis, each a thread of remember → search pairs: the server runs their calls at
// once (four workers), and they share one pipelined connection to Redis, so every reply must be matched
// to its own call. Each search must find exactly the memory its session just remembered.
TEST(HttpLoad, EightSessionsOnRedisShareOneConnectionAndEachFindsItsOwnMemories) {
  RedisServer redis;
  HttpServerProcess server({"--store", redis.url(), "--workers", "4"});
  constexpr int kSessions = 8;
  constexpr int kPairs = 60;
  std::atomic<int> misses{0};
  std::mutex failure_mutex;
  std::string first_failure;
  std::vector<std::thread> threads;
  for (int t = 0; t < kSessions; ++t) {
    threads.emplace_back([&, t] {
      McpHttpSession session(server.port());
      if (session.initialize().status != 200) {
        ++misses;
        return;
      }
      for (int i = 0; i < kPairs; ++i) {
        const std::string marker = "session-" + std::to_string(t) + "-note-" + std::to_string(i) + "-end";
        auto stored = session.call_tool("memtrace_remember", {{"content", "about " + marker}});
        auto found = session.call_tool("memtrace_search", {{"content_contains", marker}});
        const auto& memories = found["structuredContent"]["memories"];
        const bool ok = stored["structuredContent"].contains("id") && memories.size() == 1 &&
                        memories[0]["id"] == stored["structuredContent"]["id"];
        if (!ok) {
          ++misses;
          std::lock_guard lock(failure_mutex);
          if (first_failure.empty()) first_failure = stored.dump() + " then " + found.dump();
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(misses.load(), 0) << first_failure;
  // The server's connections to Redis: the pipeline, and the subscriber of live updates. (CLIENT LIST
  // also lists the connection that asks.)
  const std::string clients = redis.command({"CLIENT", "LIST"}).text;
  const auto connections = std::count(clients.begin(), clients.end(), '\n') - 1;
  EXPECT_LE(connections, 2) << clients;
}

}  // namespace
}  // namespace memtrace::testing
