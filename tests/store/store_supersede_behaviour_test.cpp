// The store behaviour suite, continued: facts that supersede facts, and deduplication (Store::write_memory).
// Runs unchanged against every backend (see store_behaviour.h).
#include <atomic>
#include <set>
#include <thread>

#include <gmock/gmock.h>

#include "store/store_behaviour.h"

namespace memtrace::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr std::int64_t kDay = 86'400'000;

WriteOptions dedup_within(std::int64_t window_ms) {
  WriteOptions options;
  options.dedup_window_ms = window_ms;
  return options;
}

// ---- idempotency keys ----

WriteOptions keyed(const std::string& key) {
  WriteOptions options;
  options.idempotency_key = key;
  return options;
}

TEST_P(StoreBehaviour, AWriteRetriedWithItsIdempotencyKeyIsStoredOnce) {
  add_session("s1");
  add_session("s1", "agent-a", {}, "team-b");
  Memory first = make_memory("s1", "payment 42 received", kT0);
  EXPECT_FALSE(ok(store().write_memory(first, keyed("pay-42"))).duplicate_of.has_value());

  // The retry (another id, even other content) answers with the first memory and stores nothing.
  Memory retry = make_memory("s1", "payment 42 received, retried", kT0 + 10);
  auto again = ok(store().write_memory(retry, keyed("pay-42")));
  ASSERT_TRUE(again.duplicate_of.has_value());
  EXPECT_EQ(again.duplicate_of->id, first.id);
  EXPECT_EQ(again.duplicate_of->content, first.content);
  EXPECT_FALSE(ok(store().get_memory(kDefaultNamespace, retry.id, kNow)).has_value());

  // Another key, or the same key in another namespace, is another write.
  Memory other = make_memory("s1", "payment 43 received", kT0 + 20);
  EXPECT_FALSE(ok(store().write_memory(other, keyed("pay-43"))).duplicate_of.has_value());
  Memory foreign = make_memory("s1", "payment 42 received", kT0 + 30, "agent-a", "team-b");
  EXPECT_FALSE(ok(store().write_memory(foreign, keyed("pay-42"))).duplicate_of.has_value());
  EXPECT_TRUE(ok(store().get_memory("team-b", foreign.id, kNow)).has_value());

  // Past the window the key is free again, and then names the new memory.
  Memory late = make_memory("s1", "payment 42 received", kT0 + kIdempotencyWindowMs + 1);
  EXPECT_FALSE(ok(store().write_memory(late, keyed("pay-42"))).duplicate_of.has_value());
  Memory retry_late = make_memory("s1", "payment 42 received", kT0 + kIdempotencyWindowMs + 2);
  auto late_again = ok(store().write_memory(retry_late, keyed("pay-42")));
  ASSERT_TRUE(late_again.duplicate_of.has_value());
  EXPECT_EQ(late_again.duplicate_of->id, late.id);
}

TEST_P(StoreBehaviour, ConcurrentWritesWithOneIdempotencyKeyStoreOneMemory) {
  add_session("s1");
  constexpr int kThreads = 8;
  std::vector<std::string> answers(kThreads);
  std::vector<Memory> memories;
  for (int i = 0; i < kThreads; ++i)
    memories.push_back(make_memory("s1", "attempt " + std::to_string(i), kT0 + i));
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      auto outcome = store().write_memory(memories[i], keyed("once"));
      if (outcome) answers[i] = outcome->duplicate_of ? outcome->duplicate_of->id : memories[i].id;
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<std::string> distinct(answers.begin(), answers.end());
  ASSERT_EQ(distinct.size(), 1u) << "every writer is answered with the one memory stored";
  EXPECT_FALSE(distinct.begin()->empty());
  MemoryQuery q;
  q.ns = kDefaultNamespace;
  q.session_id = "s1";
  q.now = kNow;
  q.limit = 100;
  EXPECT_EQ(ok(store().query_memories(q)).size(), 1u);
}

// ---- supersede ----

TEST_P(StoreBehaviour, ASupersedingWriteMarksTheOlderMemoryInTheSameStep) {
  add_session("s1");
  Memory router = add(make_memory("s1", "the router is a TP-Link", kT0));
  Memory newer = make_memory("s1", "the router is a Netgear", kT0 + 5000);
  auto outcome = ok(store().write_memory(newer, superseding({router.id})), "write_memory");
  EXPECT_FALSE(outcome.duplicate_of.has_value());

  auto old = ok(store().get_memory(kDefaultNamespace, router.id, kNow));
  ASSERT_TRUE(old.has_value());
  EXPECT_EQ(old->superseded_by, newer.id);
  EXPECT_EQ(old->valid_until, newer.created_at);
  auto current = ok(store().get_memory(kDefaultNamespace, newer.id, kNow));
  ASSERT_TRUE(current.has_value());
  EXPECT_FALSE(current->superseded_by.has_value());
  EXPECT_FALSE(current->valid_until.has_value());

  // Left out of reads that exclude superseded memories, whatever index the read walks.
  auto q = query();
  q.exclude_superseded = true;
  EXPECT_THAT(recall(q), ElementsAre(newer.id));
  q.session_id = "s1";
  EXPECT_THAT(recall(q), ElementsAre(newer.id));
  q.session_id.reset();
  q.content_contains = "router is";
  EXPECT_THAT(recall(q), ElementsAre(newer.id));
  q.content_contains.reset();
  q.agent_id = "agent-a";
  EXPECT_THAT(recall(q), ElementsAre(newer.id));
  // Kept, with its markers, for reads that ask for everything.
  auto all = ok(store().query_memories(query()));
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].id, router.id);
  EXPECT_EQ(all[1].superseded_by, newer.id);
  EXPECT_EQ(all[1].valid_until, newer.created_at);
}

TEST_P(StoreBehaviour, ATaggedSupersededMemoryIsLeftOutOfTagReads) {
  add_session("s1");
  Memory old = make_memory("s1", "plan A", kT0);
  old.tags = {"plan"};
  add(old);
  Memory newer = make_memory("s1", "plan B", kT0 + 1);
  newer.tags = {"plan"};
  ok(store().write_memory(newer, superseding({old.id})));
  auto q = query();
  q.tags = {"plan"};
  q.exclude_superseded = true;
  EXPECT_THAT(recall(q), ElementsAre(newer.id));
  q.exclude_superseded = false;
  EXPECT_THAT(recall(q), ElementsAre(newer.id, old.id));
}

TEST_P(StoreBehaviour, OneWriteCanSupersedeSeveralMemoriesOfOtherSessions) {
  add_session("s1");
  add_session("s2");
  Memory a = add(make_memory("s1", "office opens at 8", kT0));
  Memory b = add(make_memory("s2", "office opens at 8:30", kT0 + 1));
  Memory c = make_memory("s2", "office opens at 9", kT0 + 2);
  ok(store().write_memory(c, superseding({a.id, b.id})));
  for (const auto& id : {a.id, b.id}) {
    auto old = ok(store().get_memory(kDefaultNamespace, id, kNow));
    ASSERT_TRUE(old.has_value());
    EXPECT_EQ(old->superseded_by, c.id);
  }
}

TEST_P(StoreBehaviour, ASupersedeIsInTheChangeFeedWithTheWriteThatMadeIt) {
  add_session("s1");
  add_session("s2", "agent-b");
  Memory router = add(make_memory("s1", "the router is a TP-Link", kT0));
  Memory refused = make_memory("s2", "supersedes something unknown", kT0 + 1);
  ASSERT_FALSE(store().write_memory(refused, superseding({"01ZZZZZZZZZZZZZZZZZZZZZZZZ"})));
  Memory newer = make_memory("s2", "the router is a Fritz!Box", kT0 + 2);
  newer.agent_id = "agent-b";
  ok(store().write_memory(newer, superseding({router.id})));

  ChangeQuery q;
  q.now = kNow;
  q.limit = 100;
  q.kinds = {change_kind::kMemoryWritten, change_kind::kMemorySuperseded};
  auto page = ok(store().read_changes(q));
  // The refused write left nothing in the feed; the superseding write is there, then the supersede.
  ASSERT_EQ(page.changes.size(), 3u);
  EXPECT_EQ(page.changes[0].subject, router.id);
  EXPECT_EQ(page.changes[1].kind, change_kind::kMemoryWritten);
  EXPECT_EQ(page.changes[1].subject, newer.id);
  EXPECT_EQ(page.changes[2].kind, change_kind::kMemorySuperseded);
  EXPECT_EQ(page.changes[2].subject, router.id);
  EXPECT_EQ(page.changes[2].session_id, "s1");  // the superseded memory's session
  EXPECT_EQ(page.changes[2].agent, "agent-b");  // who superseded it
  EXPECT_EQ(page.changes[2].at, kT0 + 2);
}

TEST_P(StoreBehaviour, SupersedingAnUnknownOrForeignMemoryIsRefusedAndNothingIsWritten) {
  add_session("s1");
  add_session("s1", "agent-a", {}, "tenant-b");
  Memory foreign = add(make_memory("s1", "tenant b's fact", kT0, "agent-a", "tenant-b"));
  Memory mine = add(make_memory("s1", "my fact", kT0 + 1));

  // Another namespace's memory: refused in the same words as an unknown one (nothing leaks).
  Memory newer = make_memory("s1", "newer fact", kT0 + 2);
  auto refused = store().write_memory(newer, superseding({mine.id, foreign.id}));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kNotFound);
  EXPECT_THAT(refused.error().message, HasSubstr(foreign.id));
  EXPECT_FALSE(ok(store().get_memory(kDefaultNamespace, newer.id, kNow)).has_value());
  EXPECT_FALSE(ok(store().get_memory(kDefaultNamespace, mine.id, kNow))->superseded_by.has_value());
  EXPECT_FALSE(ok(store().get_memory("tenant-b", foreign.id, kNow))->superseded_by.has_value());

  Memory other = make_memory("s1", "another fact", kT0 + 3);
  auto unknown = store().write_memory(other, superseding({new_id(kT0)}));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(ok(store().get_memory(kDefaultNamespace, other.id, kNow)).has_value());
  EXPECT_THAT(recall(query()), ElementsAre(mine.id));
}

TEST_P(StoreBehaviour, AnExpiredMemoryCannotBeSuperseded) {
  add_session("s1");
  Memory old = make_memory("s1", "short-lived", kT0);
  old.expires_at = kT0 + 1000;
  add(old);
  Memory newer = make_memory("s1", "later", kT0 + 2000);
  auto refused = store().write_memory(newer, superseding({old.id}));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(ok(store().get_memory(kDefaultNamespace, newer.id, kNow)).has_value());
}

TEST_P(StoreBehaviour, SupersedingASupersededMemoryIsRefusedWithItsSuccessor) {
  add_session("s1");
  Memory a = add(make_memory("s1", "v1", kT0));
  Memory b = make_memory("s1", "v2", kT0 + 1);
  ok(store().write_memory(b, superseding({a.id})));
  Memory c = make_memory("s1", "v3", kT0 + 2);
  auto refused = store().write_memory(c, superseding({a.id}));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kConflict);
  EXPECT_THAT(refused.error().message, HasSubstr(b.id));  // names the memory to supersede instead
  EXPECT_FALSE(ok(store().get_memory(kDefaultNamespace, c.id, kNow)).has_value());
  EXPECT_EQ(ok(store().get_memory(kDefaultNamespace, a.id, kNow))->superseded_by, b.id);
  // Superseding the successor is the way to go on.
  ok(store().write_memory(c, superseding({b.id})));
  EXPECT_EQ(ok(store().get_memory(kDefaultNamespace, b.id, kNow))->superseded_by, c.id);
  auto q = query();
  q.exclude_superseded = true;
  EXPECT_THAT(recall(q), ElementsAre(c.id));
}

TEST_P(StoreBehaviour, ASupersedingWriteIntoAMissingSessionIsNotFoundAndMarksNothing) {
  add_session("s1");
  Memory a = add(make_memory("s1", "v1", kT0));
  Memory b = make_memory("nowhere", "v2", kT0 + 1);
  auto refused = store().write_memory(b, superseding({a.id}));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(ok(store().get_memory(kDefaultNamespace, a.id, kNow))->superseded_by.has_value());
}

TEST_P(StoreBehaviour, ASupersededMemoryInsertedAsSuchKeepsItsMarkers) {
  // What import does with an exported superseded memory.
  add_session("s1");
  Memory later = add(make_memory("s1", "v2", kT0 + 10));
  Memory old = make_memory("s1", "v1", kT0);
  old.superseded_by = later.id;
  old.valid_until = later.created_at;
  add(old);
  auto read = ok(store().get_memory(kDefaultNamespace, old.id, kNow));
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->superseded_by, later.id);
  EXPECT_EQ(read->valid_until, later.created_at);
  auto q = query();
  q.exclude_superseded = true;
  EXPECT_THAT(recall(q), ElementsAre(later.id));
}

// ---- deduplication ----

TEST_P(StoreBehaviour, AnEqualMemoryWithinTheWindowIsReturnedInsteadOfACopy) {
  add_session("s1");
  Memory first = make_memory("s1", "user prefers dark mode", kT0);
  first.type = "fact";
  first.tags = {"ui", "preference"};
  ASSERT_FALSE(ok(store().write_memory(first, dedup_within(kDay))).duplicate_of.has_value());

  Memory again = make_memory("s1", "user prefers dark mode", kT0 + kDay - 1);
  again.type = "fact";
  again.tags = {"preference", "ui"};  // the same tags in another order
  auto outcome = ok(store().write_memory(again, dedup_within(kDay)));
  ASSERT_TRUE(outcome.duplicate_of.has_value());
  EXPECT_EQ(outcome.duplicate_of->id, first.id);
  EXPECT_EQ(outcome.duplicate_of->created_at, first.created_at);
  EXPECT_FALSE(ok(store().get_memory(kDefaultNamespace, again.id, kNow)).has_value());
  EXPECT_THAT(recall(query()), ElementsAre(first.id));
}

TEST_P(StoreBehaviour, WithoutAWindowEqualMemoriesAreStoredAsCopies) {
  add_session("s1");
  Memory first = add(make_memory("s1", "ping", kT0));
  Memory second = make_memory("s1", "ping", kT0 + 1);
  EXPECT_FALSE(ok(store().write_memory(second, dedup_within(0))).duplicate_of.has_value());
  Memory third = make_memory("s1", "ping", kT0 + 2);
  EXPECT_FALSE(ok(store().write_memory(third, WriteOptions{})).duplicate_of.has_value());
  EXPECT_THAT(recall(query()), ElementsAre(third.id, second.id, first.id));
}

TEST_P(StoreBehaviour, OnlyAMemoryEqualInEveryFieldIsADuplicate) {
  add_session("s1");
  add_session("s2");
  Memory base = make_memory("s1", "deploy finished", kT0);
  base.type = "event";
  base.tags = {"deploy"};
  ASSERT_FALSE(ok(store().write_memory(base, dedup_within(kDay))).duplicate_of.has_value());

  std::vector<Memory> variants;
  auto variant = [&](auto change) {
    Memory m = make_memory("s1", "deploy finished", kT0 + 1 + static_cast<UnixMillis>(variants.size()));
    m.type = "event";
    m.tags = {"deploy"};
    change(m);
    variants.push_back(m);
    return m;
  };
  for (const Memory& m :
       {variant([](Memory& m) { m.session_id = "s2"; }), variant([](Memory& m) { m.agent_id = "agent-b"; }),
        variant([](Memory& m) {
          m.tags = {"deploy", "prod"};
        }),
        variant([](Memory& m) { m.tags = {}; }), variant([](Memory& m) { m.type = "observation"; }),
        variant([](Memory& m) { m.content = "Deploy finished"; })}) {
    auto outcome = ok(store().write_memory(m, dedup_within(kDay)));
    EXPECT_FALSE(outcome.duplicate_of.has_value()) << m.agent_id << " " << m.session_id << " " << m.content;
  }
  EXPECT_EQ(recall(query()).size(), variants.size() + 1);
}

TEST_P(StoreBehaviour, AMemoryOlderThanTheWindowIsNoDuplicate) {
  add_session("s1");
  Memory first = make_memory("s1", "daily check done", kT0);
  ok(store().write_memory(first, dedup_within(kDay)));
  Memory next_day = make_memory("s1", "daily check done", kT0 + kDay);
  EXPECT_FALSE(ok(store().write_memory(next_day, dedup_within(kDay))).duplicate_of.has_value());
  EXPECT_EQ(recall(query()).size(), 2u);
}

TEST_P(StoreBehaviour, DeduplicationNeverCrossesNamespaces) {
  add_session("s1");
  add_session("s1", "agent-a", {}, "tenant-b");
  Memory mine = make_memory("s1", "same words", kT0);
  ok(store().write_memory(mine, dedup_within(kDay)));
  Memory theirs = make_memory("s1", "same words", kT0 + 1, "agent-a", "tenant-b");
  EXPECT_FALSE(ok(store().write_memory(theirs, dedup_within(kDay))).duplicate_of.has_value());
  EXPECT_THAT(recall(query("tenant-b")), ElementsAre(theirs.id));
  EXPECT_THAT(recall(query()), ElementsAre(mine.id));
}

TEST_P(StoreBehaviour, ExpiredAndSupersededMemoriesAreNoDuplicates) {
  add_session("s1");
  Memory short_lived = make_memory("s1", "door is open", kT0);
  short_lived.expires_at = kT0 + 1000;
  ok(store().write_memory(short_lived, dedup_within(kDay)));
  Memory after_expiry = make_memory("s1", "door is open", kT0 + 2000);
  EXPECT_FALSE(ok(store().write_memory(after_expiry, dedup_within(kDay))).duplicate_of.has_value());

  // "door is open" was superseded; saying it again makes it current again, as a new memory.
  Memory closed = make_memory("s1", "door is closed", kT0 + 3000);
  ok(store().write_memory(closed, superseding({after_expiry.id})));
  Memory reopened = make_memory("s1", "door is open", kT0 + 4000);
  EXPECT_FALSE(ok(store().write_memory(reopened, dedup_within(kDay))).duplicate_of.has_value());
  auto q = query();
  q.exclude_superseded = true;
  EXPECT_THAT(recall(q), ElementsAre(reopened.id, closed.id));
}

TEST_P(StoreBehaviour, ARepeatedSupersedingWriteIsADuplicateButANewSupersedeIsNot) {
  add_session("s1");
  Memory a = add(make_memory("s1", "router: TP-Link", kT0));
  Memory b = make_memory("s1", "router: Netgear", kT0 + 1);
  WriteOptions options = superseding({a.id});
  options.dedup_window_ms = kDay;
  ASSERT_FALSE(ok(store().write_memory(b, options)).duplicate_of.has_value());

  // The same call again (a retry): the supersede already holds, so the earlier memory is the answer.
  Memory retry = make_memory("s1", "router: Netgear", kT0 + 2);
  auto outcome = ok(store().write_memory(retry, options));
  ASSERT_TRUE(outcome.duplicate_of.has_value());
  EXPECT_EQ(outcome.duplicate_of->id, b.id);

  // Equal content, but superseding a memory b does not supersede: deduplicating would drop that
  // supersede, so the memory is stored and the supersede done.
  Memory c = add(make_memory("s1", "router: Asus", kT0 + 3));
  Memory d = make_memory("s1", "router: Netgear", kT0 + 4);
  WriteOptions more = superseding({c.id});
  more.dedup_window_ms = kDay;
  EXPECT_FALSE(ok(store().write_memory(d, more)).duplicate_of.has_value());
  EXPECT_EQ(ok(store().get_memory(kDefaultNamespace, c.id, kNow))->superseded_by, d.id);
}

TEST_P(StoreBehaviour, ConcurrentEqualWritesStoreOneMemory) {
  add_session("s1");
  constexpr int kWriters = 8;
  constexpr int kRounds = 10;
  std::atomic<int> failures{0};
  for (int round = 0; round < kRounds; ++round) {
    const std::string content = "the same thing, round " + std::to_string(round);
    std::vector<Memory> attempts;
    for (int w = 0; w < kWriters; ++w) attempts.push_back(make_memory("s1", content, kT0 + round));
    std::vector<std::string> answered(kWriters);
    std::vector<std::thread> threads;
    for (int w = 0; w < kWriters; ++w) {
      threads.emplace_back([&, w] {
        auto outcome = store().write_memory(attempts[w], dedup_within(kDay));
        if (!outcome) {
          ++failures;
          return;
        }
        answered[w] = outcome->duplicate_of ? outcome->duplicate_of->id : attempts[w].id;
      });
    }
    for (auto& t : threads) t.join();
    // Every writer got the one memory that was stored.
    EXPECT_EQ(std::set<std::string>(answered.begin(), answered.end()).size(), 1u) << "round " << round;
    auto q = query();
    q.content_contains = content;
    EXPECT_THAT(recall(q), ElementsAre(answered[0])) << "round " << round;
  }
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace memtrace::testing
