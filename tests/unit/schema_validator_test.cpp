// Argument validation against the shipped tool schemas, and errors a model can act on.
#include "mcp/schema_validator.h"

#include <algorithm>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "app/config.h"
#include "mcp/embedded_schemas.h"

namespace memtrace::mcp {
namespace {

using Json = nlohmann::json;

Json tool_definition(const std::string& name) {
  for (const auto& s : embedded_tool_schemas()) {
    if (name == s.name) return Json::parse(s.json);
  }
  ADD_FAILURE() << "no schema " << name;
  return {};
}

struct SchemaTest : ::testing::Test {
  Json remember = tool_definition("memtrace_remember");
  SchemaValidator validator{remember["inputSchema"]};
};

TEST_F(SchemaTest, ValidArgumentsPass) {
  EXPECT_FALSE(validator.validate({{"content", "x"}}));
  EXPECT_FALSE(validator.validate(
      {{"content", "x"}, {"tags", {"a", "b:c"}}, {"importance", 0.4}, {"type", "fact"}, {"ttl", "7d"}}));
}

TEST_F(SchemaTest, ImportanceOutOfRangeSaysTheRangeAndTheValue) {
  EXPECT_EQ(validator.validate({{"content", "x"}, {"importance", 5}}),
            "importance must be between 0 and 1, got 5");
}

TEST_F(SchemaTest, MissingRequiredField) {
  EXPECT_EQ(validator.validate(Json::object()), "content is required");
}

TEST_F(SchemaTest, WrongTypeNamesBothTypes) {
  EXPECT_EQ(validator.validate({{"content", 12}}), "content must be a string, got an integer");
  EXPECT_EQ(validator.validate({{"content", "x"}, {"tags", {1}}}),
            "tags[0] must be a string, got an integer");
}

TEST_F(SchemaTest, EnumListsTheChoices) {
  EXPECT_EQ(validator.validate({{"content", "x"}, {"type", "decision"}}),
            "type must be one of observation, action, event, fact; got \"decision\"");
}

TEST_F(SchemaTest, UnknownArgumentListsTheKnownOnes) {
  auto why = validator.validate({{"content", "x"}, {"agent", "me"}});
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("unknown argument \"agent\""), std::string::npos);
  EXPECT_NE(why->find("the arguments are: content, idempotency_key, importance, metadata"),
            std::string::npos);
}

TEST_F(SchemaTest, BadTagFormatShowsTheRule) {
  auto why = validator.validate({{"content", "x"}, {"tags", {"has space"}}});
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("tags[0] has the wrong form"), std::string::npos);
  EXPECT_NE(why->find("1-64 letters"), std::string::npos);
}

TEST(ToolSchemas, EveryToolFileIsAToolDefinitionWithObjectSchemas) {
  ASSERT_GE(embedded_tool_schemas().size(), 5u);
  for (const auto& s : embedded_tool_schemas()) {
    Json d = Json::parse(s.json);
    EXPECT_EQ(d["name"], s.name);
    EXPECT_TRUE(d["description"].is_string());
    EXPECT_EQ(d["inputSchema"]["type"], "object") << s.name;
    if (d.contains("outputSchema")) {
      EXPECT_EQ(d["outputSchema"]["type"], "object") << s.name;
    }
    EXPECT_TRUE(std::string(s.name).find_first_not_of(
                    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
                std::string::npos);
  }
}

// Portable schemas: some clients (Inspector's strict mode among them) refuse a "type" that is a list
// of types; a union is written as anyOf, each alternative of one type.
void expect_single_types(const std::string& where, const Json& schema) {
  if (schema.is_object()) {
    if (auto t = schema.find("type"); t != schema.end()) {
      EXPECT_TRUE(t->is_string()) << where << " has \"type\": " << t->dump() << "; use anyOf";
    }
    for (auto it = schema.begin(); it != schema.end(); ++it) {
      // Property names are data, not keywords: descend into their schemas only.
      if (it.key() == "properties" || it.key() == "definitions" || it.key() == "$defs") {
        for (auto p = it->begin(); p != it->end(); ++p) expect_single_types(where + "." + p.key(), p.value());
      } else if (it.key() != "enum" && it.key() != "default" && it.key() != "examples") {
        expect_single_types(where + "/" + it.key(), it.value());
      }
    }
  } else if (schema.is_array()) {
    for (std::size_t i = 0; i < schema.size(); ++i)
      expect_single_types(where + "/" + std::to_string(i), schema[i]);
  }
}

TEST(ToolSchemas, EveryTypeIsOneTypeNameAndUnionsUseAnyOf) {
  for (const auto& s : embedded_tool_schemas()) {
    Json d = Json::parse(s.json);
    expect_single_types(std::string(s.name) + ".inputSchema", d["inputSchema"]);
    if (d.contains("outputSchema"))
      expect_single_types(std::string(s.name) + ".outputSchema", d["outputSchema"]);
  }
}

TEST(ToolSchemaLimits, AMetadataValueOfEachAllowedTypePasses) {
  for (const char* tool : {"memtrace_session_create", "memtrace_session_search"}) {
    Json d = tool_definition(tool);
    SchemaValidator validator{d["inputSchema"]};
    EXPECT_FALSE(validator.validate({{"metadata", {{"a", "42"}, {"b", 42}, {"c", true}, {"d", 4.5}}}}))
        << tool;
    EXPECT_EQ(validator.validate({{"metadata", {{"k", nullptr}}}}),
              "metadata.k must be a string or a number or a boolean, got null")
        << tool;
  }
}

TEST_F(SchemaTest, AThirtyThousandDigitTtlIsRefusedByLengthWithoutRunningTheRegex) {
  // Used to overflow the stack inside std::regex (it recurses per character).
  std::string ttl = std::string(30000, '1') + "d";
  EXPECT_EQ(validator.validate({{"content", "x"}, {"ttl", ttl}}),
            "ttl must be at most 32 characters long, got 30001");
  EXPECT_EQ(validator.validate({{"content", "x"}, {"tags", {std::string(100000, 'a')}}}),
            "tags[0] must be at most 64 characters long, got 100000");
}

TEST(ToolSchemaLimits, AHugeLeaseIsRefusedByLength) {
  Json claim = tool_definition("memtrace_claim_task");
  SchemaValidator validator{claim["inputSchema"]};
  EXPECT_EQ(validator.validate({{"task_id", "t1"}, {"lease", std::string(30000, '1') + "m"}}),
            "lease must be at most 32 characters long, got 30001");
  EXPECT_EQ(validator.validate({{"task_id", std::string(60, 'a')}}),
            "task_id must be at most 59 characters long, got 60");
}

TEST(ToolSchemaLimits, AFloatWhereAnIntegerBelongsSaysWhatCame) {
  Json recall = tool_definition("memtrace_recall");
  SchemaValidator validator{recall["inputSchema"]};
  EXPECT_EQ(validator.validate({{"limit", 200.0}}), "limit must be an integer, got 200.0");
  EXPECT_EQ(validator.validate({{"limit", 1.5}}), "limit must be an integer, got 1.5");
  EXPECT_EQ(validator.validate({{"limit", "10"}}), "limit must be an integer, got a string");
  EXPECT_FALSE(validator.validate({{"limit", 200}}));
}

TEST(ToolSchemaLimits, MetadataKeysAndValuesHaveLimitsWithSentences) {
  Json create = tool_definition("memtrace_session_create");
  SchemaValidator validator{create["inputSchema"]};
  EXPECT_EQ(validator.validate({{"metadata", {{std::string(200, 'k'), "v"}}}}),
            "a key of metadata must be at most 128 characters long, got 200");
  EXPECT_EQ(validator.validate({{"metadata", {{"k", std::string(2000, 'v')}}}}),
            "metadata.k must be at most 1024 characters long, got 2000");
  EXPECT_EQ(validator.validate({{"metadata", {{"k", Json::array()}}}}),
            "metadata.k must be a string or a number or a boolean, got an array");
  EXPECT_FALSE(validator.validate({{"metadata", {{"account_id", "42"}}}}));
}

TEST(ToolSchemaLimits, LengthsCountCharactersNotBytes) {
  Json remember = tool_definition("memtrace_remember");
  SchemaValidator validator{remember["inputSchema"]};
  std::string ids;  // 128 two-byte characters: 256 bytes, within a 128-character limit
  for (int i = 0; i < 128; ++i) ids += "\xc3\xa9";
  EXPECT_FALSE(validator.validate({{"content", "x"}, {"session_id", ids}}));
  EXPECT_EQ(validator.validate({{"content", "x"}, {"session_id", ids + "\xc3\xa9"}}),
            "session_id must be at most 128 characters long, got 129");
}

// Every string a client can send in tool arguments is bounded: by maxLength, or by an enum.
void expect_strings_bounded(const std::string& where, const Json& schema) {
  if (!schema.is_object()) return;
  bool is_string =
      schema.value("type", Json()) == "string" ||
      (schema.contains("type") && schema["type"].is_array() &&
       std::find(schema["type"].begin(), schema["type"].end(), "string") != schema["type"].end());
  if (is_string) {
    EXPECT_TRUE(schema.contains("maxLength") || schema.contains("enum")) << where << " has no maxLength";
    if (schema.contains("pattern")) {
      EXPECT_TRUE(schema.contains("maxLength")) << where;
    }
  }
  if (schema.contains("properties")) {
    for (auto it = schema["properties"].begin(); it != schema["properties"].end(); ++it)
      expect_strings_bounded(where + "." + it.key(), it.value());
  }
  if (schema.contains("items")) expect_strings_bounded(where + "[]", schema["items"]);
  if (schema.contains("anyOf")) {
    for (const auto& alternative : schema["anyOf"]) expect_strings_bounded(where + "|", alternative);
  }
  if (schema.contains("additionalProperties"))
    expect_strings_bounded(where + "{*}", schema["additionalProperties"]);
  if (schema.contains("additionalProperties") && schema["additionalProperties"].is_object() &&
      schema["additionalProperties"].value("type", Json()) != "object") {
    EXPECT_TRUE(schema.contains("propertyNames")) << where << " keys are unbounded";
  }
}

TEST(ToolSchemaLimits, EveryStringArgumentOfEveryToolHasAMaxLength) {
  for (const auto& s : embedded_tool_schemas()) {
    Json d = Json::parse(s.json);
    expect_strings_bounded(s.name, d["inputSchema"]);
  }
}

TEST(ToolSchemaLimits, ContentCapsNeverRefuseWhatMaxContentBytesAllows) {
  struct Field {
    const char* tool;
    const char* field;
  } fields[] = {{"memtrace_remember", "content"},
                {"memtrace_decide", "decision"},
                {"memtrace_decide", "reasoning"},
                {"memtrace_share_result", "result"}};
  for (const auto& f : fields) {
    Json d = tool_definition(f.tool);
    EXPECT_GE(d["inputSchema"]["properties"][f.field]["maxLength"].get<std::size_t>(),
              app::kMaxContentBytesCeiling)
        << f.tool << " " << f.field;
  }
}

}  // namespace
}  // namespace memtrace::mcp
