// "since" windows and ISO-8601 instants as models write them.
#include "memory/time_text.h"

#include <gtest/gtest.h>

namespace memtrace {
namespace {

TEST(TimeText, Durations) {
  EXPECT_EQ(parse_duration("30s"), 30'000);
  EXPECT_EQ(parse_duration("15m"), 15 * 60'000);
  EXPECT_EQ(parse_duration("4h"), 4 * 3'600'000);
  EXPECT_EQ(parse_duration("7d"), 7 * 86'400'000LL);
  EXPECT_EQ(parse_duration("2w"), 14 * 86'400'000LL);
  for (const char* bad : {"", "h", "4", "4x", "-4h", "4.5h", "4 h", "99999999999999w"}) {
    EXPECT_FALSE(parse_duration(bad)) << bad;
  }
}

TEST(TimeText, Iso8601RoundTrip) {
  EXPECT_EQ(parse_iso8601("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_iso8601("2026-11-22T00:25:21.123Z"), 1795307121123LL);
  EXPECT_EQ(format_iso8601(1795307121123LL), "2026-11-22T00:25:21.123Z");
  EXPECT_EQ(parse_iso8601("2026-11-22T02:25:21.123+02:00"), 1795307121123LL);
  EXPECT_EQ(parse_iso8601("2026-11-22"), 1795305600000LL);
  EXPECT_EQ(format_iso8601(-1), "1969-12-31T23:59:59.999Z");
}

TEST(TimeText, Iso8601FormatsEveryTimeOfYearsOneTo9999SoThatItParsesBack) {
  const UnixMillis first = -62135596800000LL;  // 0001-01-01T00:00:00.000Z
  const UnixMillis last = 253402300799999LL;   // 9999-12-31T23:59:59.999Z
  EXPECT_EQ(format_iso8601(first), "0001-01-01T00:00:00.000Z");
  EXPECT_EQ(format_iso8601(last), "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(format_iso8601(951782400000LL), "2000-02-29T00:00:00.000Z");
  const UnixMillis step = (last - first) / 100003;
  for (UnixMillis t = first; t <= last; t += step) {
    const std::string text = format_iso8601(t);
    ASSERT_EQ(text.size(), 24u) << t;
    ASSERT_EQ(parse_iso8601(text), t) << text;
  }
}

TEST(TimeText, Iso8601RejectsAmbiguousAndMalformed) {
  for (const char* bad :
       {"2026-11-22T10:00", "2026-13-01", "2026-11-22T25:00:00Z", "yesterday", "2026-11-22Tx"}) {
    EXPECT_FALSE(parse_iso8601(bad)) << bad;
  }
}

TEST(TimeText, TimeBoundExplainsWhatIsAccepted) {
  EXPECT_EQ(*parse_time_bound("since", "1h", 10'000'000), 10'000'000 - 3'600'000);
  auto bad = parse_time_bound("since", "last week", 0);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.error().message.find("since accepts 30s, 15m, 4h, 7d, 2w or an ISO-8601 time"),
            std::string::npos);
}

}  // namespace
}  // namespace memtrace
