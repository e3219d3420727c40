// The session context digest: golden files for its layout across budgets, and the rules every
// digest keeps (budget, whole UTF-8 characters, no memory twice, what is dropped first, determinism).
// MEMTRACE_UPDATE_GOLDEN=1 rewrites tests/unit/golden/*.md from the current output.
#include "memory/context.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "memory/sessions.h"
#include "session_test_harness.h"
#include "support/utf8_check.h"

namespace memtrace {
namespace {

using testing::at;

const std::string kGoldenDir = std::string(MEMTRACE_SOURCE_DIR) + "/tests/unit/golden/";

void expect_golden(const std::string& name, const std::string& actual) {
  const std::string path = kGoldenDir + name;
  const char* update = std::getenv("MEMTRACE_UPDATE_GOLDEN");
  if (update && std::string(update) == "1") {
    std::ofstream(path, std::ios::binary) << actual;
    return;
  }
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << "missing golden file " << path << "; run with MEMTRACE_UPDATE_GOLDEN=1 to create it";
  std::stringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(actual, expected.str()) << "digest differs from " << path
                                    << " (MEMTRACE_UPDATE_GOLDEN=1 rewrites it after a deliberate change)";
}

using memtrace::testing::valid_utf8;

Memory memory(const std::string& id, const char* when, const std::string& agent, const std::string& type,
              const std::string& content, double importance, std::vector<std::string> tags = {}) {
  Memory m;
  m.id = id;
  m.session_id = "support-42";
  m.agent_id = agent;
  m.type = type;
  m.content = content;
  m.importance = importance;
  m.created_at = at(when);
  m.tags = std::move(tags);
  return m;
}

Memory decision(const std::string& id, const char* when, const std::string& agent, const std::string& content,
                const std::string& reasoning, double importance = 0.7) {
  Memory m = memory(id, when, agent, "decision", content, importance);
  m.reasoning = reasoning;
  return m;
}

// The three-department support desk of the Memtrace guide, one morning.
ContextMaterial support_desk() {
  ContextMaterial in;
  Session& s = in.session.session;
  s.id = "support-42";
  s.created_by = "juan-internet";
  s.metadata = {{"account_id", "\"42\""}, {"channel", "\"telegram\""}};
  s.created_at = at("2026-11-20T08:00:00Z");
  s.updated_at = at("2026-11-20T08:00:00Z");
  in.session.agents = {"cecilia-billing", "juan-internet", "martin-tv"};
  in.session.last_activity = at("2026-11-20T08:52:10Z");
  in.now = at("2026-11-20T09:00:00Z");
  in.memories = {
      memory("M01", "2026-11-20T08:01:05Z", "juan-internet", "event",
             "Customer reports the router drops Wi-Fi "
             "every evening around 8pm.",
             0.6, {"router", "wifi"}),
      memory("M02", "2026-11-20T08:03:40Z", "juan-internet", "fact",
             "Router model is TP-Link Archer AX50, "
             "firmware 1.0.3.",
             0.8, {"router"}),
      memory("M03", "2026-11-20T08:05:12Z", "juan-internet", "action",
             "Pushed firmware 1.0.11 remotely; "
             "router rebooted.",
             0.5, {"router", "firmware"}),
      decision("M04", "2026-11-20T08:06:00Z", "juan-internet",
               "Schedule a technician if drops continue after "
               "the firmware update.",
               "Firmware 1.0.3 has a known Wi-Fi scheduler bug; a technician visit "
               "costs more than waiting a day."),
      memory("M05", "2026-11-20T08:20:31Z", "martin-tv", "observation",
             "Customer asked whether HBO is "
             "included in the Plus plan.",
             0.3, {"tv", "hbo"}),
      memory("M06", "2026-11-20T08:21:02Z", "martin-tv", "fact",
             "Customer has the Plus plan without sports "
             "package.",
             0.75, {"tv", "plan"}),
      memory("M07", "2026-11-20T08:40:44Z", "cecilia-billing", "observation",
             "Customer disputes a 15 EUR "
             "late fee on the October invoice.",
             0.5, {"billing", "dispute"}),
      decision("M08", "2026-11-20T08:45:00Z", "cecilia-billing", "Waive the October late fee.",
               "Customer since 2015, first late payment, and the router outage overlapped the due date.",
               0.9),
      memory("M09", "2026-11-20T08:47:18Z", "cecilia-billing", "action", "Credited 15 EUR to the account.",
             0.4, {"billing", "credit"}),
      memory("M10", "2026-11-20T08:52:10Z", "juan-internet", "result",
             "Customer confirms Wi-Fi is stable "
             "since the firmware update.",
             0.5, {"router", "resolved"}),
  };
  in.total = in.memories.size();
  return in;
}

TEST(ContextGolden, SupportDeskAcrossBudgets) {
  const ContextMaterial in = support_desk();
  for (std::size_t budget : {1, 8, 20, 40, 80, 160, 250, 400, 2000}) {
    Digest d = render_context(in, budget);
    char name[64];
    std::snprintf(name, sizeof name, "support_desk_%04zu.md", budget);
    expect_golden(name, d.text);
    EXPECT_LE(d.tokens_estimate, budget) << name;
    EXPECT_EQ(d.tokens_estimate, estimate_tokens(d.text));
  }
}

TEST(ContextGolden, EmptySession) {
  ContextMaterial in;
  in.session.session.id = "fresh";
  in.session.session.created_by = "researcher";
  in.session.session.created_at = in.session.session.updated_at = at("2026-11-20T08:00:00Z");
  in.now = at("2026-11-20T09:00:00Z");
  expect_golden("empty_session.md", render_context(in, 2000).text);

  in.stored = false;  // a connection's current session before its first write
  expect_golden("unstored_session.md", render_context(in, 2000).text);
}

TEST(ContextGolden, ClosedSessionWithWindowAndTypes) {
  ContextMaterial in = support_desk();
  in.session.session.status = SessionStatus::kClosed;
  in.session.session.closed_at = at("2026-11-20T08:55:00Z");
  in.since = at("2026-11-20T08:30:00Z");
  in.types = {"decision", "action"};
  std::erase_if(in.memories, [&](const Memory& m) {
    return m.created_at < *in.since || (m.type != "decision" && m.type != "action");
  });
  in.total = in.memories.size();
  expect_golden("closed_window_types.md", render_context(in, 2000).text);
}

TEST(ContextGolden, UnicodeAtEveryCut) {
  ContextMaterial in;
  in.session.session.id = "séance-日本-🚀";
  in.session.session.created_by = "agent-ü";
  in.session.session.created_at = in.session.session.updated_at = at("2026-11-20T08:00:00Z");
  in.session.session.metadata = {{"ville", "\"Zürich\""}};
  in.session.agents = {"agent-ü", "エージェント"};
  in.now = at("2026-11-20T09:00:00Z");
  // 276 ASCII bytes, then 4-byte emojis: the cut at 277 bytes (280 with "...") lands inside the first.
  std::string long_content = std::string(275, 'a') + " 🚀🚀🚀 after";
  in.memories = {
      memory("U1", "2026-11-20T08:10:00Z", "エージェント", "fact", long_content, 0.9, {"ünïcode"}),
      memory("U2", "2026-11-20T08:20:00Z", "agent-ü", "observation",
             "Ärger mit dem Router — 路由器 ✓\nzweite Zeile", 0.5),
      // Reasoning is cut at 197 bytes (200 with "..."): inside 日.
      decision("U3", "2026-11-20T08:30:00Z", "agent-ü", "Entscheidung: 続ける",
               std::string(196, 'r') + "日本語"),
  };
  in.total = 3;
  // 8 tokens = 32 bytes: the title is cut at 29, inside 日 of "séance-日本-🚀".
  for (std::size_t budget : {3, 8, 2000}) {
    Digest d = render_context(in, budget);
    EXPECT_TRUE(valid_utf8(d.text)) << budget;
    EXPECT_LE(d.tokens_estimate, budget);
    expect_golden("unicode_" + std::to_string(budget) + ".md", d.text);
  }
  EXPECT_EQ(render_context(in, 8).text, "# Session context: séance-...");
  const std::string full = render_context(in, 2000).text;
  EXPECT_NE(full.find(": " + std::string(275, 'a') + " ...\n"), std::string::npos) << full;
  EXPECT_NE(full.find("because: " + std::string(196, 'r') + "...\n"), std::string::npos) << full;
}

// ---- rules every digest keeps -------------------------------------------------------------------

TEST(ContextRules, EveryBudgetIsHonouredWithWholeCharactersAndNoMemoryTwice) {
  ContextMaterial in = support_desk();
  in.memories.push_back(memory("M11", "2026-11-20T08:53:00Z", "martin-tv", "observation",
                               "Ünïcödé — 日本語のテキスト 🚀 " + std::string(300, 'x'), 0.5));
  in.total = in.memories.size();
  Digest d;
  for (std::size_t budget = 1; budget <= 700; ++budget) {
    d = render_context(in, budget);
    ASSERT_LE(d.text.size(), budget * kBytesPerToken) << budget;
    ASSERT_LE(d.tokens_estimate, budget) << budget;
    ASSERT_TRUE(valid_utf8(d.text)) << budget;
    ASSERT_EQ(d.listed + d.omitted, in.total) << budget;
    for (const auto& m : in.memories) {
      // Each content appears at most once (contents are distinct; the first 40 bytes identify them).
      const std::string key = m.content.substr(0, 40);
      std::size_t first = d.text.find(key);
      if (first != std::string::npos) {
        ASSERT_EQ(d.text.find(key, first + 1), std::string::npos) << m.id << " twice at budget " << budget;
      }
    }
    if (d.omitted > 0 && d.text.find("omitted") == std::string::npos) {
      // Only a budget too small for the title and that line together may leave it out.
      ASSERT_LE(std::count(d.text.begin(), d.text.end(), '\n'), 1) << "no omitted line at " << budget << ":\n"
                                                                   << d.text;
    }
  }
  EXPECT_EQ(d.listed, in.total);  // 700 tokens hold everything
  EXPECT_EQ(d.text.find("omitted"), std::string::npos);
}

TEST(ContextRules, DropsTheLeastImportantThenTheOldestFirst) {
  ContextMaterial in = support_desk();
  // Expected survival order: importance descending, then newest first.
  std::vector<Memory> order = in.memories;
  std::sort(order.begin(), order.end(), [](const Memory& a, const Memory& b) {
    if (a.importance != b.importance) return a.importance > b.importance;
    return a.id > b.id;  // ids grow with time
  });
  for (std::size_t budget = 60; budget <= 600; budget += 7) {
    Digest d = render_context(in, budget);
    for (std::size_t i = 0; i < order.size(); ++i) {
      const bool shown = d.text.find(order[i].content.substr(0, 30)) != std::string::npos;
      EXPECT_EQ(shown, i < d.listed) << "budget " << budget << ": " << order[i].id;
    }
  }
}

TEST(ContextRules, OmittedLineCountsWhatWasLeftOut) {
  ContextMaterial in = support_desk();
  Digest d = render_context(in, 120);
  ASSERT_GT(d.omitted, 1u);
  EXPECT_NE(d.text.find("… " + std::to_string(d.omitted) + " older or less important memories omitted"),
            std::string::npos)
      << d.text;
  // More matching memories than were read: the count is a lower bound and says so.
  in.total = 500;
  in.total_is_lower_bound = true;
  d = render_context(in, 120);
  EXPECT_NE(d.text.find("… at least " + std::to_string(d.omitted) + " older"), std::string::npos) << d.text;
  EXPECT_EQ(d.omitted, 500 - d.listed);
}

TEST(ContextRules, SameInputSameBytesWhateverTheOrderOfMemories) {
  ContextMaterial in = support_desk();
  const std::string expected = render_context(in, 300).text;
  std::mt19937 random(7);
  for (int i = 0; i < 20; ++i) {
    std::shuffle(in.memories.begin(), in.memories.end(), random);
    ASSERT_EQ(render_context(in, 300).text, expected);
  }
}

TEST(ContextRules, LongContentsAreCutPerLineAndStayOnOneLine) {
  ContextMaterial in = support_desk();
  in.memories = {memory("L1", "2026-11-20T08:10:00Z", "a", "fact",
                        "first\nsecond\r\tthird " + std::string(1000, 'z'), 0.5)};
  in.total = 1;
  Digest d = render_context(in, 2000);
  EXPECT_NE(d.text.find("first second  third zzz"), std::string::npos) << d.text;
  EXPECT_NE(d.text.find("z...\n"), std::string::npos);
  EXPECT_EQ(d.text.find(std::string(300, 'z')), std::string::npos);
  EXPECT_EQ(d.omitted, 0u);
}

// ---- through the store ------------------------------------------------------------------------

struct ContextStoreTest : ::testing::Test {
  testing::SessionHarness h;
  Caller researcher{kDefaultNamespace, "researcher", "research-1"};
  Caller summarizer{kDefaultNamespace, "summarizer", "research-1"};

  void remember(const Caller& who, const std::string& content, double importance,
                const std::string& type = "fact") {
    RememberInput input;
    input.content = content;
    input.importance = importance;
    input.type = type;
    ASSERT_TRUE(h.engine.remember(who, input));
    h.clock.advance_ms(61 * 1000);
  }
};

TEST_F(ContextStoreTest, TwoAgentsOneSessionGolden) {
  remember(researcher, "Time-series databases compress sequential data 10-20x.", 0.8);
  remember(researcher, "InfluxDB, TimescaleDB and Arc were compared.", 0.5, "observation");
  DecideInput decide;
  decide.decision = "Recommend TimescaleDB for the report.";
  decide.reasoning = "It keeps SQL and the team already runs PostgreSQL.";
  ASSERT_TRUE(h.engine.decide(researcher, decide));
  h.clock.advance_ms(61 * 1000);
  remember(summarizer, "Drafted the summary report, 2 pages.", 0.4, "action");

  ContextRequest request;
  auto digest = session_context(h.engine, summarizer, "research-1", request);
  ASSERT_TRUE(digest) << digest.error().message;
  expect_golden("store_two_agents.md", digest->text);
  EXPECT_EQ(digest->listed, 4u);
  EXPECT_EQ(digest->omitted, 0u);

  // since: only what happened in the last 2 minutes (the decision and the summary).
  request.since = "150s";
  digest = session_context(h.engine, summarizer, "research-1", request);
  ASSERT_TRUE(digest);
  EXPECT_EQ(digest->listed, 2u) << digest->text;
  EXPECT_NE(digest->text.find("Recommend TimescaleDB"), std::string::npos);
  EXPECT_EQ(digest->text.find("compress sequential"), std::string::npos);

  request.since.reset();
  request.types = {"observation"};
  digest = session_context(h.engine, summarizer, "research-1", request);
  ASSERT_TRUE(digest);
  EXPECT_EQ(digest->listed, 1u) << digest->text;
}

TEST_F(ContextStoreTest, UnknownSessionIsNotFoundButTheOwnUnstoredSessionIsEmpty) {
  auto missing = session_context(h.engine, researcher, "no-such-session", {});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);

  auto own = session_context(h.engine, researcher, "", {});  // research-1, nothing written yet
  ASSERT_TRUE(own) << own.error().message;
  EXPECT_NE(own->text.find("nothing stored yet"), std::string::npos);
}

TEST_F(ContextStoreTest, BadRequestsAreExplained) {
  ContextRequest request;
  request.max_tokens = 0;
  auto r = session_context(h.engine, researcher, "", request);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("max_tokens must be between 1 and 100000"), std::string::npos);
  request.max_tokens = 100;
  request.since = "yesterday";
  r = session_context(h.engine, researcher, "", request);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("since accepts"), std::string::npos);
  request.since.reset();
  request.types = {"gossip"};
  r = session_context(h.engine, researcher, "", request);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("got \"gossip\""), std::string::npos);
}

TEST_F(ContextStoreTest, ExpiredMemoriesAreNotInTheDigest) {
  RememberInput input;
  input.content = "Temporary door code is 4711.";
  input.ttl = "1h";
  ASSERT_TRUE(h.engine.remember(researcher, input));
  ASSERT_NE(session_context(h.engine, researcher, "", {})->text.find("4711"), std::string::npos);
  h.clock.advance_ms(2 * 3600 * 1000);
  auto later = session_context(h.engine, researcher, "", {});
  ASSERT_TRUE(later);
  EXPECT_EQ(later->text.find("4711"), std::string::npos) << later->text;
  EXPECT_EQ(later->listed + later->omitted, 0u);
}

}  // namespace
}  // namespace memtrace
