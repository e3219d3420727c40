// export, import, stats and context: the built binary's one-shot data commands, on temporary SQLite
// files and a private redis-server (unix socket in a temp dir).
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/child_process.h"
#include "support/mcp_client.h"
#include "support/redis_server.h"
#include "support/temp_dir.h"

namespace memtrace::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct Outcome {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs memtrace-mcp with `args`, feeding `input` on stdin; collects stdout, stderr and the exit code.
Outcome run(std::vector<std::string> args, const std::string& input = "") {
  args.insert(args.begin(), MEMTRACE_BINARY);
  ChildProcess child(args);
  child.write(input);
  child.close_stdin();
  Outcome outcome;
  while (auto line = child.read_line(std::chrono::seconds(30))) outcome.out += *line + "\n";
  auto code = child.wait(std::chrono::seconds(30));
  EXPECT_TRUE(code.has_value()) << "memtrace-mcp " << args[1] << " did not exit";
  outcome.exit_code = code.value_or(-1);
  outcome.err = child.stderr_text();
  return outcome;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

struct ExportImport : ::testing::Test {
  TempDir dir{"memtrace-export"};
  std::string sqlite(const std::string& name) const { return "sqlite:" + dir.file(name); }

  // Two namespaces; agents, sessions (one closed, with metadata), memories with tags, metadata and a
  // TTL, a decision, a task claim.
  void fill(const std::string& store) {
    {
      McpClient client{{"--store", store, "--agent", "researcher", "--session", "s-main"}};
      client.initialize();
      client.call_tool("memtrace_agent_register", {{"name", "researcher"}, {"description", "reads papers"}});
      client.call_tool("memtrace_remember", {{"content", "Paper A says ünïcödé \"quotes\"\nand lines"},
                                             {"tags", {"paper", "a"}},
                                             {"importance", 0.9},
                                             {"metadata", {{"source", "arxiv"}, {"n", 3}}}});
      client.call_tool("memtrace_remember",
                       {{"content", "expires in a week"}, {"ttl", "7d"}, {"type", "fact"}});
      client.call_tool("memtrace_decide", {{"decision", "use paper A"}, {"reasoning", "it is newer"}});
      auto claim = client.call_tool("memtrace_claim_task", {{"task_id", "summarize-a"}, {"lease", "1h"}});
      ASSERT_FALSE(claim.value("isError", false)) << claim.dump();
      client.call_tool("memtrace_session_create", {{"metadata", {{"account_id", "42"}}}});
      client.call_tool("memtrace_remember", {{"content", "in the customer's session"}});
      client.call_tool("memtrace_session_close", Json::object());
      client.process().close_stdin();
      ASSERT_EQ(client.process().wait(), 0);
    }
    McpClient other{{"--store", store, "--agent", "summarizer", "--namespace", "team-b", "--session", "s-b"}};
    other.initialize();
    other.call_tool("memtrace_remember", {{"content", "another tenant"}});
    other.process().close_stdin();
    ASSERT_EQ(other.process().wait(), 0);
  }

  std::string export_of(const std::string& store, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--store", store, "export"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto outcome = run(args);
    EXPECT_EQ(outcome.exit_code, 0) << outcome.err;
    return outcome.out;
  }

  Outcome import_into(const std::string& store, const std::string& input) {
    return run({"--store", store, "import"}, input);
  }
};

TEST_F(ExportImport, TheExportHasAVersionedHeaderAndEveryKindOfRecord) {
  fill(sqlite("a.db"));
  auto lines = lines_of(export_of(sqlite("a.db")));
  ASSERT_FALSE(lines.empty());
  auto header = Json::parse(lines[0]);
  EXPECT_EQ(header["format"], "memtrace-export");
  EXPECT_EQ(header["version"], 2);
  std::map<std::string, int> kinds;
  bool decision_with_reasoning = false, closed_session = false, ttl = false;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    auto record = Json::parse(lines[i]);
    ++kinds[record["kind"]];
    if (record.value("type", "") == "decision")
      decision_with_reasoning = record["reasoning"] == "it is newer";
    if (record.value("status", "") == "closed") closed_session = record.contains("closed_at");
    if (record.contains("expires_at")) ttl = true;
  }
  EXPECT_EQ(kinds["agent"], 2);
  EXPECT_EQ(kinds["session"], 3);
  EXPECT_EQ(kinds["memory"], 5);
  EXPECT_EQ(kinds["task_claim"], 1);
  EXPECT_TRUE(decision_with_reasoning);
  EXPECT_TRUE(closed_session);
  EXPECT_TRUE(ttl);
}

TEST_F(ExportImport, SupersededMemoriesKeepTheirMarkersThroughSqliteRedisAndBack) {
  std::string old_id, new_id;
  {
    McpClient client{{"--store", sqlite("a.db"), "--agent", "support", "--session", "s-router"}};
    client.initialize();
    old_id = client.call_tool("memtrace_remember",
                              {{"content", "router is a TP-Link"}})["structuredContent"]["id"];
    new_id = client.call_tool("memtrace_remember", {{"content", "router is a Netgear"},
                                                    {"supersedes", {old_id}}})["structuredContent"]["id"];
    client.process().close_stdin();
    ASSERT_EQ(client.process().wait(), 0);
  }
  const std::string first = export_of(sqlite("a.db"));
  bool marked = false;
  for (const auto& line : lines_of(first)) {
    auto record = Json::parse(line);
    if (record.value("id", "") == old_id)
      marked = record.value("superseded_by", "") == new_id && record.contains("valid_until");
    if (record.value("id", "") == new_id) {
      EXPECT_FALSE(record.contains("superseded_by")) << line;
    }
  }
  EXPECT_TRUE(marked) << first;

  RedisServer redis;
  auto into_redis = import_into(redis.url(), first);
  ASSERT_EQ(into_redis.exit_code, 0) << into_redis.err;
  EXPECT_EQ(export_of(redis.url()), first);
  auto back = import_into(sqlite("b.db"), export_of(redis.url()));
  ASSERT_EQ(back.exit_code, 0) << back.err;
  EXPECT_EQ(export_of(sqlite("b.db")), first);

  // Imported, the old memory is still superseded: recall leaves it out unless asked.
  McpClient client{{"--store", sqlite("b.db"), "--agent", "support"}};
  client.initialize();
  auto current = client.call_tool("memtrace_recall",
                                  {{"since", "2000-01-01T00:00:00Z"}})["structuredContent"]["memories"];
  ASSERT_EQ(current.size(), 1u);
  EXPECT_EQ(current[0]["id"], new_id);
  auto all = client.call_tool(
      "memtrace_recall",
      {{"since", "2000-01-01T00:00:00Z"}, {"include_superseded", true}})["structuredContent"]["memories"];
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1]["superseded_by"], new_id);
}

TEST_F(ExportImport, SqliteToRedisToSqliteGivesIdenticalExports) {
  RedisServer redis;
  fill(sqlite("a.db"));
  const std::string first = export_of(sqlite("a.db"));

  auto into_redis = import_into(redis.url(), first);
  ASSERT_EQ(into_redis.exit_code, 0) << into_redis.err;
  EXPECT_THAT(into_redis.err, HasSubstr("5 memories added"));
  const std::string from_redis = export_of(redis.url());
  EXPECT_EQ(from_redis, first);

  auto back = import_into(sqlite("b.db"), from_redis);
  ASSERT_EQ(back.exit_code, 0) << back.err;
  EXPECT_EQ(export_of(sqlite("b.db")), first);

  // The imported memories are found by the tools as the originals were.
  McpClient client{{"--store", redis.url(), "--agent", "reader"}};
  client.initialize();
  auto found =
      client.call_tool("memtrace_search", {{"tags", {"paper"}}, {"since", "30d"}})["structuredContent"];
  ASSERT_EQ(found["memories"].size(), 1u);
  EXPECT_EQ(found["memories"][0]["agent_id"], "researcher");
}

// A Redis namespace keeps the key layout it got with its first memory. One filled in layout 1 (by a build
// before layout 2, or with --redis-layout 1) moves into layout 2 by an export imported where the
// namespace is new: the same records, found by tag and agent as before, with no sorted set per tag.
TEST_F(ExportImport, AnExportImportedIntoANewRedisDatabaseMovesItIntoLayout2) {
  RedisServer redis;
  auto layout_of = [&](int db, const std::string& ns) {
    RedisClient client(redis.socket_path());  // one connection: SELECT holds for what follows
    client.command({"SELECT", std::to_string(db)});
    auto value = client.command({"GET", "mt:v1:{" + ns + "}:mi:v"}).text;
    auto tag_sets = client.command({"KEYS", "mt:v1:{" + ns + "}:mi:g:*"}).elements.size();
    return value + (tag_sets > 0 ? " with tag sets" : " without tag sets");
  };
  {
    McpClient client{{"--store", redis.url(0), "--redis-layout", "1", "--agent", "researcher"}};
    client.initialize();
    client.call_tool("memtrace_remember", {{"content", "paper A"}, {"tags", {"paper", "a"}}});
    client.call_tool("memtrace_remember", {{"content", "paper B"}, {"tags", {"paper"}}});
    client.process().close_stdin();
    ASSERT_EQ(client.process().wait(), 0);
  }
  EXPECT_EQ(layout_of(0, "default"), "1 with tag sets");
  const std::string exported = export_of(redis.url(0));
  auto moved = import_into(redis.url(1), exported);
  ASSERT_EQ(moved.exit_code, 0) << moved.err;
  EXPECT_EQ(layout_of(1, "default"), "2 without tag sets");
  EXPECT_EQ(export_of(redis.url(1)), exported);
  McpClient client{{"--store", redis.url(1), "--agent", "reader"}};
  client.initialize();
  auto found = client.call_tool("memtrace_search",
                                {{"tags", {"paper"}}, {"agent_id", "researcher"}, {"since", "30d"}});
  ASSERT_EQ(found["structuredContent"]["memories"].size(), 2u) << found.dump();
  EXPECT_EQ(found["structuredContent"]["memories"][0]["content"], "paper B");
}

TEST_F(ExportImport, ALayoutOtherThan1Or2IsRefused) {
  auto refused = run({"--store", "memory", "--redis-layout", "3"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.err, HasSubstr("--redis-layout"));
}

TEST_F(ExportImport, ImportingTwiceChangesNothing) {
  RedisServer redis;
  fill(sqlite("a.db"));
  const std::string exported = export_of(sqlite("a.db"));
  for (const std::string& store : {sqlite("b.db"), redis.url()}) {
    ASSERT_EQ(import_into(store, exported).exit_code, 0);
    const std::string once = export_of(store);
    auto again = import_into(store, exported);
    ASSERT_EQ(again.exit_code, 0) << again.err;
    EXPECT_THAT(again.err, HasSubstr("0 agents added, 2 already present")) << store;
    EXPECT_THAT(again.err, HasSubstr("0 sessions added, 3 already present")) << store;
    EXPECT_THAT(again.err, HasSubstr("0 memories added, 5 already present")) << store;
    EXPECT_THAT(again.err, HasSubstr("0 task claims added, 1 already present")) << store;
    EXPECT_EQ(export_of(store), once) << store;
  }
}

TEST_F(ExportImport, MalformedLinesAreRefusedByNumberAndNothingIsWritten) {
  RedisServer redis;
  fill(sqlite("a.db"));
  auto lines = lines_of(export_of(sqlite("a.db")));
  ASSERT_GT(lines.size(), 6u);
  std::string input;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i == 3) input += "{\"kind\": \"memory\", \"ns\": \"default\"}\n";  // line 4
    if (i == 5) input += "not json\n";                                     // line 7
    input += lines[i] + "\n";
  }
  input += R"({"kind":"memory","ns":"default","id":"x1","session_id":"nowhere","agent_id":"a","type":"fact",)"
           R"("content":"orphan","tags":[],"importance":0.5,"created_at":"2024-01-01T00:00:00Z"})"
           "\n";
  const std::size_t orphan_line = lines.size() + 3;
  for (const std::string& store : {sqlite("b.db"), redis.url()}) {
    auto refused = import_into(store, input);
    EXPECT_EQ(refused.exit_code, 1) << store;
    EXPECT_THAT(refused.err, HasSubstr("line 4: \"id\" is missing")) << store;
    EXPECT_THAT(refused.err, HasSubstr("line 7: not valid JSON")) << store;
    EXPECT_THAT(refused.err, HasSubstr("line " + std::to_string(orphan_line) +
                                       ": memory x1 belongs to session "
                                       "nowhere, which is neither in the input nor in the store"))
        << store;
    EXPECT_THAT(refused.err, HasSubstr("nothing was written")) << store;
    EXPECT_EQ(lines_of(export_of(store)).size(), 1u) << "only the header: " << store;
  }
}

TEST_F(ExportImport, ImportRefusesAnUnknownFormatVersion) {
  auto refused = import_into(sqlite("b.db"), "{\"format\":\"memtrace-export\",\"version\":99}\n");
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("line 1: format version 99 is not one this memtrace-mcp reads"));
  auto not_export = import_into(sqlite("b.db"), "{\"jsonrpc\":\"2.0\"}\n");
  EXPECT_EQ(not_export.exit_code, 1);
  EXPECT_THAT(not_export.err, HasSubstr("line 1: the first line is not a memtrace export header"));
}

TEST_F(ExportImport, ExportNarrowsToANamespaceOrASession) {
  fill(sqlite("a.db"));
  auto team_b = lines_of(export_of(sqlite("a.db"), {"--namespace", "team-b"}));
  EXPECT_EQ(Json::parse(team_b[0])["namespace"], "team-b");
  ASSERT_EQ(team_b.size(), 4u);  // header, agent, session, memory
  for (std::size_t i = 1; i < team_b.size(); ++i) EXPECT_EQ(Json::parse(team_b[i])["ns"], "team-b");

  auto main = lines_of(export_of(sqlite("a.db"), {"--session", "s-main"}));
  std::size_t memories = 0;
  for (std::size_t i = 1; i < main.size(); ++i) {
    auto record = Json::parse(main[i]);
    if (record["kind"] == "memory") {
      ++memories;
      EXPECT_EQ(record["session_id"], "s-main");
    }
    if (record["kind"] == "session") {
      EXPECT_EQ(record["id"], "s-main");
    }
  }
  EXPECT_EQ(memories, 3u);
  // What it holds imports on its own.
  auto imported = import_into(sqlite("c.db"), export_of(sqlite("a.db"), {"--session", "s-main"}));
  EXPECT_EQ(imported.exit_code, 0) << imported.err;
}

TEST_F(ExportImport, StatsCountPerNamespaceTypeAgentAndSession) {
  fill(sqlite("a.db"));
  auto stats = run({"--store", sqlite("a.db"), "stats"});
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  EXPECT_THAT(stats.out, HasSubstr("size: "));
  EXPECT_THAT(stats.out, HasSubstr("namespaces: 2"));
  EXPECT_THAT(stats.out,
              HasSubstr("namespace default: 4 memories, 2 sessions (1 active), 1 agents, 1 task claims"));
  EXPECT_THAT(stats.out, HasSubstr("namespace team-b: 1 memories, 1 sessions (1 active), 1 agents"));
  EXPECT_THAT(stats.out, ::testing::ContainsRegex("decision +1"));
  EXPECT_THAT(stats.out, ::testing::ContainsRegex("researcher +4"));
  EXPECT_THAT(stats.out, ::testing::ContainsRegex("s-main +3"));
}

TEST_F(ExportImport, ContextPrintsTheDigestTheToolRenders) {
  fill(sqlite("a.db"));
  McpClient client{{"--store", sqlite("a.db"), "--agent", "reader"}};
  client.initialize();
  auto tool = client.call_tool("memtrace_session_context",
                               {{"session_id", "s-main"}})["structuredContent"]["context"];
  auto printed = run({"--store", sqlite("a.db"), "context", "s-main"});
  ASSERT_EQ(printed.exit_code, 0) << printed.err;
  EXPECT_THAT(printed.out, HasSubstr("# Session context: s-main"));
  EXPECT_THAT(printed.out, HasSubstr("use paper A"));
  // The same digest, but for the "now" in its window line.
  auto without_now = [](std::string text) {
    auto at = text.find("up to ");
    return at == std::string::npos ? text : text.erase(at, 26);
  };
  std::string digest = tool.get<std::string>();
  if (digest.empty() || digest.back() != '\n') digest += '\n';  // the command ends its output with a newline
  EXPECT_EQ(without_now(printed.out), without_now(digest));
  auto unknown = run({"--store", sqlite("a.db"), "context", "no-such-session"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.out, Not(HasSubstr("Session context")));
}

}  // namespace
}  // namespace memtrace::testing
