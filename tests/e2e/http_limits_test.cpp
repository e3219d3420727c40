// Fairness limits over HTTP: one API key cannot take every session (--max-sessions-per-key) and one peer
// address cannot take every connection (--max-connections-per-peer), so neither locks others out.
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "support/http_client.h"
#include "support/temp_dir.h"

namespace memtrace::testing {
namespace {

struct TwoKeys {
  TempDir dir{"memtrace-http-limits"};
  std::string store = "sqlite:" + dir.file("memtrace.db");
  std::string key_a = create_api_key(store, "tenant-a");
  std::string key_b = create_api_key(store, "tenant-b");
};

// A session of `key` that holds its standalone GET stream open: busy, never evicted.
std::unique_ptr<McpHttpSession> busy_session(std::uint16_t port, const std::string& key, int& status) {
  auto session = std::make_unique<McpHttpSession>(port, bearer(key));
  status = session->initialize().status;
  if (status != 200) return session;
  Headers get = {{"Accept", "text/event-stream"}};
  for (const auto& h : session->headers()) {
    if (h.first != "Accept" && h.first != "Content-Type") get.push_back(h);
  }
  auto stream = session->client().begin("GET", "/mcp", get);
  EXPECT_EQ(stream.status, 200);
  return session;
}

TEST(HttpLimits, OneKeyAtItsSessionQuotaCannotKeepAnotherKeyOut) {
  TwoKeys keys;
  HttpServerProcess server(
      {"--store", keys.store, "--require-auth", "--max-sessions", "8", "--max-sessions-per-key", "4"});
  std::vector<std::unique_ptr<McpHttpSession>> held;
  int refused = 0;
  for (int i = 0; i < 8; ++i) {  // key A tries to take the whole table
    int status = 0;
    auto session = busy_session(server.port(), keys.key_a, status);
    if (status == 200) {
      held.push_back(std::move(session));
    } else {
      EXPECT_EQ(status, 429);
      ++refused;
    }
  }
  EXPECT_EQ(held.size(), 4u);
  EXPECT_EQ(refused, 4);
  // The 429 says when to retry.
  McpHttpSession fifth(server.port(), bearer(keys.key_a));
  EXPECT_EQ(
      fifth.client()
          .request(
              "POST", "/mcp", fifth.headers(false),
              R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})")
          .header("retry-after"),
      "5");
  // Key B still gets in, and works.
  McpHttpSession b(server.port(), bearer(keys.key_b));
  ASSERT_EQ(b.initialize().status, 200);
  EXPECT_FALSE(b.call_tool("memtrace_remember", {{"content", "tenant b is served"}}).value("isError", false));
}

TEST(HttpLimits, AtItsQuotaAKeyGivesUpItsLeastRecentlyUsedIdleSession) {
  TwoKeys keys;
  HttpServerProcess server({"--store", keys.store, "--require-auth", "--max-sessions-per-key", "2"});
  McpHttpSession first(server.port(), bearer(keys.key_a));
  McpHttpSession second(server.port(), bearer(keys.key_a));
  ASSERT_EQ(first.initialize().status, 200);
  ASSERT_EQ(second.initialize().status, 200);
  ASSERT_TRUE(first.call("ping").contains("result"));  // `second` is now the least recently used
  McpHttpSession third(server.port(), bearer(keys.key_a));
  ASSERT_EQ(third.initialize().status, 200);
  EXPECT_TRUE(first.call("ping").contains("result"));
  EXPECT_TRUE(third.call("ping").contains("result"));
  nlohmann::json ping = {{"jsonrpc", "2.0"}, {"id", 99}, {"method", "ping"}};
  EXPECT_EQ(second.post(ping).status, 404) << "the evicted session is gone; its client starts over";
  // Another key's sessions are never evicted for key A.
  McpHttpSession b(server.port(), bearer(keys.key_b));
  ASSERT_EQ(b.initialize().status, 200);
  McpHttpSession fourth(server.port(), bearer(keys.key_a));
  ASSERT_EQ(fourth.initialize().status, 200);
  EXPECT_TRUE(b.call("ping").contains("result"));
}

TEST(HttpLimits, APeerHoldingManyIdleSocketsDoesNotStopAnotherClient) {
  HttpServerProcess server(
      {"--max-connections", "8", "--max-connections-per-peer", "4", "--header-timeout", "60"});
  // 127.0.0.1 opens 12 idle sockets: 4 are admitted, the rest are refused (429) and closed at once.
  std::vector<std::unique_ptr<HttpClient>> hog;
  for (int i = 0; i < 12; ++i) hog.push_back(std::make_unique<HttpClient>(server.port()));
  EXPECT_TRUE(hog.back()->closed_by_peer(std::chrono::seconds(5)));
  // A client from another address is served.
  McpHttpSession other(server.port(), {}, "127.0.0.2");
  ASSERT_EQ(other.initialize().status, 200);
  EXPECT_FALSE(other.call_tool("memtrace_remember", {{"content", "still served"}}).value("isError", false));
  // All 8 refusals are counted.
  HttpReply metrics = other.client().request("GET", "/metrics");
  EXPECT_NE(metrics.body.find("memtrace_http_connections_rejected_total 8\n"), std::string::npos)
      << metrics.body;
}

}  // namespace
}  // namespace memtrace::testing
