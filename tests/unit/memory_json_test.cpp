// How memories and pages of them look on the wire (structuredContent) and as text for a model.
#include "mcp/memory_json.h"

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "jsonrpc/message.h"

namespace memtrace::mcp {
namespace {

using Json = nlohmann::json;

constexpr UnixMillis kT = 1764582000123;  // 2025-12-01T09:40:00.123Z

Memory plain() {
  Memory m;
  m.id = "01KB000000000000000000000A";
  m.session_id = "01KB00000000000000000000S1";
  m.agent_id = "researcher";
  m.type = "fact";
  m.content = "the \"router\" reboots\nat night";
  m.tags = {"wifi", "router"};
  m.importance = 0.8;
  m.created_at = kT;
  return m;
}

Memory with_everything() {
  Memory m = plain();
  m.id = "01KB000000000000000000000B";
  m.type = "decision";
  m.importance = 1.0;
  m.tags = {};
  m.expires_at = kT + 3600000;
  m.metadata_json = R"({"ticket":"T-9","n":2})";
  m.reasoning = "it is cheaper";
  m.superseded_by = "01KB000000000000000000000C";
  m.valid_until = kT + 60000;
  return m;
}

TEST(MemoryJson, APageReadsAsTheObjectsTheOutputSchemaDescribes) {
  Page page;
  page.memories = {plain(), with_everything()};
  page.next_cursor = "c1";
  page.scope.ns = "default";
  page.scope.limit = 2;
  page.scope.tags = {"wifi"};
  const Json expected = {{"memories",
                          {{{"id", "01KB000000000000000000000A"},
                            {"session_id", "01KB00000000000000000000S1"},
                            {"agent_id", "researcher"},
                            {"type", "fact"},
                            {"content", "the \"router\" reboots\nat night"},
                            {"tags", {"wifi", "router"}},
                            {"importance", 0.8},
                            {"created_at", "2025-12-01T09:40:00.123Z"}},
                           {{"id", "01KB000000000000000000000B"},
                            {"session_id", "01KB00000000000000000000S1"},
                            {"agent_id", "researcher"},
                            {"type", "decision"},
                            {"content", "the \"router\" reboots\nat night"},
                            {"tags", Json::array()},
                            {"importance", 1.0},
                            {"created_at", "2025-12-01T09:40:00.123Z"},
                            {"expires_at", "2025-12-01T10:40:00.123Z"},
                            {"metadata", {{"ticket", "T-9"}, {"n", 2}}},
                            {"reasoning", "it is cheaper"},
                            {"superseded_by", "01KB000000000000000000000C"},
                            {"valid_until", "2025-12-01T09:41:00.123Z"}}}},
                         {"next_cursor", "c1"},
                         {"scope", {{"namespace", "default"}, {"limit", 2}, {"tags", {"wifi"}}}}};
  const std::string wire = jsonrpc::dump(page_to_json(page));
  EXPECT_EQ(Json::parse(wire), expected) << wire;
  // The same bytes as the object built as a DOM and dumped (keys sorted, as nlohmann keeps them).
  EXPECT_EQ(wire, jsonrpc::dump(expected));
  EXPECT_EQ(memory_to_json(with_everything()), expected["memories"][1]);
}

TEST(MemoryJson, EmptyOrInvalidMetadataIsLeftOut) {
  Memory m = plain();
  for (const char* metadata : {"{}", "", "[1]", "{not json"}) {
    m.metadata_json = metadata;
    EXPECT_FALSE(memory_to_json(m).contains("metadata")) << metadata;
  }
}

TEST(MemoryJson, APageReadsAsOneLinePerMemoryForAModel) {
  Page page;
  page.memories = {plain(), with_everything()};
  page.scope.ns = "default";
  page.scope.limit = 2;
  page.scope.content_contains = "router";
  EXPECT_EQ(render_page(page),
            "2 memories (newest first) in namespace default, containing \"router\":\n"
            "- 2025-12-01T09:40:00Z · researcher · fact · [wifi, router] · 0.8 · 01KB000000000000000000000A: "
            "the \"router\" reboots\nat night\n"
            "- 2025-12-01T09:40:00Z · researcher · decision · 1 · 01KB000000000000000000000B: the \"router\" "
            "reboots\nat night (because: it is cheaper) [superseded by 01KB000000000000000000000C at "
            "2025-12-01T09:41:00Z]");
  page.memories.clear();
  EXPECT_EQ(render_page(page), "No memories in namespace default, containing \"router\".");
}

}  // namespace
}  // namespace memtrace::mcp
