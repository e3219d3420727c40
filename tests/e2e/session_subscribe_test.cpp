// Two memtrace-mcp processes on one store (SQLite file, or Redis): a client of process A subscribed to a
// session's context hears about what process B writes into that session, within a bounded wait.
#include <chrono>

#include <gtest/gtest.h>

#include "support/e2e_store.h"
#include "support/mcp_client.h"

namespace memtrace::testing {
namespace {

using std::chrono::seconds;

struct SessionSubscribe : ::testing::Test {
  E2eStore e2e;
  std::string store() const { return e2e.shared(); }

  // Waits for notifications/resources/updated about `uri`; updates about other uris that arrive first
  // are appended to `skipped`.
  static std::optional<Json> wait_update(McpClient& client, const std::string& uri,
                                         std::vector<Json>* skipped = nullptr,
                                         seconds timeout = seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      auto n = client.wait_notification("notifications/resources/updated", left);
      if (!n) return std::nullopt;
      if ((*n)["params"]["uri"] == uri) return n;
      if (skipped) skipped->push_back(*n);
    }
  }
};

TEST_F(SessionSubscribe, WritesByAnotherProcessReachTheSubscriber) {
  const std::string uri = "memtrace://sessions/S/context";
  McpClient a{{"--store", store(), "--session", "S"}};
  a.initialize("2025-11-25", "watcher");
  Json subscribed = a.request("resources/subscribe", {{"uri", uri}});
  ASSERT_TRUE(subscribed.contains("result")) << subscribed.dump();

  McpClient b{{"--store", store(), "--session", "S"}};
  b.initialize("2025-11-25", "writer");
  Json stored = b.call_tool("memtrace_remember", {{"content", "Written by process B."}, {"importance", 0.8}});
  ASSERT_FALSE(stored.value("isError", false)) << stored.dump();
  ASSERT_EQ(stored["structuredContent"]["session_id"], "S");

  // One notice for the session's creation (B's first write creates it), one for the memory: each
  // change of the store is one notice, delivered in order.
  for (int notice = 1; notice <= 2; ++notice) {
    auto update = wait_update(a, uri);
    ASSERT_TRUE(update) << "notice " << notice << " of notifications/resources/updated missing after 10 s; "
                        << "stderr of A:\n"
                        << a.process().stderr_text();
    EXPECT_EQ((*update)["params"], Json({{"uri", uri}}));
  }
  // B's first write created the session: every client of A also hears that the list changed.
  EXPECT_TRUE(a.wait_notification("notifications/resources/list_changed", seconds(10)));

  // Re-reading shows what B wrote, attributed to B's agent.
  Json read = a.request("resources/read", {{"uri", uri}});
  const std::string text = read["result"]["contents"][0]["text"];
  EXPECT_NE(text.find("writer · observation"), std::string::npos) << text;
  EXPECT_NE(text.find("Written by process B."), std::string::npos) << text;

  // A decision lands as well.
  b.call_tool("memtrace_decide", {{"decision", "Escalate to tier 2."}, {"reasoning", "Two failed resets."}});
  ASSERT_TRUE(wait_update(a, uri)) << "no notice for the decision; stderr of A:\n"
                                   << a.process().stderr_text();
  read = a.request("resources/read", {{"uri", uri}});
  EXPECT_NE(read["result"]["contents"][0]["text"].get<std::string>().find("Escalate to tier 2."),
            std::string::npos);
  // (That unsubscribing stops the notices is checked in-process by mcp_resources_test.)
}

TEST_F(SessionSubscribe, CurrentContextOfAPinnedSessionAcrossProcesses) {
  const std::string uri = "memtrace://sessions/current/context";
  McpClient a{{"--store", store(), "--session", "shared"}};
  a.initialize();
  ASSERT_TRUE(a.request("resources/subscribe", {{"uri", uri}}).contains("result"));
  McpClient b{{"--store", store(), "--session", "shared"}};
  b.initialize();
  b.call_tool("memtrace_remember", {{"content", "Seen through current."}});
  ASSERT_TRUE(wait_update(a, uri)) << a.process().stderr_text();
  Json read = a.request("resources/read", {{"uri", uri}});
  EXPECT_NE(read["result"]["contents"][0]["text"].get<std::string>().find("Seen through current."),
            std::string::npos);
}

TEST_F(SessionSubscribe, AProcessCannotWriteIntoASessionAnotherProcessClosed) {
  McpClient a{{"--store", store(), "--session", "S"}};
  a.initialize();
  ASSERT_FALSE(a.call_tool("memtrace_remember", {{"content", "Before closing."}}).value("isError", false));
  Json closed = a.call_tool("memtrace_session_close");
  ASSERT_FALSE(closed.value("isError", false)) << closed.dump();

  McpClient b{{"--store", store(), "--session", "S"}};
  b.initialize();
  Json write = b.call_tool("memtrace_remember", {{"content", "After closing."}});
  EXPECT_TRUE(write.value("isError", false)) << write.dump();
  EXPECT_NE(write["content"][0]["text"].get<std::string>().find("session S is closed"), std::string::npos);
}

}  // namespace
}  // namespace memtrace::testing
