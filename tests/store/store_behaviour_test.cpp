// The store behaviour suite's tests: run unchanged against every backend (see store_behaviour.h).
#include "store/store_behaviour.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <optional>
#include <set>
#include <string_view>
#include <thread>

#include <gmock/gmock.h>

namespace memtrace::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;

std::vector<std::string> reversed(std::vector<std::string> ids) {
  std::reverse(ids.begin(), ids.end());
  return ids;
}

// The ids in the order a store answers: largest (newest) first.
std::vector<std::string> newest_first(std::vector<std::string> ids) {
  std::sort(ids.begin(), ids.end(), std::greater<>());
  return ids;
}

// ---- basics ----

TEST_P(StoreBehaviour, DescribesItselfAndAnswersPing) {
  EXPECT_FALSE(store().describe().empty());
  ok(store().ping(), "ping");
}

TEST_P(StoreBehaviour, InsertedMemoryRoundTripsEveryField) {
  add_session("s1");
  Memory memory = make_memory("s1", "Chose SQLite\nbecause \"it's embedded\" — ünïcödé ✓", kT0 + 5);
  memory.type = "decision";
  memory.tags = {"zeta", "alpha", "Mid Tag", "ünï"};  // not sorted: order must survive
  memory.importance = 0.25;
  memory.expires_at = kNow + 1000;
  memory.metadata_json = R"({"b": 1,  "a": [1, 2], "s": "x\"y"})";  // spacing and key order kept verbatim
  memory.reasoning = "fewer moving parts;\nno server to run";
  add(memory);

  auto got = ok(store().get_memory(kDefaultNamespace, memory.id, kNow));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->ns, memory.ns);
  EXPECT_EQ(got->id, memory.id);
  EXPECT_EQ(got->session_id, "s1");
  EXPECT_EQ(got->agent_id, "agent-a");
  EXPECT_EQ(got->type, "decision");
  EXPECT_EQ(got->content, memory.content);
  EXPECT_THAT(got->tags, ElementsAre("zeta", "alpha", "Mid Tag", "ünï"));
  EXPECT_DOUBLE_EQ(got->importance, 0.25);
  EXPECT_EQ(got->created_at, kT0 + 5);
  EXPECT_EQ(got->expires_at, kNow + 1000);
  EXPECT_EQ(got->metadata_json, memory.metadata_json);
  EXPECT_EQ(got->reasoning, memory.reasoning);

  // query_memories returns the same record.
  auto rows = ok(store().query_memories(query()));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].content, memory.content);
  EXPECT_THAT(rows[0].tags, ElementsAre("zeta", "alpha", "Mid Tag", "ünï"));
  EXPECT_EQ(rows[0].metadata_json, memory.metadata_json);
  EXPECT_EQ(rows[0].reasoning, memory.reasoning);
  EXPECT_EQ(rows[0].expires_at, kNow + 1000);
}

TEST_P(StoreBehaviour, OptionalFieldsStayAbsent) {
  add_session("s1");
  Memory memory = add(make_memory("s1", "plain", kT0));
  auto got = ok(store().get_memory(kDefaultNamespace, memory.id, kNow));
  ASSERT_TRUE(got.has_value());
  EXPECT_THAT(got->tags, IsEmpty());
  EXPECT_FALSE(got->expires_at.has_value());
  EXPECT_FALSE(got->reasoning.has_value());
  EXPECT_EQ(got->metadata_json, "{}");
  EXPECT_EQ(got->type, "observation");
  EXPECT_DOUBLE_EQ(got->importance, 0.5);
}

TEST_P(StoreBehaviour, UnknownMemoryIsAbsent) {
  add_session("s1");
  Memory memory = add(make_memory("s1", "here", kT0));
  EXPECT_FALSE(ok(store().get_memory(kDefaultNamespace, new_id(kT0 + 1), kNow)).has_value());
  EXPECT_FALSE(ok(store().get_memory("elsewhere", memory.id, kNow)).has_value());
}

// ---- recall order and filters ----

TEST_P(StoreBehaviour, RecallReturnsNewestFirst) {
  add_session("s1");
  std::vector<Memory> memories;
  for (int i = 0; i < 6; ++i)
    memories.push_back(make_memory("s1", "m" + std::to_string(i), kT0 + i * UnixMillis{1000}));
  // Insert out of order: the order of the answer comes from the ids, not from insertion.
  for (int i : {3, 0, 5, 1, 4, 2}) add(memories[static_cast<std::size_t>(i)]);
  std::vector<std::string> expected;
  for (int i = 5; i >= 0; --i) expected.push_back(memories[static_cast<std::size_t>(i)].id);
  EXPECT_THAT(recall(query()), ElementsAreArray(expected));
}

TEST_P(StoreBehaviour, RecallFiltersBySession) {
  add_session("s1");
  add_session("s2");
  Memory a = add(make_memory("s1", "one", kT0 + 1));
  add(make_memory("s2", "two", kT0 + 2));
  Memory c = add(make_memory("s1", "three", kT0 + 3));
  auto q = query();
  q.session_id = "s1";
  EXPECT_THAT(recall(q), ElementsAre(c.id, a.id));
  q.session_id = "nope";
  EXPECT_THAT(recall(q), IsEmpty());
}

TEST_P(StoreBehaviour, RecallFiltersByAgent) {
  add_session("s1");
  Memory a = add(make_memory("s1", "one", kT0 + 1, "researcher"));
  add(make_memory("s1", "two", kT0 + 2, "writer"));
  Memory c = add(make_memory("s1", "three", kT0 + 3, "researcher"));
  auto q = query();
  q.agent_id = "researcher";
  EXPECT_THAT(recall(q), ElementsAre(c.id, a.id));
  q.agent_id = "research";  // exact, not a prefix
  EXPECT_THAT(recall(q), IsEmpty());
}

TEST_P(StoreBehaviour, RecallFiltersByAnyOfTypes) {
  add_session("s1");
  Memory m1 = make_memory("s1", "saw it", kT0 + 1);
  m1.type = "observation";
  Memory m2 = make_memory("s1", "did it", kT0 + 2);
  m2.type = "action";
  Memory m3 = make_memory("s1", "chose it", kT0 + 3);
  m3.type = "decision";
  m3.reasoning = "why not";
  add(m1);
  add(m2);
  add(m3);
  auto q = query();
  q.types = {"decision"};
  EXPECT_THAT(recall(q), ElementsAre(m3.id));
  q.types = {"observation", "decision"};
  EXPECT_THAT(recall(q), ElementsAre(m3.id, m1.id));
  q.types = {"fact"};
  EXPECT_THAT(recall(q), IsEmpty());
}

TEST_P(StoreBehaviour, RecallMatchesAllTagsExactly) {
  add_session("s1");
  Memory bug = make_memory("s1", "a", kT0 + 1);
  bug.tags = {"bug", "parser"};
  Memory bugfix = make_memory("s1", "b", kT0 + 2);
  bugfix.tags = {"bugfix", "parser"};
  Memory upper = make_memory("s1", "c", kT0 + 3);
  upper.tags = {"Bug"};
  Memory both = make_memory("s1", "d", kT0 + 4);
  both.tags = {"parser", "urgent", "bug"};
  add(bug);
  add(bugfix);
  add(upper);
  add(both);
  auto q = query();
  q.tags = {"bug"};
  EXPECT_THAT(recall(q), ElementsAre(both.id, bug.id)) << "\"bug\" must not match \"bugfix\" or \"Bug\"";
  q.tags = {"bug", "urgent"};
  EXPECT_THAT(recall(q), ElementsAre(both.id));
  q.tags = {"parser"};
  EXPECT_THAT(recall(q), ElementsAre(both.id, bugfix.id, bug.id));
  q.tags = {"bu"};
  EXPECT_THAT(recall(q), IsEmpty());
  q.tags = {"bug", "missing"};
  EXPECT_THAT(recall(q), IsEmpty());
}

TEST_P(StoreBehaviour, ContentSearchIsCaseInsensitiveSubstring) {
  add_session("s1");
  Memory a = add(make_memory("s1", "The Parser crashed on empty input", kT0 + 1));
  Memory b = add(make_memory("s1", "reparsers are fast", kT0 + 2));
  add(make_memory("s1", "nothing to see", kT0 + 3));
  Memory d = add(make_memory("s1", "PARSER rewrite done", kT0 + 4));
  auto q = query();
  for (const char* needle : {"parser", "PARSER", "pArSeR"}) {
    q.content_contains = needle;
    EXPECT_THAT(recall(q), ElementsAre(d.id, b.id, a.id)) << needle;
  }
  q.content_contains = "crashed on empty";
  EXPECT_THAT(recall(q), ElementsAre(a.id));
  q.content_contains = "parser crashed";  // words in this order only
  EXPECT_THAT(recall(q), ElementsAre(a.id));
  q.content_contains = "crashed parser";
  EXPECT_THAT(recall(q), IsEmpty());
  q.content_contains = "parsnip";
  EXPECT_THAT(recall(q), IsEmpty());
}

// Ids grow with time, but a store may receive them in another order: an import of older memories,
// another process whose clock is behind. A search still answers the largest ids first, page by page.
TEST_P(StoreBehaviour, ContentSearchAnswersTheLargestIdsWhateverOrderTheyWereWrittenIn) {
  add_session("s1");
  std::vector<Memory> made;
  for (int i = 0; i < 40; ++i) {
    Memory m = make_memory("s1", "kiwi note " + std::to_string(i), kT0 + 10 * i);
    if (i % 2 == 0) m.tags = {"even"};
    made.push_back(std::move(m));
  }
  // Newest first, then a fixed shuffle of the rest, with other memories in between.
  std::vector<std::size_t> order(made.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = (i * 17 + 39) % made.size();
  std::vector<std::string> all;
  std::vector<std::string> even;
  for (std::size_t i : order) {
    add(made[i]);
    add(make_memory("s1", "plum note " + std::to_string(i), kT0 + 5 + 10 * static_cast<UnixMillis>(i)));
    all.push_back(made[i].id);
    if (i % 2 == 0) even.push_back(made[i].id);
  }
  all = newest_first(all);
  even = newest_first(even);
  ASSERT_EQ(made[order.front()].id, all.front()) << "the newest is written first";

  auto q = query();
  q.content_contains = "kiwi";
  for (std::size_t limit : {1u, 3u, 7u}) {
    q.limit = limit;
    EXPECT_EQ(ids_page_by_page(store(), q), all) << "pages of " << limit;
  }
  q.limit = 4;
  q.tags = {"even"};
  EXPECT_THAT(recall(q), ElementsAreArray(std::vector<std::string>(even.begin(), even.begin() + 4)));
}

// What a session digest keeps first (rank_memories): the most important, at equal importance the newest
// by id (whatever the times say), never a superseded or expired memory, nothing of another session or
// namespace; and how many there are, whatever the limit, up to the count limit.
TEST_P(StoreBehaviour, RankedMemoriesComeMostImportantThenNewestWithTheirCount) {
  add_session("s1");
  add_session("s2");
  add_session("s1", "agent-a", {}, "other-ns");
  std::vector<Memory> live;
  auto keep = [&](Memory m, double importance) {
    m.importance = importance;
    live.push_back(add(std::move(m)));
  };
  keep(make_memory("s1", "high, older", kT0 + 10), 0.9);
  keep(make_memory("s1", "high, newer", kT0 + 20), 0.9);
  // Equal importance, written (so given ids) in an order unlike their times.
  for (UnixMillis at : {70, 30, 90, 10, 50, 60, 20}) {
    keep(make_memory("s1", "middle at " + std::to_string(at), kT0 + 100 + at), 0.5);
  }
  keep(make_memory("s1", "low", kT0 + 300), 0.25);
  keep(make_memory("s1", "lowest", kT0 + 400), 0.0);
  Memory expired = make_memory("s1", "expired", kT0 + 500);
  expired.importance = 1.0;
  expired.expires_at = kNow - 1;
  add(expired);
  Memory replaced = make_memory("s1", "replaced", kT0 + 600);
  replaced.importance = 1.0;
  add(replaced);
  Memory replacement = make_memory("s1", "replacement", kT0 + 700);
  replacement.importance = 0.7;
  ok(store().write_memory(replacement, superseding({replaced.id})), "write_memory");
  live.push_back(replacement);
  // Superseded and expiring later, and superseded and expired since: neither is live and unsuperseded,
  // and neither is counted twice.
  for (UnixMillis expiry : {kNow + 60'000, kNow - 5}) {
    Memory fading = make_memory("s1", "replaced, expiring", kT0 + 610);
    fading.importance = 0.95;
    fading.expires_at = expiry;
    add(fading);
    Memory newer = make_memory("s1", "replaces one that expires", kT0 + 620);
    newer.importance = 0.1;
    ok(store().write_memory(newer, superseding({fading.id})), "write_memory");
    live.push_back(newer);
  }
  // Superseded, then forgotten.
  Memory dropped = make_memory("s1", "replaced, then forgotten", kT0 + 630);
  add(dropped);
  Memory dropper = make_memory("s1", "replaces a forgotten one", kT0 + 640);
  dropper.importance = 0.3;
  ok(store().write_memory(dropper, superseding({dropped.id})), "write_memory");
  live.push_back(dropper);
  ASSERT_TRUE(ok(store().delete_memory(kDefaultNamespace, dropped.id), "delete_memory"));
  Memory elsewhere = make_memory("s2", "other session", kT0 + 800);
  elsewhere.importance = 1.0;
  add(elsewhere);
  Memory foreign = make_memory("s1", "other namespace", kT0 + 900, "agent-a", "other-ns");
  foreign.importance = 1.0;
  add(foreign);

  std::sort(live.begin(), live.end(), [](const Memory& a, const Memory& b) {
    if (a.importance != b.importance) return a.importance > b.importance;
    return a.id > b.id;
  });
  std::vector<std::string> expected;
  for (const auto& m : live) expected.push_back(m.id);
  for (std::size_t limit = 0; limit <= live.size() + 1; ++limit) {
    RankQuery q;
    q.session_id = "s1";
    q.now = kNow;
    q.limit = limit;
    auto ranked = ok(store().rank_memories(q), "rank_memories");
    std::vector<std::string> ids;
    for (const auto& m : ranked.memories) ids.push_back(m.id);
    const std::size_t shown = std::min(limit, expected.size());
    EXPECT_THAT(ids,
                ElementsAreArray(expected.begin(), expected.begin() + static_cast<std::ptrdiff_t>(shown)))
        << "limit " << limit;
    EXPECT_EQ(ranked.total, live.size()) << "limit " << limit;
    EXPECT_FALSE(ranked.total_is_lower_bound) << "limit " << limit;
  }
  // Counting stops one past max(limit, count_limit): the total is then a lower bound.
  for (std::size_t count_limit = 0; count_limit < live.size(); ++count_limit) {
    RankQuery q = rank_query("s1", 2, count_limit);
    auto ranked = ok(store().rank_memories(q), "rank_memories");
    ASSERT_EQ(ranked.memories.size(), 2u);
    EXPECT_EQ(ranked.memories[1].id, expected[1]);
    const std::size_t bound = std::max<std::size_t>(2, count_limit) + 1;
    EXPECT_EQ(ranked.total, std::min(bound, live.size())) << "count limit " << count_limit;
    EXPECT_EQ(ranked.total_is_lower_bound, bound <= live.size()) << "count limit " << count_limit;
  }
  // A store may stop once what it read outweighs max_weight: it returns the ranking's first memories,
  // at least until they outweigh it, and the same count.
  for (std::size_t max_weight : {1, 5, 20, 60, 100000}) {
    RankQuery q = rank_query("s1", live.size() + 1, 1000);
    q.weight.content_cap = 1000;
    q.max_weight = max_weight;
    auto ranked = ok(store().rank_memories(q), "rank_memories by weight");
    std::vector<std::string> ids;
    std::size_t weighed = 0;
    for (const auto& m : ranked.memories) {
      ids.push_back(m.id);
      weighed += m.content.size();
    }
    ASSERT_LE(ids.size(), expected.size());
    EXPECT_THAT(
        ids, ElementsAreArray(expected.begin(), expected.begin() + static_cast<std::ptrdiff_t>(ids.size())))
        << "max weight " << max_weight;
    EXPECT_TRUE(ids.size() == expected.size() || weighed > max_weight) << "max weight " << max_weight;
    EXPECT_EQ(ranked.total, live.size()) << "max weight " << max_weight;
    EXPECT_FALSE(ranked.total_is_lower_bound) << "max weight " << max_weight;
  }
  ASSERT_FALSE(ok(store().rank_memories(rank_query("s1", 3, 1000)), "rank_memories").memories.empty());
  EXPECT_EQ(ok(store().rank_memories(rank_query("s1", 3, 1000)), "rank_memories").memories[0].content,
            "high, newer")
      << "whole records";
  EXPECT_EQ(ok(store().rank_memories(rank_query("none", 3, 1000)), "rank_memories").total, 0u);
}

TEST_P(StoreBehaviour, RankedMemoriesCanComeWithTheirSessionInOneRead) {
  add_session("s1", "agent-a", {{"repo", "\"memtrace\""}});
  add_session("s2", "agent-b", {}, "other-ns");
  Memory first = make_memory("s1", "first", kT0 + 10);
  first.importance = 0.2;
  add(first);
  Memory second = make_memory("s1", "second", kT0 + 20, "agent-c");
  second.importance = 0.8;
  add(second);
  Memory replaced = make_memory("s1", "replaced", kT0 + 30);
  add(replaced);
  Memory replacement = make_memory("s1", "replacement", kT0 + 40);
  replacement.importance = 0.5;
  ok(store().write_memory(replacement, superseding({replaced.id})), "write_memory");

  RankQuery q;
  q.session_id = "s1";
  q.now = kNow;
  q.limit = 2;
  const auto plain = ok(store().rank_memories(q), "rank_memories");
  EXPECT_FALSE(plain.session.has_value()) << "described only when asked";
  q.with_session = true;
  const auto ranked = ok(store().rank_memories(q), "rank_memories with its session");
  ASSERT_TRUE(ranked.session.has_value());
  SessionQuery sq;
  sq.id = "s1";
  sq.now = kNow;
  const auto found = ok(store().find_sessions(sq), "find_sessions");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(ranked.session->session.id, "s1");
  EXPECT_EQ(ranked.session->session.metadata, found[0].session.metadata);
  EXPECT_EQ(ranked.session->agents, found[0].agents);
  EXPECT_THAT(ranked.session->agents, ElementsAre("agent-a", "agent-c"));
  EXPECT_EQ(ranked.session->memory_count, found[0].memory_count);
  EXPECT_EQ(ranked.session->last_activity, found[0].last_activity);
  std::vector<std::string> ids;
  for (const auto& m : ranked.memories) ids.push_back(m.id);
  EXPECT_THAT(ids, ElementsAre(second.id, replacement.id)) << "the same memories as without it";
  EXPECT_EQ(ranked.total, 3u);
  EXPECT_EQ(ranked.total, plain.total);

  for (const auto& [ns, session] : {std::pair<std::string, std::string>{"default", "none"},
                                    std::pair<std::string, std::string>{"default", "s2"},
                                    std::pair<std::string, std::string>{"other-ns", "s1"}}) {
    RankQuery missing;
    missing.ns = ns;
    missing.session_id = session;
    missing.now = kNow;
    missing.with_session = true;
    const auto none = ok(store().rank_memories(missing), "rank_memories of a missing session");
    EXPECT_FALSE(none.session.has_value()) << ns << "/" << session;
    EXPECT_THAT(none.memories, IsEmpty()) << ns << "/" << session;
    EXPECT_EQ(none.total, 0u) << ns << "/" << session;
  }
}

TEST_P(StoreBehaviour, ContentSearchWithOneOrTwoCharacterNeedles) {
  add_session("s1");
  Memory a = add(make_memory("s1", "use Qt here", kT0 + 1));
  Memory b = add(make_memory("s1", "x", kT0 + 2));
  Memory c = add(make_memory("s1", "quota exceeded", kT0 + 3));
  Memory d = add(make_memory("s1", "ok", kT0 + 4));
  auto q = query();
  q.content_contains = "q";
  EXPECT_THAT(recall(q), ElementsAre(c.id, a.id));
  q.content_contains = "QT";
  EXPECT_THAT(recall(q), ElementsAre(a.id));
  q.content_contains = "X";
  EXPECT_THAT(recall(q), ElementsAre(c.id, b.id));
  q.content_contains = "OK";
  EXPECT_THAT(recall(q), ElementsAre(d.id));
  q.content_contains = "zz";
  EXPECT_THAT(recall(q), IsEmpty());
}

// Whichever way a store finds its candidates (its index asked for some of the needle's trigrams only:
// SQLite the rarest two, Redis the shortest postings; or the memories not indexed yet), memories that
// hold every trigram of the needle, but not the needle, are never results, even when they are newer than
// every match and fill pages of their own. (SqliteStore.AContentSearchByItsRarestTrigramsStaysExact
// takes the index's path for certain.)
TEST_P(StoreBehaviour, ContentSearchFindsTheNeedleNotItsTrigramsApart) {
  add_session("s1");
  std::vector<std::string> matches;
  for (int i = 0; i < 3; ++i) {
    matches.push_back(add(make_memory("s1", "the Harbour master " + std::to_string(i), kT0 + i)).id);
  }
  // har, arb (harbinger), rbo, bou, our (bourbon): every trigram of "harbour", never the word.
  for (int i = 0; i < 40; ++i) {
    add(make_memory("s1", "a harbinger of bourbon " + std::to_string(i), kT0 + 100 + i));
  }
  auto q = query();
  q.content_contains = "harbour";
  EXPECT_THAT(recall(q), ElementsAre(matches[2], matches[1], matches[0]));
  q.content_contains = "HARBOUR MASTER 1";
  EXPECT_THAT(recall(q), ElementsAre(matches[1]));
  q.content_contains = "harbour";
  q.limit = 2;
  EXPECT_THAT(ids_page_by_page(store(), q), ElementsAre(matches[2], matches[1], matches[0]));
  q.content_contains = "harbinger of bourbon 7";
  EXPECT_THAT(recall(q), ::testing::SizeIs(1));
}

TEST_P(StoreBehaviour, ContentSearchTreatsSpecialCharactersLiterally) {
  add_session("s1");
  Memory quote = add(make_memory("s1", R"(say "hi" to them)", kT0 + 1));
  Memory percent = add(make_memory("s1", "100% done", kT0 + 2));
  Memory underscore = add(make_memory("s1", "rename snake_case field", kT0 + 3));
  Memory star = add(make_memory("s1", "glob a*b and x OR y (maybe) - col:val ^x", kT0 + 4));
  Memory apostrophe = add(make_memory("s1", "it's O'Brien's \\path\\", kT0 + 5));
  add(make_memory("s1", "plain text only", kT0 + 6));
  auto q = query();
  auto expect = [&](const std::string& needle, const std::vector<std::string>& ids) {
    q.content_contains = needle;
    EXPECT_THAT(recall(q), ElementsAreArray(ids)) << "needle: " << needle;
  };
  expect(R"("hi")", {quote.id});
  expect(R"(")", {quote.id});
  expect(R"(y "h)", {quote.id});
  expect("%", {percent.id});  // not a wildcard
  expect("0% d", {percent.id});
  expect("_", {underscore.id});  // not a wildcard
  expect("e_c", {underscore.id});
  expect("a*b", {star.id});
  expect("*", {star.id});
  expect("x OR y", {star.id});
  expect("OR", {star.id});
  expect("(maybe)", {star.id});
  expect("- col:val", {star.id});
  expect("^x", {star.id});
  expect("'", {apostrophe.id});
  expect("O'Brien's", {apostrophe.id});
  expect("\\path\\", {apostrophe.id});
  expect("%%", {});
  expect("__", {});
}

TEST_P(StoreBehaviour, ContentSearchHandlesUnicode) {
  add_session("s1");
  Memory japanese = add(make_memory("s1", "日本語のテキストを保存", kT0 + 1));
  Memory german = add(make_memory("s1", "Die Straße ist naß", kT0 + 2));
  Memory emoji = add(make_memory("s1", "🚀 launch at 10", kT0 + 3));
  add(make_memory("s1", "ascii only", kT0 + 4));
  auto q = query();
  auto expect = [&](const std::string& needle, const std::vector<std::string>& ids) {
    q.content_contains = needle;
    EXPECT_THAT(recall(q), ElementsAreArray(ids)) << "needle: " << needle;
  };
  expect("日本", {japanese.id});    // two characters (six bytes)
  expect("日本語", {japanese.id});  // three characters
  expect("テキスト", {japanese.id});
  expect("語", {japanese.id});
  expect("Straße", {german.id});
  expect("straße", {german.id});  // ASCII letters fold, ß stays ß
  expect("ß", {german.id});
  expect("🚀", {emoji.id});
  expect("🚀 l", {emoji.id});
  expect("🚀 LAUNCH", {emoji.id});
  expect("中文", {});
}

TEST_P(StoreBehaviour, RecallFiltersByMinImportance) {
  add_session("s1");
  Memory low = make_memory("s1", "low", kT0 + 1);
  low.importance = 0.1;
  Memory mid = make_memory("s1", "mid", kT0 + 2);
  mid.importance = 0.5;
  Memory high = make_memory("s1", "high", kT0 + 3);
  high.importance = 0.9;
  add(low);
  add(mid);
  add(high);
  auto q = query();
  q.min_importance = 0.5;  // inclusive
  EXPECT_THAT(recall(q), ElementsAre(high.id, mid.id));
  q.min_importance = 0.0;
  EXPECT_THAT(recall(q), ElementsAre(high.id, mid.id, low.id));
  q.min_importance = 0.95;
  EXPECT_THAT(recall(q), IsEmpty());
}

TEST_P(StoreBehaviour, SinceIsInclusiveAndUntilIsExclusive) {
  add_session("s1");
  Memory m1 = add(make_memory("s1", "1", kT0 + 1000));
  Memory m2 = add(make_memory("s1", "2", kT0 + 2000));
  Memory m3 = add(make_memory("s1", "3", kT0 + 3000));
  auto q = query();
  q.since = kT0 + 2000;
  EXPECT_THAT(recall(q), ElementsAre(m3.id, m2.id));
  q.since = kT0 + 2001;
  EXPECT_THAT(recall(q), ElementsAre(m3.id));
  q.since.reset();
  q.until = kT0 + 2000;
  EXPECT_THAT(recall(q), ElementsAre(m1.id));
  q.until = kT0 + 2001;
  EXPECT_THAT(recall(q), ElementsAre(m2.id, m1.id));
  q.since = kT0 + 2000;
  q.until = kT0 + 3000;
  EXPECT_THAT(recall(q), ElementsAre(m2.id));
  q.since = kT0 + 3000;
  q.until = kT0 + 3000;
  EXPECT_THAT(recall(q), IsEmpty());
}

// A window of time is judged by when a memory was made (created_at), whatever its id says: an imported
// memory, or one made while the clock was set back, has an id of another time. Paged by the cursor, small
// pages and large, a window returns each memory made in it once, newest id first, and nothing else.
TEST_P(StoreBehaviour, ATimeWindowFindsMemoriesByWhenTheyWereMadeWhateverTheirIdsSay) {
  add_session("s1");
  IdGenerator elsewhere;  // ids of other times than the memories' own
  std::vector<Memory> all;
  for (int i = 0; i < 40; ++i)
    all.push_back(add(make_memory("s1", "made on time " + std::to_string(i), kT0 + 1000 * i)));
  Memory late_id = make_memory("s1", "made early, id late", kT0 + 10'500);
  late_id.id = elsewhere.next(kT0 + 90'000);
  Memory early_id = make_memory("s1", "made late, id early", kT0 + 30'500);
  early_id.id = elsewhere.next(kT0 + 100'000);
  Memory early_id2 = early_id;
  early_id2.content = "made late, id from long before";
  early_id2.id = IdGenerator().next(kT0 - 5'000);
  for (const auto& m : {late_id, early_id, early_id2}) all.push_back(add(m));

  // Every window below, read at once and in pages of 3 (a cursor below the first page's last id).
  auto expect_window = [&](std::optional<UnixMillis> since, std::optional<UnixMillis> until) {
    std::vector<std::string> expected;
    for (const auto& m : all) {
      if ((!since || m.created_at >= *since) && (!until || m.created_at < *until)) expected.push_back(m.id);
    }
    std::sort(expected.rbegin(), expected.rend());
    auto q = query();
    q.since = since;
    q.until = until;
    EXPECT_EQ(recall(q), expected) << "since " << since.value_or(-1) << " until " << until.value_or(-1);
    std::vector<std::string> paged;
    q.limit = 3;
    for (int page = 0; page < 40; ++page) {
      const auto ids = recall(q);
      paged.insert(paged.end(), ids.begin(), ids.end());
      if (ids.size() < q.limit) break;
      q.before_id = ids.back();
    }
    EXPECT_EQ(paged, expected) << "in pages: since " << since.value_or(-1) << " until " << until.value_or(-1);
  };
  expect_window(kT0 + 10'000, kT0 + 11'000);  // late_id's id is far past the window
  expect_window(kT0 + 30'000, kT0 + 31'000);  // and early_id's and early_id2's before it
  expect_window(kT0 + 10'500, std::nullopt);
  expect_window(std::nullopt, kT0 + 10'501);
  expect_window(kT0 + 5'000, kT0 + 35'000);
  expect_window(kT0 - 10'000, kT0 + 200'000);  // everything
  expect_window(kT0 + 50'000, kT0 + 200'000);  // only ids say so: nothing was made then
  expect_window(std::nullopt, kT0);
  expect_window(0, kT0 + 1);
}

TEST_P(StoreBehaviour, FiltersCombine) {
  add_session("s1");
  add_session("s2");
  auto target = [&](UnixMillis at) {
    Memory m = make_memory("s1", "Deploy pipeline fixed", at, "ops");
    m.type = "action";
    m.tags = {"ci", "deploy"};
    m.importance = 0.8;
    return m;
  };
  Memory hit = add(target(kT0 + 5000));
  Memory hit2 = add(target(kT0 + 6000));
  // Each decoy misses exactly one filter.
  Memory other_session = target(kT0 + 5100);
  other_session.session_id = "s2";
  Memory other_agent = target(kT0 + 5200);
  other_agent.agent_id = "dev";
  Memory other_type = target(kT0 + 5300);
  other_type.type = "observation";
  Memory missing_tag = target(kT0 + 5400);
  missing_tag.tags = {"ci"};
  Memory other_content = target(kT0 + 5500);
  other_content.content = "Deploy paused";
  Memory unimportant = target(kT0 + 5600);
  unimportant.importance = 0.3;
  Memory too_early = target(kT0 + 1000);
  Memory too_late = target(kT0 + 9000);
  for (const auto& m : {other_session, other_agent, other_type, missing_tag, other_content, unimportant,
                        too_early, too_late}) {
    add(m);
  }
  auto q = query();
  q.session_id = "s1";
  q.agent_id = "ops";
  q.types = {"action", "decision"};
  q.tags = {"deploy", "ci"};
  q.content_contains = "PIPELINE";
  q.min_importance = 0.5;
  q.since = kT0 + 2000;
  q.until = kT0 + 8000;
  EXPECT_THAT(recall(q), ElementsAreArray(newest_first({hit.id, hit2.id})));
  q.before_id = std::max(hit.id, hit2.id);
  EXPECT_THAT(recall(q), ElementsAre(std::min(hit.id, hit2.id)));
  // Without the session filter (so that backends choosing another index are exercised too).
  q.session_id.reset();
  q.before_id.reset();
  EXPECT_THAT(recall(q), ElementsAreArray(newest_first({hit.id, hit2.id, other_session.id})));
  q.tags.clear();
  EXPECT_THAT(recall(q), ElementsAreArray(newest_first({hit.id, hit2.id, other_session.id, missing_tag.id})));
  q.content_contains.reset();
  q.agent_id.reset();
  EXPECT_THAT(recall(q), ElementsAreArray(newest_first({hit.id, hit2.id, other_session.id, missing_tag.id,
                                                        other_content.id, other_agent.id})));
}

TEST_P(StoreBehaviour, LimitCapsTheAnswer) {
  add_session("s1");
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) ids.push_back(add(make_memory("s1", "m", kT0 + i)).id);
  auto q = query();
  q.limit = 3;
  EXPECT_THAT(recall(q), ElementsAre(ids[9], ids[8], ids[7]));
  q.limit = 1;
  EXPECT_THAT(recall(q), ElementsAre(ids[9]));
}

// Pages through `q` with before_id, `page` at a time, returning every id seen in order.
std::vector<std::string> page_through(Store& store, MemoryQuery q, std::size_t page) {
  std::vector<std::string> all;
  q.limit = page;
  for (int guard = 0; guard < 1000; ++guard) {
    auto rows = store.query_memories(q);
    if (!rows) {
      ADD_FAILURE() << rows.error().message;
      break;
    }
    for (const auto& m : *rows) all.push_back(m.id);
    if (rows->size() < page) break;
    q.before_id = rows->back().id;
  }
  return all;
}

TEST_P(StoreBehaviour, KeysetPaginationVisitsEveryMemoryOnce) {
  add_session("s1");
  add_session("s2");
  std::vector<std::string> all;
  std::vector<std::string> tagged;
  std::vector<std::string> matching;
  std::vector<std::string> in_s2;
  for (int i = 0; i < 57; ++i) {
    Memory m = make_memory(i % 3 == 0 ? "s2" : "s1", i % 2 == 0 ? "even entry" : "odd entry",
                           kT0 + i * UnixMillis{10}, i % 4 == 0 ? "agent-b" : "agent-a");
    if (i % 5 == 0) m.tags = {"fifth"};
    add(m);
    all.push_back(m.id);
    if (i % 5 == 0) tagged.push_back(m.id);
    if (i % 2 == 1) matching.push_back(m.id);
    if (i % 3 == 0) in_s2.push_back(m.id);
  }
  EXPECT_THAT(page_through(store(), query(), 10), ElementsAreArray(reversed(all)));
  EXPECT_THAT(page_through(store(), query(), 1), ElementsAreArray(reversed(all)));
  EXPECT_THAT(page_through(store(), query(), 57), ElementsAreArray(reversed(all)));
  auto q = query();
  q.tags = {"fifth"};
  EXPECT_THAT(page_through(store(), q, 4), ElementsAreArray(reversed(tagged)));
  q = query();
  q.content_contains = "ODD";
  EXPECT_THAT(page_through(store(), q, 7), ElementsAreArray(reversed(matching)));
  q.content_contains = "d";
  EXPECT_THAT(page_through(store(), q, 7), ElementsAreArray(reversed(matching)));
  q = query();
  q.session_id = "s2";
  EXPECT_THAT(page_through(store(), q, 6), ElementsAreArray(reversed(in_s2)));
}

// ---- namespaces ----

TEST_P(StoreBehaviour, NamespacesIsolateEverything) {
  // The same ids in two namespaces are different things.
  add_session("s1", "agent-a", {{"k", "\"v\""}}, "team-a");
  add_session("s1", "agent-a", {{"k", "\"v\""}}, "team-b");
  Memory in_a = make_memory("s1", "shared words", kT0 + 1, "agent-a", "team-a");
  in_a.tags = {"t"};
  add(in_a);
  Memory in_b = in_a;
  in_b.ns = "team-b";
  in_b.content = "other words";
  add(in_b);
  ok(store().upsert_agent(Agent{"team-a", "agent-a", "alpha", kT0}));
  ok(store().upsert_agent(Agent{"team-b", "agent-a", "beta", kT0}));

  auto got_a = ok(store().get_memory("team-a", in_a.id, kNow));
  auto got_b = ok(store().get_memory("team-b", in_a.id, kNow));
  ASSERT_TRUE(got_a && got_b);
  EXPECT_EQ(got_a->content, "shared words");
  EXPECT_EQ(got_b->content, "other words");
  EXPECT_FALSE(ok(store().get_memory(kDefaultNamespace, in_a.id, kNow)).has_value());

  auto q = query("team-a");
  q.content_contains = "words";
  EXPECT_THAT(recall(q), ElementsAre(in_a.id));
  q.content_contains = "other";
  EXPECT_THAT(recall(q), IsEmpty());
  q = query("team-b");
  q.tags = {"t"};
  EXPECT_THAT(recall(q), ElementsAre(in_b.id));
  EXPECT_THAT(recall(query(kDefaultNamespace)), IsEmpty());

  EXPECT_EQ(ok(store().get_agent("team-a", "agent-a"))->description, "alpha");
  EXPECT_EQ(ok(store().get_agent("team-b", "agent-a"))->description, "beta");
  EXPECT_FALSE(ok(store().get_agent(kDefaultNamespace, "agent-a")).has_value());

  EXPECT_TRUE(ok(store().get_session("team-a", "s1")).has_value());
  EXPECT_FALSE(ok(store().get_session(kDefaultNamespace, "s1")).has_value());
  auto sq = session_query("team-a");
  sq.metadata_contains = {{"k", "\"v\""}};
  auto found = ok(store().find_sessions(sq));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].memory_count, 1);
  EXPECT_THAT(find(session_query(kDefaultNamespace)), IsEmpty());

  // Closing or deleting in one namespace leaves the other alone.
  EXPECT_TRUE(ok(store().close_session("team-a", "s1", kT0 + 10)));
  EXPECT_EQ(ok(store().get_session("team-b", "s1"))->status, SessionStatus::kActive);
  EXPECT_FALSE(ok(store().delete_memory(kDefaultNamespace, in_a.id)));
  EXPECT_TRUE(ok(store().delete_memory("team-a", in_a.id)));
  EXPECT_TRUE(ok(store().get_memory("team-b", in_a.id, kNow)).has_value());
}

// ---- expiry ----

TEST_P(StoreBehaviour, ExpiredMemoriesAreInvisible) {
  add_session("s1");
  Memory forever = add(make_memory("s1", "keeps", kT0 + 1));
  Memory expiring = make_memory("s1", "fades soon", kT0 + 2);
  expiring.expires_at = kT0 + 10'000;
  expiring.tags = {"temp"};
  add(expiring);

  auto q = query();
  q.now = kT0 + 9'999;
  EXPECT_THAT(recall(q), ElementsAre(expiring.id, forever.id));
  EXPECT_TRUE(ok(store().get_memory(kDefaultNamespace, expiring.id, kT0 + 9'999)).has_value());

  q.now = kT0 + 10'000;  // expires_at <= now: gone
  EXPECT_THAT(recall(q), ElementsAre(forever.id));
  q.tags = {"temp"};
  EXPECT_THAT(recall(q), IsEmpty());
  q.tags.clear();
  q.content_contains = "fades";
  EXPECT_THAT(recall(q), IsEmpty());
  EXPECT_FALSE(ok(store().get_memory(kDefaultNamespace, expiring.id, kT0 + 10'000)).has_value());

  auto sq = session_query();
  sq.now = kT0 + 9'999;
  auto before = ok(store().find_sessions(sq));
  ASSERT_EQ(before.size(), 1u);
  EXPECT_EQ(before[0].memory_count, 2);
  EXPECT_EQ(before[0].last_activity, kT0 + 2);
  sq.now = kT0 + 10'000;
  auto after = ok(store().find_sessions(sq));
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].memory_count, 1);
  EXPECT_EQ(after[0].last_activity, kT0 + 1);
}

// A session's last activity is its newest memory still live, however many newer ones have expired
// before it (a store may look at the newest few first).
TEST_P(StoreBehaviour, LastActivityIsTheNewestLiveMemoryBehindExpiredOnes) {
  add_session("s1");
  add(make_memory("s1", "keeps", kT0 + 1));
  for (int i = 0; i < 9; ++i) {
    Memory expiring = make_memory("s1", "fades " + std::to_string(i), kT0 + 2 + i);
    expiring.expires_at = kT0 + 10'000;
    add(expiring);
  }
  auto sq = session_query();
  sq.now = kT0 + 9'999;
  auto before = ok(store().find_sessions(sq));
  ASSERT_EQ(before.size(), 1u);
  EXPECT_EQ(before[0].last_activity, kT0 + 10);
  sq.now = kT0 + 10'000;
  auto after = ok(store().find_sessions(sq));
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].memory_count, 1);
  EXPECT_EQ(after[0].last_activity, kT0 + 1) << "behind 9 expired memories";

  RankQuery q = rank_query("s1", 50);
  q.now = kT0 + 10'000;
  q.with_session = true;
  auto ranked = ok(store().rank_memories(q));
  ASSERT_TRUE(ranked.session.has_value());
  EXPECT_EQ(ranked.session->last_activity, kT0 + 1);
  EXPECT_EQ(ranked.memories.size(), 1u);
}

// A session's last activity is its newest memory still there, however many newer ones were forgotten (a
// store may keep a forgotten memory's index entries for a while).
TEST_P(StoreBehaviour, LastActivityIsTheNewestMemoryBehindForgottenOnes) {
  add_session("s1");
  add(make_memory("s1", "keeps", kT0 + 1));
  for (int i = 0; i < 100; ++i) {
    Memory later = add(make_memory("s1", "forgotten " + std::to_string(i), kT0 + 2 + i));
    ASSERT_TRUE(ok(store().delete_memory(kDefaultNamespace, later.id), "delete_memory"));
  }
  auto sq = session_query();
  sq.now = kT0 + 1'000;
  auto found = ok(store().find_sessions(sq));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].memory_count, 1);
  EXPECT_EQ(found[0].last_activity, kT0 + 1) << "behind 100 forgotten memories";
}

// Describing one session (the session context's header): that session with its summary, or nothing
// when it does not exist, never its neighbour in id order, whatever the other filters.
TEST_P(StoreBehaviour, FindSessionsByIdAnswersForThatSessionAlone) {
  add_session("s1", "planner", {{"team", "\"a\""}});
  add_session("s3", "coder");
  add(make_memory("s1", "first", kT0 + 1));
  add(make_memory("s1", "second", kT0 + 2, "agent-b"));
  add(make_memory("s3", "third", kT0 + 3));

  auto q = session_query();
  q.id = "s1";
  auto found = ok(store().find_sessions(q));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].session.id, "s1");
  EXPECT_EQ(found[0].memory_count, 2);
  EXPECT_EQ(found[0].last_activity, kT0 + 2);

  for (const char* absent : {"s2", "s0", "s4", "s1x"}) {
    q.id = absent;
    EXPECT_THAT(find(q), IsEmpty()) << absent;
  }
  q.id = "s3";
  EXPECT_THAT(find(q), ElementsAre("s3"));
  q.metadata_contains = {{"team", "\"a\""}};
  EXPECT_THAT(find(q), IsEmpty()) << "s3 lacks the metadata";
  q.id = "s1";
  EXPECT_THAT(find(q), ElementsAre("s1"));
  q.metadata_contains.clear();
  q.agent_id = "coder";
  EXPECT_THAT(find(q), IsEmpty()) << "coder neither created nor wrote into s1";
}

TEST_P(StoreBehaviour, PurgeRemovesExpiredMemoriesAndTheirIndexEntries) {
  add_session("s1");
  Memory keep = add(make_memory("s1", "durable needle", kT0 + 1));
  Memory later = make_memory("s1", "later needle", kT0 + 2);
  later.expires_at = kT0 + 50'000;
  later.tags = {"t1"};
  add(later);
  std::vector<std::string> expired;
  for (int i = 0; i < 3; ++i) {
    Memory m = make_memory("s1", "expired needle " + std::to_string(i), kT0 + 10 + i);
    m.expires_at = kT0 + 1000 + i;
    m.tags = {"t1", "t2"};
    add(m);
    expired.push_back(m.id);
  }
  EXPECT_EQ(ok(store().purge_expired(kT0 + 1001)), 2u);  // expires_at <= now
  EXPECT_EQ(ok(store().purge_expired(kT0 + 1002)), 1u);
  EXPECT_EQ(ok(store().purge_expired(kT0 + 1002)), 0u);

  // With now = 0 nothing counts as expired, so only deletion can hide the purged rows.
  auto q = query();
  q.now = 0;
  EXPECT_THAT(recall(q), ElementsAre(later.id, keep.id));
  q.tags = {"t2"};
  EXPECT_THAT(recall(q), IsEmpty());
  q.tags = {"t1"};
  EXPECT_THAT(recall(q), ElementsAre(later.id));
  q.tags.clear();
  q.content_contains = "needle";
  EXPECT_THAT(recall(q), ElementsAre(later.id, keep.id));
  for (const auto& id : expired) EXPECT_FALSE(ok(store().get_memory(kDefaultNamespace, id, 0)).has_value());

  // The indexes still work for new rows with the same tags and words.
  Memory fresh = make_memory("s1", "expired needle 0", kT0 + 100);
  fresh.tags = {"t1", "t2"};
  add(fresh);
  q = query();
  q.tags = {"t2"};
  EXPECT_THAT(recall(q), ElementsAre(fresh.id));
  q.tags.clear();
  q.content_contains = "EXPIRED NEEDLE";
  EXPECT_THAT(recall(q), ElementsAre(fresh.id));
}

TEST_P(StoreBehaviour, PurgeCoversEveryNamespaceAndLargeBatches) {
  add_session("s1", "agent-a", {}, "ns-1");
  add_session("s1", "agent-a", {}, "ns-2");
  for (int i = 0; i < 600; ++i) {
    Memory m = make_memory("s1", "bulk", kT0 + i, "agent-a", i % 2 == 0 ? "ns-1" : "ns-2");
    m.expires_at = kT0 + 100;
    add(m);
  }
  EXPECT_EQ(ok(store().purge_expired(kT0 + 100)), 600u);
  auto q = query("ns-1");
  q.now = 0;
  EXPECT_THAT(recall(q), IsEmpty());
}

// ---- delete ----

TEST_P(StoreBehaviour, DeleteMemoryRemovesItEverywhere) {
  add_session("s1");
  Memory keep = make_memory("s1", "stays around", kT0 + 1);
  keep.tags = {"x"};
  add(keep);
  Memory gone = make_memory("s1", "goes away", kT0 + 2);
  gone.tags = {"x", "y"};
  add(gone);

  EXPECT_TRUE(ok(store().delete_memory(kDefaultNamespace, gone.id)));
  EXPECT_FALSE(ok(store().get_memory(kDefaultNamespace, gone.id, kNow)).has_value());
  EXPECT_THAT(recall(query()), ElementsAre(keep.id));
  auto q = query();
  q.tags = {"y"};
  EXPECT_THAT(recall(q), IsEmpty());
  q.tags = {"x"};
  EXPECT_THAT(recall(q), ElementsAre(keep.id));
  q.tags.clear();
  q.content_contains = "goes";
  EXPECT_THAT(recall(q), IsEmpty());
  q.content_contains = "a";
  EXPECT_THAT(recall(q), ElementsAre(keep.id));

  EXPECT_FALSE(ok(store().delete_memory(kDefaultNamespace, gone.id)));
  EXPECT_FALSE(ok(store().delete_memory(kDefaultNamespace, new_id(kT0 + 3))));
  auto summary = ok(store().find_sessions(session_query()));
  ASSERT_EQ(summary.size(), 1u);
  EXPECT_EQ(summary[0].memory_count, 1);
}

// ---- sessions ----

TEST_P(StoreBehaviour, SessionRoundTrips) {
  Session session =
      make_session("s1", "planner", {{"repo", "\"memtrace\""}, {"pr", "42"}, {"obj", R"({"a":1})"}});
  session.created_at = kT0 + 1;
  session.updated_at = kT0 + 2;
  ok(store().create_session(session));
  auto got = ok(store().get_session(kDefaultNamespace, "s1"));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->ns, kDefaultNamespace);
  EXPECT_EQ(got->id, "s1");
  EXPECT_EQ(got->created_by, "planner");
  EXPECT_EQ(got->metadata, session.metadata);
  EXPECT_EQ(got->status, SessionStatus::kActive);
  EXPECT_EQ(got->created_at, kT0 + 1);
  EXPECT_EQ(got->updated_at, kT0 + 2);
  EXPECT_FALSE(got->closed_at.has_value());
  EXPECT_FALSE(ok(store().get_session(kDefaultNamespace, "s2")).has_value());
}

TEST_P(StoreBehaviour, CreatingAnExistingSessionIsAConflict) {
  add_session("s1", "first", {{"k", "1"}});
  auto again = store().create_session(make_session("s1", "second", {{"k", "2"}}));
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, ErrorCode::kConflict) << again.error().message;
  auto got = ok(store().get_session(kDefaultNamespace, "s1"));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->created_by, "first");
  EXPECT_EQ(got->metadata, (Metadata{{"k", "1"}}));
}

TEST_P(StoreBehaviour, ClosingASession) {
  add_session("s1");
  EXPECT_TRUE(ok(store().close_session(kDefaultNamespace, "s1", kT0 + 500)));
  auto got = ok(store().get_session(kDefaultNamespace, "s1"));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->status, SessionStatus::kClosed);
  EXPECT_EQ(got->closed_at, kT0 + 500);
  EXPECT_EQ(got->updated_at, kT0 + 500);
  // Closing again is a no-op that still answers true.
  EXPECT_TRUE(ok(store().close_session(kDefaultNamespace, "s1", kT0 + 900)));
  EXPECT_EQ(ok(store().get_session(kDefaultNamespace, "s1"))->closed_at, kT0 + 500);
  EXPECT_FALSE(ok(store().close_session(kDefaultNamespace, "unknown", kT0 + 900)));
}

TEST_P(StoreBehaviour, AMemoryGoesOnlyIntoAnOpenSessionThatExists) {
  add_session("open");
  add_session("done");
  ok(store().close_session(kDefaultNamespace, "done", kT0 + 100));

  auto into_closed = store().insert_memory(make_memory("done", "too late", kT0 + 200));
  ASSERT_FALSE(into_closed.has_value());
  EXPECT_EQ(into_closed.error().code, ErrorCode::kInvalidArgument) << into_closed.error().message;
  EXPECT_NE(into_closed.error().message.find("closed"), std::string::npos) << into_closed.error().message;

  auto into_nothing = store().insert_memory(make_memory("never-made", "lost", kT0 + 200));
  ASSERT_FALSE(into_nothing.has_value());
  EXPECT_EQ(into_nothing.error().code, ErrorCode::kNotFound) << into_nothing.error().message;

  Memory kept = add(make_memory("open", "on time", kT0 + 200));
  EXPECT_EQ(recall(query()), std::vector<std::string>{kept.id}) << "the refused writes left nothing behind";
}

TEST_P(StoreBehaviour, ResumeOrCreateFindsTheNewestActiveSessionWithTheMetadata) {
  const Metadata account_42 = {{"account_id", "\"42\""}};
  auto first = ok(store().resume_or_create_session(make_session(new_id(kT0), "internet-bot", account_42)));
  EXPECT_FALSE(first.resumed) << "nothing to resume yet: the session is created";

  // Another bot with the same metadata lands in it; nothing new is written.
  auto again = ok(store().resume_or_create_session(make_session(new_id(kT0 + 10), "tv-bot", account_42)));
  EXPECT_TRUE(again.resumed);
  EXPECT_EQ(again.id, first.id);

  // A session holding more pairs than asked for still matches; the newest matching one wins.
  Session newer =
      add_session(new_id(kT0 + 20), "billing-bot", {{"account_id", "\"42\""}, {"channel", "\"tv\""}});
  EXPECT_EQ(ok(store().resume_or_create_session(make_session(new_id(kT0 + 30), "tv-bot", account_42))).id,
            newer.id);

  // Another value, or only closed sessions, means a new session.
  auto other = ok(
      store().resume_or_create_session(make_session(new_id(kT0 + 40), "tv-bot", {{"account_id", "\"43\""}})));
  EXPECT_FALSE(other.resumed);
  ok(store().close_session(kDefaultNamespace, first.id, kT0 + 50));
  ok(store().close_session(kDefaultNamespace, newer.id, kT0 + 50));
  Session fresh = make_session(new_id(kT0 + 60), "tv-bot", account_42);
  auto reopened = ok(store().resume_or_create_session(fresh));
  EXPECT_FALSE(reopened.resumed);
  EXPECT_EQ(reopened.id, fresh.id);
  auto stored = ok(store().get_session(kDefaultNamespace, fresh.id));
  ASSERT_TRUE(stored.has_value()) << "the created session is stored like create_session's";
  EXPECT_EQ(stored->metadata, account_42);
  EXPECT_EQ(stored->created_by, "tv-bot");

  auto no_metadata = store().resume_or_create_session(make_session(new_id(kT0 + 70)));
  ASSERT_FALSE(no_metadata.has_value()) << "empty metadata would match every session";
  EXPECT_EQ(no_metadata.error().code, ErrorCode::kInvalidArgument);
}

TEST_P(StoreBehaviour, AgentsResumingTogetherShareOneSession) {
  // Eight agents start at the same instant for one customer: exactly one creates, all share it.
  const Metadata account = {{"account_id", "\"7\""}};
  constexpr int kAgents = 8;
  std::vector<std::string> ids(kAgents);
  for (auto& id : ids) id = new_id(kT0);
  std::vector<SessionOpening> opened(kAgents);
  std::atomic<int> failures{0};
  std::vector<std::thread> agents;
  for (int i = 0; i < kAgents; ++i) {
    agents.emplace_back([&, i] {
      auto result =
          store().resume_or_create_session(make_session(ids[i], "bot-" + std::to_string(i), account));
      if (result) {
        opened[i] = *result;
      } else {
        ++failures;
      }
    });
  }
  for (auto& agent : agents) agent.join();
  ASSERT_EQ(failures.load(), 0);
  int created = 0;
  for (const auto& o : opened) {
    created += o.resumed ? 0 : 1;
    EXPECT_EQ(o.id, opened[0].id) << "every agent must land in the same session";
  }
  EXPECT_EQ(created, 1);
  SessionQuery query = session_query();
  query.metadata_contains = account;
  EXPECT_EQ(ok(store().find_sessions(query)).size(), 1u) << "exactly one session was stored";
}

TEST_P(StoreBehaviour, SlidingWindowEvictsTheLeastImportantThenTheOldest) {
  use_window(3);
  add_session("s1");
  add_session("s2");
  std::vector<Memory> memories;
  for (double importance : {0.9, 0.1, 0.5, 0.5, 0.2}) {
    Memory memory = make_memory("s1", "importance " + std::to_string(importance),
                                kT0 + static_cast<UnixMillis>(memories.size()));
    memory.importance = importance;
    memory.tags = {"w"};
    memories.push_back(add(memory));
  }
  // 4th write evicts 0.1; 5th evicts the older of the two 0.5s; the newest write always stays.
  EXPECT_THAT(recall(query()), ElementsAre(memories[4].id, memories[3].id, memories[0].id));
  auto q = query();
  q.tags = {"w"};
  EXPECT_THAT(recall(q), ElementsAre(memories[4].id, memories[3].id, memories[0].id));
  q = query();
  q.content_contains = "importance 0.1";
  EXPECT_THAT(recall(q), IsEmpty());

  // Equal importance: a plain sliding window, oldest out first. Other sessions are untouched.
  std::vector<std::string> s2;
  for (int i = 0; i < 5; ++i) s2.push_back(add(make_memory("s2", "s2 entry", kT0 + 100 + i)).id);
  q = query();
  q.session_id = "s2";
  EXPECT_THAT(recall(q), ElementsAre(s2[4], s2[3], s2[2]));
  q.session_id = "s1";
  EXPECT_EQ(recall(q).size(), 3u);
  SessionQuery sq;
  sq.now = kNow;
  auto sessions = store().find_sessions(sq);
  ASSERT_TRUE(sessions);
  for (const auto& summary : *sessions) EXPECT_EQ(summary.memory_count, 3) << summary.session.id;
}

TEST_P(StoreBehaviour, ExpiredMemoriesLeaveTheWindowFirst) {
  use_window(3);
  add_session("s1");
  Memory important_but_expired = make_memory("s1", "was important", kT0);
  important_but_expired.importance = 1.0;
  important_but_expired.expires_at = kT0 + 10;
  add(important_but_expired);
  Memory low = make_memory("s1", "low", kT0 + 1);
  low.importance = 0.0;
  add(low);
  Memory mid = make_memory("s1", "mid", kT0 + 2);
  add(mid);
  Memory fresh = make_memory("s1", "fresh", kT0 + 20);
  add(fresh);
  auto q = query();
  q.now = 0;  // show expired ones too, if they were still there
  EXPECT_THAT(recall(q), ElementsAre(fresh.id, mid.id, low.id));
}

TEST_P(StoreBehaviour, FindSessionsNewestFirstWithPaging) {
  std::vector<std::string> ids;
  for (int i = 0; i < 7; ++i) ids.push_back(add_session(new_id(kT0 + i * UnixMillis{1000})).id);
  EXPECT_THAT(find(session_query()), ElementsAreArray(reversed(ids)));
  auto q = session_query();
  q.limit = 3;
  std::vector<std::string> seen;
  for (int guard = 0; guard < 10; ++guard) {
    auto page = find(q);
    seen.insert(seen.end(), page.begin(), page.end());
    if (page.size() < q.limit) break;
    q.before_id = page.back();
  }
  EXPECT_THAT(seen, ElementsAreArray(reversed(ids)));
  q = session_query();
  q.limit = 2;
  q.before_id = ids[3];
  EXPECT_THAT(find(q), ElementsAre(ids[2], ids[1]));
}

TEST_P(StoreBehaviour, FindSessionsByMetadataContainment) {
  auto s1 = add_session(new_id(kT0 + 1), "a", {{"repo", "\"memtrace\""}, {"ticket", "42"}}).id;
  auto s2 = add_session(new_id(kT0 + 2), "a", {{"repo", "\"memtrace\""}, {"ticket", "\"42\""}}).id;
  auto s3 = add_session(new_id(kT0 + 3), "a", {{"repo", "\"other\""}}).id;
  auto s4 = add_session(new_id(kT0 + 4), "a", {}).id;
  auto q = session_query();
  q.metadata_contains = {{"repo", "\"memtrace\""}};
  EXPECT_THAT(find(q), ElementsAre(s2, s1));
  q.metadata_contains = {{"repo", "\"memtrace\""}, {"ticket", "42"}};
  EXPECT_THAT(find(q), ElementsAre(s1));
  q.metadata_contains = {{"ticket", "\"42\""}};  // the string "42" is not the number 42
  EXPECT_THAT(find(q), ElementsAre(s2));
  q.metadata_contains = {{"repo", "\"other\""}, {"ticket", "42"}};
  EXPECT_THAT(find(q), IsEmpty());
  q.metadata_contains = {{"missing", "1"}};
  EXPECT_THAT(find(q), IsEmpty());
  q.metadata_contains.clear();
  EXPECT_THAT(find(q), ElementsAre(s4, s3, s2, s1));
  auto found = ok(store().find_sessions(session_query()));
  ASSERT_EQ(found.size(), 4u);
  EXPECT_EQ(found[2].session.metadata, (Metadata{{"repo", "\"memtrace\""}, {"ticket", "\"42\""}}));
}

TEST_P(StoreBehaviour, FindSessionsByStatus) {
  auto s1 = add_session(new_id(kT0 + 1)).id;
  auto s2 = add_session(new_id(kT0 + 2)).id;
  auto s3 = add_session(new_id(kT0 + 3)).id;
  ok(store().close_session(kDefaultNamespace, s2, kT0 + 10));
  auto q = session_query();
  q.status = SessionStatus::kActive;
  EXPECT_THAT(find(q), ElementsAre(s3, s1));
  q.status = SessionStatus::kClosed;
  EXPECT_THAT(find(q), ElementsAre(s2));
}

TEST_P(StoreBehaviour, FindSessionsByAgentCreatorOrParticipant) {
  auto created = add_session(new_id(kT0 + 1), "alice").id;
  auto joined = add_session(new_id(kT0 + 2), "bob").id;
  auto unrelated = add_session(new_id(kT0 + 3), "bob").id;
  add(make_memory(joined, "alice was here", kT0 + 10, "alice"));
  add(make_memory(unrelated, "bob alone", kT0 + 11, "bob"));
  auto q = session_query();
  q.agent_id = "alice";
  EXPECT_THAT(find(q), ElementsAre(joined, created));
  q.agent_id = "bob";
  EXPECT_THAT(find(q), ElementsAre(unrelated, joined));
  q.agent_id = "carol";
  EXPECT_THAT(find(q), IsEmpty());
  q.agent_id = "alice";
  q.limit = 1;
  EXPECT_THAT(find(q), ElementsAre(joined));
  q.before_id = joined;
  EXPECT_THAT(find(q), ElementsAre(created));
}

TEST_P(StoreBehaviour, FindSessionsFillsAgentsCountsAndLastActivity) {
  auto busy = add_session(new_id(kT0 + 1), "planner", {}, kDefaultNamespace, kT0 + 1).id;
  auto empty = add_session(new_id(kT0 + 2), "planner", {}, kDefaultNamespace, kT0 + 2).id;
  add(make_memory(busy, "1", kT0 + 100, "zed"));
  add(make_memory(busy, "2", kT0 + 200, "amy"));
  add(make_memory(busy, "3", kT0 + 300, "zed"));
  auto found = ok(store().find_sessions(session_query()));
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].session.id, empty);
  EXPECT_THAT(found[0].agents, IsEmpty());
  EXPECT_EQ(found[0].memory_count, 0);
  EXPECT_EQ(found[0].last_activity, kT0 + 2);  // no memories: the session's updated_at
  EXPECT_EQ(found[1].session.id, busy);
  EXPECT_THAT(found[1].agents, ElementsAre("amy", "zed"));  // writers, sorted, once each
  EXPECT_EQ(found[1].memory_count, 3);
  EXPECT_EQ(found[1].last_activity, kT0 + 300);
  EXPECT_EQ(found[1].session.created_by, "planner");
}

TEST_P(StoreBehaviour, FindSessionsCombinesFilters) {
  Metadata project{{"project", "\"x\""}};
  auto a = add_session(new_id(kT0 + 1), "alice", project).id;
  auto b = add_session(new_id(kT0 + 2), "bob", project).id;
  auto c = add_session(new_id(kT0 + 3), "alice", project).id;
  auto d = add_session(new_id(kT0 + 4), "alice", {{"project", "\"y\""}}).id;
  auto e = add_session(new_id(kT0 + 5), "alice", project).id;
  add(make_memory(b, "alice joins", kT0 + 10, "alice"));
  ok(store().close_session(kDefaultNamespace, c, kT0 + 20));
  auto q = session_query();
  q.metadata_contains = project;
  q.agent_id = "alice";
  q.status = SessionStatus::kActive;
  EXPECT_THAT(find(q), ElementsAre(e, b, a));
  q.before_id = e;
  q.limit = 1;
  EXPECT_THAT(find(q), ElementsAre(b));
  q.limit = 10;
  q.status = SessionStatus::kClosed;
  q.before_id.reset();
  EXPECT_THAT(find(q), ElementsAre(c));
  q.metadata_contains.clear();
  q.status = SessionStatus::kActive;
  EXPECT_THAT(find(q), ElementsAre(e, d, b, a));
}

// ---- agents ----

TEST_P(StoreBehaviour, UpsertAgentCreatesThenUpdatesOnlyANonEmptyDescription) {
  auto created = ok(store().upsert_agent(Agent{kDefaultNamespace, "researcher", "reads papers", kT0}));
  EXPECT_EQ(created.id, "researcher");
  EXPECT_EQ(created.description, "reads papers");
  EXPECT_EQ(created.created_at, kT0);

  auto unchanged = ok(store().upsert_agent(Agent{kDefaultNamespace, "researcher", "", kT0 + 5}));
  EXPECT_EQ(unchanged.description, "reads papers");
  EXPECT_EQ(unchanged.created_at, kT0);  // the first creation time stays

  auto updated =
      ok(store().upsert_agent(Agent{kDefaultNamespace, "researcher", "writes summaries", kT0 + 9}));
  EXPECT_EQ(updated.description, "writes summaries");
  EXPECT_EQ(updated.created_at, kT0);

  auto got = ok(store().get_agent(kDefaultNamespace, "researcher"));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->ns, kDefaultNamespace);
  EXPECT_EQ(got->id, "researcher");
  EXPECT_EQ(got->description, "writes summaries");
  EXPECT_EQ(got->created_at, kT0);
  EXPECT_FALSE(ok(store().get_agent(kDefaultNamespace, "nobody")).has_value());

  auto bare = ok(store().upsert_agent(Agent{kDefaultNamespace, "bare", "", kT0}));
  EXPECT_EQ(bare.description, "");
}

TEST_P(StoreBehaviour, DeletingAnAgentRemovesItsRecordOnlyAndOnlyInItsNamespace) {
  ok(store().upsert_agent(Agent{kDefaultNamespace, "researcher", "reads papers", kT0}));
  ok(store().upsert_agent(Agent{"other", "researcher", "elsewhere", kT0}));
  add_session("s1");
  Memory memory = make_memory("s1", "written by the researcher", kT0 + 1);
  memory.agent_id = "researcher";
  add(memory);

  EXPECT_TRUE(ok(store().delete_agent(kDefaultNamespace, "researcher")));
  EXPECT_FALSE(ok(store().get_agent(kDefaultNamespace, "researcher")).has_value());
  EXPECT_FALSE(ok(store().delete_agent(kDefaultNamespace, "researcher")));  // gone already
  EXPECT_FALSE(ok(store().delete_agent(kDefaultNamespace, "nobody")));
  // The same id in another namespace is another agent.
  EXPECT_EQ(ok(store().get_agent("other", "researcher"))->description, "elsewhere");
  // What was written stays.
  auto kept = ok(store().get_memory(kDefaultNamespace, memory.id, kNow));
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(kept->agent_id, "researcher");
  // Recorded again, it is a new record.
  auto again = ok(store().upsert_agent(Agent{kDefaultNamespace, "researcher", "", kT0 + 7}));
  EXPECT_EQ(again.created_at, kT0 + 7);
}

// ---- change feed ----

TEST_P(StoreBehaviour, WatchReportsLocalWrites) {
  EventRecorder recorder;
  auto subscription = store().watch(kDefaultNamespace, recorder.callback());
  ASSERT_NE(subscription, nullptr);
  EventRecorder other;
  auto other_subscription = store().watch("other-ns", other.callback());
  ASSERT_NE(other_subscription, nullptr);

  add_session("s1");
  EXPECT_TRUE(recorder.wait_for_event(ChangeEvent::Kind::kSessionChanged, kDefaultNamespace, "s1"));
  Memory m = add(make_memory("s1", "hello", kT0 + 1));
  EXPECT_TRUE(recorder.wait_for_event(ChangeEvent::Kind::kMemoryWritten, kDefaultNamespace, "s1"));

  add_session("s2", "agent-a", {}, "other-ns");
  EXPECT_TRUE(other.wait_for_event(ChangeEvent::Kind::kSessionChanged, "other-ns", "s2"));
  ok(store().close_session("other-ns", "s2", kT0 + 2));
  EXPECT_TRUE(other.wait_for([](const std::vector<ChangeEvent>& events) {
    return std::count_if(events.begin(), events.end(), [](const ChangeEvent& e) {
             return e.kind == ChangeEvent::Kind::kSessionChanged && e.session_id == "s2";
           }) >= 2;
  }));

  const auto memory_events = [](const std::vector<ChangeEvent>& events) {
    return std::count_if(events.begin(), events.end(), [](const ChangeEvent& e) {
      return e.kind == ChangeEvent::Kind::kMemoryWritten && e.session_id == "s1";
    });
  };
  ok(store().delete_memory(kDefaultNamespace, m.id));
  EXPECT_TRUE(recorder.wait_for([&](const std::vector<ChangeEvent>& events) {
    return memory_events(events) >= 2;
  })) << "deleting a memory is reported";
}

TEST_P(StoreBehaviour, AWatchHearsItsOwnNamespaceOnly) {
  EventRecorder team_a;
  EventRecorder team_b;
  auto watching_a = store().watch("team-a", team_a.callback());
  auto watching_b = store().watch("team-b", team_b.callback());

  add_session("s1", "agent-a", {}, "team-b");
  add(make_memory("s1", "for team b only", kT0 + 1, "agent-a", "team-b"));
  add_session("s1", "agent-a", {}, "team-a");
  ASSERT_TRUE(team_b.wait_for_event(ChangeEvent::Kind::kMemoryWritten, "team-b", "s1"));
  ASSERT_TRUE(team_a.wait_for_event(ChangeEvent::Kind::kSessionChanged, "team-a", "s1"));
  // team-b's events reached this process (its watcher heard them) and were not handed to team-a's.
  for (const auto& event : team_a.events()) EXPECT_EQ(event.ns, "team-a");
  for (const auto& event : team_b.events()) EXPECT_EQ(event.ns, "team-b");
}

TEST_P(StoreBehaviour, EveryWatchedNamespaceIsHeard) {
  // Twelve namespaces: on a cluster they spread over every master, each heard on its own shard.
  constexpr int kNamespaces = 12;
  std::vector<std::unique_ptr<EventRecorder>> recorders;
  std::vector<std::unique_ptr<ChangeSubscription>> subscriptions;
  for (int i = 0; i < kNamespaces; ++i) {
    recorders.push_back(std::make_unique<EventRecorder>());
    subscriptions.push_back(store().watch("tenant-" + std::to_string(i), recorders.back()->callback()));
  }
  for (int i = 0; i < kNamespaces; ++i) {
    const std::string ns = "tenant-" + std::to_string(i);
    add_session("s1", "agent-a", {}, ns);
    add(make_memory("s1", "hello " + ns, kT0 + 1, "agent-a", ns));
  }
  for (int i = 0; i < kNamespaces; ++i) {
    const std::string ns = "tenant-" + std::to_string(i);
    EXPECT_TRUE(recorders[i]->wait_for_event(ChangeEvent::Kind::kMemoryWritten, ns, "s1")) << ns;
  }
  // Dropping some watches leaves the others hearing.
  for (int i = 0; i < kNamespaces; i += 2) subscriptions[i].reset();
  for (int i = 1; i < kNamespaces; i += 2) {
    const std::string ns = "tenant-" + std::to_string(i);
    add_session("s2", "agent-a", {}, ns);
    EXPECT_TRUE(recorders[i]->wait_for_event(ChangeEvent::Kind::kSessionChanged, ns, "s2")) << ns;
  }
}

TEST_P(StoreBehaviour, EverySubscriberIsCalledAndDeliveryStopsWithTheSubscription) {
  add_session("s1");
  add_session("s2");
  add_session("s3");
  EventRecorder first;
  EventRecorder second;
  auto first_subscription = store().watch(kDefaultNamespace, first.callback());
  auto second_subscription = store().watch(kDefaultNamespace, second.callback());
  add(make_memory("s1", "both see this", kT0 + 1));
  EXPECT_TRUE(first.wait_for_event(ChangeEvent::Kind::kMemoryWritten, kDefaultNamespace, "s1"));
  EXPECT_TRUE(second.wait_for_event(ChangeEvent::Kind::kMemoryWritten, kDefaultNamespace, "s1"));

  first_subscription.reset();
  add(make_memory("s2", "only the second sees this", kT0 + 2));
  ASSERT_TRUE(second.wait_for_event(ChangeEvent::Kind::kMemoryWritten, kDefaultNamespace, "s2"));
  // Events arrive in order, so once the second subscriber has seen s2's memory, the first would
  // have too.
  const auto saw_memory_in = [](const std::vector<ChangeEvent>& events, std::string_view session) {
    return std::any_of(events.begin(), events.end(), [&](const ChangeEvent& e) {
      return e.kind == ChangeEvent::Kind::kMemoryWritten && e.session_id == session;
    });
  };
  EXPECT_FALSE(saw_memory_in(first.events(), "s2")) << "delivery stops with the subscription";

  second_subscription.reset();
  EventRecorder third;  // a fresh subscription after all were gone restarts delivery
  auto third_subscription = store().watch(kDefaultNamespace, third.callback());
  add(make_memory("s3", "new era", kT0 + 3));
  EXPECT_TRUE(third.wait_for_event(ChangeEvent::Kind::kMemoryWritten, kDefaultNamespace, "s3"));
  EXPECT_FALSE(saw_memory_in(second.events(), "s3")) << "delivery stops with the subscription";
}

// ---- concurrency ----

TEST_P(StoreBehaviour, ConcurrentWritersAndReadersLoseNothing) {
  add_session("s1");
  constexpr int kWriters = 4;
  constexpr int kEach = 150;
  std::atomic<int> failures{0};
  std::atomic<bool> writing{true};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kEach; ++i) {
        Memory m = make_memory("s1", "writer " + std::to_string(w) + " item " + std::to_string(i), kT0 + i,
                               "writer-" + std::to_string(w));
        m.tags = {"w" + std::to_string(w), "all"};
        if (!store().insert_memory(m)) ++failures;
      }
    });
  }
  std::thread reader([&] {
    while (writing) {
      auto q = query();
      q.tags = {"all"};
      q.limit = 20;
      if (!store().query_memories(q)) ++failures;
      if (!store().find_sessions(session_query())) ++failures;
    }
  });
  for (auto& t : threads) t.join();
  writing = false;
  reader.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(page_through(store(), query(), 100).size(), static_cast<std::size_t>(kWriters * kEach));
  for (int w = 0; w < kWriters; ++w) {
    auto q = query();
    q.agent_id = "writer-" + std::to_string(w);
    EXPECT_EQ(page_through(store(), q, 64).size(), static_cast<std::size_t>(kEach));
  }
  auto found = ok(store().find_sessions(session_query()));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].memory_count, kWriters * kEach);
  EXPECT_EQ(found[0].agents.size(), static_cast<std::size_t>(kWriters));
}

// ---- task claims ----

constexpr UnixMillis kMinute = 60'000;

TEST_P(StoreBehaviour, ClaimTakesAFreeTaskAndTellsOthersWhoHoldsIt) {
  EXPECT_FALSE(ok(store().get_task_claim(kDefaultNamespace, "t1", kT0)).has_value());
  auto first = ok(store().claim_task(kDefaultNamespace, "t1", "worker-a", "s-a", kT0 + 5 * kMinute, kT0));
  EXPECT_TRUE(first.claimed);
  EXPECT_FALSE(first.renewed);
  EXPECT_EQ(first.current.ns, kDefaultNamespace);
  EXPECT_EQ(first.current.task_id, "t1");
  EXPECT_EQ(first.current.holder_agent, "worker-a");
  EXPECT_EQ(first.current.holder_session, "s-a");
  EXPECT_EQ(first.current.claimed_at, kT0);
  EXPECT_EQ(first.current.lease_until, kT0 + 5 * kMinute);

  auto second =
      ok(store().claim_task(kDefaultNamespace, "t1", "worker-b", "s-b", kT0 + 9 * kMinute, kT0 + 1));
  EXPECT_FALSE(second.claimed);
  EXPECT_FALSE(second.renewed);
  EXPECT_EQ(second.current.holder_agent, "worker-a");
  EXPECT_EQ(second.current.holder_session, "s-a");
  EXPECT_EQ(second.current.lease_until, kT0 + 5 * kMinute) << "a refused claim changes nothing";

  auto held = ok(store().get_task_claim(kDefaultNamespace, "t1", kT0 + 2));
  ASSERT_TRUE(held.has_value());
  EXPECT_EQ(held->holder_agent, "worker-a");
  EXPECT_EQ(held->claimed_at, kT0);
  // Another task is unaffected.
  EXPECT_TRUE(ok(store().claim_task(kDefaultNamespace, "t2", "worker-b", "s-b", kT0 + kMinute, kT0)).claimed);
}

TEST_P(StoreBehaviour, TheSameAgentInAnotherSessionIsAnotherHolder) {
  ASSERT_TRUE(ok(store().claim_task(kDefaultNamespace, "t1", "worker", "s1", kT0 + kMinute, kT0)).claimed);
  auto other = ok(store().claim_task(kDefaultNamespace, "t1", "worker", "s2", kT0 + kMinute, kT0 + 1));
  EXPECT_FALSE(other.claimed);
  EXPECT_EQ(other.current.holder_session, "s1");
  EXPECT_FALSE(ok(store().release_task(kDefaultNamespace, "t1", "worker", "s2", kT0 + 2)));
}

TEST_P(StoreBehaviour, ClaimingAgainAsTheHolderRenewsTheLease) {
  ASSERT_TRUE(ok(store().claim_task(kDefaultNamespace, "t1", "worker", "s1", kT0 + kMinute, kT0)).claimed);
  auto renewed =
      ok(store().claim_task(kDefaultNamespace, "t1", "worker", "s1", kT0 + 3 * kMinute, kT0 + 50'000));
  EXPECT_TRUE(renewed.claimed);
  EXPECT_TRUE(renewed.renewed);
  EXPECT_EQ(renewed.current.claimed_at, kT0) << "a renewal keeps the original claim time";
  EXPECT_EQ(renewed.current.lease_until, kT0 + 3 * kMinute);
  // Past the first lease the renewed claim still holds.
  auto later =
      ok(store().claim_task(kDefaultNamespace, "t1", "thief", "s9", kT0 + 9 * kMinute, kT0 + 2 * kMinute));
  EXPECT_FALSE(later.claimed);
  EXPECT_EQ(later.current.holder_agent, "worker");
  // A renewal may also shorten the lease.
  auto shorter = ok(
      store().claim_task(kDefaultNamespace, "t1", "worker", "s1", kT0 + 2 * kMinute + 1, kT0 + 2 * kMinute));
  EXPECT_TRUE(shorter.renewed);
  EXPECT_EQ(ok(store().get_task_claim(kDefaultNamespace, "t1", kT0 + 2 * kMinute))->lease_until,
            kT0 + 2 * kMinute + 1);
}

TEST_P(StoreBehaviour, ALeaseThatRunsOutFreesTheTask) {
  ASSERT_TRUE(ok(store().claim_task(kDefaultNamespace, "t1", "slow", "s1", kT0 + kMinute, kT0)).claimed);
  // One millisecond before the end the claim holds; at lease_until the task is free.
  EXPECT_TRUE(ok(store().get_task_claim(kDefaultNamespace, "t1", kT0 + kMinute - 1)).has_value());
  EXPECT_FALSE(
      ok(store().claim_task(kDefaultNamespace, "t1", "fast", "s2", kT0 + 2 * kMinute, kT0 + kMinute - 1))
          .claimed);
  EXPECT_FALSE(ok(store().get_task_claim(kDefaultNamespace, "t1", kT0 + kMinute)).has_value());
  auto taken =
      ok(store().claim_task(kDefaultNamespace, "t1", "fast", "s2", kT0 + 2 * kMinute, kT0 + kMinute));
  EXPECT_TRUE(taken.claimed);
  EXPECT_FALSE(taken.renewed);
  EXPECT_EQ(taken.current.holder_agent, "fast");
  EXPECT_EQ(taken.current.claimed_at, kT0 + kMinute);
  // The former holder can neither release nor renew it any more.
  EXPECT_FALSE(ok(store().release_task(kDefaultNamespace, "t1", "slow", "s1", kT0 + kMinute + 1)));
  EXPECT_FALSE(
      ok(store().claim_task(kDefaultNamespace, "t1", "slow", "s1", kT0 + 3 * kMinute, kT0 + kMinute + 2))
          .claimed);
  EXPECT_EQ(ok(store().get_task_claim(kDefaultNamespace, "t1", kT0 + kMinute + 3))->holder_agent, "fast");
}

TEST_P(StoreBehaviour, AHolderWhoseLeaseRanOutClaimsAfresh) {
  ASSERT_TRUE(ok(store().claim_task(kDefaultNamespace, "t1", "worker", "s1", kT0 + kMinute, kT0)).claimed);
  auto again =
      ok(store().claim_task(kDefaultNamespace, "t1", "worker", "s1", kT0 + 3 * kMinute, kT0 + 2 * kMinute));
  EXPECT_TRUE(again.claimed);
  EXPECT_FALSE(again.renewed) << "the lease had run out: this is a new claim";
  EXPECT_EQ(again.current.claimed_at, kT0 + 2 * kMinute);
}

TEST_P(StoreBehaviour, OnlyTheHolderCanReleaseAClaim) {
  ASSERT_TRUE(ok(store().claim_task(kDefaultNamespace, "t1", "owner", "s1", kT0 + kMinute, kT0)).claimed);
  EXPECT_FALSE(ok(store().release_task(kDefaultNamespace, "t1", "intruder", "s1", kT0 + 1)));
  EXPECT_FALSE(ok(store().release_task(kDefaultNamespace, "t1", "intruder", "s2", kT0 + 1)));
  EXPECT_FALSE(ok(store().release_task(kDefaultNamespace, "t1", "owner", "s2", kT0 + 1)));
  EXPECT_EQ(ok(store().get_task_claim(kDefaultNamespace, "t1", kT0 + 2))->holder_agent, "owner");

  EXPECT_TRUE(ok(store().release_task(kDefaultNamespace, "t1", "owner", "s1", kT0 + 3)));
  EXPECT_FALSE(ok(store().get_task_claim(kDefaultNamespace, "t1", kT0 + 4)).has_value());
  EXPECT_FALSE(ok(store().release_task(kDefaultNamespace, "t1", "owner", "s1", kT0 + 5)))
      << "releasing a free task releases nothing";
  EXPECT_FALSE(ok(store().release_task(kDefaultNamespace, "never-claimed", "owner", "s1", kT0 + 5)));
  auto next = ok(store().claim_task(kDefaultNamespace, "t1", "intruder", "s2", kT0 + kMinute, kT0 + 6));
  EXPECT_TRUE(next.claimed);
  EXPECT_FALSE(next.renewed);
}

TEST_P(StoreBehaviour, ClaimsAreSeparatedByNamespace) {
  ASSERT_TRUE(ok(store().claim_task("team-a", "t1", "worker", "s1", kT0 + kMinute, kT0)).claimed);
  EXPECT_FALSE(ok(store().get_task_claim("team-b", "t1", kT0 + 1)).has_value());
  EXPECT_TRUE(ok(store().claim_task("team-b", "t1", "other", "s2", kT0 + kMinute, kT0 + 1)).claimed);
  EXPECT_FALSE(ok(store().release_task("team-b", "t1", "worker", "s1", kT0 + 2)));
  EXPECT_EQ(ok(store().get_task_claim("team-a", "t1", kT0 + 3))->holder_agent, "worker");
}

TEST_P(StoreBehaviour, AClaimRecordsItsHolderAsTakingPartInTheSession) {
  add_session("s1", "lead");
  ASSERT_TRUE(ok(store().claim_task(kDefaultNamespace, "t1", "worker", "s1", kT0 + kMinute, kT0)).claimed);
  auto found = ok(store().find_sessions(session_query()));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_THAT(found[0].agents, ElementsAre("worker"));
  auto q = session_query();
  q.agent_id = "worker";
  EXPECT_THAT(find(q), ElementsAre("s1"));
  // A refused claim records nothing; a claim from a session not stored (yet) is still a claim.
  EXPECT_FALSE(
      ok(store().claim_task(kDefaultNamespace, "t1", "bystander", "s1", kT0 + kMinute, kT0 + 1)).claimed);
  EXPECT_THAT(ok(store().find_sessions(session_query()))[0].agents, ElementsAre("worker"));
  EXPECT_TRUE(
      ok(store().claim_task(kDefaultNamespace, "t2", "worker", "unstored", kT0 + kMinute, kT0)).claimed);
  EXPECT_THAT(find(session_query()), ElementsAre("s1"));
}

TEST_P(StoreBehaviour, ClaimRefusesALeaseThatDoesNotEndAfterNow) {
  auto zero = store().claim_task(kDefaultNamespace, "t1", "worker", "s1", kT0, kT0);
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().code, ErrorCode::kInvalidArgument);
  auto empty = store().claim_task(kDefaultNamespace, "", "worker", "s1", kT0 + kMinute, kT0);
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(ok(store().get_task_claim(kDefaultNamespace, "t1", kT0)).has_value());
}

TEST_P(StoreBehaviour, ConcurrentClaimsHaveExactlyOneWinnerPerTask) {
  // Workers race over the same tasks, as the work-queue scenario does with processes: every task is
  // won exactly once, and every loser is told the winner.
  constexpr int kWorkers = 8;
  constexpr int kTasks = 60;
  std::vector<std::vector<int>> won(kWorkers);
  std::atomic<int> failures{0};
  std::atomic<int> wrong_holder{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&, w] {
      const std::string me = "worker-" + std::to_string(w);
      for (int i = 0; i < kTasks; ++i) {
        const int task = (i + w * 7) % kTasks;  // different starting points: real contention, not a convoy
        auto outcome = store().claim_task(kDefaultNamespace, "task-" + std::to_string(task), me,
                                          "session-" + me, kT0 + 10 * kMinute, kT0 + i);
        if (!outcome) {
          ++failures;
          continue;
        }
        if (outcome->claimed) {
          won[w].push_back(task);
          if (outcome->current.holder_agent != me) ++wrong_holder;
        } else if (outcome->current.holder_agent == me || outcome->current.holder_agent.empty()) {
          ++wrong_holder;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(wrong_holder.load(), 0);
  std::vector<int> winners(kTasks, 0);
  for (int w = 0; w < kWorkers; ++w) {
    for (int task : won[w]) {
      ++winners[task];
      auto held =
          ok(store().get_task_claim(kDefaultNamespace, "task-" + std::to_string(task), kT0 + kMinute));
      ASSERT_TRUE(held.has_value());
      EXPECT_EQ(held->holder_agent, "worker-" + std::to_string(w));
    }
  }
  for (int task = 0; task < kTasks; ++task) EXPECT_EQ(winners[task], 1) << "task-" << task;
}

TEST_P(StoreBehaviour, ConcurrentReleasesAndReclaimsHandEachTaskToOneHolderAtATime) {
  // Workers claim, "work", release and come back for more: at no moment do two hold the same task,
  // which each checks by the claim it gets back, and every release by a holder succeeds.
  constexpr int kWorkers = 6;
  constexpr int kRounds = 40;
  std::atomic<int> failures{0};
  std::atomic<int> violations{0};
  std::atomic<int> claims{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&, w] {
      const std::string me = "worker-" + std::to_string(w);
      for (int i = 0; i < kRounds; ++i) {
        const std::string task = "shared-" + std::to_string(i % 3);
        auto outcome = store().claim_task(kDefaultNamespace, task, me, "s", kT0 + 10 * kMinute, kT0 + i);
        if (!outcome) {
          ++failures;
          continue;
        }
        if (!outcome->claimed) continue;
        ++claims;
        auto held = store().get_task_claim(kDefaultNamespace, task, kT0 + i);
        if (!held || !*held || (*held)->holder_agent != me) ++violations;
        auto released = store().release_task(kDefaultNamespace, task, me, "s", kT0 + i);
        if (!released) {
          ++failures;
        } else if (!*released) {
          ++violations;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(violations.load(), 0);
  EXPECT_GT(claims.load(), 0);
  for (int t = 0; t < 3; ++t) {
    EXPECT_FALSE(
        ok(store().get_task_claim(kDefaultNamespace, "shared-" + std::to_string(t), kT0)).has_value());
  }
}

// ---- whole-store enumerations (export, stats) ----

TEST_P(StoreBehaviour, ListsEveryNamespaceThatHoldsSomething) {
  EXPECT_THAT(ok(store().list_namespaces()), IsEmpty());
  ok(store().upsert_agent(Agent{"team-b", "solo", "", kT0}));
  add_session("s1", "agent-a", {}, "team-a");
  add(make_memory("s1", "m", kT0 + 1, "agent-a", "team-a"));
  add_session("s2");
  EXPECT_THAT(ok(store().list_namespaces()), ElementsAre("default", "team-a", "team-b"));
}

TEST_P(StoreBehaviour, ListsTheAgentsOfOneNamespaceById) {
  ok(store().upsert_agent(Agent{kDefaultNamespace, "zed", "the last", kT0 + 2}));
  ok(store().upsert_agent(Agent{kDefaultNamespace, "amy", "", kT0 + 1}));
  ok(store().upsert_agent(Agent{kDefaultNamespace, "a*[x]?", "glob characters", kT0 + 3}));
  ok(store().upsert_agent(Agent{"other", "bob", "elsewhere", kT0}));
  auto agents = ok(store().list_agents(kDefaultNamespace));
  ASSERT_EQ(agents.size(), 3u);
  EXPECT_EQ(agents[0].id, "a*[x]?");
  EXPECT_EQ(agents[0].description, "glob characters");
  EXPECT_EQ(agents[1].id, "amy");
  EXPECT_EQ(agents[1].created_at, kT0 + 1);
  EXPECT_EQ(agents[2].id, "zed");
  EXPECT_EQ(agents[2].description, "the last");
  EXPECT_EQ(agents[2].created_at, kT0 + 2);
  EXPECT_EQ(agents[2].ns, kDefaultNamespace);
  auto other = ok(store().list_agents("other"));
  ASSERT_EQ(other.size(), 1u);
  EXPECT_EQ(other[0].id, "bob");
  EXPECT_THAT(ok(store().list_agents("nobody")), IsEmpty());
}

TEST_P(StoreBehaviour, ListsTheClaimsInForceByTaskId) {
  ASSERT_TRUE(ok(store().claim_task(kDefaultNamespace, "t2", "w1", "s1", kT0 + 2 * kMinute, kT0)).claimed);
  ASSERT_TRUE(
      ok(store().claim_task(kDefaultNamespace, "t1", "w2", "s2", kT0 + 3 * kMinute, kT0 + 5)).claimed);
  ASSERT_TRUE(ok(store().claim_task(kDefaultNamespace, "t3", "w1", "s1", kT0 + kMinute, kT0)).claimed);
  ASSERT_TRUE(ok(store().claim_task("other", "t9", "w1", "s1", kT0 + kMinute, kT0)).claimed);
  ASSERT_TRUE(ok(store().release_task(kDefaultNamespace, "t3", "w1", "s1", kT0 + 1)));

  auto claims = ok(store().list_task_claims(kDefaultNamespace, kT0 + 10));
  ASSERT_EQ(claims.size(), 2u);
  EXPECT_EQ(claims[0].task_id, "t1");
  EXPECT_EQ(claims[0].holder_agent, "w2");
  EXPECT_EQ(claims[0].holder_session, "s2");
  EXPECT_EQ(claims[0].claimed_at, kT0 + 5);
  EXPECT_EQ(claims[0].lease_until, kT0 + 3 * kMinute);
  EXPECT_EQ(claims[1].task_id, "t2");
  // A lease that ran out is no claim.
  claims = ok(store().list_task_claims(kDefaultNamespace, kT0 + 2 * kMinute));
  ASSERT_EQ(claims.size(), 1u);
  EXPECT_EQ(claims[0].task_id, "t1");
}

TEST_P(StoreBehaviour, ReportsTheBytesItUses) {
  add_session("s1");
  add(make_memory("s1", std::string(4096, 'x'), kT0 + 1));
  EXPECT_GT(ok(store().storage_bytes()), 0u);
}

// ---- tasks that stay done, fencing tokens ----

TEST_P(StoreBehaviour, EveryNewClaimGetsALargerTokenAndARenewalKeepsIt) {
  auto first = ok(store().claim_task(kDefaultNamespace, "t1", "a", "s-a", kT0 + kMinute, kT0));
  ASSERT_TRUE(first.claimed);
  auto renewed = ok(store().claim_task(kDefaultNamespace, "t1", "a", "s-a", kT0 + 2 * kMinute, kT0 + 1,
                                       first.current.token));
  EXPECT_TRUE(renewed.renewed);
  EXPECT_EQ(renewed.current.token, first.current.token);
  ASSERT_TRUE(ok(store().release_task(kDefaultNamespace, "t1", "a", "s-a", kT0 + 2, first.current.token)));
  auto second = ok(store().claim_task(kDefaultNamespace, "t1", "b", "s-b", kT0 + kMinute, kT0 + 3));
  ASSERT_TRUE(second.claimed);
  EXPECT_GT(second.current.token, first.current.token) << "a release does not recycle the token";
  // The lease runs out and another claims: larger again.
  auto third =
      ok(store().claim_task(kDefaultNamespace, "t1", "c", "s-c", kT0 + 5 * kMinute, kT0 + 2 * kMinute));
  ASSERT_TRUE(third.claimed);
  EXPECT_GT(third.current.token, second.current.token);
  EXPECT_EQ(ok(store().get_task(kDefaultNamespace, "t1", kT0 + 2 * kMinute)).last_token, third.current.token);
}

TEST_P(StoreBehaviour, AStaleTokenIsRefusedAndNothingOfItIsRecorded) {
  add_session("s-a", "a");
  add_session("s-b", "b");
  auto a = ok(store().claim_task(kDefaultNamespace, "t1", "a", "s-a", kT0 + kMinute, kT0));
  // a pauses past its lease; b claims the task.
  auto b = ok(store().claim_task(kDefaultNamespace, "t1", "b", "s-b", kT0 + 5 * kMinute, kT0 + 2 * kMinute));
  ASSERT_TRUE(b.claimed);
  auto late = ok(store().complete_task(kDefaultNamespace, "t1", a.current.token,
                                       make_memory("s-a", "a's late result", kT0 + 3 * kMinute, "a"),
                                       kT0 + 3 * kMinute));
  EXPECT_EQ(late.refusal, CompleteOutcome::Refusal::kStaleToken);
  ASSERT_TRUE(late.current.has_value());
  EXPECT_EQ(late.current->holder_agent, "b");
  EXPECT_EQ(late.last_token, b.current.token);
  EXPECT_TRUE(ok(store().query_memories(query())).empty()) << "the stale result is not stored";
  auto renew = ok(store().claim_task(kDefaultNamespace, "t1", "a", "s-a", kT0 + 9 * kMinute,
                                     kT0 + 3 * kMinute, a.current.token));
  EXPECT_FALSE(renew.claimed);
  EXPECT_TRUE(renew.stale_token);
  EXPECT_FALSE(
      ok(store().release_task(kDefaultNamespace, "t1", "b", "s-b", kT0 + 3 * kMinute, a.current.token)));

  Memory result = make_memory("s-b", "b's result", kT0 + 4 * kMinute, "b");
  auto done = ok(store().complete_task(kDefaultNamespace, "t1", b.current.token, result, kT0 + 4 * kMinute));
  EXPECT_EQ(done.refusal, CompleteOutcome::Refusal::kNone);
  EXPECT_TRUE(done.was_holder);
  auto stored = ok(store().query_memories(query()));
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].content, "b's result");
}

TEST_P(StoreBehaviour, ADoneTaskStaysDoneUntilReopened) {
  add_session("s-a", "a");
  auto claim = ok(store().claim_task(kDefaultNamespace, "t1", "a", "s-a", kT0 + kMinute, kT0));
  Memory result = make_memory("s-a", "the answer", kT0 + 1, "a");
  ASSERT_EQ(ok(store().complete_task(kDefaultNamespace, "t1", std::nullopt, result, kT0 + 1)).refusal,
            CompleteOutcome::Refusal::kNone)
      << "no token: the caller's current claim, checked by holder";
  EXPECT_FALSE(ok(store().get_task_claim(kDefaultNamespace, "t1", kT0 + 2)).has_value());

  auto again = ok(store().claim_task(kDefaultNamespace, "t1", "b", "s-b", kT0 + kMinute, kT0 + 2));
  EXPECT_FALSE(again.claimed);
  EXPECT_TRUE(again.done);
  ASSERT_TRUE(again.finished.has_value());
  EXPECT_EQ(again.finished->agent, "a");
  EXPECT_EQ(again.finished->at, kT0 + 1);
  EXPECT_EQ(again.finished->result_id, result.id);
  auto twice = ok(store().complete_task(kDefaultNamespace, "t1", std::nullopt,
                                        make_memory("s-a", "again", kT0 + 3, "a"), kT0 + 3));
  EXPECT_EQ(twice.refusal, CompleteOutcome::Refusal::kDone);

  auto task = ok(store().get_task(kDefaultNamespace, "t1", kT0 + 4));
  EXPECT_EQ(task.state, TaskState::kDone);
  ASSERT_TRUE(ok(store().reopen_task(kDefaultNamespace, "t1", "c", "s-c", kT0 + 5)));
  EXPECT_FALSE(ok(store().reopen_task(kDefaultNamespace, "t1", "c", "s-c", kT0 + 6))) << "not done any more";
  auto reclaimed = ok(store().claim_task(kDefaultNamespace, "t1", "b", "s-b", kT0 + kMinute, kT0 + 7));
  EXPECT_TRUE(reclaimed.claimed);
  EXPECT_GT(reclaimed.current.token, claim.current.token);
  task = ok(store().get_task(kDefaultNamespace, "t1", kT0 + 8));
  EXPECT_EQ(task.state, TaskState::kClaimed);
  std::vector<std::string> kinds;
  for (const auto& e : task.history) kinds.push_back(e.kind);
  EXPECT_EQ(kinds, (std::vector<std::string>{"claimed", "done", "reopened", "claimed"}));
  EXPECT_EQ(task.history[1].memory_id, result.id);
}

TEST_P(StoreBehaviour, WorkersRacingThroughClaimAndShareFinishEveryTaskOnce) {
  constexpr int kWorkers = 8;
  constexpr int kTasks = 40;
  for (int w = 0; w < kWorkers; ++w) add_session("s-" + std::to_string(w), "w" + std::to_string(w));
  std::atomic<int> failures{0};
  std::atomic<int> done{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&, w] {
      const std::string me = "w" + std::to_string(w);
      const std::string session = "s-" + std::to_string(w);
      for (int i = 0; i < kTasks; ++i) {
        const std::string task = "task-" + std::to_string((i + w * 5) % kTasks);
        const UnixMillis now = kT0 + i;
        auto claim = store().claim_task(kDefaultNamespace, task, me, session, now + 10 * kMinute, now);
        if (!claim) {
          ++failures;
          continue;
        }
        if (!claim->claimed) continue;
        Memory result;  // built here: make_memory's id generator belongs to the test thread
        result.id = "r-" + task + "-" + me;
        result.session_id = session;
        result.agent_id = me;
        result.content = me + " did " + task;
        result.created_at = now;
        result.tags = {"task:" + task};
        auto completed = store().complete_task(kDefaultNamespace, task, claim->current.token, result, now);
        if (!completed || completed->refusal != CompleteOutcome::Refusal::kNone) {
          ++failures;
          continue;
        }
        ++done;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(done.load(), kTasks);
  for (int t = 0; t < kTasks; ++t) {
    auto q = query();
    q.tags = {"task:task-" + std::to_string(t)};
    EXPECT_EQ(ok(store().query_memories(q)).size(), 1u) << "task-" << t;
    EXPECT_EQ(ok(store().get_task(kDefaultNamespace, "task-" + std::to_string(t), kT0)).state,
              TaskState::kDone);
  }
}

// ---- the durable change feed ----

ChangeQuery changes_query(UnixMillis now, std::optional<std::string> cursor = std::nullopt) {
  ChangeQuery q;
  q.cursor = std::move(cursor);
  q.limit = 1000;
  q.now = now;
  return q;
}

std::vector<std::string> kinds_of(const ChangePage& page) {
  std::vector<std::string> kinds;
  for (const auto& change : page.changes) kinds.push_back(change.kind);
  return kinds;
}

std::vector<std::string> subjects_of(const ChangePage& page) {
  std::vector<std::string> subjects;
  for (const auto& change : page.changes) subjects.push_back(change.subject);
  return subjects;
}

TEST_P(StoreBehaviour, ChangeFeedRecordsEveryKindOfChangeInOrder) {
  constexpr UnixMillis kMin = 60'000;
  add_session("s1", "agent-a", {}, kDefaultNamespace, kT0);
  Memory note = add(make_memory("s1", "a note", kT0 + 1, "agent-b"));
  ASSERT_TRUE(ok(store().delete_memory(kDefaultNamespace, note.id, "curator")));
  ASSERT_TRUE(
      ok(store().claim_task(kDefaultNamespace, "t1", "worker", "s1", kT0 + 3 + kMin, kT0 + 3)).claimed);
  // A renewal changes nothing anyone needs to follow: it is no entry.
  ASSERT_TRUE(
      ok(store().claim_task(kDefaultNamespace, "t1", "worker", "s1", kT0 + 4 + kMin, kT0 + 4)).renewed);
  ASSERT_TRUE(ok(store().release_task(kDefaultNamespace, "t1", "worker", "s1", kT0 + 5)));
  auto claim = ok(store().claim_task(kDefaultNamespace, "t1", "worker", "s1", kT0 + 6 + kMin, kT0 + 6));
  ASSERT_TRUE(claim.claimed);
  Memory result = make_memory("s1", "the result", kT0 + 7, "worker");
  result.type = "result";
  ASSERT_EQ(ok(store().complete_task(kDefaultNamespace, "t1", claim.current.token, result, kT0 + 7)).refusal,
            CompleteOutcome::Refusal::kNone);
  ASSERT_TRUE(ok(store().reopen_task(kDefaultNamespace, "t1", "reviewer", "s1", kT0 + 8)));
  ASSERT_TRUE(ok(store().close_session(kDefaultNamespace, "s1", kT0 + 9, "agent-a")));

  auto page = ok(store().read_changes(changes_query(kNow)));
  EXPECT_THAT(kinds_of(page), ElementsAre("session.created", "memory.written", "memory.forgotten",
                                          "task.claimed", "task.released", "task.claimed", "memory.written",
                                          "task.done", "task.reopened", "session.closed"));
  EXPECT_THAT(subjects_of(page),
              ElementsAre("s1", note.id, note.id, "t1", "t1", "t1", result.id, "t1", "t1", "s1"));
  ASSERT_EQ(page.changes.size(), 10u);
  EXPECT_FALSE(page.more);
  EXPECT_EQ(page.next_cursor, page.changes.back().cursor);
  for (const auto& change : page.changes) EXPECT_EQ(change.session_id, "s1") << change.kind;
  EXPECT_EQ(page.changes[0].agent, "agent-a");
  EXPECT_EQ(page.changes[0].at, kT0);
  EXPECT_EQ(page.changes[1].agent, "agent-b");
  EXPECT_EQ(page.changes[1].at, kT0 + 1);
  EXPECT_EQ(page.changes[2].agent, "curator");
  EXPECT_EQ(page.changes[3].agent, "worker");
  EXPECT_EQ(page.changes[3].at, kT0 + 3);
  EXPECT_EQ(page.changes[4].at, kT0 + 5);
  EXPECT_EQ(page.changes[7].agent, "worker");
  EXPECT_EQ(page.changes[7].at, kT0 + 7);
  EXPECT_EQ(page.changes[8].agent, "reviewer");
  EXPECT_EQ(page.changes[8].at, kT0 + 8);
  EXPECT_EQ(page.changes[9].at, kT0 + 9);
  EXPECT_EQ(page.changes[9].agent, "agent-a");
  // Cursors are distinct and every one reads on from its change.
  std::set<std::string> cursors;
  for (const auto& change : page.changes) cursors.insert(change.cursor);
  EXPECT_EQ(cursors.size(), page.changes.size());
  auto rest = ok(store().read_changes(changes_query(kNow, page.changes[6].cursor)));
  EXPECT_THAT(kinds_of(rest), ElementsAre("task.done", "task.reopened", "session.closed"));
}

TEST_P(StoreBehaviour, ChangeFeedPagesWithACursorEachChangeOnce) {
  add_session("s1");
  std::vector<std::string> written;
  for (int i = 0; i < 25; ++i) written.push_back(add(make_memory("s1", "m" + std::to_string(i), kT0 + i)).id);
  auto q = changes_query(kNow);
  q.kinds = {change_kind::kMemoryWritten};
  q.limit = 7;
  std::vector<std::string> seen;
  int pages = 0;
  for (;;) {
    auto page = ok(store().read_changes(q));
    ASSERT_LE(page.changes.size(), 7u);
    for (const auto& change : page.changes) seen.push_back(change.subject);
    ++pages;
    ASSERT_LT(pages, 20) << "the feed never ends";
    q.cursor = page.next_cursor;
    if (!page.more) break;
  }
  EXPECT_EQ(seen, written);
  // Nothing new: the same cursor comes back, so a client can poll with it.
  const std::string end = *q.cursor;
  auto idle = ok(store().read_changes(q));
  EXPECT_THAT(idle.changes, IsEmpty());
  EXPECT_FALSE(idle.more);
  EXPECT_EQ(idle.next_cursor, end);
  // A later write shows up after that cursor, alone.
  Memory late = add(make_memory("s1", "late", kT0 + 100));
  auto after = ok(store().read_changes(q));
  EXPECT_THAT(subjects_of(after), ElementsAre(late.id));
}

TEST_P(StoreBehaviour, ChangeFeedFiltersBySessionKindAndNamespace) {
  add_session("s1");
  add_session("s2", "agent-b");
  add_session("s1", "agent-x", {}, "team-b");
  Memory a = add(make_memory("s1", "in s1", kT0 + 1));
  Memory b = add(make_memory("s2", "in s2", kT0 + 2, "agent-b"));
  add(make_memory("s1", "other namespace", kT0 + 3, "agent-x", "team-b"));
  ASSERT_TRUE(ok(store().close_session(kDefaultNamespace, "s2", kT0 + 4)));

  auto only_s2 = changes_query(kNow);
  only_s2.session_id = "s2";
  auto page = ok(store().read_changes(only_s2));
  EXPECT_THAT(kinds_of(page), ElementsAre("session.created", "memory.written", "session.closed"));
  EXPECT_THAT(subjects_of(page), ElementsAre("s2", b.id, "s2"));

  auto sessions_only = changes_query(kNow);
  sessions_only.kinds = {change_kind::kSessionCreated, change_kind::kSessionClosed};
  EXPECT_THAT(subjects_of(ok(store().read_changes(sessions_only))), ElementsAre("s1", "s2", "s2"));

  auto all = ok(store().read_changes(changes_query(kNow)));
  EXPECT_THAT(subjects_of(all), ElementsAre("s1", "s2", a.id, b.id, "s2"));
  auto other = changes_query(kNow);
  other.ns = "team-b";
  auto theirs = ok(store().read_changes(other));
  EXPECT_THAT(kinds_of(theirs), ElementsAre("session.created", "memory.written"));
  EXPECT_EQ(theirs.changes[1].agent, "agent-x");
}

TEST_P(StoreBehaviour, ChangeFeedRefusesMalformedCursorsAndOnesPastTheRetention) {
  auto garbage = store().read_changes(changes_query(kNow, std::string("not a cursor")));
  ASSERT_FALSE(garbage.has_value());
  EXPECT_EQ(garbage.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(garbage.error().message, ::testing::HasSubstr("omit the cursor"));

  const std::string start = ok(store().read_changes(changes_query(kNow))).next_cursor;
  add_session("s1");
  for (int i = 0; i < 3; ++i) add(make_memory("s1", "old " + std::to_string(i), kT0 + i));
  // Within the retention (7 days by default) the cursor reads everything written since.
  EXPECT_EQ(ok(store().read_changes(changes_query(kNow, start))).changes.size(), 4u);

  // Eight days later those changes are past the retention: the cursor before them is refused, with
  // where to restart.
  const UnixMillis later = kT0 + 8 * 86'400'000LL;
  auto expired = store().read_changes(changes_query(later, start));
  ASSERT_FALSE(expired.has_value());
  EXPECT_EQ(expired.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(expired.error().message, ::testing::HasSubstr("retention"));
  EXPECT_THAT(expired.error().message, ::testing::HasSubstr("omit the cursor"));
  // Without a cursor the feed starts at the oldest change kept: none of the old ones.
  Memory fresh = add(make_memory("s1", "fresh", later));
  auto restarted = ok(store().read_changes(changes_query(later)));
  EXPECT_THAT(subjects_of(restarted), ElementsAre(fresh.id));
  // The cursor the error names reads on from there too.
  auto named = store().read_changes(changes_query(later, start));
  ASSERT_FALSE(named.has_value());
  const std::string& message = named.error().message;
  const auto at = message.find("restart from cursor ");
  ASSERT_NE(at, std::string::npos) << message;
  std::string oldest = message.substr(at + std::string("restart from cursor ").size());
  oldest = oldest.substr(0, oldest.find(','));
  auto resumed = ok(store().read_changes(changes_query(later, oldest)));
  EXPECT_THAT(subjects_of(resumed), ElementsAre(fresh.id));

  // Trimming (purge_expired's cheap path) removes what was past the retention and changes none of that.
  ok(store().purge_expired(later), "purge_expired");
  auto trimmed = store().read_changes(changes_query(later, start));
  ASSERT_FALSE(trimmed.has_value());
  EXPECT_EQ(trimmed.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(subjects_of(ok(store().read_changes(changes_query(later)))), ElementsAre(fresh.id));
  EXPECT_THAT(subjects_of(ok(store().read_changes(changes_query(later, oldest)))), ElementsAre(fresh.id));
}

}  // namespace
}  // namespace memtrace::testing
