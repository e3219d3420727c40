// core/text.h: the one join every layer uses.
#include "core/text.h"

#include <gtest/gtest.h>

namespace memtrace {
namespace {

TEST(Text, JoinPutsTheSeparatorBetweenEachTwoItemsAndNowhereElse) {
  EXPECT_EQ(join({}, ", "), "");
  EXPECT_EQ(join({"billing"}, ", "), "billing");
  EXPECT_EQ(join({"billing", "tv", "wifi"}, ", "), "billing, tv, wifi");
  EXPECT_EQ(join({"a", "", "b"}, "+"), "a++b") << "an empty item still has its place";
}

}  // namespace
}  // namespace memtrace
