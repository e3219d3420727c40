// Task claims and shared results between memtrace-mcp processes on one store (SQLite file, or Redis): a claim
// made by one process binds the other, only the holder releases, and a subscriber in another process hears of
// a shared result.
#include <chrono>

#include <gtest/gtest.h>

#include "support/e2e_store.h"
#include "support/mcp_client.h"

namespace memtrace::testing {
namespace {

using std::chrono::seconds;

struct TaskClaims : ::testing::Test {
  E2eStore e2e;
  std::string store() const { return e2e.shared(); }

  static Json ok(McpClient& client, const std::string& tool, const Json& args) {
    Json r = client.call_tool(tool, args);
    EXPECT_FALSE(r.value("isError", false)) << tool << ": " << r.dump() << "\nstderr:\n"
                                            << client.process().stderr_text();
    return r;
  }
  static Json read_json(McpClient& client, const std::string& uri) {
    Json r = client.request("resources/read", {{"uri", uri}});
    EXPECT_TRUE(r.contains("result")) << r.dump();
    return Json::parse(r["result"]["contents"][0]["text"].get<std::string>());
  }
};

TEST_F(TaskClaims, AClaimInOneProcessBindsTheOther) {
  McpClient alpha{{"--store", store(), "--agent", "alpha"}};
  alpha.initialize();
  McpClient beta{{"--store", store(), "--agent", "beta"}};
  beta.initialize();

  Json claimed = ok(alpha, "memtrace_claim_task", {{"task_id", "ticket-1"}, {"lease", "10m"}});
  ASSERT_EQ(claimed["structuredContent"]["claimed"], true);
  const std::string alpha_session = claimed["structuredContent"]["holder"]["session"];

  Json refused = ok(beta, "memtrace_claim_task", {{"task_id", "ticket-1"}});
  EXPECT_EQ(refused["structuredContent"]["claimed"], false);
  EXPECT_EQ(refused["structuredContent"]["holder"], Json({{"agent", "alpha"}, {"session", alpha_session}}));
  Json release = beta.call_tool("memtrace_release_task", {{"task_id", "ticket-1"}});
  EXPECT_TRUE(release.value("isError", false)) << "beta must not release alpha's claim: " << release.dump();

  Json shared = ok(alpha, "memtrace_share_result", {{"task_id", "ticket-1"}, {"result", "Router replaced."}});
  EXPECT_EQ(shared["structuredContent"]["released"], true);

  Json task = read_json(beta, "memtrace://tasks/ticket-1");
  EXPECT_EQ(task["status"], "done");
  ASSERT_EQ(task["results"].size(), 1u) << task.dump();
  EXPECT_EQ(task["results"][0]["agent_id"], "alpha");
  EXPECT_EQ(task["results"][0]["content"], "Router replaced.");
  // Done stays done across processes: beta is told who finished it.
  Json again = ok(beta, "memtrace_claim_task", {{"task_id", "ticket-1"}})["structuredContent"];
  EXPECT_EQ(again["claimed"], false) << again.dump();
  EXPECT_EQ(again["done"], true) << again.dump();
  EXPECT_EQ(again["finished"]["agent"], "alpha") << again.dump();

  Json stats = read_json(beta, "memtrace://agents/alpha");
  EXPECT_EQ(stats["results"], 1);
  EXPECT_EQ(stats["sessions"], 1);
}

TEST_F(TaskClaims, ASubscriberInAnotherProcessHearsOfASharedResult) {
  const std::string uri = "memtrace://sessions/S/context";
  McpClient watcher{{"--store", store(), "--session", "S", "--agent", "watcher"}};
  watcher.initialize();
  ASSERT_TRUE(watcher.request("resources/subscribe", {{"uri", uri}}).contains("result"));

  McpClient worker{{"--store", store(), "--session", "S", "--agent", "worker"}};
  worker.initialize();
  ASSERT_EQ(ok(worker, "memtrace_claim_task", {{"task_id", "t7"}})["structuredContent"]["claimed"], true);
  ok(worker, "memtrace_share_result", {{"task_id", "t7"}, {"result", "t7 done: 12 files converted."}});

  // Updates arrive for the session's creation (by the claim) and for the result; wait until the
  // context shows the result, each wait bounded.
  std::string text;
  for (int notice = 0; notice < 3 && text.find("t7 done") == std::string::npos; ++notice) {
    auto update = watcher.wait_notification("notifications/resources/updated", seconds(10));
    ASSERT_TRUE(update) << "no notifications/resources/updated after 10 s; stderr:\n"
                        << watcher.process().stderr_text();
    EXPECT_EQ((*update)["params"]["uri"], uri);
    Json read = watcher.request("resources/read", {{"uri", uri}});
    text = read["result"]["contents"][0]["text"];
  }
  EXPECT_NE(text.find("worker · result · [task:t7]: t7 done: 12 files converted."), std::string::npos)
      << text;
  EXPECT_NE(text.find("Agents: worker"), std::string::npos) << text;
}

}  // namespace
}  // namespace memtrace::testing
