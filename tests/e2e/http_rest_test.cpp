// Memtrace's REST API over HTTP on the built binary: every endpoint, its errors (bad JSON, unknown ids,
// bad since, wrong key, another namespace's ids) and limits, and one memory shared with the MCP tools.
#include <gtest/gtest.h>

#include "support/http_client.h"
#include "support/temp_dir.h"

namespace memtrace::testing {
namespace {

using nlohmann::json;

// A server requiring keys, with a key in namespace "team-a" and one in "team-b", and a REST client.
struct RestServer {
  TempDir dir{"memtrace-http-rest"};
  std::string store = "sqlite:" + dir.file("memtrace.db");
  std::string key_a = create_api_key(store, "team-a");
  std::string key_b = create_api_key(store, "team-b");
  HttpServerProcess server{{"--store", store, "--require-auth", "--max-body-bytes", "80000"}};
  HttpClient client{server.port()};

  HttpReply call(const std::string& method, const std::string& target, const json& body = nullptr,
                 const std::string& key = {}) {
    Headers headers = {{"x-api-key", key.empty() ? key_a : key}};
    std::string text;
    if (!body.is_null()) {
      headers.emplace_back("Content-Type", "application/json");
      text = body.is_string() ? body.get<std::string>() : body.dump();
    }
    return client.request(method, target, headers, text);
  }
};

json body(const HttpReply& reply) {
  return json::parse(reply.body);
}

TEST(HttpRest, HealthAndReadyNeedNoKeyEverythingElseDoes) {
  RestServer rest;
  auto health = rest.client.request("GET", "/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(body(health)["status"], "ok");
  EXPECT_EQ(body(health)["service"], "memtrace");
  auto ready = rest.client.request("GET", "/ready");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(body(ready)["status"], "ready");

  auto missing = rest.client.request("GET", "/api/v1/memories");
  EXPECT_EQ(missing.status, 401);
  EXPECT_TRUE(body(missing)["error"].is_string()) << missing.body;
  auto wrong = rest.client.request("GET", "/api/v1/memories", {{"x-api-key", "mtk_" + std::string(64, '0')}});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_TRUE(body(wrong)["error"].is_string()) << wrong.body;
  EXPECT_EQ(rest.client.request("GET", "/api/v1/memories", {{"x-api-key", rest.key_a}}).status, 200);
  EXPECT_EQ(
      rest.client.request("GET", "/api/v1/memories", {{"Authorization", "Bearer " + rest.key_a}}).status,
      200);
  auto unknown = rest.call("GET", "/api/v1/nothing");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_TRUE(body(unknown)["error"].is_string());
  EXPECT_EQ(rest.call("DELETE", "/api/v1/search").status, 405);
}

TEST(HttpRest, MemoriesCreateWithMemtraceDefaultsDedupAndBatch) {
  RestServer rest;
  auto created =
      rest.call("POST", "/api/v1/memories", {{"agent_id", "crawler"}, {"content", "Crawled example.com"}});
  ASSERT_EQ(created.status, 201) << created.body;
  json memory = body(created);
  EXPECT_EQ(memory["memory_type"], "episodic");
  EXPECT_EQ(memory["event_type"], "general");
  EXPECT_EQ(memory["importance"], 0.0);
  EXPECT_EQ(memory["org_id"], "team-a");
  EXPECT_EQ(memory["dedup_key"].get<std::string>().size(), 32u);
  EXPECT_FALSE(memory.contains("session_id")) << "written without a session, read without one";
  EXPECT_FALSE(memory.contains("tags")) << "the dedup index tag stays hidden";
  EXPECT_FALSE(memory.contains("metadata"));

  auto again =
      rest.call("POST", "/api/v1/memories", {{"agent_id", "crawler"}, {"content", "Crawled example.com"}});
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(body(again)["error"], "duplicate memory");
  auto keyed = rest.call("POST", "/api/v1/memories",
                         {{"agent_id", "crawler"}, {"content", "x"}, {"dedup_key", "crawl-2026-02-07"}});
  ASSERT_EQ(keyed.status, 201) << keyed.body;
  EXPECT_EQ(body(keyed)["dedup_key"], "crawl-2026-02-07");
  EXPECT_EQ(rest.call("POST", "/api/v1/memories",
                      {{"agent_id", "crawler"}, {"content", "y"}, {"dedup_key", "crawl-2026-02-07"}})
                .status,
            409);

  json batch = {{"memories",
                 {{{"agent_id", "a1"}, {"content", "First memory"}, {"memory_type", "episodic"}},
                  {{"agent_id", "a1"}, {"content", "Second memory"}, {"memory_type", "decision"}},
                  {{"agent_id", "crawler"}, {"content", "Crawled example.com"}}}}};
  auto batched = rest.call("POST", "/api/v1/memories", batch);
  ASSERT_EQ(batched.status, 201) << batched.body;
  EXPECT_EQ(body(batched)["count"], 2) << "the duplicate is skipped";

  json full = {{"agent_id", "crawler"},
               {"session_id", "sess_abc123"},
               {"memory_type", "entity"},
               {"event_type", "page_crawled"},
               {"content", "Product page"},
               {"metadata", {{"url", "https://example.com"}, {"pages_found", 3}}},
               {"tags", {"crawling", "products"}},
               {"importance", 0.7},
               {"parent_id", "m-1"}};
  auto stored = rest.call("POST", "/api/v1/memories", full);
  ASSERT_EQ(stored.status, 201) << stored.body;
  json m = body(stored);
  EXPECT_EQ(m["session_id"], "sess_abc123");
  EXPECT_EQ(m["memory_type"], "entity");
  EXPECT_EQ(m["event_type"], "page_crawled");
  EXPECT_EQ(m["metadata"], full["metadata"]);
  EXPECT_EQ(m["tags"], full["tags"]);
  EXPECT_EQ(m["importance"], 0.7);
  EXPECT_EQ(m["parent_id"], "m-1");
  auto fetched = rest.call("GET", "/api/v1/memories/" + m["id"].get<std::string>());
  ASSERT_EQ(fetched.status, 200);
  EXPECT_EQ(body(fetched), m) << "GET /memories/:id returns the memory with that id";

  EXPECT_EQ(rest.call("POST", "/api/v1/memories", json("{not json")).status, 400);
  EXPECT_NE(body(rest.call("POST", "/api/v1/memories", json("{not json")))["error"].get<std::string>().find(
                "invalid request body"),
            std::string::npos);
  EXPECT_EQ(body(rest.call("POST", "/api/v1/memories", {{"content", "x"}}))["error"], "agent_id is required");
  EXPECT_EQ(body(rest.call("POST", "/api/v1/memories", {{"agent_id", "a"}}))["error"], "content is required");
  EXPECT_EQ(
      rest.call("POST", "/api/v1/memories", {{"agent_id", "a"}, {"content", "x"}, {"memory_type", "nope"}})
          .status,
      400);
  EXPECT_EQ(
      rest.call("POST", "/api/v1/memories", {{"agent_id", "a"}, {"content", "x"}, {"importance", 5}}).status,
      400);
  EXPECT_EQ(
      rest.call("POST", "/api/v1/memories", {{"agent_id", "a"}, {"content", std::string(70000, 'x')}}).status,
      400)
      << "content over --max-content-bytes";
  auto missing = rest.call("GET", "/api/v1/memories/01ZZZZZZZZZZZZZZZZZZZZZZZZ");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(body(missing)["error"], "memory not found");
  // Last: the server may close the connection after refusing a body.
  EXPECT_EQ(
      rest.call("POST", "/api/v1/memories", {{"agent_id", "a"}, {"content", std::string(90000, 'x')}}).status,
      413)
      << "body over --max-body-bytes";
}

TEST(HttpRest, ListAndSearchFilterExactlyAndPage) {
  RestServer rest;
  for (int i = 0; i < 5; ++i) {
    json memory = {{"agent_id", "bot"},
                   {"session_id", "s1"},
                   {"content", "note " + std::to_string(i)},
                   {"tags", i % 2 ? json{"crawling"} : json{"crawl"}},
                   {"event_type", i < 2 ? "error" : "page_crawled"},
                   {"importance", i / 10.0}};
    ASSERT_EQ(rest.call("POST", "/api/v1/memories", memory).status, 201);
  }
  ASSERT_EQ(rest.call("POST", "/api/v1/memories", {{"agent_id", "other"}, {"content", "elsewhere"}}).status,
            201);

  json all = body(rest.call("GET", "/api/v1/memories?agent_id=bot"));
  ASSERT_EQ(all["count"], 5);
  EXPECT_EQ(all["memories"][0]["content"], "note 4") << "newest first by default";
  EXPECT_FALSE(all["has_more"]);
  json asc = body(rest.call("GET", "/api/v1/memories?agent_id=bot&order=asc&limit=2&offset=1"));
  ASSERT_EQ(asc["count"], 2);
  EXPECT_EQ(asc["memories"][0]["content"], "note 1");
  EXPECT_TRUE(asc["has_more"]);
  json tagged = body(rest.call("GET", "/api/v1/memories?tags=crawl"));
  EXPECT_EQ(tagged["count"], 3) << "crawl matches exactly, not crawling: " << tagged.dump();
  EXPECT_EQ(body(rest.call("GET", "/api/v1/memories?event_type=error"))["count"], 2);
  EXPECT_EQ(body(rest.call("GET", "/api/v1/memories?memory_type=decision"))["count"], 0);
  EXPECT_EQ(body(rest.call("GET", "/api/v1/memories?session_id=s1&since=1h"))["count"], 5);
  EXPECT_EQ(body(rest.call("GET", "/api/v1/memories?until=1h"))["count"], 0);
  EXPECT_EQ(rest.call("GET", "/api/v1/memories?since=yesterday-ish").status, 400);
  EXPECT_EQ(rest.call("GET", "/api/v1/memories?limit=ten").status, 400);
  EXPECT_EQ(rest.call("GET", "/api/v1/memories?order=sideways").status, 400);
  EXPECT_EQ(body(rest.call("GET", "/api/v1/memories?limit=5000"))["count"], 6) << "out-of-range limit: 100";

  auto searched = rest.call("POST", "/api/v1/search",
                            {{"agent_id", "bot"},
                             {"event_types", {"page_crawled"}},
                             {"tags", {"crawling"}},
                             {"content_contains", "NOTE"},
                             {"min_importance", 0.25},
                             {"memory_types", {"episodic"}}});
  ASSERT_EQ(searched.status, 200) << searched.body;
  json found = body(searched);
  ASSERT_EQ(found["count"], 1) << found.dump();
  EXPECT_EQ(found["results"][0]["content"], "note 3");
  EXPECT_TRUE(found["query_time_ms"].is_number());
  EXPECT_EQ(body(rest.call("POST", "/api/v1/search", {{"limit", 2}}))["count"], 2);
  EXPECT_EQ(rest.call("POST", "/api/v1/search", json("[1,2")).status, 400);
  EXPECT_EQ(rest.call("POST", "/api/v1/search", {{"since", "soon"}}).status, 400);
  EXPECT_EQ(rest.call("POST", "/api/v1/search", {{"memory_types", {"weird"}}}).status, 400);
}

TEST(HttpRest, SessionsCreateFindUpdateAndContext) {
  RestServer rest;
  auto created =
      rest.call("POST", "/api/v1/sessions", {{"agent_id", "billing"}, {"metadata", {{"account_id", "42"}}}});
  ASSERT_EQ(created.status, 201) << created.body;
  json session = body(created);
  std::string id = session["id"];
  EXPECT_EQ(session["status"], "active");
  EXPECT_EQ(session["agent_id"], "billing");
  EXPECT_EQ(session["metadata"]["account_id"], "42");
  EXPECT_EQ(rest.call("POST", "/api/v1/sessions", json::object()).status, 400);
  auto second = body(
      rest.call("POST", "/api/v1/sessions", {{"agent_id", "billing"}, {"metadata", {{"account_id", "42"}}}}));
  EXPECT_NE(second["id"], id) << "POST /sessions always starts a new session, as Memtrace does";

  EXPECT_EQ(body(rest.call("GET", "/api/v1/sessions/" + id))["id"], id);
  auto unknown = rest.call("GET", "/api/v1/sessions/no-such-session");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(body(unknown)["error"], "session not found");
  EXPECT_EQ(body(rest.call("GET", "/api/v1/sessions"))["count"], 2);
  EXPECT_EQ(body(rest.call(
                "GET", "/api/v1/sessions?metadata=%7B%22account_id%22%3A%2242%22%7D&status=active"))["count"],
            2);
  EXPECT_EQ(body(rest.call("GET", "/api/v1/sessions?metadata.account_id=43"))["count"], 0);
  EXPECT_EQ(rest.call("GET", "/api/v1/sessions?status=maybe").status, 400);

  for (int i = 0; i < 30; ++i) {
    ASSERT_EQ(rest.call("POST", "/api/v1/memories",
                        {{"agent_id", "billing"},
                         {"session_id", id},
                         {"content", "line " + std::to_string(i) + std::string(100, '.')}})
                  .status,
              201);
  }
  ASSERT_EQ(rest.call("POST", "/api/v1/memories",
                      {{"agent_id", "billing"},
                       {"session_id", id},
                       {"memory_type", "decision"},
                       {"content", "Credit $20"},
                       {"metadata", {{"reasoning", "outage last week"}}}})
                .status,
            201);
  auto context = rest.call("POST", "/api/v1/sessions/" + id + "/context", {{"since", "4h"}});
  ASSERT_EQ(context.status, 200) << context.body;
  json digest = body(context);
  EXPECT_EQ(digest["session_id"], id);
  EXPECT_EQ(digest["memory_count"], 31);
  EXPECT_NE(digest["context"].get<std::string>().find("outage last week"), std::string::npos);
  json small = body(rest.call("POST", "/api/v1/sessions/" + id + "/context", {{"max_tokens", 200}}));
  EXPECT_LE(small["context"].get<std::string>().size(), 800u) << "max_tokens is honoured";
  EXPECT_LT(small["memory_count"].get<int>(), 31);
  json decisions =
      body(rest.call("POST", "/api/v1/sessions/" + id + "/context", {{"include_types", {"decision"}}}));
  EXPECT_EQ(decisions["memory_count"], 1);
  EXPECT_EQ(rest.call("POST", "/api/v1/sessions/" + id + "/context", json("{")).status, 400);
  EXPECT_EQ(rest.call("POST", "/api/v1/sessions/" + id + "/context", {{"since", "whenever"}}).status, 400);
  EXPECT_EQ(rest.call("POST", "/api/v1/sessions/nope/context", json::object()).status, 404);

  auto closed = rest.call("PUT", "/api/v1/sessions/" + id, {{"status", "closed"}});
  ASSERT_EQ(closed.status, 200) << closed.body;
  EXPECT_EQ(body(closed)["status"], "closed");
  EXPECT_TRUE(body(closed)["closed_at"].is_string());
  EXPECT_EQ(rest.call("POST", "/api/v1/memories",
                      {{"agent_id", "billing"}, {"session_id", id}, {"content", "late"}})
                .status,
            400)
      << "a closed session takes no new memories";
  EXPECT_EQ(body(rest.call("GET", "/api/v1/sessions?status=active"))["count"], 1);
  EXPECT_EQ(rest.call("PUT", "/api/v1/sessions/nope", {{"status", "closed"}}).status, 404);
  EXPECT_EQ(rest.call("PUT", "/api/v1/sessions/" + id, {{"status", "paused"}}).status, 400);
}

TEST(HttpRest, AgentsRegisterGetAndStats) {
  RestServer rest;
  auto registered = rest.call("POST", "/api/v1/agents", {{"name", "web_crawler"}, {"description", "Crawls"}});
  ASSERT_EQ(registered.status, 201) << registered.body;
  EXPECT_EQ(body(registered)["id"], "web_crawler");
  EXPECT_EQ(body(registered)["name"], "web_crawler");
  EXPECT_EQ(rest.call("POST", "/api/v1/agents", json::object()).status, 400);
  EXPECT_EQ(body(rest.call("GET", "/api/v1/agents/web_crawler"))["description"], "Crawls");
  EXPECT_EQ(rest.call("GET", "/api/v1/agents/nobody").status, 404);
  EXPECT_EQ(rest.call("GET", "/api/v1/agents/nobody/stats").status, 404);

  rest.call("POST", "/api/v1/sessions", {{"agent_id", "web_crawler"}});
  rest.call("POST", "/api/v1/memories", {{"agent_id", "web_crawler"}, {"content", "a"}});
  rest.call("POST", "/api/v1/memories",
            {{"agent_id", "web_crawler"}, {"content", "b"}, {"event_type", "error"}});
  rest.call("POST", "/api/v1/memories",
            {{"agent_id", "web_crawler"}, {"content", "c"}, {"memory_type", "decision"}});
  json stats = body(rest.call("GET", "/api/v1/agents/web_crawler/stats"));
  EXPECT_EQ(stats["agent_id"], "web_crawler");
  EXPECT_EQ(stats["memory_count"], 3);
  EXPECT_EQ(stats["memories_24h"], 3);
  EXPECT_EQ(stats["errors_24h"], 1);
  EXPECT_EQ(stats["memory_types"]["episodic"], 2);
  EXPECT_EQ(stats["memory_types"]["decision"], 1);
  EXPECT_GE(stats["session_count"].get<int>(), 1);
  EXPECT_TRUE(stats["last_active_at"].is_string());
}

TEST(HttpRest, AgentsAreListedAndDeletedWithinTheirNamespace) {
  RestServer rest;
  ASSERT_EQ(rest.call("POST", "/api/v1/agents", {{"name", "web_crawler"}, {"description", "Crawls"}}).status,
            201);
  ASSERT_EQ(rest.call("POST", "/api/v1/agents", {{"name", "summarizer"}}).status, 201);
  ASSERT_EQ(rest.call("POST", "/api/v1/agents", {{"name", "b_only"}}, rest.key_b).status, 201);
  rest.call("POST", "/api/v1/memories", {{"agent_id", "web_crawler"}, {"content", "crawled"}});

  json list = body(rest.call("GET", "/api/v1/agents"));
  ASSERT_EQ(list["count"], 2) << list.dump();
  EXPECT_EQ(list["agents"][0]["id"], "summarizer");
  EXPECT_EQ(list["agents"][1]["id"], "web_crawler");
  EXPECT_EQ(list["agents"][1]["description"], "Crawls");
  EXPECT_EQ(body(rest.call("GET", "/api/v1/agents", nullptr, rest.key_b))["count"], 1);

  // Another namespace cannot delete it; its own can, once.
  EXPECT_EQ(rest.call("DELETE", "/api/v1/agents/web_crawler", nullptr, rest.key_b).status, 404);
  auto deleted = rest.call("DELETE", "/api/v1/agents/web_crawler");
  EXPECT_EQ(deleted.status, 204);
  EXPECT_TRUE(deleted.body.empty());
  EXPECT_EQ(rest.call("GET", "/api/v1/agents/web_crawler").status, 404);
  EXPECT_EQ(rest.call("DELETE", "/api/v1/agents/web_crawler").status, 404);
  EXPECT_EQ(body(rest.call("GET", "/api/v1/agents"))["count"], 1);
  // What it wrote stays, as in Memtrace.
  EXPECT_EQ(body(rest.call("GET", "/api/v1/memories?agent_id=web_crawler"))["count"], 1);
  EXPECT_EQ(rest.call("PUT", "/api/v1/agents/summarizer").status, 405);
}

TEST(HttpRest, AnotherNamespacesIdsAreUnknown) {
  RestServer rest;
  json memory =
      body(rest.call("POST", "/api/v1/memories",
                     {{"agent_id", "a"}, {"session_id", "shared-name"}, {"content", "team a secret"}}));
  std::string session = body(rest.call("POST", "/api/v1/sessions", {{"agent_id", "a"}}))["id"];
  EXPECT_EQ(
      rest.call("GET", "/api/v1/memories/" + memory["id"].get<std::string>(), nullptr, rest.key_b).status,
      404);
  EXPECT_EQ(rest.call("GET", "/api/v1/sessions/" + session, nullptr, rest.key_b).status, 404);
  EXPECT_EQ(rest.call("PUT", "/api/v1/sessions/" + session, {{"status", "closed"}}, rest.key_b).status, 404);
  EXPECT_EQ(rest.call("POST", "/api/v1/sessions/" + session + "/context", json::object(), rest.key_b).status,
            404);
  EXPECT_EQ(rest.call("GET", "/api/v1/agents/a", nullptr, rest.key_b).status, 404);
  EXPECT_EQ(body(rest.call("GET", "/api/v1/memories", nullptr, rest.key_b))["count"], 0);
  EXPECT_EQ(body(rest.call("GET", "/api/v1/sessions", nullptr, rest.key_b))["count"], 0);
  EXPECT_EQ(body(rest.call("POST", "/api/v1/search", {{"content_contains", "secret"}}, rest.key_b))["count"],
            0);
  EXPECT_EQ(body(rest.call("GET", "/api/v1/sessions/" + session))["status"], "active") << "B closed nothing";
}

TEST(HttpRest, RestAndMcpShareOneMemory) {
  RestServer rest;
  McpHttpSession mcp(rest.server.port(), {{"Authorization", "Bearer " + rest.key_a}});
  ASSERT_EQ(mcp.initialize().status, 200);
  auto opened = mcp.call_tool("memtrace_session_create", {{"metadata", {{"account_id", "7"}}}});
  ASSERT_FALSE(opened.value("isError", false)) << opened.dump();
  std::string session = opened["structuredContent"]["session"]["id"];

  // Written over REST, recalled over MCP.
  auto written = rest.call("POST", "/api/v1/memories",
                           {{"agent_id", "rest-bot"},
                            {"session_id", session},
                            {"content", "Customer likes email"},
                            {"tags", {"contact"}},
                            {"importance", 0.9}});
  ASSERT_EQ(written.status, 201) << written.body;
  auto recalled = mcp.call_tool("memtrace_recall", {{"session_id", session}});
  ASSERT_FALSE(recalled.value("isError", false)) << recalled.dump();
  const json& memories = recalled["structuredContent"]["memories"];
  ASSERT_EQ(memories.size(), 1u) << recalled.dump();
  EXPECT_EQ(memories[0]["content"], "Customer likes email");
  EXPECT_EQ(memories[0]["agent_id"], "rest-bot");
  EXPECT_EQ(memories[0]["id"], body(written)["id"]);

  // Decided over MCP, in the REST context and listing, reasoning where Memtrace's clients read it.
  auto decided = mcp.call_tool("memtrace_decide", {{"decision", "Send the invoice by email"},
                                                   {"reasoning", "the customer prefers email"},
                                                   {"session_id", session}});
  ASSERT_FALSE(decided.value("isError", false)) << decided.dump();
  json context = body(rest.call("POST", "/api/v1/sessions/" + session + "/context", json::object()));
  EXPECT_NE(context["context"].get<std::string>().find("Send the invoice by email"), std::string::npos)
      << context.dump();
  EXPECT_NE(context["context"].get<std::string>().find("the customer prefers email"), std::string::npos);
  json listed = body(rest.call("GET", "/api/v1/memories?session_id=" + session + "&memory_type=decision"));
  ASSERT_EQ(listed["count"], 1) << listed.dump();
  EXPECT_EQ(listed["memories"][0]["metadata"]["reasoning"], "the customer prefers email");
  EXPECT_EQ(listed["memories"][0]["event_type"], "decision");
  json sessions = body(rest.call("GET", "/api/v1/sessions?metadata.account_id=7"));
  ASSERT_EQ(sessions["count"], 1);
  EXPECT_EQ(sessions["sessions"][0]["id"], session);
}

TEST(HttpRest, AMemorySupersededOverMcpLeavesTheRestContextListingAndSearch) {
  RestServer rest;
  McpHttpSession mcp(rest.server.port(), {{"Authorization", "Bearer " + rest.key_a}});
  ASSERT_EQ(mcp.initialize().status, 200);
  auto opened = mcp.call_tool("memtrace_session_create", {{"metadata", {{"account_id", "9"}}}});
  ASSERT_FALSE(opened.value("isError", false)) << opened.dump();
  std::string session = opened["structuredContent"]["session"]["id"];
  auto old =
      mcp.call_tool("memtrace_remember", {{"content", "router is a TP-Link"}, {"session_id", session}});
  ASSERT_FALSE(old.value("isError", false)) << old.dump();
  auto newer = mcp.call_tool("memtrace_remember", {{"content", "router is a Netgear"},
                                                   {"session_id", session},
                                                   {"supersedes", {old["structuredContent"]["id"]}}});
  ASSERT_FALSE(newer.value("isError", false)) << newer.dump();

  const std::string context =
      body(rest.call("POST", "/api/v1/sessions/" + session + "/context", json::object()))["context"];
  EXPECT_NE(context.find("router is a Netgear"), std::string::npos) << context;
  EXPECT_EQ(context.find("TP-Link"), std::string::npos) << context;
  json listed = body(rest.call("GET", "/api/v1/memories?session_id=" + session));
  ASSERT_EQ(listed["count"], 1) << listed.dump();
  EXPECT_EQ(listed["memories"][0]["content"], "router is a Netgear");
  json found = body(rest.call("POST", "/api/v1/search", {{"content_contains", "router"}}));
  ASSERT_EQ(found["count"], 1) << found.dump();
  EXPECT_EQ(found["results"][0]["content"], "router is a Netgear");
}

}  // namespace
}  // namespace memtrace::testing
