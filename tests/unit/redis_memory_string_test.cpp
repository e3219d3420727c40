// The Redis store's memory string (store/redis/redis_memory_string.h), read byte by byte as the scripts
// write it (mem_encode in lua/prelude.lua); the store suites read the scripts' own strings.
#include "store/redis/redis_memory_string.h"

#include <cstdint>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "store/redis/redis_keys.h"

namespace memtrace::testing {
namespace {

void put_double(std::string& out, double value) {
  std::uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((bits >> shift) & 0xff);
}

void put_string(std::string& out, const std::string& value) {
  const auto n = static_cast<std::uint32_t>(value.size());
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((n >> shift) & 0xff);
  out += value;
}

struct Fields {
  std::uint8_t flags = 0;
  double created_at = 1'700'000'000'123, importance = 0.875, expires_at = 0, valid_until = 0;
  std::string superseded_by, type = "decision", agent = "agent-a", content = "Chose Redis", session = "s1",
                             id = "01JD0000000000000000000000", tags, metadata = "{}", reasoning;
};

std::string encode(const Fields& f) {
  std::string out(1, static_cast<char>(f.flags));
  for (double d : {f.created_at, f.importance, f.expires_at, f.valid_until}) put_double(out, d);
  for (const std::string* s : {&f.superseded_by, &f.type, &f.agent, &f.content, &f.session, &f.id, &f.tags,
                               &f.metadata, &f.reasoning}) {
    put_string(out, *s);
  }
  return out;
}

TEST(RedisMemoryString, EveryFieldIsReadBack) {
  Fields f;
  f.flags = 1 | 2 | 4;
  f.expires_at = 1'700'000'360'000;
  f.valid_until = 1'700'000'100'000;
  f.superseded_by = "01JD0000000000000000000001";
  f.tags = redis::encode_list({"infra", "a:b"});
  f.metadata = R"({"ticket":"OPS-7"})";
  static constexpr char kContent[] = "nul \0 inside, and UTF-8: \xc3\xa9";
  f.content = std::string(kContent, sizeof kContent - 1);
  Memory memory;
  memory.ns = "tenant";
  ASSERT_TRUE(redis::decode_memory_string(encode(f), memory));
  EXPECT_EQ(memory.ns, "tenant") << "the namespace is the caller's";
  EXPECT_EQ(memory.id, f.id);
  EXPECT_EQ(memory.session_id, "s1");
  EXPECT_EQ(memory.agent_id, "agent-a");
  EXPECT_EQ(memory.type, "decision");
  EXPECT_EQ(memory.content, f.content);
  EXPECT_EQ(memory.tags, (std::vector<std::string>{"infra", "a:b"}));
  EXPECT_EQ(memory.importance, 0.875);
  EXPECT_EQ(memory.created_at, 1'700'000'000'123);
  EXPECT_EQ(memory.expires_at, 1'700'000'360'000);
  EXPECT_EQ(memory.metadata_json, f.metadata);
  EXPECT_EQ(memory.reasoning, "");
  EXPECT_EQ(memory.superseded_by, f.superseded_by);
  EXPECT_EQ(memory.valid_until, 1'700'000'100'000);
}

TEST(RedisMemoryString, FieldsWhoseFlagIsClearAreAbsent) {
  Fields f;
  f.expires_at = 5;  // written as 0 by the scripts; the flag decides either way
  f.reasoning = "ignored";
  Memory memory;
  memory.expires_at = 1;
  memory.reasoning = "left over";
  memory.superseded_by = "left over";
  ASSERT_TRUE(redis::decode_memory_string(encode(f), memory));
  EXPECT_FALSE(memory.expires_at);
  EXPECT_FALSE(memory.reasoning);
  EXPECT_FALSE(memory.superseded_by);
  EXPECT_FALSE(memory.valid_until);
  EXPECT_TRUE(memory.tags.empty());
}

// The content index's number, which index_content appends to a memory without an mx record, is read
// past: the memory is the same.
TEST(RedisMemoryString, ANumberedMemoryReadsAsTheSameMemory) {
  Fields f;
  f.tags = redis::encode_list({"infra"});
  std::string numbered = encode(f) + std::string("\0\0\x01\x02", 4);
  numbered[0] = 8;
  Memory memory;
  ASSERT_TRUE(redis::decode_memory_string(numbered, memory));
  EXPECT_EQ(memory.id, f.id);
  EXPECT_EQ(memory.reasoning, std::nullopt);
  EXPECT_EQ(memory.tags, std::vector<std::string>{"infra"});
}

TEST(RedisMemoryString, WhatIsNotAMemoryStringIsRefused) {
  const std::string good = encode(Fields{});
  Memory memory;
  ASSERT_TRUE(redis::decode_memory_string(good, memory));
  for (std::size_t cut = 0; cut < good.size(); ++cut) {
    EXPECT_FALSE(redis::decode_memory_string(good.substr(0, cut), memory)) << "cut at " << cut;
  }
  EXPECT_FALSE(redis::decode_memory_string(good + "x", memory)) << "trailing bytes";
  std::string unknown_flag = good;
  unknown_flag[0] = 16;
  EXPECT_FALSE(redis::decode_memory_string(unknown_flag, memory));
  std::string numbered = good;
  numbered[0] = 8;
  EXPECT_FALSE(redis::decode_memory_string(numbered, memory)) << "flag 8 without its number";
  EXPECT_FALSE(redis::decode_memory_string(numbered + "abc", memory)) << "a number of 3 bytes";
  std::string long_length = good;
  long_length[1 + 32] = '\x7f';  // superseded_by's length, far past the end
  EXPECT_FALSE(redis::decode_memory_string(long_length, memory));
  EXPECT_FALSE(redis::decode_memory_string("", memory));
}

}  // namespace
}  // namespace memtrace::testing
