// core/text.h: the one join every layer uses, and how an importance reads in lines for a model.
#include "core/text.h"

#include <cstdio>
#include <string>

#include <gtest/gtest.h>

namespace memtrace {
namespace {

TEST(Text, JoinPutsTheSeparatorBetweenEachTwoItemsAndNowhereElse) {
  EXPECT_EQ(join({}, ", "), "");
  EXPECT_EQ(join({"billing"}, ", "), "billing");
  EXPECT_EQ(join({"billing", "tv", "wifi"}, ", "), "billing, tv, wifi");
  EXPECT_EQ(join({"a", "", "b"}, "+"), "a++b") << "an empty item still has its place";
}

TEST(Text, AnImportanceReadsWithAtMostTwoSignificantDigitsAsPrintfWritesThem) {
  EXPECT_EQ(two_digit_number(0.8), "0.8");
  EXPECT_EQ(two_digit_number(0.25), "0.25");
  EXPECT_EQ(two_digit_number(1.0), "1");
  EXPECT_EQ(two_digit_number(0.0), "0");
  EXPECT_EQ(two_digit_number(0.999), "1");
  EXPECT_EQ(two_digit_number(0.125), "0.12") << "the binary value, rounded half to even";
  EXPECT_EQ(two_digit_number(0.00001), "1e-05");
  // Every importance a memory can have, at a finer step than anyone stores, reads as "%.2g" did.
  for (int i = 0; i <= 100000; ++i) {
    const double value = i / 100000.0;
    char expected[32];
    std::snprintf(expected, sizeof expected, "%.2g", value);
    ASSERT_EQ(two_digit_number(value), std::string(expected)) << "for " << value;
  }
}

}  // namespace
}  // namespace memtrace
