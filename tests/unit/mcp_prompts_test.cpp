// The memtrace_context prompt and completion/complete through a connection.
#include <algorithm>

#include <gtest/gtest.h>

#include "memory/sessions.h"
#include "session_test_harness.h"

namespace memtrace {
namespace {

using testing::Json;
using testing::SessionHarness;
using testing::TestClient;

struct PromptsTest : ::testing::Test {
  SessionHarness h;
  TestClient client{h.server};
  void SetUp() override { client.initialize(); }

  std::string session_with(const std::string& id) {
    Caller caller{kDefaultNamespace, "bulk", ""};
    SessionCreateInput input;
    input.session_id = id;
    auto opened = create_or_resume(h.engine, caller, input);
    EXPECT_TRUE(opened);
    return id;
  }
  Json complete_prompt(const std::string& argument, const std::string& value) {
    return client.result("completion/complete",
                         {{"ref", {{"type", "ref/prompt"}, {"name", "memtrace_context"}}},
                          {"argument", {{"name", argument}, {"value", value}}}});
  }
};

TEST_F(PromptsTest, ListsTheContextPromptWithOptionalArguments) {
  Json prompts = client.result("prompts/list")["prompts"];
  ASSERT_EQ(prompts.size(), 1u);
  EXPECT_EQ(prompts[0]["name"], "memtrace_context");
  EXPECT_EQ(prompts[0]["title"], "Session context");
  ASSERT_EQ(prompts[0]["arguments"].size(), 2u);
  EXPECT_EQ(prompts[0]["arguments"][0]["name"], "session_id");
  EXPECT_EQ(prompts[0]["arguments"][0]["required"], false);
  EXPECT_EQ(prompts[0]["arguments"][1]["name"], "since");

  TestClient old(h.server);
  old.initialize("2025-03-26");
  Json legacy = old.result("prompts/list")["prompts"][0];
  EXPECT_FALSE(legacy.contains("title"));
  EXPECT_FALSE(legacy["arguments"][0].contains("title"));
  EXPECT_EQ(client.request("prompts/list", {{"cursor", "x"}})["error"]["code"], -32602);
}

TEST_F(PromptsTest, GetEmbedsTheCurrentSessionsDigestAsAResource) {
  client.remember("The customer's name is Ada.");
  Json prompt = client.result("prompts/get", {{"name", "memtrace_context"}});
  ASSERT_EQ(prompt["messages"].size(), 1u);
  const Json& message = prompt["messages"][0];
  EXPECT_EQ(message["role"], "user");
  EXPECT_EQ(message["content"]["type"], "resource");
  const Json& resource = message["content"]["resource"];
  EXPECT_EQ(resource["uri"], "memtrace://sessions/current/context");
  EXPECT_EQ(resource["mimeType"], "text/markdown");
  const std::string text = resource["text"];
  EXPECT_EQ(text.rfind("# Session context: " + client.session_id(), 0), 0u);
  EXPECT_NE(text.find("The customer's name is Ada."), std::string::npos);
  // The same digest the resource gives.
  Json read = client.result("resources/read", {{"uri", "memtrace://sessions/current/context"}});
  EXPECT_EQ(read["contents"][0]["text"], text);
}

TEST_F(PromptsTest, GetTakesASessionAndAWindow) {
  const std::string own = client.session_id();
  client.remember("Old news.");
  h.clock.advance_ms(2 * 3600 * 1000);
  client.remember("Fresh news.");
  TestClient other(h.server);
  other.initialize();
  Json prompt = other.result(
      "prompts/get", {{"name", "memtrace_context"}, {"arguments", {{"session_id", own}, {"since", "1h"}}}});
  const Json& resource = prompt["messages"][0]["content"]["resource"];
  EXPECT_EQ(resource["uri"], "memtrace://sessions/" + own + "/context?since=1h");
  const std::string text = resource["text"];
  EXPECT_NE(text.find("Fresh news."), std::string::npos) << text;
  EXPECT_EQ(text.find("Old news."), std::string::npos) << text;
}

TEST_F(PromptsTest, BadPromptRequestsAreInvalidParams) {
  EXPECT_EQ(client.request("prompts/get", {{"name", "nope"}})["error"]["code"], -32602);
  EXPECT_EQ(client.request("prompts/get", Json::object())["error"]["code"], -32602);
  Json unknown_session =
      client.request("prompts/get", {{"name", "memtrace_context"}, {"arguments", {{"session_id", "nope"}}}});
  EXPECT_EQ(unknown_session["error"]["code"], -32602);
  EXPECT_NE(unknown_session["error"]["message"].get<std::string>().find("there is no session nope"),
            std::string::npos);
  EXPECT_EQ(client.request("prompts/get",
                           {{"name", "memtrace_context"}, {"arguments", {{"since", 4}}}})["error"]["code"],
            -32602);
  EXPECT_EQ(client.request("prompts/get", {{"name", "memtrace_context"},
                                           {"arguments", {{"since", "soon"}}}})["error"]["code"],
            -32602);
  EXPECT_EQ(client.request("prompts/get", {{"name", "memtrace_context"},
                                           {"arguments", {{"colour", "red"}}}})["error"]["code"],
            -32602);
}

// ---- completion -----------------------------------------------------------------------------------

TEST_F(PromptsTest, CompletesSessionIdsByPrefixForThePromptAndTheTemplates) {
  session_with("acme-support");
  session_with("acme-billing");
  session_with("globex");
  Json c = complete_prompt("session_id", "acme")["completion"];
  std::vector<std::string> values = c["values"];
  std::sort(values.begin(), values.end());
  EXPECT_EQ(values, (std::vector<std::string>{"acme-billing", "acme-support"}));
  EXPECT_EQ(c["total"], 2);
  EXPECT_EQ(c["hasMore"], false);

  EXPECT_EQ(complete_prompt("session_id", "ACME")["completion"]["total"], 2);  // case-insensitive

  for (const char* uri : {"memtrace://sessions/{session_id}/context", "memtrace://sessions/{session_id}"}) {
    Json r = client.result("completion/complete", {{"ref", {{"type", "ref/resource"}, {"uri", uri}}},
                                                   {"argument", {{"name", "session_id"}, {"value", "glo"}}}});
    EXPECT_EQ(r["completion"]["values"], Json::array({"globex"})) << uri;
  }

  // The connection's own session comes first, even before it is stored.
  Json own = complete_prompt("session_id", "")["completion"];
  EXPECT_EQ(own["values"][0], client.session_id());
  EXPECT_EQ(own["total"], 4);
}

TEST_F(PromptsTest, CompletionReturnsAtMostAHundredValues) {
  Caller caller{kDefaultNamespace, "bulk", ""};
  for (int i = 0; i < 130; ++i) ASSERT_TRUE(create_or_resume(h.engine, caller, {}));
  Json c = complete_prompt("session_id", "")["completion"];
  EXPECT_EQ(c["values"].size(), 100u);
  EXPECT_EQ(c["total"], 131);  // 130 stored + this connection's own
  EXPECT_EQ(c["hasMore"], true);
}

TEST_F(PromptsTest, CompletesTimeWindowsAndNothingElse) {
  EXPECT_EQ(complete_prompt("since", "2")["completion"]["values"], Json::array({"24h"}));
  EXPECT_EQ(complete_prompt("colour", "r")["completion"]["values"], Json::array());
  Json other =
      client.result("completion/complete", {{"ref", {{"type", "ref/resource"}, {"uri", "file:///x/{path}"}}},
                                            {"argument", {{"name", "path"}, {"value", ""}}}});
  EXPECT_EQ(other["completion"]["values"], Json::array());
}

TEST_F(PromptsTest, MalformedCompletionRequestsAreInvalidParams) {
  auto code = [&](const Json& params) {
    return client.request("completion/complete", params)["error"]["code"];
  };
  EXPECT_EQ(code({{"ref", {{"type", "ref/prompt"}, {"name", "nope"}}},
                  {"argument", {{"name", "a"}, {"value", ""}}}}),
            -32602);
  EXPECT_EQ(
      code({{"ref", {{"type", "ref/tool"}, {"name", "x"}}}, {"argument", {{"name", "a"}, {"value", ""}}}}),
      -32602);
  EXPECT_EQ(code({{"argument", {{"name", "a"}, {"value", ""}}}}), -32602);
  EXPECT_EQ(code({{"ref", {{"type", "ref/prompt"}, {"name", "memtrace_context"}}}}), -32602);
}

}  // namespace
}  // namespace memtrace
