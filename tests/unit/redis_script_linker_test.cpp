// link_script: a Redis script runs only the helpers it uses.
#include "store/redis/redis_script_linker.h"

#include <string>

#include <gtest/gtest.h>

#include "store/redis/embedded_lua.h"
#include "store/redis/redis_scripts.h"

namespace memtrace::redis {
namespace {

constexpr const char* kHelpers =
    "-- helpers\n"
    "local P = KEYS[1]\n"
    "local function a() return 1 end\n"
    "-- b calls a\n"
    "local function b() return a() + 1 end\n"
    "local function c() return 3 end\n"
    "local X, Y = 4, 5\n";

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(RedisScriptLinkerTest, KeepsWhatTheBodyNamesAndWhatThatNamesInTheirOrder) {
  const auto linked = link_script(kHelpers, "return b()\n");
  EXPECT_TRUE(has(linked, "local function a()"));
  EXPECT_TRUE(has(linked, "local function b()"));
  EXPECT_FALSE(has(linked, "local function c()"));
  EXPECT_FALSE(has(linked, "local X, Y"));
  EXPECT_FALSE(has(linked, "local P"));
  EXPECT_LT(linked.find("local function a()"), linked.find("local function b()"));
  EXPECT_TRUE(has(linked, "-- helpers\n"));  // what comes before the first definition stays
  EXPECT_EQ(linked.substr(linked.size() - 11), "return b()\n");
}

TEST(RedisScriptLinkerTest, AnyNameOfAMultipleDeclarationKeepsIt) {
  EXPECT_TRUE(has(link_script(kHelpers, "return Y"), "local X, Y = 4, 5"));
  EXPECT_TRUE(has(link_script(kHelpers, "return P .. 'k'"), "local P = KEYS[1]"));
}

TEST(RedisScriptLinkerTest, NamesInStringsCommentsAndFieldsKeepNothing) {
  const auto linked = link_script(kHelpers,
                                  "-- c() is not called\n--[[ nor c() ]]\nlocal s = 'c()' .. \"c\" .. [[c]]\n"
                                  "return t.c, t:c(), s\n");
  EXPECT_FALSE(has(linked, "local function c()"));
}

TEST(RedisScriptLinkerTest, ANameAfterAConcatenationIsUsed) {
  EXPECT_TRUE(has(link_script(kHelpers, "return 'x'..c()"), "local function c()"));
  EXPECT_TRUE(has(link_script(kHelpers, "return 'x' .. X"), "local X, Y"));
}

TEST(RedisScriptLinkerTest, WhatAssignsAKeptDeclarationIsKeptWithIt) {
  const std::string helpers =
      "local less\n"
      "local native = 'B' < 'a'\n"
      "if native then\n"
      "  less = function(x, y) return x < y end\n"
      "end\n"
      "local function sort(t) table.sort(t, less) end\n"
      "local function unused() return 0 end\n";
  const auto linked = link_script(helpers, "sort(ARGV)\n");
  EXPECT_TRUE(has(linked, "local less\n"));
  EXPECT_TRUE(has(linked, "  less = function(x, y)"));
  EXPECT_TRUE(has(linked, "local native = "));
  EXPECT_FALSE(has(linked, "unused"));
}

TEST(RedisScriptLinkerTest, AStoreScriptCarriesOnlyThePreludeItUses) {
  const std::string prelude(embedded_lua("prelude"));
  const std::string rank(embedded_lua("rank_memories"));
  const auto linked = script_text(rank);
  // The digest's script reads memories and describes the session; the content index's sweep and the
  // change feed are not its business.
  EXPECT_TRUE(has(linked, "local function session_summary("));
  EXPECT_TRUE(has(linked, "local function mem_head("));
  EXPECT_FALSE(has(linked, "local function sweep_postings("));
  EXPECT_FALSE(has(linked, "local function feed("));
  EXPECT_LT(linked.size(), (prelude.size() + rank.size()) / 2);
}

}  // namespace
}  // namespace memtrace::redis
