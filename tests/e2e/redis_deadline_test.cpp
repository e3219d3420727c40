// The Redis store bounds a whole call, not each command: a call's wait for a worker or a pooled
// connection counts against --redis-command-timeout-ms. Before, with Redis frozen, a call that queued
// for a worker behind other clients' stuck calls failed one command timeout after it finally ran. Over
// stdio, a ping sent behind a call stuck on the frozen Redis is answered while the call waits.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/eventually.h"
#include "support/http_client.h"
#include "support/mcp_client.h"
#include "support/redis_server.h"

namespace memtrace::testing {
namespace {

using ::testing::HasSubstr;

TEST(RedisCallDeadline, WithRedisFrozenEveryClientIsAnsweredWithinOneTimeoutOfItsCall) {
  constexpr int kTimeoutMs = 1000;
  constexpr int kClients = 8;  // four times the workers: six calls wait for one
  RedisServer redis;
  HttpServerProcess server(
      {"--store", redis.url(), "--workers", "2", "--redis-command-timeout-ms", std::to_string(kTimeoutMs)});
  std::vector<std::unique_ptr<McpHttpSession>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<McpHttpSession>(server.port()));
    ASSERT_EQ(clients.back()->initialize().status, 200);
    ASSERT_FALSE(clients.back()->call_tool("memtrace_recall", {{"limit", 1}}).value("isError", false));
  }

  ASSERT_EQ(::kill(redis.pid(), SIGSTOP), 0);
  std::vector<nlohmann::json> results(kClients);
  std::vector<long long> took_ms(kClients, -1);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      const auto sent = std::chrono::steady_clock::now();
      results[i] = clients[i]->call_tool("memtrace_recall", {{"limit", 1}});
      took_ms[i] =
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - sent)
              .count();
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(::kill(redis.pid(), SIGCONT), 0);

  long long slowest = 0;
  int not_sent = 0;
  for (int i = 0; i < kClients; ++i) {
    SCOPED_TRACE(results[i].dump());
    EXPECT_TRUE(results[i].value("isError", false));
    slowest = std::max(slowest, took_ms[i]);
    // Each says it timed out: either it reached the frozen Redis and got no answer, or its time ran out
    // while it waited for a worker and it was not sent (how many of each depends on thread timing).
    const std::string text = results[i]["content"][0].value("text", "");
    EXPECT_TRUE(text.find("was not sent") != std::string::npos ||
                text.find("did not answer") != std::string::npos)
        << text;
    if (text.find("was not sent") != std::string::npos) ++not_sent;
  }
  // Every call is answered about one timeout after it was made (generously: 2.5 timeouts; waiting a
  // timeout for each pair of stuck calls ahead, as before, is 4).
  EXPECT_LT(slowest, kTimeoutMs * 5 / 2) << "the slowest answer took " << slowest << " ms";
  std::printf("frozen Redis: %d clients on 2 workers all answered within %lld ms (%d not sent)\n", kClients,
              slowest, not_sent);

  nlohmann::json after;
  for (int attempt = 0; attempt < 20; ++attempt) {  // the server may still be reconnecting
    after = clients[0]->call_tool("memtrace_recall", {{"limit", 1}});
    if (!after.value("isError", false)) break;
  }
  EXPECT_FALSE(after.value("isError", false)) << after.dump();
}

// Whether an established TCP connection to local port `port` holds bytes its owner has not read: the
// rx_queue of /proc/net/tcp. At a frozen Redis's port: a command was sent and waits there.
bool unread_bytes_at(int port) {
  std::ifstream table("/proc/net/tcp");
  std::string line;
  std::getline(table, line);  // the header
  while (std::getline(table, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues;
    fields >> slot >> local >> remote >> state >> queues;
    if (state != "01" || local.find(':') == std::string::npos || queues.find(':') == std::string::npos)
      continue;
    if (std::stoi(local.substr(local.find(':') + 1), nullptr, 16) != port) continue;
    if (std::stol(queues.substr(queues.find(':') + 1), nullptr, 16) > 0) return true;
  }
  return false;
}

// Over stdio, the thread that runs a call does not read; the other thread takes over the reading once the
// call has run for a millisecond. With Redis frozen, a call waits for it up to the command timeout, and a
// ping sent behind it is answered meanwhile, long before the call.
TEST(RedisCallDeadline, OverStdioAPingBehindACallThatWaitsForAFrozenRedisIsAnsweredFirst) {
  constexpr int kTimeoutMs = 4000;
  RedisServerOptions options;
  options.tcp = true;  // so that a command waiting at the frozen Redis can be seen (unread_bytes_at)
  RedisServer redis(options);
  McpClient client({"--store", "redis://127.0.0.1:" + std::to_string(redis.port()),
                    "--redis-command-timeout-ms", std::to_string(kTimeoutMs)});
  client.initialize();
  ASSERT_FALSE(client.call_tool("memtrace_recall", {{"limit", 1}}).value("isError", false));

  ASSERT_EQ(::kill(redis.pid(), SIGSTOP), 0);
  const auto sent = std::chrono::steady_clock::now();
  client.process().write_line(Json{{"jsonrpc", "2.0"},
                                   {"id", 1001},
                                   {"method", "tools/call"},
                                   {"params", {{"name", "memtrace_recall"}, {"arguments", {{"limit", 1}}}}}}
                                  .dump());
  // The ping goes only once the call is under way (its command waits at Redis), so that it is read on
  // its own, while the call runs, rather than with it.
  ASSERT_TRUE(eventually([&] { return unread_bytes_at(redis.port()); })) << "the call never reached Redis";
  client.process().write_line(Json{{"jsonrpc", "2.0"}, {"id", 1002}, {"method", "ping"}}.dump());
  auto first = client.next_response(std::chrono::milliseconds(kTimeoutMs * 3));
  const auto first_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - sent).count();
  auto second = client.next_response(std::chrono::milliseconds(kTimeoutMs * 3));
  ASSERT_EQ(::kill(redis.pid(), SIGCONT), 0);

  ASSERT_TRUE(first && second) << "the server left a message unanswered";
  EXPECT_EQ((*first)["id"], 1002) << "the ping waited behind the call: " << first->dump();
  EXPECT_EQ((*first)["result"], Json::object());
  EXPECT_LT(first_ms, kTimeoutMs / 2) << "the ping was answered after " << first_ms << " ms";
  EXPECT_EQ((*second)["id"], 1001);
  EXPECT_TRUE((*second)["result"].value("isError", false)) << second->dump();  // Redis did not answer in time
}

}  // namespace
}  // namespace memtrace::testing
