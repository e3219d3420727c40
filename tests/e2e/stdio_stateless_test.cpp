// The 2026-07-28 (stateless) era over stdio: requests that carry their protocol version in _meta are
// served without initialize, beside the legacy era on another connection.
#include <gtest/gtest.h>

#include "support/e2e_store.h"
#include "support/mcp_client.h"

namespace memtrace::testing {
namespace {

Json meta(const std::string& client = "stdio-modern") {
  return {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
          {"io.modelcontextprotocol/clientCapabilities", Json::object()},
          {"io.modelcontextprotocol/clientInfo", {{"name", client}, {"version", "1"}}}};
}

Json with_meta(Json params, const std::string& client = "stdio-modern") {
  params["_meta"] = meta(client);
  return params;
}

TEST(StdioStateless, DiscoverNamesTheModernVersionAndWhatIsServed) {
  E2eStore e2e;
  McpClient client(e2e.single_args());
  Json reply = client.request("server/discover", with_meta(Json::object()));
  const Json& result = reply["result"];
  ASSERT_TRUE(result.is_object()) << reply.dump();
  EXPECT_EQ(result["resultType"], "complete");
  EXPECT_EQ(result["supportedVersions"], Json::array({"2026-07-28"}));
  EXPECT_TRUE(result["capabilities"].contains("tools"));
  EXPECT_TRUE(result["capabilities"].contains("resources"));
  EXPECT_TRUE(result["capabilities"].contains("prompts"));
  EXPECT_FALSE(result["capabilities"].contains("logging"));  // per request in this era
  EXPECT_EQ(result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"], "memtrace-mcp");
  EXPECT_TRUE(result["ttlMs"].is_number_integer());
  EXPECT_EQ(result["cacheScope"], "public");
}

TEST(StdioStateless, ToolsWorkWithoutInitializeAndActForTheClientInMeta) {
  E2eStore e2e;
  McpClient client(e2e.single_args());
  Json listed = client.request("tools/list", with_meta(Json::object()));
  ASSERT_TRUE(listed["result"]["tools"].is_array()) << listed.dump();
  std::vector<std::string> names;
  for (const auto& tool : listed["result"]["tools"]) names.push_back(tool["name"]);
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));  // deterministic order
  EXPECT_EQ(listed["result"]["cacheScope"], "public");

  Json stored = client.request(
      "tools/call",
      with_meta({{"name", "memtrace_remember"}, {"arguments", {{"content", "Ada prefers tea"}}}}, "agent-ada"));
  ASSERT_EQ(stored["result"]["resultType"], "complete") << stored.dump();
  EXPECT_EQ(stored["result"]["structuredContent"]["agent_id"], "agent-ada");

  Json found = client.request(
      "tools/call", with_meta({{"name", "memtrace_search"}, {"arguments", {{"content_contains", "tea"}}}}));
  ASSERT_TRUE(found.contains("result")) << found.dump();
  EXPECT_NE(found["result"].dump().find("Ada prefers tea"), std::string::npos);
}

TEST(StdioStateless, MetaIsCheckedAndRemovedMethodsAreUnknown) {
  E2eStore e2e;
  McpClient client(e2e.single_args());
  Json no_capabilities = {{"_meta", {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"}}}};
  EXPECT_EQ(client.request("tools/list", no_capabilities)["error"]["code"], -32602);
  Json future = with_meta(Json::object());
  future["_meta"]["io.modelcontextprotocol/protocolVersion"] = "2099-01-01";
  Json unsupported = client.request("tools/list", future);
  EXPECT_EQ(unsupported["error"]["code"], -32022);
  EXPECT_EQ(unsupported["error"]["data"]["requested"], "2099-01-01");
  EXPECT_EQ(unsupported["error"]["data"]["supported"], Json::array({"2026-07-28"}));
  for (const char* removed : {"ping", "logging/setLevel", "resources/subscribe"}) {
    EXPECT_EQ(client.request(removed, with_meta(Json::object()))["error"]["code"], -32601) << removed;
  }
  // Unknown resources are -32602 with the URI in this era (-32002 in the legacy one).
  Json missing = client.request("resources/read", with_meta({{"uri", "memtrace://sessions/nope/context"}}));
  EXPECT_EQ(missing["error"]["code"], -32602) << missing.dump();
  EXPECT_EQ(missing["error"]["data"]["uri"], "memtrace://sessions/nope/context");
}

TEST(StdioStateless, ListenAcknowledgesThenDeliversResourceListChanges) {
  E2eStore e2e;
  McpClient client(e2e.single_args());
  const long long listen_id = client.next_id();
  client.process().write_line(Json({{"jsonrpc", "2.0"},
               {"id", listen_id},
               {"method", "subscriptions/listen"},
               {"params", with_meta({{"notifications", {{"resourcesListChanged", true}, {"toolsListChanged", true}}}})}}).dump());
  auto ack = client.wait_notification("notifications/subscriptions/acknowledged");
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ((*ack)["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], listen_id);
  EXPECT_EQ((*ack)["params"]["notifications"], Json({{"resourcesListChanged", true}}));  // tools never change

  // A new session makes the resource list change.
  Json created = client.request(
      "tools/call", with_meta({{"name", "memtrace_session_create"}, {"arguments", {{"metadata", {{"ticket", "7"}}}}}}));
  ASSERT_TRUE(created.contains("result")) << created.dump();
  auto changed = client.wait_notification("notifications/resources/list_changed");
  ASSERT_TRUE(changed.has_value());
  EXPECT_EQ((*changed)["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], listen_id);

  // Cancelling the listen request ends it. A second listener then sees the next change; the first,
  // which would have been told in the same delivery, is not.
  client.notify("notifications/cancelled", {{"requestId", listen_id}});
  const long long second_id = client.next_id();
  client.process().write_line(Json({{"jsonrpc", "2.0"},
                                    {"id", second_id},
                                    {"method", "subscriptions/listen"},
                                    {"params", with_meta({{"notifications", {{"resourcesListChanged", true}}}})}})
                                  .dump());
  ASSERT_TRUE(client.wait_notification("notifications/subscriptions/acknowledged").has_value());
  client.notifications().clear();
  client.request("tools/call",
                 with_meta({{"name", "memtrace_session_create"}, {"arguments", {{"metadata", {{"ticket", "8"}}}}}}));
  auto second = client.wait_notification("notifications/resources/list_changed");
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ((*second)["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], second_id);
  for (const auto& n : client.notifications()) {
    if (n["method"] == "notifications/resources/list_changed") {
      EXPECT_EQ(n["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], second_id);
    }
  }
}

TEST(StdioStateless, InitializeStillSelectsTheLegacyEra) {
  E2eStore e2e;
  McpClient client(e2e.single_args());
  EXPECT_EQ(client.initialize("2025-06-18")["result"]["protocolVersion"], "2025-06-18");
  Json listed = client.request("tools/list");
  EXPECT_FALSE(listed["result"].contains("resultType"));
  EXPECT_EQ(client.request("resources/read", {{"uri", "memtrace://sessions/nope/context"}})["error"]["code"], -32002);
}

}  // namespace
}  // namespace memtrace::testing
