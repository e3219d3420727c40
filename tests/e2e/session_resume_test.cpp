// --session-metadata across restarts: the same metadata resumes the same session (with its memories
// in the context and in the instructions); other metadata or a closed session gives a new one.
#include <gtest/gtest.h>

#include "support/e2e_store.h"
#include "support/mcp_client.h"

namespace memtrace::testing {
namespace {

struct SessionResume : ::testing::Test {
  E2eStore e2e;
  std::string store() const { return e2e.shared(); }

  std::vector<std::string> args(std::vector<std::string> extra) const {
    std::vector<std::string> all = {"--store", store()};
    all.insert(all.end(), extra.begin(), extra.end());
    return all;
  }
  static std::string current_session(McpClient& client) {
    return client.call_tool("memtrace_session_context")["structuredContent"]["session_id"];
  }
  static void finish(McpClient& client) {
    client.process().close_stdin();
    ASSERT_EQ(client.process().wait(), 0) << client.process().stderr_text();
  }
};

TEST_F(SessionResume, SameMetadataResumesTheSameSessionAfterARestart) {
  std::string id;
  {
    McpClient first{args({"--session-metadata", "account_id=42", "--agent", "juan"})};
    first.initialize();
    Json stored = first.call_tool("memtrace_remember", {{"content", "Customer prefers email over phone."}});
    ASSERT_FALSE(stored.value("isError", false)) << stored.dump();
    id = stored["structuredContent"]["session_id"];
    EXPECT_EQ(current_session(first), id);
    finish(first);
  }
  McpClient second{args({"--session-metadata", "account_id=42", "--agent", "cecilia"})};
  Json init = second.initialize();
  EXPECT_EQ(current_session(second), id);

  // The context is in the instructions (on by default with --session-metadata)...
  const std::string instructions = init["result"]["instructions"];
  EXPECT_NE(instructions.find("# Session context: " + id), std::string::npos) << instructions;
  EXPECT_NE(instructions.find("Metadata: account_id=\"42\""), std::string::npos) << instructions;
  EXPECT_NE(instructions.find("juan · observation: Customer prefers email over phone."), std::string::npos)
      << instructions;
  // ...and in the current context resource.
  Json read = second.request("resources/read", {{"uri", "memtrace://sessions/current/context"}});
  EXPECT_NE(read["result"]["contents"][0]["text"].get<std::string>().find("Customer prefers email"),
            std::string::npos);
  Json stored = second.call_tool("memtrace_remember", {{"content", "Billing question answered."}});
  EXPECT_EQ(stored["structuredContent"]["session_id"], id);
  finish(second);

  // Other metadata: another session.
  McpClient other{args({"--session-metadata", "account_id=43"})};
  other.initialize();
  EXPECT_NE(current_session(other), id);
}

TEST_F(SessionResume, ClosedSessionsAreNotResumed) {
  std::string id;
  {
    McpClient first{args({"--session-metadata", "ticket=T-9", "--session-metadata", "queue=billing"})};
    first.initialize();
    id = current_session(first);
    Json closed = first.call_tool("memtrace_session_close");
    ASSERT_FALSE(closed.value("isError", false)) << closed.dump();
    EXPECT_EQ(closed["structuredContent"]["session"]["metadata"],
              Json({{"queue", "billing"}, {"ticket", "T-9"}}));
    finish(first);
  }
  McpClient second{args({"--session-metadata", "ticket=T-9"})};
  second.initialize();
  EXPECT_NE(current_session(second), id);
}

TEST_F(SessionResume, ContextInInstructionsCanBeTurnedOffOrOn) {
  McpClient off{args({"--session-metadata", "k=v", "--no-context-in-instructions"})};
  std::string text = off.initialize()["result"]["instructions"];
  EXPECT_EQ(text.find("# Session context:"), std::string::npos) << text;
  finish(off);

  McpClient plain{args({})};
  text = plain.initialize()["result"]["instructions"];
  EXPECT_EQ(text.find("# Session context:"), std::string::npos) << text;
  finish(plain);

  McpClient on{args({"--context-in-instructions", "--instructions-max-tokens", "30"})};
  text = on.initialize()["result"]["instructions"];
  auto at = text.find("# Session context:");
  ASSERT_NE(at, std::string::npos) << text;
  EXPECT_LE(text.size() - at, 30u * 4);
}

TEST_F(SessionResume, MalformedMetadataIsAStartupError) {
  ChildProcess bad({server_binary(), "--store", store(), "--session-metadata", "no-equals-sign"});
  auto code = bad.wait();
  ASSERT_TRUE(code);
  EXPECT_NE(*code, 0);
  EXPECT_NE(bad.stderr_text().find("KEY=VALUE"), std::string::npos) << bad.stderr_text();
}

}  // namespace
}  // namespace memtrace::testing
