// Sessions as MCP resources through a connection: capabilities, list (paginated), templates, read,
// errors, subscriptions and the notifications they bring, and context in the instructions.
#include <gtest/gtest.h>

#include "memory/sessions.h"
#include "session_test_harness.h"

namespace memtrace {
namespace {

using testing::is_update;
using testing::Json;
using testing::SessionHarness;
using testing::TestClient;

const std::string kCurrent = "memtrace://sessions/current/context";
const std::string kContextTemplate = "memtrace://sessions/{session_id}/context";
const std::string kRecordTemplate = "memtrace://sessions/{session_id}";

// The entry of `list` whose `key` is `value` (other features may list resources beside sessions).
Json find_entry(const Json& list, const char* key, const std::string& value) {
  for (const auto& entry : list) {
    if (entry.value(key, "") == value) return entry;
  }
  ADD_FAILURE() << "no entry with " << key << " = " << value << " in " << list.dump();
  return Json::object();
}

struct ResourcesTest : ::testing::Test {
  SessionHarness h;
  TestClient client{h.server};
  void SetUp() override { client.initialize(); }

  // Starts a session on `client` and waits until the store's change feed has announced it, so that no
  // notification about its creation arrives later than a test expects.
  std::string new_session(const Json& metadata) {
    Json r = client.call_tool("memtrace_session_create", {{"metadata", metadata}, {"resume", false}});
    EXPECT_TRUE(client.inbox().notification("notifications/resources/list_changed"));
    return r["structuredContent"]["session"]["id"];
  }
  // Creates `n` sessions directly through the domain layer (fast), newest last.
  std::vector<std::string> many_sessions(int n) {
    std::vector<std::string> ids;
    Caller caller{kDefaultNamespace, "bulk", ""};
    for (int i = 0; i < n; ++i) {
      auto opened = create_or_resume(h.engine, caller, {});
      EXPECT_TRUE(opened);
      ids.push_back(opened->session.session.id);
    }
    return ids;
  }
};

TEST_F(ResourcesTest, InitializeDeclaresResourcesPromptsAndCompletions) {
  TestClient other(h.server);
  Json init = other.initialize();
  EXPECT_EQ(init["capabilities"]["resources"], Json({{"subscribe", true}, {"listChanged", true}}));
  EXPECT_EQ(init["capabilities"]["prompts"], Json({{"listChanged", false}}));
  EXPECT_EQ(init["capabilities"]["completions"], Json::object());
}

TEST_F(ResourcesTest, ListStartsWithTheCurrentSessionThenRecentSessionsPaged) {
  std::vector<std::string> ids = many_sessions(60);
  Json first = client.result("resources/list");
  Json resources = Json::array();  // the session resources (other features may list more)
  for (const auto& r : first["resources"]) {
    if (r["uri"].get<std::string>().rfind("memtrace://sessions/", 0) == 0) resources.push_back(r);
  }
  ASSERT_EQ(resources.size(), 51u);  // current + a page of 50
  EXPECT_EQ(resources[0]["uri"], kCurrent);
  EXPECT_EQ(resources[0]["mimeType"], "text/markdown");
  EXPECT_EQ(resources[0]["title"], "Current session context");
  EXPECT_EQ(resources[1]["uri"], "memtrace://sessions/" + ids.back() + "/context");
  EXPECT_EQ(resources[1]["mimeType"], "text/markdown");
  EXPECT_TRUE(resources[1].contains("title"));
  EXPECT_NE(resources[1]["description"].get<std::string>().find("0 memories"), std::string::npos);
  ASSERT_TRUE(first.contains("nextCursor"));

  Json second = client.result("resources/list", {{"cursor", first["nextCursor"]}});
  ASSERT_EQ(second["resources"].size(), 10u);
  EXPECT_FALSE(second.contains("nextCursor"));
  EXPECT_EQ(second["resources"][9]["uri"], "memtrace://sessions/" + ids.front() + "/context");
  for (const auto& r : second["resources"]) EXPECT_NE(r["uri"], kCurrent);

  Json bad = client.request("resources/list", {{"cursor", "garbage"}});
  EXPECT_EQ(bad["error"]["code"], -32602);
}

TEST_F(ResourcesTest, TitlesOnlyForClientsThatKnowThem) {
  many_sessions(1);
  TestClient old(h.server);
  old.initialize("2024-11-05");
  const Json old_resources = old.result("resources/list")["resources"];
  ASSERT_GE(old_resources.size(), 2u);
  for (const auto& r : old_resources) EXPECT_FALSE(r.contains("title")) << r.dump();
  const Json old_templates = old.result("resources/templates/list")["resourceTemplates"];
  EXPECT_FALSE(find_entry(old_templates, "uriTemplate", kContextTemplate).contains("title"));
  EXPECT_FALSE(find_entry(old_templates, "uriTemplate", kRecordTemplate).contains("title"));
  const Json templates = client.result("resources/templates/list")["resourceTemplates"];
  EXPECT_EQ(find_entry(templates, "uriTemplate", kContextTemplate)["title"], "Session context");
  EXPECT_EQ(find_entry(templates, "uriTemplate", kRecordTemplate)["title"], "Session record");
}

TEST_F(ResourcesTest, TemplatesNameTheContextAndTheRecord) {
  // Sessions first; then memtrace://tasks/ and memtrace://agents/ (task_tools_test.cpp).
  const Json templates = client.result("resources/templates/list")["resourceTemplates"];
  ASSERT_GE(templates.size(), 2u);
  EXPECT_EQ(templates[0]["uriTemplate"], kContextTemplate);
  EXPECT_EQ(templates[1]["uriTemplate"], kRecordTemplate);
  EXPECT_EQ(find_entry(templates, "uriTemplate", kContextTemplate)["mimeType"], "text/markdown");
  EXPECT_EQ(find_entry(templates, "uriTemplate", kRecordTemplate)["mimeType"], "application/json");
  EXPECT_NE(find_entry(templates, "uriTemplate", kContextTemplate)["description"].get<std::string>().find(
                "?since="),
            std::string::npos);
  EXPECT_EQ(client.request("resources/templates/list", {{"cursor", "x"}})["error"]["code"], -32602);
}

TEST_F(ResourcesTest, ReadsTheCurrentContextAndAnySessionWithQueryParameters) {
  new_session({{"account_id", "42"}});
  const std::string id = client.session_id();
  client.remember("First finding.", {{"importance", 0.2}});
  h.clock.advance_ms(3 * 3600 * 1000);
  client.remember("Second finding.", {{"importance", 0.9}});

  Json current = client.result("resources/read", {{"uri", kCurrent}});
  ASSERT_EQ(current["contents"].size(), 1u);
  const Json& c = current["contents"][0];
  EXPECT_EQ(c["uri"], kCurrent);
  EXPECT_EQ(c["mimeType"], "text/markdown");
  const std::string text = c["text"];
  EXPECT_EQ(text.rfind("# Session context: " + id + "\n", 0), 0u) << text;
  EXPECT_NE(text.find("First finding."), std::string::npos);
  EXPECT_NE(text.find("Second finding."), std::string::npos);

  const std::string uri = "memtrace://sessions/" + id + "/context?since=1h";
  Json windowed = client.result("resources/read", {{"uri", uri}});
  EXPECT_EQ(windowed["contents"][0]["uri"], uri);
  std::string recent = windowed["contents"][0]["text"];
  EXPECT_EQ(recent.find("First finding."), std::string::npos) << recent;
  EXPECT_NE(recent.find("Second finding."), std::string::npos) << recent;

  Json tiny =
      client.result("resources/read", {{"uri", "memtrace://sessions/" + id + "/context?max_tokens=40"}});
  std::string small = tiny["contents"][0]["text"];
  EXPECT_LE(small.size(), 160u);
  EXPECT_NE(small.find("omitted"), std::string::npos) << small;
}

TEST_F(ResourcesTest, ReadsTheSessionRecordAsJson) {
  new_session({{"account_id", "42"}});
  const std::string id = client.session_id();
  client.remember("A note.");
  Json record = client.result("resources/read", {{"uri", "memtrace://sessions/" + id}});
  EXPECT_EQ(record["contents"][0]["mimeType"], "application/json");
  Json session = Json::parse(record["contents"][0]["text"].get<std::string>());
  EXPECT_EQ(session["id"], id);
  EXPECT_EQ(session["status"], "active");
  EXPECT_EQ(session["metadata"], Json({{"account_id", "42"}}));
  EXPECT_EQ(session["agents"], Json::array({"tester"}));
  EXPECT_EQ(session["memory_count"], 1);
}

TEST_F(ResourcesTest, SessionIdsArePercentEncodedInUris) {
  Caller caller{kDefaultNamespace, "tester", ""};
  SessionCreateInput input;
  input.session_id = "team a/b?";
  ASSERT_TRUE(create_or_resume(h.engine, caller, input));
  Json list = client.result("resources/list");
  bool found = false;
  for (const auto& r : list["resources"]) found |= r["uri"] == "memtrace://sessions/team%20a%2Fb%3F/context";
  EXPECT_TRUE(found) << list.dump();
  Json read = client.result("resources/read", {{"uri", "memtrace://sessions/team%20a%2Fb%3F/context"}});
  EXPECT_NE(read["contents"][0]["text"].get<std::string>().find("# Session context: team a/b?"),
            std::string::npos);
}

TEST_F(ResourcesTest, UnknownResourcesAndBadQueriesAreErrors) {
  for (const char* uri :
       {"memtrace://sessions/nope/context", "memtrace://sessions/nope", "file:///etc/passwd",
        "memtrace://sessions/current", "memtrace://sessions//context", "memtrace://sessions/x/other"}) {
    Json reply = client.request("resources/read", {{"uri", uri}});
    EXPECT_EQ(reply["error"]["code"], -32002) << uri << ": " << reply.dump();
    EXPECT_EQ(reply["error"]["data"]["uri"], uri);
  }
  for (const std::string& uri :
       {kCurrent + "?max_tokens=0", kCurrent + "?max_tokens=12abc", kCurrent + "?colour=red",
        kCurrent + "?since=yesterday", kCurrent + "?types=gossip"}) {
    Json reply = client.request("resources/read", {{"uri", uri}});
    EXPECT_EQ(reply["error"]["code"], -32602) << uri << ": " << reply.dump();
  }
  EXPECT_EQ(client.request("resources/read", Json::object())["error"]["code"], -32602);
}

TEST_F(ResourcesTest, ResourceMethodsNeedInitialize) {
  TestClient fresh(h.server);
  EXPECT_EQ(fresh.request("resources/list")["error"]["code"], -32600);
  EXPECT_EQ(fresh.request("resources/read", {{"uri", kCurrent}})["error"]["code"], -32600);
}

// ---- subscriptions --------------------------------------------------------------------------------

TEST_F(ResourcesTest, SubscribersHearAboutWritesToTheirSessionOnly) {
  new_session({{"account_id", "1"}});
  const std::string id = client.session_id();
  const std::string by_id = "memtrace://sessions/" + id + "/context";
  const std::string record = "memtrace://sessions/" + id;

  TestClient watcher(h.server);
  watcher.initialize();
  EXPECT_EQ(watcher.result("resources/subscribe", {{"uri", by_id}}), Json::object());
  EXPECT_EQ(watcher.result("resources/subscribe", {{"uri", record}}), Json::object());

  client.remember("Written by another connection.");
  EXPECT_TRUE(watcher.inbox().take([&](const Json& m) { return is_update(m, by_id); }));
  EXPECT_TRUE(watcher.inbox().take([&](const Json& m) { return is_update(m, record); }));

  // A decision lands too.
  client.call_tool("memtrace_decide", {{"decision", "d"}, {"reasoning", "r"}});
  EXPECT_TRUE(watcher.inbox().take([&](const Json& m) { return is_update(m, by_id); }));
  EXPECT_TRUE(watcher.inbox().take([&](const Json& m) { return is_update(m, record); }));

  // After unsubscribing from the context, a write is announced for the record only. Both notices of
  // one change are sent together, so once the record's has arrived the context's would have too.
  EXPECT_EQ(watcher.result("resources/unsubscribe", {{"uri", by_id}}), Json::object());
  watcher.inbox().clear();
  client.remember("After unsubscribing.");
  EXPECT_TRUE(watcher.inbox().take([&](const Json& m) { return is_update(m, record); }));
  EXPECT_FALSE(
      watcher.inbox().take([&](const Json& m) { return is_update(m, by_id); }, std::chrono::milliseconds(0)));

  // Writes elsewhere are not announced to this subscriber.
  TestClient elsewhere(h.server);
  elsewhere.initialize();
  elsewhere.remember("In an unrelated session.");
  client.remember("Back in the watched session.");
  EXPECT_TRUE(watcher.inbox().take([&](const Json& m) { return is_update(m, record); }));
  EXPECT_FALSE(watcher.inbox().take(
      [&](const Json& m) {
        return m.value("method", "") == "notifications/resources/updated" && m["params"]["uri"] != record;
      },
      std::chrono::milliseconds(0)));
}

TEST_F(ResourcesTest, CurrentFollowsTheConnectionsSession) {
  EXPECT_EQ(client.result("resources/subscribe", {{"uri", kCurrent}}), Json::object());
  client.remember("In the first session.");  // creates the session lazily; the subscription sees it
  EXPECT_TRUE(client.inbox().take([&](const Json& m) { return is_update(m, kCurrent); }));
  EXPECT_TRUE(client.inbox().notification("notifications/resources/list_changed"));

  const std::string first = client.session_id();
  new_session({{"step", "2"}});  // returns once the creation has been announced
  // Switching sessions changes what the current context is.
  EXPECT_TRUE(client.inbox().take([&](const Json& m) { return is_update(m, kCurrent); }));
  client.inbox().clear();

  // A write into the old session is not about the current one any more; a write into the new one is.
  TestClient other(h.server);
  other.initialize();
  other.remember("Late note for the first session.", {{"session_id", first}});
  client.remember("In the second session.");
  EXPECT_TRUE(client.inbox().take([&](const Json& m) { return is_update(m, kCurrent); }));
  EXPECT_FALSE(client.inbox().take([&](const Json& m) { return is_update(m, kCurrent); },
                                   std::chrono::milliseconds(0)));
}

TEST_F(ResourcesTest, SubscribingToAnUnknownSessionIsAnError) {
  Json reply = client.request("resources/subscribe", {{"uri", "memtrace://sessions/nope/context"}});
  EXPECT_EQ(reply["error"]["code"], -32002);
  EXPECT_EQ(reply["error"]["data"]["uri"], "memtrace://sessions/nope/context");
  EXPECT_EQ(client.request("resources/subscribe", {{"uri", "https://example.com"}})["error"]["code"], -32002);
  EXPECT_EQ(client.request("resources/subscribe", Json::object())["error"]["code"], -32602);
  EXPECT_EQ(client.result("resources/unsubscribe", {{"uri", "memtrace://sessions/nope/context"}}),
            Json::object());
}

TEST_F(ResourcesTest, EveryConnectionHearsWhenSessionsAreCreatedOrClosed) {
  TestClient watcher(h.server);
  watcher.initialize();
  const std::string id = new_session({{"account_id", "9"}});  // `client` heard it
  EXPECT_TRUE(watcher.inbox().notification("notifications/resources/list_changed"));
  client.call_tool("memtrace_session_close", {{"session_id", id}});
  EXPECT_TRUE(watcher.inbox().notification("notifications/resources/list_changed"));
}

TEST_F(ResourcesTest, ClosedConnectionsLeaveTheRegistry) {
  new_session({{"k", "v"}});
  const std::string uri = "memtrace://sessions/" + client.session_id() + "/context";
  const std::size_t before = h.server.subscriptions().subscription_count();
  {
    TestClient watcher(h.server);
    watcher.initialize();
    watcher.result("resources/subscribe", {{"uri", uri}});
    watcher.result("resources/subscribe", {{"uri", kCurrent}});
    EXPECT_EQ(h.server.subscriptions().subscription_count(), before + 2);
    watcher.close();
    EXPECT_EQ(h.server.subscriptions().subscription_count(), before);
  }
  client.remember("Nobody else listens; nothing breaks.");
  client.result("ping");
}

TEST(ResourcesInstructions, InstructionsCarryTheCurrentSessionsDigestWithinItsBudget) {
  mcp::ServerOptions options;
  options.session_id = "pinned";
  options.context_in_instructions = true;
  options.instructions_max_tokens = 80;
  SessionHarness h(options);
  {
    TestClient writer(h.server);
    writer.initialize();
    for (int i = 0; i < 20; ++i) writer.remember("Fact number " + std::to_string(i) + " about the customer.");
  }
  TestClient client(h.server);
  const std::string instructions = client.initialize()["instructions"];
  const std::string plain = h.server.instructions();
  ASSERT_EQ(instructions.rfind(plain, 0), 0u) << "the usual instructions come first";
  const std::string digest = instructions.substr(instructions.find("# Session context: pinned"));
  EXPECT_LE(digest.size(), 80u * 4);
  EXPECT_NE(digest.find("Fact number 19"), std::string::npos) << digest;
  EXPECT_NE(digest.find("omitted"), std::string::npos) << digest;

  SessionHarness without;  // off by default
  TestClient other(without.server);
  EXPECT_EQ(other.initialize()["instructions"], without.server.instructions());
}

}  // namespace
}  // namespace memtrace
