// Read-only API keys: the permission carried by the token (mtr_...), and a read-only connection
// refusing every tool that writes while running the reads.
#include <gtest/gtest.h>

#include "core/sha256.h"
#include "session_test_harness.h"
#include "transport/http/api_keys.h"

namespace memtrace {
namespace {

using testing::Json;
using testing::SessionHarness;
using testing::TestClient;

TEST(ReadOnlyConnection, RefusesToolsThatWriteAndRunsReads) {
  SessionHarness h;
  TestClient writer(h.server);
  writer.initialize();
  Json stored = writer.remember("kept by the writer");
  const std::string id = stored["structuredContent"]["id"];

  mcp::ConnectionOptions options;
  options.read_only = true;
  TestClient reader(h.server, options);
  reader.initialize();
  Json forget = reader.call_tool("memtrace_forget", {{"id", id}});
  EXPECT_TRUE(forget.value("isError", false)) << forget.dump();
  EXPECT_NE(forget["content"][0]["text"].get<std::string>().find("read-only"), std::string::npos);
  Json remember = reader.call_tool("memtrace_remember", {{"content", "x"}});
  EXPECT_TRUE(remember.value("isError", false)) << remember.dump();

  Json search = reader.call_tool("memtrace_search", {{"content_contains", "kept"}});
  EXPECT_FALSE(search.value("isError", false)) << search.dump();
  EXPECT_EQ(search["structuredContent"]["memories"].size(), 1u);
}

TEST(ReadOnlyApiKeys, CarryTheirPermissionInTheToken) {
  auto reader = transport::http::make_api_key("tenant-a", "dashboard", 1000, true);
  auto writer = transport::http::make_api_key("tenant-a", "agent", 1000);
  EXPECT_TRUE(transport::http::looks_like_api_key(reader.token));
  EXPECT_EQ(reader.token.rfind("mtr_", 0), 0u);
  EXPECT_TRUE(transport::http::is_read_only_api_key(reader.token));
  EXPECT_FALSE(transport::http::is_read_only_api_key(writer.token));
  // Changing the prefix makes another token, whose hash no store holds.
  EXPECT_NE(sha256_hex("mtk_" + reader.token.substr(4)), reader.record.hash);
}

}  // namespace
}  // namespace memtrace
