// What survives a restart, what two processes on one store do to each other (on SQLite, and on Redis
// in the redis.* run), and where the default database lives.
#include <cstdlib>
#include <filesystem>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "support/e2e_store.h"
#include "support/mcp_client.h"
#include "support/temp_dir.h"

namespace memtrace::testing {
namespace {

namespace fs = std::filesystem;

struct StdioPersistence : ::testing::Test {
  E2eStore e2e;
  std::string store() const { return e2e.shared(); }
};

// Recalls every memory visible in the namespace, following cursors.
std::vector<Json> recall_all(McpClient& client, const std::string& since = "1h") {
  std::vector<Json> all;
  Json args = {{"since", since}, {"limit", 200}};
  for (;;) {
    auto page = client.call_tool("memtrace_recall", args)["structuredContent"];
    for (auto& m : page["memories"]) all.push_back(m);
    if (!page.contains("next_cursor")) return all;
    args["cursor"] = page["next_cursor"];
  }
}

TEST_F(StdioPersistence, MemoriesSurviveARestart) {
  std::string id;
  {
    McpClient first{{"--store", store()}};
    first.initialize();
    id = first.call_tool("memtrace_remember", {{"content", "the launch code is blue"},
                                               {"tags", {"launch"}}})["structuredContent"]["id"];
    first.process().close_stdin();
    ASSERT_EQ(first.process().wait(), 0);
  }
  McpClient second{{"--store", store()}};
  second.initialize();
  auto found = second.call_tool("memtrace_search", {{"tags", {"launch"}}})["structuredContent"]["memories"];
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0]["id"], id);
  EXPECT_EQ(found[0]["content"], "the launch code is blue");
}

TEST_F(StdioPersistence, TwoProcessesWritingOneStoreConcurrentlyLoseNothing) {
  constexpr int kPerProcess = 1000;
  auto writer = [&](const std::string& agent) {
    McpClient client{{"--store", store(), "--agent", agent}};
    client.initialize();
    // Pipelined: all requests written at once, then every answer read.
    std::string batch;
    for (int i = 0; i < kPerProcess; ++i) {
      batch += Json{{"jsonrpc", "2.0"},
                    {"id", 1000 + i},
                    {"method", "tools/call"},
                    {"params",
                     {{"name", "memtrace_remember"},
                      {"arguments", {{"content", agent + " note " + std::to_string(i)}}}}}}
                   .dump() +
               "\n";
    }
    client.process().write(batch);
    int ok = 0;
    for (int i = 0; i < kPerProcess; ++i) {
      auto reply = client.next_response(std::chrono::seconds(60));
      if (!reply) break;
      if ((*reply).contains("result") && !(*reply)["result"].value("isError", false)) {
        ++ok;
      } else {
        ADD_FAILURE() << agent << ": " << reply->dump();
      }
    }
    EXPECT_EQ(ok, kPerProcess) << agent;
    client.process().close_stdin();
    EXPECT_EQ(client.process().wait(std::chrono::seconds(30)), 0);
  };
  std::thread a(writer, "writer-a");
  std::thread b(writer, "writer-b");
  a.join();
  b.join();

  McpClient reader{{"--store", store()}};
  reader.initialize();
  auto all = recall_all(reader);
  EXPECT_EQ(all.size(), 2u * kPerProcess);
  std::set<std::string> contents;
  for (auto& m : all) contents.insert(m["content"]);
  EXPECT_EQ(contents.size(), 2u * kPerProcess);
}

// Without --store the server opens SQLite under the user's data directory (so this suite is SQLite's).
TEST(DefaultStore, DatabaseIsCreatedUnderXdgDataHomeForTheOwnerOnly) {
  TempDir data_home("memtrace-xdg");
  const fs::path dir = data_home.path();
  McpClient client{{}, {{"XDG_DATA_HOME", dir.string()}}};
  client.initialize();
  client.call_tool("memtrace_remember", {{"content", "x"}});
  fs::path db = dir / "memtrace" / "memtrace.db";
  ASSERT_TRUE(fs::exists(db));
  struct stat st {};
  ASSERT_EQ(::stat(db.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  ASSERT_EQ(::stat(db.parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0u);
}

TEST_F(StdioPersistence, PinnedSessionIsSharedByTwoAgents) {
  const std::string session = "01JCUSTOMER42SESSION00000A";
  {
    McpClient researcher{{"--store", store(), "--agent", "researcher", "--session", session}};
    researcher.initialize();
    researcher.call_tool("memtrace_remember", {{"content", "finding: TSDBs compress well"}});
  }
  McpClient summarizer{{"--store", store(), "--agent", "summarizer", "--session", session}};
  summarizer.initialize();
  auto found =
      summarizer.call_tool("memtrace_recall", {{"session_id", session}})["structuredContent"]["memories"];
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0]["agent_id"], "researcher");
  EXPECT_EQ(found[0]["session_id"], session);
}

TEST(Cli, HelpExplainsWhatItIsAndHowToUseIt) {
  ChildProcess help({server_binary(), "--help"});
  std::string out;
  while (auto line = help.read_line()) out += *line + "\n";
  EXPECT_EQ(help.wait(), 0);
  EXPECT_NE(out.find("MCP server"), std::string::npos);
  EXPECT_NE(out.find("--store"), std::string::npos);
  EXPECT_NE(out.find("MEMTRACE_STORE"), std::string::npos);
  EXPECT_NE(out.find("claude mcp add"), std::string::npos);
  EXPECT_NE(out.find("--change-retention"), std::string::npos);
  EXPECT_NE(out.find("MEMTRACE_CHANGE_RETENTION"), std::string::npos);
  EXPECT_NE(out.find("--sqlite-cache-mib"), std::string::npos);
  EXPECT_NE(out.find("MEMTRACE_SQLITE_CACHE_MIB"), std::string::npos);
}

TEST(Cli, ASQLiteCacheOfNoMemoryIsRefusedAndALargerOneServes) {
  ChildProcess bad({server_binary(), "--store", "memory", "--sqlite-cache-mib", "0"});
  EXPECT_NE(bad.wait(), 0);
  EXPECT_NE(bad.stderr_text().find("--sqlite-cache-mib"), std::string::npos) << bad.stderr_text();
  TempDir dir;
  McpClient client{{"--store", "sqlite:" + dir.file("m.db"), "--sqlite-cache-mib", "8"}};
  client.initialize();
  client.call_tool("memtrace_remember", {{"content", "the router reboots at night"}});
  auto found = client.call_tool("memtrace_search", {{"content_contains", "router"}});
  EXPECT_EQ(found["structuredContent"]["memories"].size(), 1u);
}

TEST(Cli, ABadChangeRetentionIsAOneLineErrorAndNonZeroExit) {
  ChildProcess bad({server_binary(), "--store", "memory", "--change-retention", "a week"});
  EXPECT_NE(bad.wait(), 0);
  EXPECT_NE(bad.stderr_text().find("--change-retention"), std::string::npos) << bad.stderr_text();
  EXPECT_FALSE(bad.read_line(std::chrono::milliseconds(100)));  // nothing on stdout
}

TEST(Cli, VersionPrintsTheVersion) {
  ChildProcess version({server_binary(), "--version"});
  auto line = version.read_line();
  ASSERT_TRUE(line);
  EXPECT_EQ(line->rfind("memtrace-mcp ", 0), 0u);
  EXPECT_EQ(version.wait(), 0);
}

TEST(Cli, BadStoreIsAOneLineErrorAndNonZeroExit) {
  ChildProcess bad({server_binary(), "--store", "mongodb://x"});
  EXPECT_EQ(bad.wait(), 1);
  EXPECT_NE(bad.stderr_text().find("--store must be"), std::string::npos);
  EXPECT_FALSE(bad.read_line(std::chrono::milliseconds(100)));  // nothing on stdout
}

TEST(Cli, UnopenableDatabaseNamesThePath) {
  ChildProcess bad({server_binary(), "--store", "sqlite:/proc/no/such/dir/m.db"});
  EXPECT_EQ(bad.wait(), 1);
  EXPECT_NE(bad.stderr_text().find("/proc/no/such/dir"), std::string::npos);
}

TEST(Cli, EnvironmentTwinsWork) {
  McpClient client{{}, {{"MEMTRACE_STORE", "memory"}, {"MEMTRACE_AGENT", "from-env"}}};
  client.initialize();
  EXPECT_EQ(client.call_tool("memtrace_remember", {{"content", "x"}})["structuredContent"]["agent_id"],
            "from-env");
}

}  // namespace
}  // namespace memtrace::testing
