// Newline framing: CRLF, blank lines, split reads, and oversized lines that never desync the stream.
#include "transport/line_reader.h"

#include <gtest/gtest.h>

namespace memtrace::transport {
namespace {

struct Collected {
  std::vector<std::string> lines;
  std::vector<std::pair<std::string, std::size_t>> oversized;
};

LineReader make_reader(Collected& c, std::size_t limit) {
  return LineReader(limit, LineReader::Handlers{
                               [&c](std::string_view line) { c.lines.emplace_back(line); },
                               [&c](std::string_view prefix, std::size_t total) {
                                 c.oversized.emplace_back(std::string(prefix), total);
                               },
                           });
}

TEST(LineReader, SplitsOnNewlinesAcrossArbitraryChunks) {
  Collected c;
  auto reader = make_reader(c, 100);
  reader.feed("{\"a\":1}\n{\"b\"");
  reader.feed(":2}\n");
  EXPECT_EQ(c.lines, (std::vector<std::string>{"{\"a\":1}", "{\"b\":2}"}));
}

TEST(LineReader, StripsCarriageReturnAndSkipsBlankLines) {
  Collected c;
  auto reader = make_reader(c, 100);
  reader.feed("one\r\n\r\n  \n\ntwo\n");
  EXPECT_EQ(c.lines, (std::vector<std::string>{"one", "two"}));
}

TEST(LineReader, LastLineWithoutNewlineIsDeliveredAtEnd) {
  Collected c;
  auto reader = make_reader(c, 100);
  reader.feed("tail");
  EXPECT_TRUE(c.lines.empty());
  reader.finish();
  EXPECT_EQ(c.lines, (std::vector<std::string>{"tail"}));
}

TEST(LineReader, OversizedLineIsReportedOnceAndTheNextLineIsIntact) {
  Collected c;
  auto reader = make_reader(c, 10);
  reader.feed("{\"id\":5,\"x\":\"");
  reader.feed(std::string(1000, 'x'));
  reader.feed("\"}\nok\n");
  ASSERT_EQ(c.oversized.size(), 1u);
  EXPECT_EQ(c.oversized[0].second, 13u + 1000u + 2u);
  EXPECT_EQ(c.oversized[0].first.rfind("{\"id\":5", 0), 0u);
  EXPECT_EQ(c.lines, (std::vector<std::string>{"ok"}));
}

TEST(LineReader, LineExactlyAtTheLimitIsAccepted) {
  Collected c;
  auto reader = make_reader(c, 5);
  reader.feed("12345\n123456\n");
  EXPECT_EQ(c.lines, (std::vector<std::string>{"12345"}));
  EXPECT_EQ(c.oversized.size(), 1u);
}

}  // namespace
}  // namespace memtrace::transport
