// Task claims, shared results and the task / agent resources through MCP connections: several agents
// (one connection each, agent named by clientInfo) on one in-process server, with a manual clock.
#include <set>

#include <gtest/gtest.h>

#include "mcp/schema_validator.h"
#include "memory/tasks.h"
#include "session_test_harness.h"

namespace memtrace {
namespace {

using testing::is_update;
using testing::Json;
using testing::TestClient;

struct TaskToolsTest : ::testing::Test {
  static mcp::ServerOptions options() {
    mcp::ServerOptions options;  // agent empty: each connection is the agent its clientInfo names
    options.worker_threads = 2;
    return options;
  }

  std::unique_ptr<Store> store = *open_sqlite_store({":memory:"});
  ManualClock clock{testing::at("2026-11-20T09:00:00Z")};
  Engine engine{*store, clock};
  // Each connection has a session of its own (none is pinned).
  mcp::Server server{engine, options()};
  TestClient a{server};
  TestClient b{server};

  void SetUp() override {
    a.initialize("2025-11-25", "worker-a");
    b.initialize("2025-11-25", "worker-b");
  }

  Json call_ok(TestClient& client, const std::string& tool, const Json& args) {
    Json r = client.call_tool(tool, args);
    EXPECT_FALSE(r.value("isError", false)) << tool << ": " << r.dump();
    expect_matches_output_schema(tool, r);
    return r;
  }
  Json claim(TestClient& client, const std::string& task, const std::string& lease = "") {
    Json args = {{"task_id", task}};
    if (!lease.empty()) args["lease"] = lease;
    return call_ok(client, "memtrace_claim_task", args)["structuredContent"];
  }
  Json read_json(TestClient& client, const std::string& uri) {
    Json r = client.result("resources/read", {{"uri", uri}});
    EXPECT_EQ(r["contents"][0]["mimeType"], "application/json") << r.dump();
    return Json::parse(r["contents"][0]["text"].get<std::string>());
  }
  void expect_matches_output_schema(const std::string& tool, const Json& result) {
    const Json* definition = server.tools().definition(tool);
    ASSERT_NE(definition, nullptr) << tool;
    mcp::SchemaValidator output((*definition)["outputSchema"]);
    ASSERT_TRUE(result.contains("structuredContent")) << result.dump();
    EXPECT_EQ(output.validate(result["structuredContent"]), std::nullopt) << tool << ": " << result.dump();
  }
};

TEST_F(TaskToolsTest, ToolsAreListedWithStrictSchemas) {
  std::set<std::string> names;
  const Json tools = a.result("tools/list")["tools"];
  for (const auto& t : tools) {
    const std::string name = t["name"];
    names.insert(name);
    if (name == "memtrace_claim_task" || name == "memtrace_release_task" || name == "memtrace_share_result") {
      EXPECT_EQ(t["inputSchema"]["additionalProperties"], false) << name;
      EXPECT_TRUE(t.contains("outputSchema")) << name;
      EXPECT_TRUE(t["annotations"].contains("readOnlyHint")) << name;
    }
  }
  for (const char* name : {"memtrace_claim_task", "memtrace_release_task", "memtrace_share_result"}) {
    EXPECT_TRUE(names.count(name)) << name;
  }
  // Task ids must make a valid tag; leases are durations.
  EXPECT_TRUE(a.call_tool("memtrace_claim_task", {{"task_id", "has space"}}).value("isError", false));
  EXPECT_TRUE(
      a.call_tool("memtrace_claim_task", {{"task_id", std::string(60, 'x')}}).value("isError", false));
  Json zero = a.call_tool("memtrace_claim_task", {{"task_id", "t1"}, {"lease", "0s"}});
  EXPECT_TRUE(zero.value("isError", false));
  EXPECT_NE(zero["content"][0]["text"].get<std::string>().find("1s to 24h"), std::string::npos)
      << zero.dump();
  EXPECT_TRUE(
      a.call_tool("memtrace_claim_task", {{"task_id", "t1"}, {"lease", "2d"}}).value("isError", false));
  EXPECT_TRUE(a.call_tool("memtrace_share_result", {{"task_id", "t1"}}).value("isError", false));
}

TEST_F(TaskToolsTest, ClaimRefuseRenewAndRelease) {
  Json first = claim(a, "report-7");
  EXPECT_EQ(first["claimed"], true);
  EXPECT_EQ(first["renewed"], false);
  EXPECT_EQ(first["holder"], Json({{"agent", "worker-a"}, {"session", a.session_id()}}));
  EXPECT_EQ(first["claimed_at"], "2026-11-20T09:00:00.000Z");
  EXPECT_EQ(first["lease_until"], "2026-11-20T09:05:00.000Z") << "the default lease is 5m";

  clock.advance_ms(1000);
  Json taken = b.call_tool("memtrace_claim_task", {{"task_id", "report-7"}, {"lease", "10m"}});
  EXPECT_FALSE(taken.value("isError", false)) << "a task someone holds is an answer, not an error";
  EXPECT_EQ(taken["structuredContent"]["claimed"], false);
  EXPECT_EQ(taken["structuredContent"]["holder"]["agent"], "worker-a");
  const std::string text = taken["content"][0]["text"];
  EXPECT_NE(text.find("worker-a"), std::string::npos) << text;
  EXPECT_NE(text.find("2026-11-20T09:05:00.000Z"), std::string::npos) << text;

  Json renewed = claim(a, "report-7", "30m");
  EXPECT_EQ(renewed["claimed"], true);
  EXPECT_EQ(renewed["renewed"], true);
  EXPECT_EQ(renewed["claimed_at"], "2026-11-20T09:00:00.000Z");
  EXPECT_EQ(renewed["lease_until"], "2026-11-20T09:30:01.000Z");

  // One agent cannot release another's claim.
  Json refused = b.call_tool("memtrace_release_task", {{"task_id", "report-7"}});
  EXPECT_TRUE(refused.value("isError", false)) << refused.dump();
  EXPECT_NE(refused["content"][0]["text"].get<std::string>().find("only its holder"), std::string::npos);
  EXPECT_EQ(read_json(b, "memtrace://tasks/report-7")["claim"]["holder_agent"], "worker-a");

  Json released = call_ok(a, "memtrace_release_task", {{"task_id", "report-7"}});
  EXPECT_EQ(released["structuredContent"], Json({{"task_id", "report-7"}, {"released", true}}));
  Json again = call_ok(a, "memtrace_release_task", {{"task_id", "report-7"}});
  EXPECT_EQ(again["structuredContent"]["released"], false);
  EXPECT_EQ(claim(b, "report-7")["claimed"], true);
}

TEST_F(TaskToolsTest, ALeaseThatRunsOutFreesTheTask) {
  ASSERT_EQ(claim(a, "t1", "90s")["claimed"], true);
  clock.advance_ms(89'999);
  EXPECT_EQ(claim(b, "t1")["claimed"], false);
  EXPECT_EQ(read_json(b, "memtrace://tasks/t1")["status"], "claimed");
  clock.advance_ms(1);
  EXPECT_EQ(read_json(b, "memtrace://tasks/t1")["status"], "free");
  Json taken = claim(b, "t1");
  EXPECT_EQ(taken["claimed"], true);
  EXPECT_EQ(taken["renewed"], false);
  // The former holder's result is refused now: the task is someone else's.
  Json late = a.call_tool("memtrace_share_result", {{"task_id", "t1"}, {"result", "too late"}});
  EXPECT_TRUE(late.value("isError", false)) << late.dump();
  EXPECT_NE(late["content"][0]["text"].get<std::string>().find("worker-b"), std::string::npos) << late.dump();
}

TEST_F(TaskToolsTest, SharedResultsAreMemoriesFoundByTagAndMarkTheTaskDone) {
  ASSERT_EQ(claim(a, "q-42")["claimed"], true);
  clock.advance_ms(5000);
  Json shared =
      call_ok(a, "memtrace_share_result",
              {{"task_id", "q-42"}, {"result", "Answer: 42 (checked twice)."}, {"tags", "math, final"}});
  const Json& s = shared["structuredContent"];
  EXPECT_EQ(s["task_id"], "q-42");
  EXPECT_EQ(s["released"], true);
  EXPECT_EQ(s["agent_id"], "worker-a");
  EXPECT_EQ(s["session_id"], a.session_id());
  // Done means done: another worker is told who finished it, and moves on.
  Json refused = claim(b, "q-42");
  EXPECT_EQ(refused["claimed"], false) << refused.dump();
  EXPECT_EQ(refused["done"], true) << refused.dump();
  EXPECT_EQ(refused["finished"]["agent"], "worker-a") << refused.dump();
  EXPECT_EQ(refused["finished"]["result_id"], s["id"]) << refused.dump();

  // Recall and search find it like any memory.
  Json found = call_ok(b, "memtrace_search", {{"tags", {"task:q-42"}}, {"types", {"result"}}});
  ASSERT_EQ(found["structuredContent"]["memories"].size(), 1u) << found.dump();
  const Json& memory = found["structuredContent"]["memories"][0];
  EXPECT_EQ(memory["content"], "Answer: 42 (checked twice).");
  EXPECT_EQ(memory["type"], "result");
  EXPECT_EQ(memory["tags"], Json({"task:q-42", "math", "final"}));
  EXPECT_EQ(memory["metadata"], Json({{"task_id", "q-42"}}));
  Json recalled = call_ok(b, "memtrace_recall", {{"session_id", a.session_id()}});
  EXPECT_EQ(recalled["structuredContent"]["memories"][0]["id"], s["id"]);

  // The task resource: done, with its result.
  Json task = read_json(b, "memtrace://tasks/q-42");
  EXPECT_EQ(task["status"], "done");
  ASSERT_EQ(task["results"].size(), 1u);
  EXPECT_EQ(task["results"][0]["agent_id"], "worker-a");
  EXPECT_EQ(task["more_results"], false);

  // Reopened, the task can be claimed again; keeping the claim while sharing an intermediate result.
  call_ok(b, "memtrace_task_reopen", {{"task_id", "q-42"}});
  ASSERT_EQ(claim(b, "q-42")["claimed"], true);
  Json partial = call_ok(b, "memtrace_share_result",
                         {{"task_id", "q-42"}, {"result", "Half done."}, {"release", false}});
  EXPECT_EQ(partial["structuredContent"]["released"], false);
  EXPECT_EQ(read_json(a, "memtrace://tasks/q-42")["claim"]["holder_agent"], "worker-b");
  EXPECT_EQ(read_json(a, "memtrace://tasks/q-42")["results"].size(), 2u);
  // A task nobody claimed can be shared too.
  EXPECT_EQ(call_ok(a, "memtrace_share_result",
                    {{"task_id", "adhoc"}, {"result", "r"}})["structuredContent"]["released"],
            false);
}

TEST_F(TaskToolsTest, AClaimMakesTheAgentATakingPartInTheSession) {
  // worker-b joins worker-a's session (by its metadata) and claims there without writing anything.
  call_ok(a, "memtrace_session_create", {{"metadata", {{"project", "migration"}}}});
  a.remember("Plan: split the work into tasks t1..t3.");
  Json joined = call_ok(b, "memtrace_session_create", {{"metadata", {{"project", "migration"}}}});
  EXPECT_EQ(joined["structuredContent"]["resumed"], true);
  ASSERT_EQ(b.session_id(), a.session_id());
  ASSERT_EQ(claim(b, "t1")["claimed"], true);

  Json found = call_ok(a, "memtrace_session_search", {{"agent_id", "worker-b"}});
  ASSERT_EQ(found["structuredContent"]["sessions"].size(), 1u) << found.dump();
  EXPECT_EQ(found["structuredContent"]["sessions"][0]["agents"], Json({"worker-a", "worker-b"}));
  Json context = call_ok(a, "memtrace_session_context", Json::object());
  const std::string digest = context["structuredContent"]["context"];
  EXPECT_NE(digest.find("Agents: worker-a, worker-b"), std::string::npos) << digest;

  // A claim from a connection whose own session was not stored yet stores it.
  TestClient c{server};
  c.initialize("2025-11-25", "worker-c");
  ASSERT_EQ(claim(c, "t2")["claimed"], true);
  Json by_c = call_ok(a, "memtrace_session_search", {{"agent_id", "worker-c"}});
  ASSERT_EQ(by_c["structuredContent"]["sessions"].size(), 1u) << by_c.dump();
  EXPECT_EQ(by_c["structuredContent"]["sessions"][0]["id"], c.session_id());
}

TEST_F(TaskToolsTest, SharingAResultNotifiesSubscribersOfTheSession) {
  ASSERT_EQ(claim(a, "t9")["claimed"], true);  // stores a's session, so that it can be subscribed to
  const std::string uri = "memtrace://sessions/" + a.session_id() + "/context";
  EXPECT_EQ(b.result("resources/subscribe", {{"uri", uri}}), Json::object());
  b.inbox().clear();
  call_ok(a, "memtrace_share_result", {{"task_id", "t9"}, {"result", "Done: 9 rows migrated."}});
  EXPECT_TRUE(b.inbox().take([&](const Json& m) { return is_update(m, uri); }))
      << "no notifications/resources/updated for the shared result";
  Json read = b.result("resources/read", {{"uri", uri}});
  const std::string text = read["contents"][0]["text"];
  EXPECT_NE(text.find("worker-a · result · [task:t9]"), std::string::npos) << text;
  EXPECT_NE(text.find("Done: 9 rows migrated."), std::string::npos) << text;
}

TEST_F(TaskToolsTest, AgentResourceCountsWhatTheAgentDid) {
  a.remember("first");
  clock.advance_ms(1000);
  call_ok(a, "memtrace_decide", {{"decision", "Use plan B"}, {"reasoning", "Plan A failed"}});
  ASSERT_EQ(claim(a, "t1")["claimed"], true);
  clock.advance_ms(1000);
  call_ok(a, "memtrace_share_result", {{"task_id", "t1"}, {"result", "ok"}});
  call_ok(a, "memtrace_session_create", {{"metadata", {{"account_id", "7"}}}});
  a.remember("in the second session");

  Json stats = read_json(b, "memtrace://agents/worker-a");
  EXPECT_EQ(stats["id"], "worker-a");
  EXPECT_EQ(stats["memories"], 4);
  EXPECT_EQ(stats["decisions"], 1);
  EXPECT_EQ(stats["results"], 1);
  EXPECT_EQ(stats["sessions"], 2);
  EXPECT_EQ(stats["counts_are_lower_bounds"], false);
  EXPECT_EQ(stats["last_active"], "2026-11-20T09:00:02.000Z");
  EXPECT_EQ(stats["recent_sessions"].size(), 2u);
  EXPECT_EQ(stats["created_at"], "2026-11-20T09:00:00.000Z");

  // An agent that only claimed has no memories but a session.
  ASSERT_EQ(claim(b, "t2")["claimed"], true);
  Json claimer = read_json(a, "memtrace://agents/worker-b");
  EXPECT_EQ(claimer["memories"], 0);
  EXPECT_EQ(claimer["sessions"], 1);
  EXPECT_EQ(claimer["last_active"], nullptr);

  EXPECT_EQ(a.request("resources/read", {{"uri", "memtrace://agents/nobody"}})["error"]["code"], -32002);
  // Agent ids are percent-encoded in URIs.
  TestClient spaced{server};
  spaced.initialize("2025-11-25", "night shift");
  spaced.remember("x");
  EXPECT_EQ(read_json(a, "memtrace://agents/night%20shift")["memories"], 1);
}

TEST_F(TaskToolsTest, TaskAndAgentResourcesAreTemplatedAndCheckTheirUris) {
  Json templates = a.result("resources/templates/list")["resourceTemplates"];
  std::set<std::string> uris;
  for (const auto& t : templates) uris.insert(t["uriTemplate"].get<std::string>());
  EXPECT_TRUE(uris.count("memtrace://tasks/{task_id}"));
  EXPECT_TRUE(uris.count("memtrace://agents/{agent_id}"));

  Json never = read_json(a, "memtrace://tasks/never-claimed");
  EXPECT_EQ(never["status"], "free");
  EXPECT_EQ(never["claim"], nullptr);
  EXPECT_EQ(never["results"], Json::array());
  EXPECT_EQ(a.request("resources/read", {{"uri", "memtrace://tasks/bad%20id"}})["error"]["code"], -32602);
  EXPECT_EQ(a.request("resources/read", {{"uri", "memtrace://tasks/t1?x=1"}})["error"]["code"], -32602);
  EXPECT_EQ(a.request("resources/read", {{"uri", "memtrace://tasks/"}})["error"]["code"], -32002);
  EXPECT_EQ(a.request("resources/read", {{"uri", "memtrace://tasks/a/b"}})["error"]["code"], -32002);
}

}  // namespace
}  // namespace memtrace
