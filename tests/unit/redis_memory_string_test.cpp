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

// A string after its length: 4 bytes, or 1 in the short form.
void put_string(std::string& out, const std::string& value, bool short_form) {
  const auto n = static_cast<std::uint32_t>(value.size());
  for (int shift = short_form ? 0 : 24; shift >= 0; shift -= 8) out += static_cast<char>((n >> shift) & 0xff);
  out += value;
}

struct Fields {
  std::uint8_t flags = 0;
  double created_at = 1'700'000'000'123, importance = 0.875, expires_at = 0, valid_until = 0;
  std::string superseded_by, type = "decision", agent = "agent-a", content = "Chose Redis", session = "s1",
                             id = "01JD0000000000000000000000", tags, metadata = "{}", reasoning;
};

// The long form, or with flag 16 the short one: expires_at only with flag 1, valid_until only with
// flag 4 and after the strings, 1-byte lengths.
std::string encode(const Fields& f) {
  const bool short_form = (f.flags & 16) != 0;
  std::string out(1, static_cast<char>(f.flags));
  put_double(out, f.created_at);
  put_double(out, f.importance);
  if (!short_form || (f.flags & 1)) put_double(out, f.expires_at);
  if (!short_form) put_double(out, f.valid_until);
  for (const std::string* s : {&f.superseded_by, &f.type, &f.agent, &f.content, &f.session, &f.id, &f.tags,
                               &f.metadata, &f.reasoning}) {
    put_string(out, *s, short_form);
  }
  if (short_form && (f.flags & 4)) put_double(out, f.valid_until);
  return out;
}

TEST(RedisMemoryString, EveryFieldIsReadBack) {
  for (const std::uint8_t form : {0, 16}) {
    SCOPED_TRACE(form ? "short" : "long");
    Fields f;
    f.flags = 1 | 2 | 4 | form;
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
}

// The short form without expiry and supersede holds neither time: the strings follow importance.
TEST(RedisMemoryString, AShortStringWithoutExpiryOrSupersedeIsReadBack) {
  Fields f;
  f.flags = 16;
  f.tags = redis::encode_list({"infra"});
  const std::string text = encode(f);
  EXPECT_EQ(text.size(), 1 + 16 + 9 + f.type.size() + f.agent.size() + f.content.size() + f.session.size() +
                             f.id.size() + f.tags.size() + f.metadata.size());
  Memory memory;
  memory.expires_at = 1;
  ASSERT_TRUE(redis::decode_memory_string(text, memory));
  EXPECT_EQ(memory.id, f.id);
  EXPECT_EQ(memory.content, "Chose Redis");
  EXPECT_EQ(memory.tags, std::vector<std::string>{"infra"});
  EXPECT_EQ(memory.created_at, 1'700'000'000'123);
  EXPECT_EQ(memory.importance, 0.875);
  EXPECT_FALSE(memory.expires_at);
  EXPECT_FALSE(memory.superseded_by);
  EXPECT_FALSE(redis::decode_memory_string(text + std::string("\0\0\x01\x02", 4), memory))
      << "a number without its flag is trailing bytes";
  std::string numbered = text + std::string("\0\0\x01\x02", 4);
  numbered[0] = 16 | 8;
  ASSERT_TRUE(redis::decode_memory_string(numbered, memory));
  EXPECT_EQ(memory.id, f.id);
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
  Fields short_one;
  short_one.flags = 16 | 1 | 4;
  short_one.expires_at = 9;
  short_one.superseded_by = "01JD0000000000000000000001";
  const std::string short_good = encode(short_one);
  Memory memory;
  ASSERT_TRUE(redis::decode_memory_string(short_good, memory));
  for (std::size_t cut = 0; cut < short_good.size(); ++cut) {
    EXPECT_FALSE(redis::decode_memory_string(short_good.substr(0, cut), memory)) << "short, cut at " << cut;
  }
  EXPECT_FALSE(redis::decode_memory_string(short_good + "x", memory)) << "short, trailing bytes";
  std::string short_long_length = short_good;
  short_long_length[1 + 24] = '\x7f';  // superseded_by's length, past the end
  EXPECT_FALSE(redis::decode_memory_string(short_long_length, memory));

  const std::string good = encode(Fields{});
  ASSERT_TRUE(redis::decode_memory_string(good, memory));
  for (std::size_t cut = 0; cut < good.size(); ++cut) {
    EXPECT_FALSE(redis::decode_memory_string(good.substr(0, cut), memory)) << "cut at " << cut;
  }
  EXPECT_FALSE(redis::decode_memory_string(good + "x", memory)) << "trailing bytes";
  std::string unknown_flag = good;
  unknown_flag[0] = 32;
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
