// memtrace_remember's dedup window and supersede through an MCP connection on the injectable clock:
// the window is measured from the earlier memory's time, the answers match the output schemas, and the
// prompt's digest leaves a superseded memory out.
#include <gtest/gtest.h>

#include "mcp/schema_validator.h"
#include "session_test_harness.h"

namespace memtrace {
namespace {

using testing::Json;
using testing::SessionHarness;
using testing::TestClient;

constexpr UnixMillis kHour = 3'600'000;

struct RememberDedupWindowTest : ::testing::Test {
  SessionHarness h;
  TestClient client{h.server};
  void SetUp() override { client.initialize(); }

  void expect_matches_output_schema(const std::string& tool, const Json& result) {
    const Json* definition = h.server.tools().definition(tool);
    ASSERT_NE(definition, nullptr) << tool;
    mcp::SchemaValidator output((*definition)["outputSchema"]);
    EXPECT_EQ(output.validate(result["structuredContent"]), std::nullopt) << tool << ": " << result.dump();
  }
};

TEST_F(RememberDedupWindowTest, TheDefaultWindowIsADayFromTheEarlierMemory) {
  Json first = client.remember("the VPN needs a reboot");
  expect_matches_output_schema("memtrace_remember", first);
  const std::string id = first["structuredContent"]["id"];

  h.clock.advance_ms(24 * kHour - 1);
  Json again = client.remember("the VPN needs a reboot");
  expect_matches_output_schema("memtrace_remember", again);
  EXPECT_EQ(again["structuredContent"]["id"], id);
  EXPECT_EQ(again["structuredContent"]["deduplicated"], true);

  // A day after the first one (the repeat stored nothing, so it does not extend the window).
  h.clock.advance_ms(1);
  Json later = client.remember("the VPN needs a reboot");
  EXPECT_NE(later["structuredContent"]["id"], id);
  EXPECT_EQ(later["structuredContent"]["deduplicated"], false);
}

TEST_F(RememberDedupWindowTest, ASupersedingRememberAnswersWhatItSupersededAndRecallMatchesItsSchema) {
  const std::string old_id = client.remember("office opens at 8")["structuredContent"]["id"];
  h.clock.advance_ms(kHour);
  Json newer = client.remember("office opens at 9", {{"supersedes", {old_id}}});
  expect_matches_output_schema("memtrace_remember", newer);
  EXPECT_EQ(newer["structuredContent"]["superseded"], Json::array({old_id}));
  EXPECT_NE(newer["content"][0]["text"].get<std::string>().find("It supersedes " + old_id),
            std::string::npos);

  Json all = client.call_tool("memtrace_recall", {{"include_superseded", true}});
  expect_matches_output_schema("memtrace_recall", all);
  ASSERT_EQ(all["structuredContent"]["memories"].size(), 2u);
  EXPECT_EQ(all["structuredContent"]["memories"][1]["superseded_by"], newer["structuredContent"]["id"]);
  EXPECT_EQ(all["structuredContent"]["memories"][1]["valid_until"], newer["structuredContent"]["created_at"]);

  Json prompt = client.result("prompts/get", {{"name", "memtrace_context"}});
  const std::string text = prompt.dump();
  EXPECT_NE(text.find("office opens at 9"), std::string::npos) << text;
  EXPECT_EQ(text.find("office opens at 8"), std::string::npos) << text;
}

}  // namespace
}  // namespace memtrace
