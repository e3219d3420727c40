// Cluster hash slots, redirections and the redis+cluster:// URL, without a server.
#include "store/redis/redis_slots.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "store/redis/redis_keys.h"
#include "store/redis/redis_options.h"

namespace memtrace::redis {
namespace {

using ::testing::HasSubstr;

TEST(RedisSlots, Crc16IsTheXModemChecksum) {
  EXPECT_EQ(crc16("123456789"), 0x31C3);  // the check value in the Redis Cluster specification
  EXPECT_EQ(crc16(""), 0);
}

TEST(RedisSlots, HashSlotsFollowTheSpecification) {
  EXPECT_EQ(hash_slot("foo"), 12182);
  EXPECT_EQ(hash_slot("{user1000}.following"), hash_slot("{user1000}.followers"));
  EXPECT_EQ(hash_slot("{user1000}.following"), hash_slot("user1000"));
  EXPECT_EQ(hash_slot("foo{}{bar}"), crc16("foo{}{bar}") % kSlotCount);  // empty tag: the whole key
  EXPECT_EQ(hash_slot("foo{{bar}}zap"), hash_slot("{bar"));              // from the first { to the next }
  EXPECT_EQ(hash_slot("foo{bar}{zap}"), hash_slot("bar"));
}

TEST(RedisSlots, EveryKeyOfANamespaceSharesItsSlot) {
  const std::string prefix = namespace_prefix("tenant-7");
  const int slot = hash_slot(prefix);
  for (const std::string& suffix : {memory_key("m1"), session_key("s1"), tag_index("x"), trigram_index("abc"),
                                    metadata_index("k", "\"v\""), std::string("events")}) {
    EXPECT_EQ(hash_slot(prefix + suffix), slot) << suffix;
  }
  EXPECT_NE(hash_slot(namespace_prefix("tenant-8")), slot);
  EXPECT_EQ(hash_slot(std::string(kApiKeysPrefix) + "h:abc"), hash_slot(std::string(kApiKeysPrefix) + "all"));
}

TEST(RedisSlots, RedirectionsAreParsed) {
  auto moved = parse_redirect("MOVED 3999 127.0.0.1:6381");
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->kind, Redirect::Kind::kMoved);
  EXPECT_EQ(moved->slot, 3999);
  EXPECT_EQ(moved->to, (NodeAddress{"127.0.0.1", 6381}));
  auto ask = parse_redirect("ASK 1 ::1:7000");
  ASSERT_TRUE(ask);
  EXPECT_EQ(ask->kind, Redirect::Kind::kAsk);
  EXPECT_EQ(ask->to, (NodeAddress{"::1", 7000}));
  EXPECT_FALSE(parse_redirect("ERR unknown command"));
  EXPECT_FALSE(parse_redirect("MOVED 99999 127.0.0.1:6381"));
  EXPECT_FALSE(parse_redirect("MOVED 1 nowhere"));
}

TEST(RedisClusterUrl, SeedsUserAndPasswordAreParsed) {
  auto options = parse_redis_url("redis+cluster://alice:s%40cret@10.0.0.5:7000,10.0.0.6:7001,[::1]:7002");
  ASSERT_TRUE(options) << options.error().message;
  ASSERT_EQ(options->cluster_seeds.size(), 3u);
  EXPECT_EQ(options->cluster_seeds[0], (std::pair<std::string, int>{"10.0.0.5", 7000}));
  EXPECT_EQ(options->cluster_seeds[2], (std::pair<std::string, int>{"::1", 7002}));
  EXPECT_EQ(options->user, "alice");
  EXPECT_EQ(options->password, "s@cret");
  EXPECT_EQ(describe_redis(*options), "redis+cluster://alice@10.0.0.5:7000,10.0.0.6:7001,[::1]:7002");
  EXPECT_EQ(options->min_replicas, -1);
}

TEST(RedisClusterUrl, BadSpecsAreRefused) {
  EXPECT_THAT(parse_redis_url("redis+cluster://").error().message, HasSubstr("at least one seed"));
  EXPECT_THAT(parse_redis_url("redis+cluster://h:1/2").error().message, HasSubstr("only database 0"));
  EXPECT_THAT(parse_redis_url("redis+cluster://h:0").error().message, HasSubstr("1..65535"));
}

}  // namespace
}  // namespace memtrace::redis
