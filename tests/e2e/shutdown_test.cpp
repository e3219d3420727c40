// How the server ends when calls are still running at the end of input: it waits for them up to the
// drain timeout, then says so in its log and exits with status 3 (never 0, which would claim a clean end).
#include <signal.h>

#include <gtest/gtest.h>

#include "support/mcp_client.h"
#include "support/redis_server.h"

namespace memtrace::testing {
namespace {

TEST(ShutdownWithCallsInFlight, AbandonedCallsEndTheProcessWithStatus3) {
  // A Redis that stops answering (SIGSTOP) holds a call longer than the 5 s drain at the end of stdin.
  RedisServer redis;
  McpClient client({"--store", redis.url(), "--redis-command-timeout-ms", "60000"});
  client.initialize();
  ASSERT_FALSE(client.call_tool("memtrace_remember", {{"content", "before"}}).value("isError", false));
  ASSERT_EQ(::kill(redis.pid(), SIGSTOP), 0);
  client.process().write_line(
      R"({"jsonrpc":"2.0","id":"stuck","method":"tools/call","params":{"name":"memtrace_remember","arguments":{"content":"stuck"}}})");
  client.process().close_stdin();
  auto status = client.process().wait(std::chrono::seconds(20));
  ::kill(redis.pid(), SIGCONT);
  ASSERT_TRUE(status) << "the server did not exit after the drain timeout";
  EXPECT_EQ(*status, 3);
  EXPECT_NE(client.process().stderr_text().find("abandoned"), std::string::npos);
}

}  // namespace
}  // namespace memtrace::testing
