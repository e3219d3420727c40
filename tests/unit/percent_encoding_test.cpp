// Percent-decoding shared by resource URIs and store URLs.
#include <gtest/gtest.h>

#include "core/percent_encoding.h"

namespace memtrace {
namespace {

TEST(PercentEncoding, DecodesEscapesOfEitherCase) {
  EXPECT_EQ(percent_decode("%7Bns%7d%20x"), "{ns} x");
  EXPECT_EQ(percent_decode("plain"), "plain");
  EXPECT_EQ(percent_decode(""), "");
}

TEST(PercentEncoding, RejectsTruncatedOrNonHexEscapes) {
  EXPECT_FALSE(percent_decode("%"));
  EXPECT_FALSE(percent_decode("ab%4"));
  EXPECT_FALSE(percent_decode("%zz"));
  EXPECT_EQ(hex_digit_value('g'), -1);
}

}  // namespace
}  // namespace memtrace
