// The behaviour suite on Redis (plain, and with tiny scan slices), plus what only the Redis store
// promises: URL parsing, key layout and slots, one script per write, no KEYS/SCAN, TTL via PEXPIREAT
// with index cleanup, and the per-session sliding window.
#include "store/redis/redis_store.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <limits>
#include <optional>
#include <set>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/ids.h"
#include "store/dedup.h"
#include "store/redis/embedded_lua.h"
#include "store/redis/redis_keys.h"
#include "store/redis/redis_options.h"
#include "store/redis/redis_scripts.h"
#include "store/redis_test_helpers.h"
#include "store/store_behaviour.h"
#include "support/redis_server.h"

namespace memtrace::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// One server for the whole behaviour suite; every store it makes starts from FLUSHALL.
RedisServer& shared_server() {
  static RedisServer server;
  return server;
}

StoreBackend redis_backend(std::string name, const std::function<void(RedisOptions&)>& tweak) {
  return {std::move(name), [tweak](std::size_t max_memories_per_session) -> std::unique_ptr<Store> {
            try {
              RedisServer& server = shared_server();
              auto flushed = server.command({"FLUSHALL"});
              if (flushed.is_error()) {
                ADD_FAILURE() << "FLUSHALL: " << flushed.text;
                return nullptr;
              }
              return open_redis_for_test(server.url(), [&](RedisOptions& options) {
                if (tweak) tweak(options);
                options.max_memories_per_session = max_memories_per_session;
              });
            } catch (const std::exception& e) {
              ADD_FAILURE() << "cannot start redis-server for the behaviour suite: " << e.what();
              return nullptr;
            }
          }};
}

INSTANTIATE_TEST_SUITE_P(
    Redis, StoreBehaviour,
    ::testing::Values(redis_backend("Redis", {}),
                      // Slices of two candidates and no listed candidate sets: every query takes many
                      // script calls, exercising the continuation from the last examined id.
                      // Layout 1, the sorted sets of ids by agent, type and tag that namespaces filled by
                      // builds before layout 2 keep (redis_keys.h).
                      redis_backend("RedisLayout1",
                                    [](RedisOptions& options) { options.new_namespace_layout = 1; }),
                      redis_backend("RedisTinySlices",
                                    [](RedisOptions& options) {
                                      options.scan_batch = 2;
                                      options.candidate_list_max = 0;
                                      options.pool_size = 2;
                                    })),
    backend_name);

// ---- URL parsing ----

TEST(RedisUrl, ParsesTcpUrls) {
  auto plain = parse_redis_url("redis://cache.internal");
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(plain->host, "cache.internal");
  EXPECT_EQ(plain->port, 6379);
  EXPECT_EQ(plain->db, 0);
  EXPECT_TRUE(plain->user.empty());
  EXPECT_TRUE(plain->password.empty());
  EXPECT_TRUE(plain->unix_path.empty());
  EXPECT_EQ(plain->connect_timeout, std::chrono::milliseconds(2000));
  EXPECT_EQ(plain->command_timeout, std::chrono::milliseconds(2000));

  auto full = parse_redis_url("redis://alice:p%40ss%3Aword@10.0.0.5:6380/3");
  ASSERT_TRUE(full) << full.error().message;
  EXPECT_EQ(full->user, "alice");
  EXPECT_EQ(full->password, "p@ss:word");
  EXPECT_EQ(full->host, "10.0.0.5");
  EXPECT_EQ(full->port, 6380);
  EXPECT_EQ(full->db, 3);
  EXPECT_EQ(describe_redis(*full), "redis://alice@10.0.0.5:6380/3");  // never the password

  auto password_only = parse_redis_url("redis://:secret@localhost/1");
  ASSERT_TRUE(password_only);
  EXPECT_TRUE(password_only->user.empty());
  EXPECT_EQ(password_only->password, "secret");
  EXPECT_EQ(password_only->db, 1);

  auto ipv6 = parse_redis_url("redis://[::1]:7000");
  ASSERT_TRUE(ipv6);
  EXPECT_EQ(ipv6->host, "::1");
  EXPECT_EQ(ipv6->port, 7000);
  EXPECT_EQ(describe_redis(*ipv6), "redis://[::1]:7000/0");
}

TEST(RedisUrl, ParsesUnixSocketUrls) {
  auto plain = parse_redis_url("redis+unix:///run/redis/redis.sock");
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(plain->unix_path, "/run/redis/redis.sock");
  EXPECT_EQ(plain->db, 0);
  auto with_db = parse_redis_url("redis+unix://bob:pw@/tmp/r.sock?db=5");
  ASSERT_TRUE(with_db) << with_db.error().message;
  EXPECT_EQ(with_db->unix_path, "/tmp/r.sock");
  EXPECT_EQ(with_db->user, "bob");
  EXPECT_EQ(with_db->password, "pw");
  EXPECT_EQ(with_db->db, 5);
  EXPECT_EQ(describe_redis(*with_db), "redis+unix://bob@/tmp/r.sock?db=5");
}

TEST(RedisUrl, RejectsBadUrlsWithoutEchoingThePassword) {
  for (const char* url :
       {"redis://", "redis://host:0", "redis://host:70000", "redis://host/x", "redis+unix://",
        "redis+unix://relative.sock", "redis+unix:///a.sock?db=x", "redis+unix:///a.sock?tls=1",
        "rediss://host", "http://host", "redis://host?x=1", "redis://u:p%zz@host"}) {
    auto parsed = parse_redis_url(url);
    ASSERT_FALSE(parsed) << url;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument) << url;
  }
  auto bad = parse_redis_url("redis://alice:hunter2@host:notaport");
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message, Not(HasSubstr("hunter2")));
}

// ---- key layout ----

TEST(RedisKeys, NamespacePrefixKeepsOneHashTagPerNamespace) {
  EXPECT_EQ(redis::namespace_prefix("default"), "mt:v1:{default}:");
  EXPECT_EQ(redis::namespace_prefix("a{b}c%"), "mt:v1:{a%7Bb%7Dc%25}:");
  for (const std::string& ns : std::vector<std::string>{"default", "a{b}c%", "x}y", "%7B", "with:colons"}) {
    auto channel = redis::namespace_prefix(ns) + "events";
    EXPECT_EQ(redis::namespace_from_channel(channel), ns);
  }
  EXPECT_FALSE(redis::namespace_from_channel("other:channel").has_value());
}

TEST(RedisKeys, ListsAndTrigrams) {
  std::vector<std::string> tags = {"a", "", "b:c", "12:x", "ünï"};
  EXPECT_EQ(redis::decode_list(redis::encode_list(tags)), tags);
  EXPECT_EQ(redis::fold_case("AbC ÄÖ ß"), "abc ÄÖ ß");
  EXPECT_THAT(redis::needle_trigrams("abcd", 8), ElementsAre("abc", "bcd"));
  EXPECT_EQ(redis::needle_trigrams(std::string(100, 'x') + "yz", 2).size(), 2u);  // "xxx", "xyz" (spread)
  EXPECT_THAT(redis::needle_trigrams("ab", 8), IsEmpty());
}

// The trigrams index_content adds for `content`, in the order it adds them (3 bytes each): the distinct
// ones of the content lower-cased (ASCII only), sorted bytewise. Also what builds before postings kept
// in a memory's mx record.
std::string indexed_trigrams(const std::string& content) {
  const std::string folded = redis::fold_case(content);
  std::set<std::string> trigrams;
  for (std::size_t i = 0; i + 3 <= folded.size(); ++i) trigrams.insert(folded.substr(i, 3));
  std::string blob;
  for (const auto& trigram : trigrams) blob += trigram;
  return blob;
}

// The one hash tag of a key: what Redis Cluster hashes.
std::string hash_tag(const std::string& key) {
  auto open = key.find('{');
  if (open == std::string::npos) return key;
  auto close = key.find('}', open + 1);
  if (close == std::string::npos || close == open + 1) return key;
  return key.substr(open + 1, close - open - 1);
}

class RedisStoreTest : public ::testing::Test, protected StoreHelpers {
 protected:
  void SetUp() override {
    server_ = std::make_unique<RedisServer>();
    store_ = open_redis_for_test(server_->url(), [this](RedisOptions& options) { tweak(options); });
    ASSERT_NE(store_, nullptr);
  }
  virtual void tweak(RedisOptions&) {}

  Store& store() override { return *store_; }

  // Gives the default namespace layout 1 before its first memory, as a namespace a build before layouts
  // filled has (mi:v, redis_keys.h): what such a build left is only ever in layout 1.
  void as_layout_1() {
    ASSERT_EQ(server_->command({"SET", full_key(kDefaultNamespace, "mi:v"), "1"}).text, "OK");
  }

  // A session of agent-a with metadata repo="memtrace", in namespace `ns`.
  Session add_session(const std::string& id, const std::string& ns = kDefaultNamespace) {
    return StoreHelpers::add_session(id, "agent-a", {{"repo", "\"memtrace\""}}, ns);
  }

  // The ids of the live memories in `trigram`'s posting, in its order (numbers ascending); the number of
  // a forgotten memory, not swept out yet, names none.
  std::vector<std::string> posting_ids(const std::string& trigram) {
    const std::string posting =
        server_->command({"GET", full_key(kDefaultNamespace, "mi:4:" + trigram)}).text;
    std::vector<std::string> ids;
    for (std::size_t at = 0; at + 4 <= posting.size(); at += 4) {
      std::uint32_t number = 0;
      for (std::size_t i = 0; i < 4; ++i)
        number = (number << 8) | static_cast<unsigned char>(posting[at + i]);
      auto id = server_->command({"HGET", full_key(kDefaultNamespace, "mi:ids"), std::to_string(number)});
      if (id.type == RespValue::Type::kString) ids.push_back(id.text);
    }
    return ids;
  }

  // How many entries `trigram`'s posting holds, forgotten ones included.
  long long posting_entries(const std::string& trigram) {
    return server_->command({"STRLEN", full_key(kDefaultNamespace, "mi:4:" + trigram)}).integer / 4;
  }

  // One step of the content indexer's script (index_content), run here rather than by the store: at most
  // `memories` pending memories and `additions` postings entries, then at most `sweep_entries` of a sweep
  // or a trimming. Returns what the script does: how many are still pending, plus one while a sweep or
  // the trimming has more to do.
  long long index_step(int memories, int additions, int sweep_entries) {
    static const std::string script = redis::script_text(redis::embedded_lua("index_content"));
    return server_
        ->command({"EVAL", script, "1", redis::namespace_prefix(kDefaultNamespace), std::to_string(memories),
                   std::to_string(additions), std::to_string(sweep_entries)})
        .integer;
  }

  // Closes the store, which indexes what is pending and finishes a sweep that is due, and opens it again.
  void reopen() {
    store_.reset();
    store_ = open_redis_for_test(server_->url(), [this](RedisOptions& options) { tweak(options); });
    ASSERT_NE(store_, nullptr);
  }

  // The number after `field` in INFO `section` (counters reset by CONFIG RESETSTAT), if it is there.
  std::optional<long long> info_number(const std::string& section, const std::string& field) {
    std::string info = server_->command({"INFO", section}).text;
    auto at = info.find(field);
    if (at == std::string::npos) return std::nullopt;
    return std::stoll(info.substr(at + field.size()));
  }

  // Calls of `command` counted by INFO commandstats (a command never called has no line: 0).
  long long calls_of(const std::string& command) {
    return info_number("commandstats", "cmdstat_" + command + ":calls=").value_or(0);
  }

  // Keys looked up and found (INFO stats keyspace_hits): an MGET of n memory strings counts n. Without
  // the field, more than any bound a test sets.
  long long keys_read() {
    return info_number("stats", "keyspace_hits:").value_or(std::numeric_limits<long long>::max());
  }

  // `count` memories "entry 0", "entry 1"... of `session`, a millisecond apart from `from`, their
  // importances 0, 0.1 ... 0.9 in turn; `tweak(i, memory)` may change each before it is added.
  std::vector<Memory> add_entries(const std::string& session, int count, UnixMillis from,
                                  const std::function<void(int, Memory&)>& tweak = {}) {
    std::vector<Memory> added;
    for (int i = 0; i < count; ++i) {
      Memory memory = make_memory(session, "entry " + std::to_string(i), from + i);
      memory.importance = (i % 10) / 10.0;
      if (tweak) tweak(i, memory);
      added.push_back(add(memory));
    }
    return added;
  }

  // Rewrites memory `m` as the older version stored it: the same fields, one per hash field.
  void store_as_older_hash(const Memory& m, const std::string& importance,
                           const std::vector<std::string>& extra) {
    const std::string key = full_key(kDefaultNamespace, "m:" + m.id);
    ASSERT_EQ(server_->command({"DEL", key}).integer, 1);
    std::vector<std::string> hset = {"HSET", key,
                                     "id",   m.id,
                                     "s",    m.session_id,
                                     "a",    m.agent_id,
                                     "t",    m.type,
                                     "c",    m.content,
                                     "g",    redis::encode_list(m.tags),
                                     "i",    importance,
                                     "ca",   std::to_string(m.created_at),
                                     "md",   m.metadata_json};
    hset.insert(hset.end(), extra.begin(), extra.end());
    ASSERT_FALSE(server_->command(hset).is_error());
  }

  std::unique_ptr<RedisServer> server_;
  std::unique_ptr<Store> store_;
};

TEST_F(RedisStoreTest, EveryKeyOfANamespaceSharesOneHashTag) {
  for (const std::string& ns : {std::string(kDefaultNamespace), std::string("team{x}")}) {
    add_session("s1", ns);
    Memory memory = make_memory("s1", "Keys of one namespace share a slot", kT0 + 1, "agent-a", ns);
    memory.tags = {"layout", "slots"};
    memory.expires_at = kNow;
    add(memory);
    Agent agent{ns, "agent-a", "writes", kT0};
    ASSERT_TRUE(store().upsert_agent(agent));
  }
  auto keys = server_keys(*server_, "mt:v1:*");
  ASSERT_GT(keys.size(), 20u);
  std::set<std::string> tags;
  for (const auto& key : keys) {
    if (key == redis::kNamespacesKey) continue;
    tags.insert(hash_tag(key));
  }
  EXPECT_THAT(tags, ElementsAre("default", "team%7Bx%7D"));
  auto registry = server_->command({"SMEMBERS", std::string(redis::kNamespacesKey)});
  std::set<std::string> registered;
  for (const auto& element : registry.elements) registered.insert(element.text);
  EXPECT_THAT(registered, ElementsAre("default", "team{x}"));
}

// The content indexer waits an hour (or for a full batch) before it indexes: what a remember itself
// does, and what searches find before the indexer has run, can be looked at.
class RedisUnindexedTest : public RedisStoreTest {
 protected:
  void tweak(RedisOptions& options) override { options.content_index_delay = std::chrono::hours(1); }
};

TEST_F(RedisUnindexedTest, ARememberLeavesItsTrigramsToTheIndexerAndIsFoundAtOnce) {
  add_session("s1");
  Memory alpha = make_memory("s1", "Deferred trigram alpha", kT0 + 1);
  alpha.tags = {"x"};
  add(alpha);
  Memory beta = add(make_memory("s1", "deferred TRIGRAM beta", kT0 + 2));
  Memory other = add(make_memory("s1", "unrelated words", kT0 + 3));
  const std::string pending = full_key(kDefaultNamespace, "mi:pend");
  EXPECT_THAT(server_keys(*server_, full_key(kDefaultNamespace, "mi:4:???")), IsEmpty())
      << "a remember's cost must not grow with its trigrams";
  // Its agent's, type's and tags' postings take it at once (layout 2): a few entries, whatever its length.
  EXPECT_THAT(posting_ids("tag:x"), ElementsAre(alpha.id));
  EXPECT_THAT(posting_ids("agent:agent-a"), ElementsAre(alpha.id, beta.id, other.id));
  EXPECT_THAT(posting_ids("type:observation"), ElementsAre(alpha.id, beta.id, other.id));
  EXPECT_EQ(server_->command({"ZCARD", pending}).integer, 3);

  auto q = query();
  q.content_contains = "trigram";
  EXPECT_THAT(recall(q), ElementsAre(beta.id, alpha.id));
  q.content_contains = "GRAM BE";
  EXPECT_THAT(recall(q), ElementsAre(beta.id));
  q.content_contains = "nowhere";
  EXPECT_THAT(recall(q), IsEmpty());
  q = query();  // walked along the tag index, the needle checked per memory
  q.tags = {"x"};
  q.content_contains = "alpha";
  EXPECT_THAT(recall(q), ElementsAre(alpha.id));

  ASSERT_TRUE(*store().delete_memory(kDefaultNamespace, beta.id));
  EXPECT_EQ(server_->command({"ZCARD", pending}).integer, 2) << "a forgotten memory is no longer pending";
  store_.reset();  // a clean close indexes what is pending
  EXPECT_EQ(server_->command({"EXISTS", pending}).integer, 0);
  EXPECT_THAT(posting_ids("tri"), ElementsAre(alpha.id));
  EXPECT_EQ(posting_entries("tri"), 1) << "beta was forgotten before it was indexed";

  store_ = open_redis_for_test(server_->url(), [](RedisOptions&) {});
  ASSERT_NE(store_, nullptr);
  q = query();
  q.content_contains = "trigram";
  EXPECT_THAT(recall(q), ElementsAre(alpha.id));
  q.content_contains = "words";
  EXPECT_THAT(recall(q), ElementsAre(other.id));
}

// One index step adds at most its budget of postings entries, whatever the memories' sizes, so that it
// never holds Redis (and every client of it) for long. A memory larger than that is split across steps:
// half done, it stays pending; searches find it by any part of its content, and list it once; the next
// step resumes it; forgetting it takes it out of the postings' ids at once, and the sweep that follows
// out of the postings themselves.
class RedisIndexStepTest : public RedisUnindexedTest {
 protected:
  void stops_at_its_budget(bool layout1);
};

TEST_F(RedisIndexStepTest, AStepStopsAtItsBudgetAndAMemoryLeftHalfDoneIsFoundOnce) {
  stops_at_its_budget(false);
}

TEST_F(RedisIndexStepTest, AStepStopsAtItsBudgetAndAMemoryLeftHalfDoneIsFoundOnceInLayout1) {
  as_layout_1();
  stops_at_its_budget(true);
}

void RedisIndexStepTest::stops_at_its_budget(bool layout1) {
  add_session("s1");
  const std::string content = letter_soup(3000, 7);
  const std::string trigrams = indexed_trigrams(content);  // sorted: the order a step adds them in
  ASSERT_GT(trigrams.size() / 3, 1000u);
  Memory big = add(make_memory("s1", content, kT0 + 1));
  Memory small = add(make_memory("s1", "a small one", kT0 + 2));
  const std::string pending = full_key(kDefaultNamespace, "mi:pend");
  // How many of a memory's trigrams the steps so far added, if it is half done: layout 1 keeps that as its
  // pending score, negated; layout 2, which scores pending memories by their numbers, in mi:half.
  auto added_so_far = [&](const std::string& id) -> std::string {
    if (layout1) {
      auto score = server_->command({"ZSCORE", pending, id}).text;
      return score == "0" ? "" : score.substr(1);
    }
    return server_->command({"HGET", full_key(kDefaultNamespace, "mi:half"), id}).text;
  };
  auto index_additions = [&](int additions) { return index_step(256, additions, 2048); };

  EXPECT_EQ(index_additions(100), 2) << "both are still pending";
  // Trigram postings (mi:4:??? is three bytes; the agent's and the type's are postings too).
  EXPECT_EQ(server_keys(*server_, full_key(kDefaultNamespace, "mi:4:???")).size(), 100u);
  EXPECT_EQ(added_so_far(big.id), "100");
  auto q = query();
  q.content_contains = trigrams.substr(0, 3);  // in its trigram set, and pending
  EXPECT_THAT(recall(q), ElementsAre(big.id));
  q.content_contains = trigrams.substr(trigrams.size() - 3);  // not added yet
  EXPECT_THAT(recall(q), ElementsAre(big.id));
  q.content_contains = content.substr(1000, 40);
  EXPECT_THAT(recall(q), ElementsAre(big.id));

  EXPECT_EQ(index_additions(100), 2);
  EXPECT_EQ(added_so_far(big.id), "200") << "resumed where it stopped";
  EXPECT_EQ(server_keys(*server_, full_key(kDefaultNamespace, "mi:4:???")).size(), 200u);
  EXPECT_THAT(posting_ids(trigrams.substr(0, 3)), ElementsAre(big.id));
  EXPECT_THAT(posting_ids(trigrams.substr(199 * 3, 3)), ElementsAre(big.id));

  ASSERT_TRUE(*store().delete_memory(kDefaultNamespace, big.id));
  EXPECT_THAT(posting_ids(trigrams.substr(0, 3)), IsEmpty()) << "its number names nothing now";
  EXPECT_EQ(posting_entries(trigrams.substr(0, 3)), 1) << "its entries wait for the sweep";
  q.content_contains = trigrams.substr(0, 3);
  EXPECT_THAT(recall(q), IsEmpty());
  // A memory that fits a budget is never split: one that does not fit what is left of a step waits
  // whole for the next.
  Memory medium = add(make_memory("s1", letter_soup(80, 3), kT0 + 3));
  const auto small_trigrams = static_cast<int>(indexed_trigrams(small.content).size() / 3);
  EXPECT_EQ(index_additions(small_trigrams + 5), 1) << "the medium one waits";
  EXPECT_NE(server_->command({"ZSCORE", pending, medium.id}).type, RespValue::Type::kNil);
  EXPECT_EQ(added_so_far(medium.id), "") << "not begun";
  EXPECT_EQ(posting_entries(trigrams.substr(0, 3)), 1) << "no sweep while memories are pending";
  // The last step finds nothing pending, and one forgotten memory against two live ones: it sweeps.
  EXPECT_EQ(index_additions(100), 0);
  std::set<std::string> indexed;
  for (const auto& m : {small, medium}) {
    const std::string blob = indexed_trigrams(m.content);
    for (std::size_t at = 0; at < blob.size(); at += 3)
      indexed.insert(full_key(kDefaultNamespace, "mi:4:" + blob.substr(at, 3)));
  }
  auto keys = server_keys(*server_, full_key(kDefaultNamespace, "mi:4:???"));
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()), indexed) << "the big one's postings are gone";
  EXPECT_EQ(server_->command({"EXISTS", full_key(kDefaultNamespace, "mi:dead")}).integer, 0);
  q.content_contains = "small";
  EXPECT_THAT(recall(q), ElementsAre(small.id));
  q.content_contains = medium.content.substr(30, 20);
  EXPECT_THAT(recall(q), ElementsAre(medium.id));
}

// Builds before postings indexed content into one set of ids per trigram (mi:3:<trigram>). A store they
// filled is searched, forgotten from and written to as it is: its sets are read beside the postings,
// forgetting one of its memories takes it out of them, and a memory such a build left half indexed is
// taken out of them and indexed into postings.
TEST_F(RedisUnindexedTest, MemoriesIndexedIntoTrigramSetsByAnOlderVersionAreFoundAndForgotten) {
  as_layout_1();
  add_session("s1");
  Memory old_a = add(make_memory("s1", "legacy alpha notes", kT0 + 1));
  Memory old_b = add(make_memory("s1", "Legacy beta notes", kT0 + 2));
  Memory half = add(make_memory("s1", "legacy gamma, half indexed", kT0 + 3));
  const std::string pending = full_key(kDefaultNamespace, "mi:pend");
  // As the older version left them: each with an mx record listing its trigrams, in the sets and no
  // longer pending; `half` with its first five trigrams added and its score minus five.
  auto into_sets = [&](const Memory& m, std::size_t count) {
    const std::string blob = indexed_trigrams(m.content);
    std::string mx;
    for (const std::string& field : {m.session_id, m.agent_id, m.type, redis::encode_list(m.tags), blob}) {
      for (int shift = 24; shift >= 0; shift -= 8) mx += static_cast<char>((field.size() >> shift) & 0xff);
      mx += field;
    }
    ASSERT_EQ(server_->command({"SET", full_key(kDefaultNamespace, "mx:" + m.id), mx}).text, "OK");
    for (std::size_t at = 0; at < std::min(blob.size(), count * 3); at += 3) {
      ASSERT_EQ(
          server_->command({"SADD", full_key(kDefaultNamespace, "mi:3:" + blob.substr(at, 3)), m.id}).integer,
          1);
    }
  };
  into_sets(old_a, 1000);
  into_sets(old_b, 1000);
  into_sets(half, 5);
  ASSERT_EQ(server_->command({"ZREM", pending, old_a.id, old_b.id}).integer, 2);
  ASSERT_EQ(server_->command({"ZADD", pending, "-5", half.id}).integer, 0);

  auto q = query();
  q.content_contains = "legacy";
  EXPECT_THAT(recall(q), ElementsAre(half.id, old_b.id, old_a.id));
  q.content_contains = "beta";
  EXPECT_THAT(recall(q), ElementsAre(old_b.id));

  ASSERT_TRUE(*store().delete_memory(kDefaultNamespace, old_b.id));
  EXPECT_THAT(server_keys(*server_, full_key(kDefaultNamespace, "mi:3:bet")), IsEmpty());
  EXPECT_EQ(server_->command({"SCARD", full_key(kDefaultNamespace, "mi:3:leg")}).integer, 1) << "old_a";

  Memory fresh = add(make_memory("s1", "new legacy-free notes", kT0 + 4));
  reopen();  // indexes `half` and `fresh` into postings
  const std::string half_blob = indexed_trigrams(half.content);
  for (std::size_t at = 0; at < 15; at += 3) {
    EXPECT_THAT(server_->command({"SMEMBERS", full_key(kDefaultNamespace, "mi:3:" + half_blob.substr(at, 3))})
                    .elements,
                Not(::testing::Contains(::testing::Field(&RespValue::text, half.id))))
        << "the half done one left the sets";
  }
  EXPECT_THAT(posting_ids("leg"), ElementsAre(half.id, fresh.id));
  EXPECT_EQ(server_->command({"SCARD", full_key(kDefaultNamespace, "mi:3:leg")}).integer, 1);
  q.content_contains = "legacy";
  EXPECT_THAT(recall(q), ElementsAre(fresh.id, half.id, old_a.id));
  q.content_contains = "notes";
  EXPECT_THAT(recall(q), ElementsAre(fresh.id, old_a.id));
  // A memory too short for any trigram is indexed too (it has no postings), and searched by content.
  Memory tiny = add(make_memory("s1", "ok", kT0 + 5));
  reopen();
  EXPECT_EQ(server_->command({"EXISTS", pending}).integer, 0);
  q.content_contains = "k";
  EXPECT_THAT(recall(q), ElementsAre(tiny.id));
}

// A needle's candidates are streamed newest first from the end of the postings, a chunk at a time,
// so a search that wants a few of many reads a chunk or two. Memories indexed after newer ones (written
// late: another server's clock, an import) still come in id order, on every page.
TEST_F(RedisUnindexedTest, ANeedlesCandidatesAreStreamedNewestFirstAndLateOnesKeepIdOrder) {
  add_session("s1");
  std::vector<std::string> ids;
  for (int i = 0; i < 600; ++i)
    ids.push_back(add(make_memory("s1", "common word " + std::to_string(i), kT0 + 1000 + i)).id);
  reopen();  // indexed: numbers follow ids
  for (UnixMillis at : {kT0 + 10, kT0 + 1500})
    ids.push_back(add(make_memory("s1", "late common word", at)).id);
  ids.push_back(add(make_memory("s1", "newest common word", kT0 + 5000)).id);
  reopen();  // the two late ones got numbers above every older id's
  std::sort(ids.rbegin(), ids.rend());

  ASSERT_EQ(server_->command({"CONFIG", "RESETSTAT"}).text, "OK");
  auto q = query();
  q.content_contains = "common";
  q.limit = 5;
  EXPECT_EQ(recall(q), std::vector<std::string>(ids.begin(), ids.begin() + 5));
  EXPECT_LE(calls_of("hmget"), 2) << "a chunk or two of 603 candidates mapped to ids";
  q.before_id = ids[4];
  EXPECT_EQ(recall(q), std::vector<std::string>(ids.begin() + 5, ids.begin() + 10));
  q.before_id = ids[300];
  EXPECT_EQ(recall(q), std::vector<std::string>(ids.begin() + 301, ids.begin() + 306));
  q.before_id.reset();
  q.limit = 1000;
  EXPECT_EQ(recall(q), ids) << "the late ones in their place";
}

// Forgotten memories leave their postings entries behind until a sweep, which starts once they are half
// as many as the live ones and rewrites each posting without them, a bounded number of entries a step.
// Memories indexed while a posting is half rewritten are kept, and searches are right at every step.
TEST_F(RedisUnindexedTest, TheSweepRewritesPostingsWithoutForgottenMemoriesInBoundedSteps) {
  add_session("s1");
  auto sweep_step = [&](int sweep_entries) { return index_step(256, 100000, sweep_entries); };
  std::vector<Memory> live;
  std::vector<Memory> forgotten;
  auto tagged = [&](Memory memory) {
    memory.tags = {"kept"};
    return add(memory);
  };
  for (int i = 0; i < 40; ++i) {
    Memory memory = tagged(make_memory("s1", "common word " + std::to_string(1000 + i), kT0 + i));
    (i % 3 == 0 ? forgotten : live).push_back(memory);
  }
  EXPECT_EQ(sweep_step(7), 0);
  ASSERT_EQ(posting_entries("com"), 40);
  ASSERT_EQ(forgotten.size(), 14u);
  for (std::size_t i = 0; i < 13; ++i)
    ASSERT_TRUE(*store().delete_memory(kDefaultNamespace, forgotten[i].id));
  EXPECT_EQ(sweep_step(7), 0) << "13 forgotten against 27 live: no sweep yet";
  ASSERT_TRUE(*store().delete_memory(kDefaultNamespace, forgotten.back().id));
  ASSERT_EQ(server_->command({"GET", full_key(kDefaultNamespace, "mi:dead")}).text, "14");

  auto expect_found = [&](const std::vector<Memory>& expected) {
    std::vector<std::string> ids;
    for (auto it = expected.rbegin(); it != expected.rend(); ++it) ids.push_back(it->id);
    auto q = query();
    q.content_contains = "common word";
    EXPECT_EQ(recall(q), ids);
    q.tags = {"kept"};
    EXPECT_EQ(recall(q), ids) << "with the tag's posting";
  };
  int steps = 0;
  for (; steps < 200; ++steps) {
    if (steps == 2) {  // appended to the posting being rewritten, at the next step
      live.push_back(tagged(make_memory("s1", "common word, written during the sweep", kT0 + 100)));
    }
    expect_found(live);
    if (sweep_step(7) == 0) break;
    EXPECT_TRUE(server_->command({"EXISTS", full_key(kDefaultNamespace, "mi:4s")}).integer == 1);
  }
  EXPECT_GT(steps, 5) << "each step reads at most 7 entries";
  EXPECT_LT(steps, 200);
  expect_found(live);
  EXPECT_EQ(posting_entries("com"), static_cast<long long>(live.size()));
  std::vector<std::string> live_ids;
  for (const auto& m : live) live_ids.push_back(m.id);
  EXPECT_EQ(posting_ids("com"), live_ids) << "in number order, which is the order they were indexed in";
  EXPECT_EQ(posting_ids("tag:kept"), live_ids) << "a tag's posting is swept like a trigram's";
  EXPECT_EQ(posting_entries("tag:kept"), static_cast<long long>(live.size()));
  EXPECT_EQ(posting_ids("agent:agent-a"), live_ids) << "and so are an agent's and a type's";
  EXPECT_EQ(posting_ids("type:observation"), live_ids);
  for (const char* key : {"mi:dead", "mi:4s", "mi:4t"}) {
    EXPECT_EQ(server_->command({"EXISTS", full_key(kDefaultNamespace, key)}).integer, 0) << key;
  }
  EXPECT_EQ(server_->command({"HLEN", full_key(kDefaultNamespace, "mi:ids")}).integer,
            static_cast<long long>(live.size()));
}

// A needle's trigrams overlap, so past its rarest four the others reject almost nothing: a search
// intersects only those four postings and checks each candidate's content, which keeps it exact.
TEST_F(RedisUnindexedTest, ALongNeedleIntersectsItsRarestTrigramsAndStaysExact) {
  add_session("s1");
  UnixMillis at = kT0;
  for (int i = 0; i < 30; ++i) add(make_memory("s1", "common efgh " + std::to_string(i), ++at));
  Memory decoy = add(make_memory("s1", "abcdef, and nothing after it", ++at));
  Memory target = add(make_memory("s1", "the whole abcdefgh is here", ++at));
  reopen();  // indexed: abc bcd cde def name 2 memories each, efg and fgh 31
  ASSERT_EQ(server_->command({"CONFIG", "RESETSTAT"}).text, "OK");
  auto q = query();
  q.content_contains = "ABCDEFGH";
  EXPECT_THAT(recall(q), ElementsAre(target.id)) << "the decoy has the four rarest trigrams, not the needle";
  EXPECT_EQ(calls_of("get") + calls_of("getrange"), 4 + 1) << "four postings read, of six, and mi:v";
  q.content_contains = "abcdef";
  EXPECT_THAT(recall(q), ElementsAre(target.id, decoy.id));
}

// A memory without an expiry has no unindex record: the indexer writes its number into its string,
// where a supersede (which rewrites the string) keeps it, and forgetting it reads it from there. One with
// an expiry keeps its number in its record, which outlives the string if Redis expires it.
TEST_F(RedisUnindexedTest, AMemoryWithoutAnExpiryKeepsItsNumberInItsString) {
  add_session("s1");
  Memory plain = add(make_memory("s1", "numbered plainly", kT0 + 1));
  Memory fading = make_memory("s1", "numbered with an expiry", kT0 + 2);
  fading.expires_at = kNow + 3'600'000;
  add(fading);
  const std::string ids_key = full_key(kDefaultNamespace, "mi:ids");
  EXPECT_THAT(server_keys(*server_, full_key(kDefaultNamespace, "mx:*")),
              ElementsAre(full_key(kDefaultNamespace, "mx:" + fading.id)));
  reopen();  // numbered
  ASSERT_EQ(server_->command({"HLEN", ids_key}).integer, 2);
  EXPECT_THAT(posting_ids("num"), ElementsAre(plain.id, fading.id));
  // Written anew with its number, the string is held at its size (an appended one had room for as much
  // again): what Redis holds is its bytes, a size class's rounding and the key's own overhead.
  const std::string plain_key = full_key(kDefaultNamespace, "m:" + plain.id);
  const long long length = server_->command({"STRLEN", plain_key}).integer;
  EXPECT_LE(server_->command({"MEMORY", "USAGE", plain_key}).integer, length * 5 / 4 + 160);

  Memory replacement = make_memory("s1", "numbered again", kT0 + 3);
  ASSERT_TRUE(store().write_memory(replacement, superseding({plain.id})));
  reopen();
  auto q = query();
  q.content_contains = "numbered";
  EXPECT_THAT(recall(q), ElementsAre(replacement.id, fading.id, plain.id));
  auto got = store().get_memory(kDefaultNamespace, plain.id, kNow);
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->superseded_by, replacement.id) << "the numbered string reads as the memory";

  ASSERT_TRUE(*store().delete_memory(kDefaultNamespace, plain.id));
  ASSERT_TRUE(*store().delete_memory(kDefaultNamespace, fading.id));
  EXPECT_THAT(posting_ids("num"), ElementsAre(replacement.id)) << "both numbers cleared";
  EXPECT_EQ(server_->command({"HLEN", ids_key}).integer, 1);
  EXPECT_EQ(server_->command({"GET", full_key(kDefaultNamespace, "mi:dead")}).text, "2");
  EXPECT_THAT(recall(q), ElementsAre(replacement.id));
}

// The store's own indexer works in such steps: a memory of a few thousand trigrams takes several.
TEST_F(RedisUnindexedTest, TheIndexerIndexesALargeMemoryInSeveralBoundedSteps) {
  add_session("s1");
  const std::string content = letter_soup(3000, 11);
  const std::size_t trigrams = indexed_trigrams(content).size() / 3;
  Memory big = add(make_memory("s1", content, kT0 + 1));
  ASSERT_EQ(server_->command({"CONFIG", "RESETSTAT"}).text, "OK");
  store_.reset();  // a clean close indexes what is pending
  EXPECT_EQ(calls_of("append"), static_cast<long long>(trigrams)) << "one per trigram";
  EXPECT_GE(calls_of("evalsha"), static_cast<long long>((trigrams + 511) / 512))
      << "at most 512 entries a step";
  EXPECT_EQ(server_->command({"EXISTS", full_key(kDefaultNamespace, "mi:pend")}).integer, 0);
  store_ = open_redis_for_test(server_->url(), [](RedisOptions&) {});
  ASSERT_NE(store_, nullptr);
  auto q = query();
  q.content_contains = content.substr(2000, 30);
  EXPECT_THAT(recall(q), ElementsAre(big.id));
}

// (Unindexed: the content indexer's own script calls would be counted too.)
TEST_F(RedisUnindexedTest, ASessionDigestIsOneScriptCallWhateverTheSessionsSize) {
  add_session("s1");
  // More memories than one slice of a walk examines (scan_batch), some superseded.
  std::vector<Memory> memories = add_entries("s1", 700, kT0, [](int i, Memory& memory) {
    if (i % 7 == 0) memory.expires_at = i % 2 ? kNow - 1 : kNow + 1000;
  });
  for (int i = 0; i < 40; ++i) {
    Memory replacement = make_memory("s1", "replacement " + std::to_string(i), kT0 + 1000 + i);
    auto& old = memories[static_cast<std::size_t>(i * 17 + 1)];
    ASSERT_TRUE(store().write_memory(replacement, superseding({old.id})));
    old.superseded_by = replacement.id;  // some of them expired since, too
    memories.push_back(replacement);
  }
  const auto live =
      static_cast<std::size_t>(std::count_if(memories.begin(), memories.end(), [](const Memory& m) {
        return !m.superseded_by && !(m.expires_at && *m.expires_at <= kNow);
      }));
  ASSERT_LT(live, 700u);

  ASSERT_EQ(server_->command({"CONFIG", "RESETSTAT"}).text, "OK");
  RankQuery q;
  q.session_id = "s1";
  q.now = kNow;
  q.limit = 126;
  q.count_limit = 1000;
  q.with_session = true;
  auto ranked = store().rank_memories(q);
  ASSERT_TRUE(ranked) << ranked.error().message;
  EXPECT_EQ(calls_of("evalsha"), 1) << "the session, its ranked memories and their count in one call";
  ASSERT_TRUE(ranked->session.has_value());
  EXPECT_EQ(ranked->memories.size(), 126u);
  EXPECT_EQ(ranked->total, live);
  EXPECT_FALSE(ranked->total_is_lower_bound);

  // With a weight, the script returns only what the budget can use: "entry N" weighs 7 to 9 bytes.
  q.weight.content_cap = 100;
  q.max_weight = 40;
  ranked = store().rank_memories(q);
  ASSERT_TRUE(ranked) << ranked.error().message;
  EXPECT_GE(ranked->memories.size(), 5u);
  EXPECT_LE(ranked->memories.size(), 6u);
  EXPECT_EQ(ranked->total, live) << "the count does not depend on the weight";
  EXPECT_EQ(calls_of("evalsha"), 2);
}

namespace {

std::vector<std::string> ids_of(const std::vector<Memory>& memories) {
  std::vector<std::string> ids;
  for (const auto& m : memories) ids.push_back(m.id);
  return ids;
}

}  // namespace

// A digest's first read: the script describes and counts the session, and SORT ... GET, sent behind it
// in the same round trip, reads the memory strings in the importance index's order without passing
// them through Lua. What it returns is what the walk in Lua returns: the dead memories at the top of
// the index (expired, superseded) left out, none past the one that fills the weight.
TEST_F(RedisUnindexedTest, ADigestReadsItsMemoriesWithSortInTheSameRoundTripAsTheScript) {
  add_session("s1");
  std::vector<Memory> memories = add_entries("s1", 300, kT0, [](int i, Memory& memory) {
    if (i % 10 == 9 && i % 3 == 0) memory.expires_at = kNow - 1;  // among the most important, and dead
  });
  for (int i : {19, 49, 79}) {  // the most important too, superseded
    ASSERT_TRUE(store().write_memory(make_memory("s1", "replacement " + std::to_string(i), kT0 + 1000 + i),
                                     superseding({memories[static_cast<std::size_t>(i)].id})));
  }
  // Without the session, the script's walk alone reads them (and the script is loaded).
  RankQuery walk = rank_query("s1", 126);
  walk.weight.content_cap = 100;
  walk.max_weight = 600;  // "entry N" weighs 7 to 9 bytes: about 70 of them
  auto walked = store().rank_memories(walk);
  ASSERT_TRUE(walked) << walked.error().message;
  ASSERT_GT(walked->memories.size(), 64u);

  RankQuery digest = walk;
  digest.with_session = true;
  ASSERT_EQ(server_->command({"CONFIG", "RESETSTAT"}).text, "OK");
  auto ranked = store().rank_memories(digest);
  ASSERT_TRUE(ranked) << ranked.error().message;
  EXPECT_EQ(calls_of("evalsha"), 1);
  EXPECT_EQ(calls_of("sort"), 1);
  ASSERT_TRUE(ranked->session.has_value());
  EXPECT_EQ(ranked->session->memory_count, 300 + 3 - 10);
  EXPECT_EQ(ids_of(ranked->memories), ids_of(walked->memories));
  EXPECT_EQ(ranked->total, walked->total);
  for (const auto& m : ranked->memories) {
    EXPECT_FALSE(m.superseded_by) << m.content;
    EXPECT_FALSE(m.expires_at && *m.expires_at <= kNow) << m.content;
  }
  // SORT read about as many strings as the weight takes at the mean weight of the last read (about 97
  // here), not all 126 wanted; the session's description reads a handful of keys more.
  EXPECT_LT(keys_read(), 126) << ranked->memories.size() << " memories returned";
}

// When the memories weigh less than the last read's did, SORT's slice falls short of the weight: the
// script's walk goes on from where SORT stopped, and the digest is the same.
TEST_F(RedisUnindexedTest, ADigestWhoseSortSliceFallsShortGoesOnWithTheWalk) {
  add_session("heavy");
  add_session("light");
  for (int i = 0; i < 20; ++i) add(make_memory("heavy", std::string(200, 'h') + std::to_string(i), kT0 + i));
  add_entries("light", 200, kT0 + 100);
  auto weighed = [](RankQuery q) {
    q.weight.content_cap = 1000;
    q.max_weight = 600;
    return q;
  };
  RankQuery heavy = weighed(rank_query("heavy", 126));
  heavy.with_session = true;
  ASSERT_TRUE(store().rank_memories(heavy));  // loads the script; memories of ~200 bytes
  auto walked = store().rank_memories(weighed(rank_query("light", 126)));
  ASSERT_TRUE(walked) << walked.error().message;
  ASSERT_GT(walked->memories.size(), 64u);
  ASSERT_TRUE(store().rank_memories(heavy));  // the last weighed read is of ~200-byte memories again

  RankQuery light = weighed(rank_query("light", 126));
  light.with_session = true;
  ASSERT_EQ(server_->command({"CONFIG", "RESETSTAT"}).text, "OK");
  auto ranked = store().rank_memories(light);
  ASSERT_TRUE(ranked) << ranked.error().message;
  EXPECT_EQ(calls_of("sort"), 1);
  EXPECT_EQ(calls_of("evalsha"), 2) << "the description, then the walk from where SORT stopped";
  EXPECT_EQ(ids_of(ranked->memories), ids_of(walked->memories));
  EXPECT_EQ(ranked->total, 200u);
}

// A memory in SORT's slice that is no string (one an older version stored as a hash) leaves the slice
// inconclusive: the script then walks, rewriting the hash as it reads it.
TEST_F(RedisUnindexedTest, ADigestWhoseSliceHoldsAnOlderHashIsReadByTheScript) {
  add_session("s1");
  Memory top = make_memory("s1", "the most important", kT0 + 1);
  top.importance = 0.9;
  add(top);
  Memory other = make_memory("s1", "less important", kT0 + 2);
  other.importance = 0.2;
  add(other);
  RankQuery q = rank_query("s1", 10);
  q.with_session = true;
  ASSERT_TRUE(store().rank_memories(q));  // loads the script
  store_as_older_hash(top, "0.9", {});

  ASSERT_EQ(server_->command({"CONFIG", "RESETSTAT"}).text, "OK");
  auto ranked = store().rank_memories(q);
  ASSERT_TRUE(ranked) << ranked.error().message;
  EXPECT_THAT(ids_of(ranked->memories), ElementsAre(top.id, other.id));
  EXPECT_EQ(ranked->total, 2u);
  ASSERT_TRUE(ranked->session.has_value());
  EXPECT_EQ(calls_of("sort"), 1);
  EXPECT_EQ(calls_of("evalsha"), 2) << "the description, then the walk";
  EXPECT_EQ(server_->command({"TYPE", full_key(kDefaultNamespace, "m:" + top.id)}).text, "string");
}

// A store whose Redis user may read only the keys under mt:v1: (an ACL key pattern). Redis refuses such
// a user SORT ... GET; its digests read their memories by walking in Lua.
class RedisKeyPatternUserTest : public RedisUnindexedTest {
 protected:
  void SetUp() override {
    server_ = std::make_unique<RedisServer>();
    ASSERT_EQ(
        server_->command({"ACL", "SETUSER", "memtrace", "on", ">secret", "~mt:v1:*", "&*", "+@all"}).text,
        "OK");
    store_ = open_redis_for_test("redis+unix://memtrace:secret@" + server_->socket_path(),
                                 [this](RedisOptions& options) { tweak(options); });
    ASSERT_NE(store_, nullptr);
  }
};

// A digest stops a few memories into the second slice of its walk: that slice reads about as many
// memory strings as the weight left can take, not a whole slice of 64 (which cost as much again as the
// first), and what it returns is exactly the head of the unbounded ranking. SORT, refused here, is
// asked once, not at every read.
TEST_F(RedisKeyPatternUserTest, AWeighedWalkReadsAboutAsManyMemoriesAsItReturns) {
  add_session("s1");
  add_entries("s1", 300, kT0);
  RankQuery q = rank_query("s1", 126);
  q.with_session = true;
  auto all = store().rank_memories(q);
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->memories.size(), 126u);

  // "entry N" weighs 7 to 9 bytes: 600 bytes of weight take about 70 memories, past the first slice.
  q.weight.content_cap = 100;
  q.max_weight = 600;
  ASSERT_EQ(server_->command({"CONFIG", "RESETSTAT"}).text, "OK");
  auto weighed = store().rank_memories(q);
  ASSERT_TRUE(weighed) << weighed.error().message;
  const std::size_t returned = weighed->memories.size();
  ASSERT_GT(returned, 64u);
  ASSERT_LT(returned, 90u);
  for (std::size_t i = 0; i < returned; ++i) {
    EXPECT_EQ(weighed->memories[i].id, all->memories[i].id) << "at rank " << i;
  }
  std::size_t weight = 0;
  for (std::size_t i = 0; i + 1 < returned; ++i) weight += q.weight.of(weighed->memories[i]);
  EXPECT_LE(weight, q.max_weight) << "none past the one that fills the weight";
  EXPECT_GT(weight + q.weight.of(weighed->memories[returned - 1]), q.max_weight);
  EXPECT_EQ(weighed->total, 300u);
  // The session's hash, agents, count and newest memory take a handful of lookups; the walk one per
  // memory string and one per slice. Whole slices of 64 would read 128 strings.
  EXPECT_LE(keys_read(), static_cast<long long>(returned) + 30) << returned << " memories returned";
  EXPECT_EQ(info_number("commandstats", "cmdstat_sort:calls="), 1) << "asked, and refused";
  ASSERT_EQ(server_->command({"CONFIG", "RESETSTAT"}).text, "OK");
  ASSERT_TRUE(store().rank_memories(q));
  EXPECT_EQ(info_number("commandstats", "cmdstat_sort:calls="), std::nullopt) << "not asked again";
}

// A needle whose trigrams are each in thousands of memories, though together they name three: the
// query streams their postings' intersection and reads those three instead of walking thousands.
TEST_F(RedisStoreTest, ARareNeedleOfCommonTrigramsIsStreamedNotWalked) {
  add_session("s1");
  UnixMillis at = kT0;
  std::vector<std::string> targets;
  for (const char* content : {"the alphabet", "ALPHABET soup", "an alphabetical list"}) {
    targets.insert(targets.begin(), add(make_memory("s1", content, ++at)).id);  // the oldest
  }
  for (int i = 0; i < 900; ++i) {
    for (const char* pair : {"pha and hab ", "hab and abe ", "pha and abe "}) {
      add(make_memory("s1", pair + std::to_string(i), ++at));
    }
  }
  store_.reset();  // a clean close indexes every pending memory
  store_ = open_redis_for_test(server_->url(), [](RedisOptions&) {});
  ASSERT_NE(store_, nullptr);
  ASSERT_EQ(posting_entries("hab"), 1803);

  ASSERT_EQ(server_->command({"CONFIG", "RESETSTAT"}).text, "OK");
  auto q = query();
  q.content_contains = "PHABE";
  q.limit = 10;
  EXPECT_EQ(recall(q), targets);
  EXPECT_EQ(calls_of("hmget"), 1) << "only the intersection's numbers are looked up, in one call";
  EXPECT_EQ(calls_of("zrevrangebylex"), 0) << "no walk";
  EXPECT_EQ(calls_of("mget"), 1) << "the three memories, read in one call";
}

// A content + tag search intersects the tag's posting with the needle's: of a common word's many
// memories, only those with the tag are checked against the tag's zset and read, newest first, on
// every page.
TEST_F(RedisStoreTest, AContentAndTagSearchChecksOnlyTheNeedlesCandidatesThatHaveTheTag) {
  add_session("s1");
  UnixMillis at = kT0;
  std::vector<std::string> wanted;  // newest first
  for (int i = 0; i < 700; ++i) {
    Memory memory = make_memory("s1", "common word " + std::to_string(i), ++at);
    memory.tags = {"x"};
    if (i % 7 == 0) memory.tags.push_back("rare");
    add(memory);
    if (i % 7 == 0) wanted.insert(wanted.begin(), memory.id);
  }
  for (int i = 0; i < 800; ++i) {  // the tag alone names more memories than the needle
    Memory memory = make_memory("s1", "other text " + std::to_string(i), ++at);
    memory.tags = {"rare"};
    add(memory);
  }
  reopen();  // indexed
  ASSERT_EQ(posting_entries("tag:rare"), 900);
  ASSERT_EQ(posting_entries("com"), 700);

  ASSERT_EQ(server_->command({"CONFIG", "RESETSTAT"}).text, "OK");
  auto q = query();
  q.content_contains = "common";
  q.tags = {"rare"};
  q.limit = 5;
  EXPECT_EQ(recall(q), std::vector<std::string>(wanted.begin(), wanted.begin() + 5));
  EXPECT_LE(calls_of("zscore"), 8) << "one read-ahead of candidates, every one with the tag";
  EXPECT_EQ(calls_of("zrevrangebylex"), 0) << "no walk of the tag's 900 memories";
  q.before_id = wanted[4];
  EXPECT_EQ(recall(q), std::vector<std::string>(wanted.begin() + 5, wanted.begin() + 10));
  q.before_id.reset();
  q.limit = 1000;
  EXPECT_EQ(recall(q), wanted);
}

// Content and content + tag searches answer exactly what a filter of every memory answers, newest first,
// in one page or many, whatever the densities meet: a needle in every memory or in a few, a tag on half
// of them or on one in a hundred, a tag seldom on a word's memories. The stream checks its candidates
// against each other posting a group at a time, by a merge where the posting is about as dense as the
// candidates and by halving where it is much denser, and finds where a group's entries start by a probe
// the posting's density guides.
TEST_F(RedisStoreTest, ContentAndTagSearchesAnswerWhatAFilterOfEveryMemoryAnswers) {
  add_session("s1");
  const std::vector<std::string> words = {"amber",  "basalt", "cobalt", "dune",   "ember", "flint",
                                          "garnet", "harbor", "indigo", "jasper", "kelp",  "lumen"};
  std::uint32_t x = 12345;
  auto next = [&x](std::uint32_t n) {
    x = x * 1664525u + 1013904223u;
    return (x >> 8) % n;
  };
  std::vector<Memory> memories;
  UnixMillis at = kT0;
  for (int i = 0; i < 3000; ++i) {
    std::string content = "Note";
    for (int w = 0; w < 4; ++w) content += " " + words[next(words.size())];
    Memory memory = make_memory("s1", content, ++at);
    // "half" is on half the memories, but on one in forty of those that hold "amber": the few of amber's
    // candidates that have it are far apart in amber's other postings, which are then looked up by halving.
    if (next(content.find("amber") == std::string::npos ? 2 : 40) == 0) memory.tags.push_back("half");
    if (next(5) == 0) memory.tags.push_back("fifth");
    if (next(100) == 0) memory.tags.push_back("rare");
    memories.push_back(add(memory));
  }
  reopen();  // a clean close indexes every pending memory
  ASSERT_EQ(posting_entries("not"), 3000);

  const std::vector<std::vector<std::string>> tag_sets = {
      {}, {"half"}, {"fifth"}, {"rare"}, {"half", "rare"}};
  for (const std::string needle : {"note", "AMBER", "mber", "per k", "lumen jasper", "t ind"}) {
    for (const auto& tags : tag_sets) {
      std::vector<std::string> expected;  // newest first
      for (auto it = memories.rbegin(); it != memories.rend(); ++it) {
        if (redis::fold_case(it->content).find(redis::fold_case(needle)) == std::string::npos) continue;
        bool tagged = true;
        for (const auto& tag : tags) {
          tagged = tagged && std::find(it->tags.begin(), it->tags.end(), tag) != it->tags.end();
        }
        if (tagged) expected.push_back(it->id);
      }
      std::string label = "\"" + needle + "\" with " + std::to_string(tags.size()) + " tag(s)" +
                          (tags.empty() ? "" : ", the first " + tags[0]);
      auto q = query();
      q.content_contains = needle;
      q.tags = tags;
      q.limit = 1000;
      EXPECT_EQ(recall(q),
                std::vector<std::string>(expected.begin(),
                                         expected.begin() + std::min<std::size_t>(expected.size(), 1000)))
          << label;
      q.limit = 97;
      if (expected.size() <= 1000) {
        EXPECT_EQ(ids_page_by_page(store(), q), expected) << label << ", page by page";
      }
    }
  }
}

// A candidate that one of a needle's postings lacks does not hide the next one, even when that next one is
// the posting's very next entry. Here "abcd" streams from its posting of "bcd", the tag keeps twenty pairs
// of memories numbered one after the other, and "abc"'s posting, much denser than they are, is looked up by
// halving: the newer of each pair lacks "abc", and the older one, which has it, is the entry just below.
TEST_F(RedisStoreTest, ACandidateAPostingLacksDoesNotHideTheNextOne) {
  add_session("s1");
  UnixMillis at = kT0;
  std::vector<std::string> wanted;  // newest first
  // The tag and "abc" each name more memories than "bcd", so that "bcd" drives.
  for (int i = 0; i < 1000; ++i) {
    Memory memory = make_memory("s1", "other abc text " + std::to_string(i), ++at);
    memory.tags = {"t"};
    add(memory);
  }
  for (int i = 0; i < 900; ++i) {
    Memory memory = make_memory("s1", "abcd " + std::to_string(i), ++at);
    if (i % 45 == 44) {
      memory.tags = {"t"};
      wanted.insert(wanted.begin(), add(memory).id);
      Memory decoy = make_memory("s1", "xbcd " + std::to_string(i), ++at);
      decoy.tags = {"t"};
      add(decoy);
    } else {
      add(memory);
    }
  }
  reopen();  // a clean close indexes every pending memory, in id order
  ASSERT_EQ(posting_entries("bcd"), 920);
  ASSERT_EQ(posting_entries("abc"), 1900);
  ASSERT_EQ(posting_entries("tag:t"), 1040);

  auto q = query();
  q.content_contains = "abcd";
  q.tags = {"t"};
  EXPECT_EQ(recall(q), wanted);
  q.limit = 3;
  EXPECT_EQ(ids_page_by_page(store(), q), wanted) << "page by page";
}

// A posting is decoded a block of 1,024 entries at a time: a search that merges with one longer than that
// misses none of the entries past the first block. "abcd" lists its 500 memories from "abc"'s posting
// and merges them with "bcd"'s, 1,500 entries of which they are the last 500.
TEST_F(RedisStoreTest, ASearchMissesNoEntryOfAPostingLongerThanOneDecodingBlock) {
  add_session("s1");
  UnixMillis at = kT0;
  for (int i = 0; i < 1000; ++i) add(make_memory("s1", "xbcd " + std::to_string(i), ++at));
  std::vector<std::string> wanted;  // newest first
  for (int i = 0; i < 500; ++i) {
    wanted.insert(wanted.begin(), add(make_memory("s1", "abcd " + std::to_string(i), ++at)).id);
  }
  reopen();  // a clean close indexes every pending memory, in id order
  ASSERT_EQ(posting_entries("bcd"), 1500);
  ASSERT_EQ(posting_entries("abc"), 500);

  auto q = query();
  q.content_contains = "abcd";
  EXPECT_EQ(recall(q), wanted);
}

// Memories an older version numbered have no tag postings (mi:4g, the first number that has them, is
// what tells): a content + tag search checks their tags in the tag's zset, and finds old and new alike.
TEST_F(RedisUnindexedTest, MemoriesNumberedBeforeTagPostingsAreFoundByContentAndTag) {
  as_layout_1();
  add_session("s1");
  UnixMillis at = kT0;
  std::vector<std::string> wanted;  // newest first
  auto add_common = [&](int count) {
    for (int i = 0; i < count; ++i) {
      Memory memory = make_memory("s1", "common word " + std::to_string(i), ++at);
      if (i % 3 == 0) memory.tags = {"t"};
      add(memory);
      if (i % 3 == 0) wanted.insert(wanted.begin(), memory.id);
    }
  };
  for (int i = 0; i < 600; ++i) {  // the tag alone names more memories than the needle, on every page
    Memory memory = make_memory("s1", "other text " + std::to_string(i), ++at);
    memory.tags = {"t"};
    add(memory);
  }
  add_common(300);
  reopen();
  // As a version before tag postings left them: numbered, in the trigrams' postings only.
  for (const auto& key : server_keys(*server_, full_key(kDefaultNamespace, "mi:4:tag:*")))
    ASSERT_EQ(server_->command({"DEL", key}).integer, 1);
  ASSERT_EQ(server_->command({"ZREM", full_key(kDefaultNamespace, "mi:4k"), "tag:t"}).integer, 1);
  ASSERT_EQ(server_->command({"DEL", full_key(kDefaultNamespace, "mi:4g")}).integer, 1);
  add_common(300);
  reopen();
  EXPECT_EQ(server_->command({"GET", full_key(kDefaultNamespace, "mi:4g")}).text, "901");
  ASSERT_EQ(posting_entries("tag:t"), 100) << "the new memories' only";
  ASSERT_EQ(server_->command({"CONFIG", "RESETSTAT"}).text, "OK");

  auto q = query();
  q.content_contains = "common";
  q.tags = {"t"};
  q.limit = 7;
  std::vector<std::string> found;
  for (int page = 0; page < 40; ++page) {
    auto ids = recall(q);
    found.insert(found.end(), ids.begin(), ids.end());
    if (ids.size() < q.limit) break;
    q.before_id = ids.back();
  }
  EXPECT_EQ(found, wanted) << "old and new, newest first";
  EXPECT_EQ(calls_of("zrevrangebylex"), 0) << "the needle's postings streamed, no walk of the tag";
}

// Layout 2 keeps a memory's session, agent, type, tags and band of importance as entries of postings,
// given at its remember with its number. Searches by them find the memories whose trigrams are still pending
// and those indexed, memories numbered after others with larger ids, and memories without a trigram, and
// leave out forgotten ones, exactly as a filter of every memory does, page after page, whether they list the
// postings' candidates whole or stream them.
TEST_F(RedisUnindexedTest, Layout2FindsMemoriesByAgentTypeTagAndImportanceWhetherIndexedOrNot) {
  add_session("s1");
  add_session("s2");
  auto index_first = [&](int memories) { return index_step(memories, 100000, 2048); };  // in number order
  const std::vector<std::string> agents = {"agent-a", "agent-b", "agent-c"};
  const std::vector<std::string> types = {"observation", "decision", "fact"};
  std::vector<Memory> live;
  auto write = [&](int i, UnixMillis at) {
    Memory m = make_memory(i % 4 == 0 ? "s2" : "s1", "Note number " + std::to_string(i), at, agents[i % 3]);
    m.type = types[(i / 3) % 3];
    if (i % 2 == 0) m.tags.push_back("even");
    if (i % 5 == 0) m.tags.push_back("fifth");
    if (i % 7 == 0) m.content = "x";  // no trigram
    m.importance = (i % 21) / 20.0;   // on the edges of the bands of importance
    live.push_back(add(m));
  };
  struct Case {
    std::string what;
    MemoryQuery q;
  };
  std::vector<Case> cases;
  auto with = [&](std::string what, const std::function<void(MemoryQuery&)>& set) {
    MemoryQuery q = query();
    q.limit = 7;
    set(q);
    cases.push_back({std::move(what), q});
  };
  with("agent", [](MemoryQuery& q) { q.agent_id = "agent-b"; });
  with("session", [](MemoryQuery& q) { q.session_id = "s2"; });
  with("tag", [](MemoryQuery& q) { q.tags = {"even"}; });
  with("two tags", [](MemoryQuery& q) { q.tags = {"even", "fifth"}; });
  with("agent and tag", [](MemoryQuery& q) {
    q.agent_id = "agent-c";
    q.tags = {"fifth"};
  });
  with("a type", [](MemoryQuery& q) { q.types = {"decision"}; });
  with("two types", [](MemoryQuery& q) { q.types = {"decision", "fact"}; });
  with("session, agent and tag", [](MemoryQuery& q) {
    q.session_id = "s2";
    q.agent_id = "agent-a";
    q.tags = {"even"};
  });
  with("content and agent", [](MemoryQuery& q) {
    q.content_contains = "NUMBER 1";
    q.agent_id = "agent-a";
  });
  with("an agent with no memory", [](MemoryQuery& q) { q.agent_id = "nobody"; });
  for (double least : {0.35, 0.7, 0.95, 1.0}) {
    with("importance " + std::to_string(least), [least](MemoryQuery& q) { q.min_importance = least; });
  }
  with("tag and importance", [](MemoryQuery& q) {
    q.tags = {"fifth"};
    q.min_importance = 0.5;
  });
  auto matches = [](const MemoryQuery& q, const Memory& m) {
    auto has_tag = [&](const std::string& tag) {
      return std::find(m.tags.begin(), m.tags.end(), tag) != m.tags.end();
    };
    std::string content = m.content;
    std::transform(content.begin(), content.end(), content.begin(), ::tolower);
    std::string needle = q.content_contains.value_or("");
    std::transform(needle.begin(), needle.end(), needle.begin(), ::tolower);
    return (!q.session_id || m.session_id == *q.session_id) && (!q.agent_id || m.agent_id == *q.agent_id) &&
           std::all_of(q.tags.begin(), q.tags.end(), has_tag) &&
           (q.types.empty() || std::find(q.types.begin(), q.types.end(), m.type) != q.types.end()) &&
           (!q.min_importance || m.importance >= *q.min_importance) &&
           content.find(needle) != std::string::npos;
  };
  // A second store on the same Redis that never lists candidates whole: it streams the postings.
  auto streaming = open_redis_for_test(server_->url(), [](RedisOptions& options) {
    options.content_index_delay = std::chrono::hours(1);
    options.candidate_list_max = 0;
  });
  ASSERT_NE(streaming, nullptr);
  auto expect_exact = [&](const std::string& stage) {
    for (Store* searched : {&store(), streaming.get()})
      for (const auto& c : cases) {
        std::vector<const Memory*> wanted_memories;
        for (const auto& m : live)
          if (matches(c.q, m)) wanted_memories.push_back(&m);
        std::sort(wanted_memories.begin(), wanted_memories.end(),
                  [](const Memory* a, const Memory* b) { return a->id > b->id; });
        std::vector<std::string> wanted;
        for (const Memory* m : wanted_memories) wanted.push_back(m->id);
        MemoryQuery q = c.q;
        std::vector<std::string> found;
        for (int page = 0; page < 100; ++page) {
          std::vector<std::string> ids;
          for (const auto& m : ok(searched->query_memories(q), "query_memories")) ids.push_back(m.id);
          found.insert(found.end(), ids.begin(), ids.end());
          if (ids.size() < q.limit) break;
          q.before_id = ids.back();
        }
        EXPECT_EQ(found, wanted) << c.what << ", " << stage << (searched == &store() ? "" : ", streamed");
      }
  };

  for (int i = 0; i < 80; ++i) write(i, kT0 + 1000 + i);
  expect_exact("all pending");
  EXPECT_EQ(server_->command({"GET", full_key(kDefaultNamespace, "mi:v")}).text, "2");
  EXPECT_EQ(index_first(50), 30) << "left pending";
  expect_exact("50 numbered, 30 pending");
  EXPECT_EQ(index_first(100), 0);
  expect_exact("all numbered");
  // Older ids, numbered after the newer ones (another server's clock behind).
  for (int i = 80; i < 120; ++i) write(i, kT0 + i);
  EXPECT_EQ(index_first(25), 15);
  expect_exact("late memories partly numbered");
  EXPECT_EQ(index_first(100), 0);
  expect_exact("late memories numbered");
  std::vector<Memory> kept;
  for (std::size_t k = 0; k < live.size(); ++k) {
    if (k % 2 == 0) {
      ASSERT_TRUE(*store().delete_memory(kDefaultNamespace, live[k].id));
    } else {
      kept.push_back(live[k]);
    }
  }
  live = kept;
  expect_exact("half forgotten, before the sweep");
  int steps = 0;
  while (index_first(100) != 0 && steps < 20) ++steps;
  EXPECT_EQ(server_->command({"EXISTS", full_key(kDefaultNamespace, "mi:dead")}).integer, 0) << "swept";
  expect_exact("after the sweep");

  for (const char* pattern : {"mi:a:*", "mi:t:*", "mi:g:*", "mi:imp", "mi:s:*"}) {
    EXPECT_THAT(server_keys(*server_, full_key(kDefaultNamespace, pattern)), IsEmpty())
        << pattern
        << ": layout 2 keeps no sorted set of ids per agent, type, tag or session, nor by importance";
  }
  EXPECT_EQ(posting_entries("agent:agent-b"),
            std::count_if(live.begin(), live.end(), [](const Memory& m) { return m.agent_id == "agent-b"; }))
      << "the forgotten ones' entries went at the sweep";
  EXPECT_EQ(
      posting_entries("type:decision") + posting_entries("type:fact") + posting_entries("type:observation"),
      static_cast<long long>(live.size()));
}

// A posting vouches for a number's agent, type and tags in layout 2, so no number is given twice while a
// posting still names it. Numbering starts again when a sweep finds no memory left, but not if a memory
// forgotten during that sweep is still in a posting the sweep had passed.
TEST_F(RedisUnindexedTest, NumbersAreNotGivenAgainWhileAPostingStillNamesThem) {
  add_session("s1");
  auto sweep_step = [&](int sweep_entries) { return index_step(256, 100000, sweep_entries); };
  Memory first = make_memory("s1", "zzz one", kT0 + 1);
  first.tags = {"a"};
  Memory second = make_memory("s1", "zzz two", kT0 + 2);
  second.tags = {"b"};
  add(first);
  add(second);
  EXPECT_EQ(sweep_step(1), 0);
  ASSERT_TRUE(*store().delete_memory(kDefaultNamespace, first.id));  // one of two: a sweep is due
  const std::string state = full_key(kDefaultNamespace, "mi:4s");
  for (int steps = 0; steps < 100; ++steps) {  // one entry a step, up to a posting past the tag's
    ASSERT_EQ(sweep_step(1), 1) << "the sweep ended before it passed tag:b";
    if (server_->command({"HGET", state, "at"}).text > "tag:b") break;
  }
  ASSERT_TRUE(*store().delete_memory(kDefaultNamespace, second.id));
  for (int steps = 0; steps < 100 && sweep_step(1) != 0; ++steps) {
  }
  EXPECT_EQ(server_->command({"EXISTS", state}).integer, 0) << "the sweep is over";
  EXPECT_THAT(posting_ids("tag:b"), IsEmpty());
  EXPECT_EQ(posting_entries("tag:b"), 1) << "the second memory's number, left for the next sweep";
  Memory third = add(make_memory("s1", "zzz three", kT0 + 3));
  Memory fourth = add(make_memory("s1", "zzz four", kT0 + 4));
  auto q = query();
  q.tags = {"b"};
  EXPECT_THAT(recall(q), IsEmpty()) << "no new memory took the number tag:b still names";
  q = query();
  EXPECT_THAT(recall(q), ElementsAre(fourth.id, third.id));
}

// A namespace that memories are in already when this build first writes to it (a build before layouts
// filled it, which kept the sorted sets of ids only, and no mi:v) takes layout 1, whatever the server
// would give a new one: its older memories are found by agent, type and tag with the newer ones.
TEST_F(RedisStoreTest, ANamespaceWithMemoriesAlreadyKeepsTheLayoutTheyWereWrittenIn) {
  add_session("s1");
  store_ =
      open_redis_for_test(server_->url(), [](RedisOptions& options) { options.new_namespace_layout = 1; });
  ASSERT_NE(store_, nullptr);
  Memory old_one = make_memory("s1", "written by an older build", kT0 + 1, "agent-b");
  old_one.tags = {"legacy"};
  old_one.type = "fact";
  add(old_one);
  reopen();  // indexed, by an indexer that gives no agent or type postings
  ASSERT_EQ(server_->command({"DEL", full_key(kDefaultNamespace, "mi:v")}).integer, 1)
      << "as such a build left it";
  EXPECT_EQ(server_->command({"EXISTS", full_key(kDefaultNamespace, "mi:a:agent-b")}).integer, 1);

  store_ = open_redis_for_test(server_->url(), [](RedisOptions&) {});  // layout 2 for new namespaces
  ASSERT_NE(store_, nullptr);
  Memory new_one = make_memory("s1", "written by this build", kT0 + 2, "agent-b");
  new_one.tags = {"legacy"};
  new_one.type = "fact";
  add(new_one);
  reopen();
  EXPECT_EQ(server_->command({"GET", full_key(kDefaultNamespace, "mi:v")}).text, "1");
  auto q = query();
  q.agent_id = "agent-b";
  EXPECT_THAT(recall(q), ElementsAre(new_one.id, old_one.id));
  q = query();
  q.tags = {"legacy"};
  q.types = {"fact"};
  EXPECT_THAT(recall(q), ElementsAre(new_one.id, old_one.id));
  q.content_contains = "written";
  EXPECT_THAT(recall(q), ElementsAre(new_one.id, old_one.id));

  // Another namespace, new to this build, takes layout 2.
  add_session("s9", "fresh");
  Memory elsewhere = make_memory("s9", "in a new namespace", kT0 + 3, "agent-b", "fresh");
  elsewhere.tags = {"legacy"};
  add(elsewhere);
  EXPECT_EQ(server_->command({"GET", full_key("fresh", "mi:v")}).text, "2");
  EXPECT_THAT(server_keys(*server_, full_key("fresh", "mi:g:*")), IsEmpty());
  auto in_fresh = query("fresh");
  in_fresh.tags = {"legacy"};
  in_fresh.agent_id = "agent-b";
  EXPECT_THAT(recall(in_fresh), ElementsAre(elsewhere.id));
}

// mi:time holds only the memories whose id does not tell when they were made: a server's own ids do, so
// its memories cost no entry there. A store an older build filled has every memory in it: windows read
// each such memory once meanwhile, and the indexer takes the redundant entries out in bounded steps,
// after the pending memories.
TEST_F(RedisUnindexedTest, OnlyMemoriesWhoseIdDoesNotTellTheirTimeAreInTheTimeIndex) {
  add_session("s1");
  const std::string time_index = full_key(kDefaultNamespace, "mi:time");
  const std::string state = full_key(kDefaultNamespace, "mi:tt");
  Memory imported = make_memory("s1", "imported long ago", kT0 - 86'400'000);
  imported.id = IdGenerator().next(kT0 + 5'000);  // its id says another time
  add(imported);
  const auto made = add_entries("s1", 2'500, kT0);
  EXPECT_THAT(texts(server_->command({"ZRANGE", time_index, "0", "-1"})), ElementsAre(imported.id));

  // A step as the store runs it: a sweep step reads 2,048 entries, a trimming step a quarter of that.
  int steps = 0;
  while (index_step(256, 100000, 2048) > 0) ASSERT_LT(++steps, 40);
  EXPECT_EQ(server_->command({"GET", state}).text, "done") << "mi:time holds one to keep";

  // As an older build left it: every memory in mi:time.
  for (const auto& m : made)
    ASSERT_EQ(server_->command({"ZADD", time_index, std::to_string(m.created_at), m.id}).integer, 1);
  ASSERT_EQ(server_->command({"DEL", state}).integer, 1);
  auto window = [&] {
    auto q = query();
    q.since = kT0 + 1'000;
    q.until = kT0 + 1'010;
    return recall(q);
  };
  std::vector<std::string> expected;
  for (int i = 1'009; i >= 1'000; --i) expected.push_back(made[static_cast<std::size_t>(i)].id);
  EXPECT_EQ(window(), expected) << "each once, from either index";
  auto q = query();
  q.until = kT0;
  EXPECT_THAT(recall(q), ElementsAre(imported.id));

  EXPECT_EQ(index_step(256, 100000, 2048), 1) << "512 entries, more to do";
  EXPECT_EQ(server_->command({"GET", state}).text, "1") << "the rank reached: the imported one is kept";
  EXPECT_EQ(server_->command({"ZCARD", time_index}).integer, 2'501 - 511);
  EXPECT_EQ(window(), expected);
  EXPECT_EQ(index_step(256, 100000, 2048), 1);
  EXPECT_EQ(index_step(256, 100000, 2048), 1);
  EXPECT_EQ(index_step(256, 100000, 2048), 1);
  EXPECT_EQ(index_step(256, 100000, 2048), 0) << "the last 453";
  EXPECT_EQ(server_->command({"GET", state}).text, "done");
  EXPECT_THAT(texts(server_->command({"ZRANGE", time_index, "0", "-1"})), ElementsAre(imported.id));
  EXPECT_EQ(window(), expected);
  EXPECT_THAT(recall(q), ElementsAre(imported.id));
  EXPECT_EQ(index_step(256, 100000, 2048), 0) << "nothing left to trim";
}

TEST_F(RedisUnindexedTest, RememberIsOneScriptCallAndNoRequestUsesKeysOrScan) {
  add_session("s1");
  ASSERT_EQ(server_->command({"CONFIG", "RESETSTAT"}).text, "OK");
  for (int i = 0; i < 20; ++i) {
    Memory memory = make_memory("s1", "entry number " + std::to_string(i), kT0 + i);
    memory.tags = {"t" + std::to_string(i % 3)};
    memory.expires_at = i % 2 ? std::optional<UnixMillis>(kNow + i) : std::nullopt;
    add(memory);
  }
  EXPECT_EQ(calls_of("evalsha"), 20) << "a remember is one EVALSHA";
  EXPECT_EQ(calls_of("multi"), 0);

  auto q = query();
  q.tags = {"t1"};
  q.content_contains = "NUMBER 1";
  recall(q);
  q = query();
  q.content_contains = "r";
  q.types = {"observation", "action"};
  q.since = kT0 + 3;
  q.min_importance = 0.2;
  recall(q);
  q = query();
  q.session_id = "s1";
  q.agent_id = "agent-a";
  q.before_id = ids_.next(kT0 + 10);
  q.limit = 3;
  recall(q);
  SessionQuery sq;
  sq.metadata_contains = {{"repo", "\"memtrace\""}};
  sq.agent_id = "agent-a";
  sq.status = SessionStatus::kActive;
  ASSERT_TRUE(store().find_sessions(sq));
  ASSERT_TRUE(store().get_memory(kDefaultNamespace, ids_.next(kT0), kNow));
  ASSERT_TRUE(store().purge_expired(kNow + 100));
  ASSERT_TRUE(store().close_session(kDefaultNamespace, "s1", kNow));
  EXPECT_EQ(calls_of("keys"), 0);
  EXPECT_EQ(calls_of("scan"), 0);
}

TEST_F(RedisStoreTest, ScriptsAreReloadedAfterTheServerForgetsThem) {
  add_session("s1");
  add(make_memory("s1", "before the flush", kT0 + 1));
  ASSERT_EQ(server_->command({"SCRIPT", "FLUSH"}).text, "OK");
  add(make_memory("s1", "after the flush", kT0 + 2));
  EXPECT_EQ(recall(query()).size(), 2u);
}

TEST_F(RedisStoreTest, DeletingEveryMemoryLeavesNoIndexEntryBehind) {
  add_session("s1");
  std::vector<Memory> memories;
  for (int i = 0; i < 10; ++i) {
    Memory memory = make_memory("s1", "Some Content with trigrams #" + std::to_string(i), kT0 + i);
    memory.tags = {"a", "b" + std::to_string(i)};
    memory.type = i % 2 ? "action" : "observation";
    if (i % 3 == 0) memory.expires_at = kNow + 1;
    memories.push_back(add(memory));
  }
  // Superseded ones are indexed for the session's counts too (one with an expiry, one without).
  Memory replacement = make_memory("s1", "a replacement", kT0 + 20);
  ASSERT_TRUE(store().write_memory(replacement, superseding({memories[3].id, memories[4].id})));
  ASSERT_FALSE(server_keys(*server_, full_key(kDefaultNamespace, "mi:ss:*")).empty());
  memories.push_back(replacement);
  for (const auto& memory : memories) {
    auto deleted = store().delete_memory(kDefaultNamespace, memory.id);
    ASSERT_TRUE(deleted && *deleted);
  }
  EXPECT_THAT(server_keys(*server_, full_key(kDefaultNamespace, "m:*")), IsEmpty());
  EXPECT_THAT(server_keys(*server_, full_key(kDefaultNamespace, "mx:*")), IsEmpty());
  EXPECT_THAT(server_keys(*server_, full_key(kDefaultNamespace, "mi:ids")), IsEmpty());
  reopen();  // the sweep the forgets made due has run
  EXPECT_THAT(server_keys(*server_, full_key(kDefaultNamespace, "m*")),
              ElementsAre(full_key(kDefaultNamespace, "mi:v")))
      << "nothing but the namespace's layout, which it keeps";
}

TEST_F(RedisStoreTest, SessionsWrittenBeforeTheSupersededIndexAreCountedByWalkingThem) {
  add_session("s1");
  std::vector<Memory> memories;
  for (int i = 0; i < 6; ++i)
    memories.push_back(add(make_memory("s1", "entry " + std::to_string(i), kT0 + i)));
  Memory replacement = make_memory("s1", "replacement", kT0 + 10);
  ASSERT_TRUE(store().write_memory(replacement, superseding({memories[0].id, memories[1].id})));
  // What an earlier version left: no superseded index, and a session hash that does not claim one.
  ASSERT_EQ(server_->command({"DEL", full_key(kDefaultNamespace, "mi:ss:s1")}).integer, 1);
  ASSERT_EQ(server_->command({"HDEL", full_key(kDefaultNamespace, "s:s1"), "ssx"}).integer, 1);
  RankQuery q;
  q.session_id = "s1";
  q.now = kNow;
  q.limit = 1;
  auto ranked = store().rank_memories(q);
  ASSERT_TRUE(ranked) << ranked.error().message;
  EXPECT_EQ(ranked->total, 5u) << "6 + 1 written, 2 superseded";
  EXPECT_FALSE(ranked->total_is_lower_bound);
}

TEST_F(RedisStoreTest, PurgeRemovesEveryTraceOfExpiredMemories) {
  add_session("s1");
  Memory keep = make_memory("s1", "kept", kT0);
  keep.tags = {"k"};
  add(keep);
  for (int i = 0; i < 5; ++i) {
    Memory memory = make_memory("s1", "temporary words " + std::to_string(i), kT0 + i);
    memory.tags = {"tmp"};
    memory.expires_at = kT0 + 1000;  // past by the server's clock: no PEXPIREAT, purge does the work
    add(memory);
  }
  auto purged = store().purge_expired(kT0 + 1000);
  ASSERT_TRUE(purged);
  EXPECT_EQ(*purged, 5u);
  auto memory_keys = server_keys(*server_, full_key(kDefaultNamespace, "m:*"));
  EXPECT_THAT(memory_keys, ElementsAre(full_key(kDefaultNamespace, "m:" + keep.id)));
  EXPECT_THAT(server_keys(*server_, full_key(kDefaultNamespace, "mi:exp")), IsEmpty());
  EXPECT_THAT(posting_ids("tem"), IsEmpty());
  reopen();  // the sweep the purge made due has run
  EXPECT_THAT(server_keys(*server_, full_key(kDefaultNamespace, "mi:4:tem")), IsEmpty());
  EXPECT_THAT(server_keys(*server_, full_key(kDefaultNamespace, "mi:4:tag:tmp")), IsEmpty());
  EXPECT_THAT(posting_ids("tag:k"), ElementsAre(keep.id));
  EXPECT_THAT(posting_ids("kep"), ElementsAre(keep.id));
}

// Memories written by a version that kept each memory (and its unindex record) as a hash are read,
// superseded, ranked and forgotten as before; the first script that meets one rewrites it as a string
// under the same key and expiry.
// A memory whose strings are each under 256 bytes is kept in the short form (1-byte lengths, no
// expires_at or valid_until unless it has them): 43 bytes less than the long form. Any other is kept in
// the long form. Both read back whole, before and after the indexer numbers them, and filters and
// content searches read both.
TEST_F(RedisStoreTest, AMemoryIsAShortStringWhenEachOfItsStringsFitsAByteOfLength) {
  add_session("s1");
  const UnixMillis in_an_hour = std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count() +
                                3'600'000;
  Memory plain = make_memory("s1", "plain words here", kT0 + 1);
  plain.tags = {"alpha", "beta"};
  plain.importance = 0.25;
  Memory expiring = make_memory("s1", "expiring words here", kT0 + 2);
  expiring.expires_at = in_an_hour;
  expiring.importance = 0.5;
  Memory long_content = make_memory("s1", "long words here " + std::string(300, 'x'), kT0 + 3);
  long_content.importance = 0.75;
  Memory long_reasoning = make_memory("s1", "decided words here", kT0 + 4);
  long_reasoning.type = "decision";
  long_reasoning.reasoning = std::string(256, 'r');
  long_reasoning.importance = 1.0;
  for (const auto& m : {plain, expiring, long_content, long_reasoning}) add(m);
  Memory newer = make_memory("s1", "newer words here", kT0 + 5);
  ASSERT_TRUE(store().write_memory(newer, superseding({plain.id})));
  plain.superseded_by = newer.id;

  auto string_of = [&](const Memory& m) {
    return server_->command({"GET", full_key(kDefaultNamespace, "m:" + m.id)}).text;
  };
  auto strings_size = [](const Memory& m) {
    return m.superseded_by.value_or("").size() + m.type.size() + m.agent_id.size() + m.content.size() +
           m.session_id.size() + m.id.size() + redis::encode_list(m.tags).size() + m.metadata_json.size() +
           m.reasoning.value_or("").size();
  };
  // Layout 2 numbers a memory at its remember: one without an expiry carries its number (4 bytes) from then
  // on; one with an expiry keeps it in its unindex record.
  const std::size_t number = 4;
  EXPECT_EQ(string_of(expiring).size(), 1 + 8 * 3 + 9 + strings_size(expiring)) << "short, with expires_at";
  EXPECT_EQ(string_of(newer).size(), 1 + 8 * 2 + 9 + strings_size(newer) + number) << "short, neither time";
  EXPECT_EQ(string_of(plain).size(), 1 + 8 * 3 + 9 + strings_size(plain) + number)
      << "short, with valid_until";
  EXPECT_EQ(string_of(long_content).size(), 1 + 8 * 4 + 4 * 9 + strings_size(long_content) + number)
      << "long";
  EXPECT_EQ(string_of(long_reasoning).size(), 1 + 8 * 4 + 4 * 9 + strings_size(long_reasoning) + number)
      << "long";

  auto check = [&](const char* when) {
    SCOPED_TRACE(when);
    for (const auto& m : {plain, expiring, long_content, long_reasoning, newer}) {
      auto got = store().get_memory(kDefaultNamespace, m.id, kNow);
      ASSERT_TRUE(got && got->has_value()) << m.content;
      const Memory& g = **got;
      EXPECT_EQ(g.content, m.content);
      EXPECT_EQ(g.session_id, m.session_id);
      EXPECT_EQ(g.agent_id, m.agent_id);
      EXPECT_EQ(g.type, m.type);
      EXPECT_EQ(g.tags, m.tags);
      EXPECT_EQ(g.importance, m.importance);
      EXPECT_EQ(g.created_at, m.created_at);
      EXPECT_EQ(g.expires_at, m.expires_at);
      EXPECT_EQ(g.reasoning, m.reasoning);
      EXPECT_EQ(g.superseded_by, m.superseded_by);
      EXPECT_EQ(g.valid_until.has_value(), m.superseded_by.has_value());
    }
    auto q = query();
    q.content_contains = "WORDS HERE";
    EXPECT_THAT(recall(q), ElementsAre(newer.id, long_reasoning.id, long_content.id, expiring.id, plain.id));
    q.content_contains.reset();
    q.min_importance = 0.5;
    q.since = kT0 + 2;
    q.until = kT0 + 5;
    EXPECT_THAT(recall(q), ElementsAre(long_reasoning.id, long_content.id, expiring.id));
    q.types = {"decision"};
    EXPECT_THAT(recall(q), ElementsAre(long_reasoning.id));
    q = query();
    q.now = in_an_hour;
    q.content_contains = "words";
    EXPECT_THAT(recall(q), ElementsAre(newer.id, long_reasoning.id, long_content.id, plain.id)) << "expired";
  };
  check("as written");
  reopen();  // the indexer has numbered them all (a number at each string's end)
  EXPECT_EQ(string_of(newer).size(), 1 + 8 * 2 + 9 + strings_size(newer) + 4) << "numbered";
  check("numbered");
}

TEST_F(RedisStoreTest, MemoriesAnOlderVersionStoredAsHashesAreReadAndRewrittenAsStrings) {
  as_layout_1();
  add_session("s1");
  Memory decision = make_memory("s1", "Chose Redis for the shared memory", kT0 + 1);
  decision.type = "decision";
  decision.tags = {"infra", "storage"};
  decision.importance = 0.875;
  decision.metadata_json = R"({"ticket":"OPS-7"})";
  decision.reasoning = "";  // given, but empty: still given
  // Redis's own expiry runs on its clock: an hour from now by the wall clock.
  const UnixMillis in_an_hour = std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count() +
                                3'600'000;
  decision.expires_at = in_an_hour;
  add(decision);
  Memory plain = make_memory("s1", "The cache warms up in 30 s", kT0 + 2);
  add(plain);

  store_as_older_hash(decision, "0.875", {"ea", std::to_string(*decision.expires_at), "r", ""});
  store_as_older_hash(plain, "0.5", {});
  const std::string decision_key = full_key(kDefaultNamespace, "m:" + decision.id);
  ASSERT_EQ(server_->command({"PEXPIREAT", decision_key, std::to_string(in_an_hour)}).integer, 1);
  ASSERT_EQ(server_->command({"TYPE", decision_key}).text, "hash");

  auto got = store().get_memory(kDefaultNamespace, decision.id, kNow);
  ASSERT_TRUE(got) << got.error().message;
  ASSERT_TRUE(got->has_value());
  const Memory& read = **got;
  EXPECT_EQ(read.content, decision.content);
  EXPECT_EQ(read.type, "decision");
  EXPECT_EQ(read.tags, decision.tags);
  EXPECT_EQ(read.importance, 0.875);
  EXPECT_EQ(read.created_at, decision.created_at);
  EXPECT_EQ(read.expires_at, decision.expires_at);
  EXPECT_EQ(read.metadata_json, decision.metadata_json);
  EXPECT_EQ(read.reasoning, std::optional<std::string>(""));
  EXPECT_FALSE(read.superseded_by);
  EXPECT_EQ(server_->command({"TYPE", decision_key}).text, "string") << "rewritten on first read";
  EXPECT_GT(server_->command({"PTTL", decision_key}).integer, 0) << "with its expiry";

  // A hash memory is superseded (rewritten, then marked) and a search finds it by content.
  Memory newer = make_memory("s1", "The cache warms up in 5 s now", kT0 + 3);
  WriteOptions supersede;
  supersede.supersedes = {plain.id};
  auto written = store().write_memory(newer, supersede);
  ASSERT_TRUE(written) << written.error().message;
  auto old = store().get_memory(kDefaultNamespace, plain.id, kNow);
  ASSERT_TRUE(old && old->has_value());
  EXPECT_EQ((*old)->superseded_by, newer.id);
  EXPECT_EQ((*old)->valid_until, newer.created_at);
  EXPECT_EQ((*old)->importance, 0.5);

  auto q = query();
  q.content_contains = "redis for the";
  EXPECT_THAT(recall(q), ElementsAre(decision.id));

  RankQuery ranked_query;
  ranked_query.session_id = "s1";
  ranked_query.now = kNow;
  auto ranked = store().rank_memories(ranked_query);
  ASSERT_TRUE(ranked) << ranked.error().message;
  std::vector<std::string> ranked_ids;
  for (const auto& m : ranked->memories) ranked_ids.push_back(m.id);
  EXPECT_THAT(ranked_ids, ElementsAre(decision.id, newer.id)) << "the superseded one is left out";

  // Its unindex record as the older version wrote it, a hash too: forgetting the memory still removes
  // every index entry.
  const std::string mx_key = full_key(kDefaultNamespace, "mx:" + decision.id);
  ASSERT_EQ(server_->command({"DEL", mx_key}).integer, 1);
  ASSERT_FALSE(server_
                   ->command({"HSET", mx_key, "s", "s1", "a", "agent-a", "t", "decision", "g",
                              redis::encode_list(decision.tags), "3", indexed_trigrams(decision.content)})
                   .is_error());
  auto forgotten = store().delete_memory(kDefaultNamespace, decision.id);
  ASSERT_TRUE(forgotten) << forgotten.error().message;
  EXPECT_TRUE(*forgotten);
  EXPECT_EQ(server_->command({"ZSCORE", full_key(kDefaultNamespace, "mi:all"), decision.id}).type,
            RespValue::Type::kNil);
  EXPECT_THAT(server_keys(*server_, full_key(kDefaultNamespace, "mi:g:infra")), IsEmpty());
  EXPECT_EQ(server_->command({"EXISTS", mx_key}).integer, 0);
  EXPECT_EQ(server_->command({"EXISTS", decision_key}).integer, 0);
  q.content_contains = "redis for the";
  EXPECT_THAT(recall(q), IsEmpty());
}

// A real TTL: Redis deletes the memory hash itself (PEXPIREAT); the memory never shows again, even to
// a caller whose clock is behind, and the first lookup that meets the gap removes its index entries.
TEST_F(RedisStoreTest, RedisExpiresTheMemoryHashAndLookupsDropItsIndexEntries) {
  add_session("s1");
  const UnixMillis real_now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
  Memory keep = add(make_memory("s1", "stays", real_now));
  Memory fading = make_memory("s1", "ephemeral thought", real_now + 1);
  fading.tags = {"short-lived"};
  fading.expires_at = real_now + 300;
  add(fading);
  const std::string hash = full_key(kDefaultNamespace, "m:" + fading.id);
  EXPECT_GT(server_->command({"PTTL", hash}).integer, 0) << "the hash carries the TTL";

  ASSERT_TRUE(eventually([&] {
    return server_->command({"EXISTS", hash}).integer == 0;
  })) << "redis did not expire "
      << hash;
  auto q = query();
  q.now = real_now;  // the caller's clock says it is still alive, but it is gone
  q.content_contains = "ephemeral";
  EXPECT_THAT(recall(q), IsEmpty());
  // That lookup met the missing hash and unindexed the memory everywhere.
  EXPECT_EQ(server_->command({"ZSCORE", full_key(kDefaultNamespace, "mi:all"), fading.id}).type,
            RespValue::Type::kNil);
  EXPECT_THAT(posting_ids("tag:short-lived"), IsEmpty());
  EXPECT_THAT(server_keys(*server_, full_key(kDefaultNamespace, "mx:" + fading.id)), IsEmpty());
  EXPECT_THAT(posting_ids("eph"), IsEmpty());
  q = query();
  q.now = real_now;
  EXPECT_THAT(recall(q), ElementsAre(keep.id));
  auto got = store().get_memory(kDefaultNamespace, fading.id, real_now);
  ASSERT_TRUE(got);
  EXPECT_FALSE(got->has_value());
}

TEST_F(RedisStoreTest, GetMemoryAlsoDropsTheIndexEntriesOfAnExpiredHash) {
  add_session("s1");
  const UnixMillis real_now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
  Memory fading = make_memory("s1", "short", real_now);
  fading.expires_at = real_now + 200;
  add(fading);
  const std::string hash = full_key(kDefaultNamespace, "m:" + fading.id);
  ASSERT_TRUE(eventually([&] { return server_->command({"EXISTS", hash}).integer == 0; }));
  auto got = store().get_memory(kDefaultNamespace, fading.id, real_now);
  ASSERT_TRUE(got);
  EXPECT_FALSE(got->has_value());
  // Every index entry is gone but the content index's own bookkeeping, which the next sweep clears.
  for (const auto& key : server_keys(*server_, full_key(kDefaultNamespace, "mi:*"))) {
    const std::string rest = key.substr(full_key(kDefaultNamespace, "").size());
    EXPECT_TRUE(rest == "mi:n" || rest == "mi:live" || rest == "mi:dead" || rest == "mi:4k" ||
                rest == "mi:maxid" || rest == "mi:pmax" || rest == "mi:4g" || rest == "mi:v" ||
                rest.rfind("mi:4:", 0) == 0)
        << key;
  }
  EXPECT_THAT(posting_ids("sho"), IsEmpty());
}

TEST_F(RedisStoreTest, WritesIntoAMissingSessionAreRefused) {
  auto inserted = store().insert_memory(make_memory("nowhere", "lost", kT0));
  ASSERT_FALSE(inserted);
  EXPECT_EQ(inserted.error().code, ErrorCode::kNotFound);
  add_session("s1");
  Memory memory = add(make_memory("s1", "once", kT0));
  auto again = store().insert_memory(memory);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
  auto empty_ns = store().query_memories(query(""));
  ASSERT_FALSE(empty_ns);
  EXPECT_EQ(empty_ns.error().code, ErrorCode::kInvalidArgument);
}

// Deduplication keeps each fingerprint as a field of a hash of one window of time (by created_at, the
// memory's time), not as a key with an expiry of its own: a memory is found in its window's hash or the
// one before, across the boundary between them, and the hash expires two windows after its first
// write. A key an older build wrote per fingerprint (dd:<fingerprint>) is still read.
TEST_F(RedisStoreTest, DeduplicationKeepsFingerprintsInHashesOfOneWindowEach) {
  add_session("s1");
  WriteOptions dedup;
  dedup.dedup_window_ms = 60'000;
  const UnixMillis boundary = (kT0 / 60'000 + 1) * 60'000;  // where one window's hash ends
  Memory first = make_memory("s1", "the router needs a firmware update", boundary - 1);
  ASSERT_FALSE(ok(store().write_memory(first, dedup)).duplicate_of.has_value());
  Memory again = make_memory("s1", "the router needs a firmware update", boundary + 1);
  auto outcome = ok(store().write_memory(again, dedup));
  ASSERT_TRUE(outcome.duplicate_of.has_value()) << "across the boundary, within the window";
  EXPECT_EQ(outcome.duplicate_of->id, first.id);
  Memory later = make_memory("s1", "the router needs a firmware update", boundary - 1 + 60'000);
  EXPECT_FALSE(ok(store().write_memory(later, dedup)).duplicate_of.has_value()) << "a window later";

  EXPECT_THAT(server_keys(*server_, full_key(kDefaultNamespace, "dd:*")), IsEmpty());
  const std::string before =
      full_key(kDefaultNamespace, "ddw:60000:" + std::to_string(boundary / 60'000 - 1));
  const std::string after = full_key(kDefaultNamespace, "ddw:60000:" + std::to_string(boundary / 60'000));
  EXPECT_THAT(server_keys(*server_, full_key(kDefaultNamespace, "ddw:*")), ElementsAre(before, after));
  const std::string fingerprint = dedup_fingerprint(first);
  EXPECT_EQ(server_->command({"HGET", before, fingerprint}).text, first.id);
  EXPECT_EQ(server_->command({"HGET", after, fingerprint}).text, later.id);
  for (const auto& key : {before, after}) {
    const long long ttl = server_->command({"PTTL", key}).integer;
    EXPECT_GT(ttl, 60'000) << key;
    EXPECT_LE(ttl, 120'000) << key;
  }

  // As an older build left it: a key of its own for the fingerprint.
  Memory old = add(make_memory("s1", "written by an older build", kT0 + 10));
  ASSERT_EQ(server_
                ->command({"SET", full_key(kDefaultNamespace, "dd:" + dedup_fingerprint(old)), old.id, "PX",
                           "60000"})
                .text,
            "OK");
  Memory copy = make_memory("s1", "written by an older build", kT0 + 20);
  outcome = ok(store().write_memory(copy, dedup));
  ASSERT_TRUE(outcome.duplicate_of.has_value());
  EXPECT_EQ(outcome.duplicate_of->id, old.id);
}

// In a batch, a write that allows it (WriteOptions::may_send) is sent and not waited for: the next
// command this thread sends through the store comes after it, and commit() reads what each one did.
TEST_F(RedisStoreTest, WritesSentInABatchAreSeenByTheNextCommandAndReportedAtCommit) {
  add_session("open");
  add_session("closed");
  ASSERT_TRUE(store().close_session(kDefaultNamespace, "closed", kT0));
  WriteOptions dedup;
  dedup.dedup_window_ms = 60'000;
  const Memory first = make_memory("open", "the router needs a firmware update", kT0);
  ASSERT_TRUE(store().write_memory(first, dedup));  // loads the script: only a loaded one is sent

  auto batch = store().begin_batch();
  ASSERT_NE(batch, nullptr);
  WriteOptions sending = dedup;
  sending.may_send = true;
  const Memory second = make_memory("open", "the customer prefers email", kT0 + 1);
  auto a = store().write_memory(second, sending);
  const Memory refused = make_memory("closed", "written into a closed session", kT0 + 2);
  auto b = store().write_memory(refused, sending);
  const Memory copy = make_memory("open", "the router needs a firmware update", kT0 + 3);
  auto c = store().write_memory(copy, sending);
  for (const auto* sent : {&a, &b, &c}) {
    ASSERT_TRUE(*sent) << sent->error().message;
    ASSERT_TRUE((*sent)->sent) << "not sent";
  }
  // Sent, not yet read: the query behind them on this thread finds the memory sent.
  MemoryQuery q = query();
  q.content_contains = "prefers email";
  EXPECT_THAT(recall(q), ElementsAre(second.id));

  ASSERT_TRUE(batch->commit());
  auto outcomes = batch->take_sent();
  ASSERT_EQ(outcomes.size(), 3u);
  EXPECT_EQ(outcomes[0].first, *a->sent);
  ASSERT_TRUE(outcomes[0].second) << outcomes[0].second.error().message;
  EXPECT_FALSE(outcomes[0].second->duplicate_of);
  EXPECT_EQ(outcomes[1].first, *b->sent);
  ASSERT_FALSE(outcomes[1].second);
  EXPECT_EQ(outcomes[1].second.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(outcomes[1].second.error().message, HasSubstr("closed"));
  EXPECT_EQ(outcomes[2].first, *c->sent);
  ASSERT_TRUE(outcomes[2].second) << outcomes[2].second.error().message;
  ASSERT_TRUE(outcomes[2].second->duplicate_of);
  EXPECT_EQ(outcomes[2].second->duplicate_of->id, first.id);
  EXPECT_TRUE(batch->take_sent().empty());

  // A write that does not allow it is done at once, batch or not; nothing was stored for the refused
  // one or the duplicate.
  auto plain = store().write_memory(make_memory("open", "done at once", kT0 + 4), dedup);
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_FALSE(plain->sent);
  batch.reset();
  EXPECT_EQ(recall(query()).size(), 3u);
}

// Sent writes are for one node with no replicas to wait for: WAIT needs a connection of its own.
TEST_F(RedisStoreTest, NoWriteIsSentWhenItMustWaitForReplicas) {
  auto options = parse_redis_url(server_->url());
  ASSERT_TRUE(options);
  options->min_replicas = 1;
  auto waiting = open_redis_store(*options);
  ASSERT_TRUE(waiting) << waiting.error().message;
  EXPECT_EQ((*waiting)->begin_batch(), nullptr);
  EXPECT_NE(store().begin_batch(), nullptr);
}

TEST_F(RedisStoreTest, KeepsApiKeysForTheHttpTransport) {
  ApiKey first{"key1", "team-a", std::string(64, 'a'), "ci", kT0, std::nullopt};
  ApiKey second{"key2", "team-b", std::string(64, 'b'), "", kT0 + 1, std::nullopt};
  ASSERT_TRUE(store().put_api_key(first));
  ASSERT_TRUE(store().put_api_key(second));
  ApiKey same_hash = second;
  same_hash.id = "key3";
  auto duplicate = store().put_api_key(same_hash);
  ASSERT_FALSE(duplicate);
  EXPECT_EQ(duplicate.error().code, ErrorCode::kConflict);

  auto found = store().find_api_key_by_hash(std::string(64, 'a'));
  ASSERT_TRUE(found && found->has_value());
  EXPECT_EQ((*found)->id, "key1");
  EXPECT_EQ((*found)->ns, "team-a");
  EXPECT_EQ((*found)->label, "ci");
  EXPECT_EQ((*found)->created_at, kT0);
  EXPECT_FALSE((*found)->revoked_at.has_value());
  auto missing = store().find_api_key_by_hash(std::string(64, 'c'));
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->has_value());

  auto all = store().list_api_keys(std::nullopt);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, "key1");  // oldest first
  auto team_b = store().list_api_keys(std::string("team-b"));
  ASSERT_TRUE(team_b);
  ASSERT_EQ(team_b->size(), 1u);
  EXPECT_EQ((*team_b)[0].id, "key2");

  EXPECT_TRUE(*store().revoke_api_key("key1", kT0 + 10));
  EXPECT_TRUE(*store().revoke_api_key("key1", kT0 + 20));
  EXPECT_FALSE(*store().revoke_api_key("nope", kT0 + 20));
  EXPECT_EQ((*store().find_api_key_by_hash(std::string(64, 'a')))->revoked_at, kT0 + 10);
  // They live outside every namespace's slot.
  EXPECT_EQ(server_keys(*server_, "mt:v1:apikeys:*").size(), 5u);
}

class RedisWindowTest : public RedisStoreTest {
 protected:
  void tweak(RedisOptions& options) override { options.max_memories_per_session = 3; }
};

TEST_F(RedisWindowTest, EvictedMemoriesLeaveNoKeysBehind) {
  add_session("s1");
  std::vector<std::string> with_expiry;
  for (int i = 0; i < 5; ++i) {
    Memory memory = make_memory("s1", "entry " + std::to_string(i), kT0 + i);
    if (i % 2 == 1) memory.expires_at = kNow + 3'600'000;  // only these have an unindex record
    add(memory);
    if (memory.expires_at) with_expiry.push_back(full_key(kDefaultNamespace, "mx:" + memory.id));
  }
  EXPECT_EQ(server_keys(*server_, full_key(kDefaultNamespace, "m:*")).size(), 3u);
  EXPECT_THAT(server_keys(*server_, full_key(kDefaultNamespace, "mx:*")), ElementsAre(with_expiry[1]))
      << "the oldest two were evicted, one of them with an expiry";
}

}  // namespace
}  // namespace memtrace::testing
