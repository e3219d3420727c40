// Time-sortable ids and UTF-8-safe truncation.
#include "core/ids.h"

#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/utf8.h"

namespace memtrace {
namespace {

TEST(Ids, StrictlyIncreasingWithinOneMillisecondAndAcrossTime) {
  IdGenerator ids;
  std::string previous = ids.next(1000);
  for (int i = 0; i < 10000; ++i) {
    std::string next = ids.next(1000 + i / 100);
    ASSERT_LT(previous, next);
    ASSERT_TRUE(looks_like_id(next)) << next;
    previous = next;
  }
}

TEST(Ids, ClockSteppingBackStillIncreases) {
  IdGenerator ids;
  auto a = ids.next(5000);
  auto b = ids.next(4000);
  EXPECT_LT(a, b);
}

TEST(Ids, SortByCreationTimeAcrossGenerators) {
  IdGenerator one, two;
  EXPECT_LT(one.next(1000), two.next(1001));
}

TEST(Ids, ShapeCheck) {
  EXPECT_FALSE(looks_like_id("short"));
  EXPECT_FALSE(looks_like_id("01ARZ3NDEKTSV4RRFFQ69G5FAI"));  // I is not Crockford base32
  EXPECT_FALSE(looks_like_id("81ARZ3NDEKTSV4RRFFQ69G5FAV"));  // over 48 bits of time
  EXPECT_TRUE(looks_like_id("01ARZ3NDEKTSV4RRFFQ69G5FAV"));
}

TEST(Ids, RandomHexIsUniqueAndSized) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) seen.insert(random_hex(16));
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_EQ(seen.begin()->size(), 32u);
}

TEST(Utf8, PrefixNeverSplitsACharacter) {
  std::string text = "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80";  // héllo € 😀
  for (std::size_t n = 0; n <= text.size(); ++n) {
    auto prefix = utf8_prefix(text, n);
    ASSERT_LE(prefix.size(), n);
    if (!prefix.empty()) {
      auto last = static_cast<unsigned char>(text[prefix.size() - 1]);
      bool cut_inside =
          prefix.size() < text.size() && (static_cast<unsigned char>(text[prefix.size()]) & 0xC0) == 0x80;
      ASSERT_FALSE(cut_inside) << n << " " << int(last);
    }
  }
  EXPECT_EQ(utf8_ellipsize("abcdef", 5), "ab...");
  EXPECT_EQ(utf8_ellipsize("abc", 5), "abc");
}

// Whatever the length of the ASCII around it, one ill-formed sequence is found, and a well-formed
// character is accepted, wherever it stands (the check skips ASCII eight bytes at a time).
TEST(Utf8, OneIllFormedSequenceIsFoundWhereverItStands) {
  const std::vector<std::string> well_formed = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                                                "\xed\x9f\xbf"};
  const std::vector<std::string> ill_formed = {
      "\x80", "\xc3", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xff", "\xe2\x82"};
  for (std::size_t before = 0; before < 20; ++before) {
    for (std::size_t after = 0; after < 20; after += 3) {
      const std::string left(before, 'a'), right(after, 'z');
      for (const auto& good : well_formed) {
        EXPECT_TRUE(is_well_formed_utf8(left + good + right)) << before << " " << after;
      }
      for (const auto& bad : ill_formed) {
        EXPECT_FALSE(is_well_formed_utf8(left + bad + right)) << before << " " << after;
      }
    }
  }
  EXPECT_TRUE(is_well_formed_utf8(""));
  EXPECT_TRUE(is_well_formed_utf8(std::string(1000, 'x')));
}

}  // namespace
}  // namespace memtrace
