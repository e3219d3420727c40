// Argument validation against the shipped tool schemas, and errors a model can act on.
#include "mcp/schema_validator.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

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
  EXPECT_NE(why->find("the arguments are: content, importance, metadata"), std::string::npos);
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
    if (d.contains("outputSchema")) EXPECT_EQ(d["outputSchema"]["type"], "object") << s.name;
    EXPECT_TRUE(std::string(s.name).find_first_not_of(
                    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
                std::string::npos);
  }
}

}  // namespace
}  // namespace memtrace::mcp
