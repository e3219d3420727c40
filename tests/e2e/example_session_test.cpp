// Runs examples/session.jsonl exactly as documented (memtrace-mcp --store memory < examples/session.jsonl;
// --store redis://... in the redis.* run) and checks that every request gets one non-error reply and the
// process exits 0.
#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/child_process.h"
#include "support/e2e_store.h"

namespace {

using memtrace::testing::ChildProcess;
using memtrace::testing::E2eStore;
using nlohmann::json;

const std::string kSessionFile = std::string(MEMTRACE_SOURCE_DIR) + "/examples/session.jsonl";

struct Request {
  json id;
  std::string method;
  std::string tool;  // tools/call only
  json arguments;
};

std::vector<json> read_session(const std::string& path) {
  std::ifstream in(path);
  std::vector<json> messages;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    messages.push_back(json::parse(line));  // a broken example file should fail loudly
  }
  return messages;
}

std::string text_of(const json& result) {
  std::string text;
  if (!result.contains("content")) return text;
  for (const auto& block : result["content"]) {
    if (block.value("type", "") == "text") text += block.value("text", "");
  }
  return text;
}

TEST(ExampleSession, EveryRequestGetsOneNonErrorReplyAndTheServerExitsZero) {
  const std::vector<json> messages = read_session(kSessionFile);
  ASSERT_FALSE(messages.empty()) << "cannot read " << kSessionFile;

  std::map<std::string, Request> requests;  // by id.dump()
  for (const auto& m : messages) {
    if (!m.contains("id")) continue;  // a notification: no reply expected
    Request r{m["id"], m.value("method", ""), "", json::object()};
    if (r.method == "tools/call") {
      r.tool = m["params"].value("name", "");
      r.arguments = m["params"].value("arguments", json::object());
    }
    ASSERT_TRUE(requests.emplace(r.id.dump(), r).second)
        << "duplicate id " << r.id.dump() << " in the example";
  }
  std::set<std::string> methods;
  for (const auto& [id, r] : requests) methods.insert(r.tool.empty() ? r.method : r.tool);
  for (const char* expected : {"initialize", "tools/list", "memtrace_remember", "memtrace_recall",
                               "memtrace_search", "memtrace_decide", "memtrace_forget", "ping"}) {
    EXPECT_TRUE(methods.count(expected)) << "the example session should exercise " << expected;
  }

  // Exactly the documented command line, stdin redirected from the file by the shell.
  E2eStore e2e;
  ChildProcess server(
      {"/bin/sh", "-c", "exec \"$0\" --store \"$2\" < \"$1\"", MEMTRACE_BINARY, kSessionFile, e2e.single()});
  server.close_stdin();

  std::map<std::string, json> replies;
  std::vector<std::string> stray;
  while (auto line = server.read_line(std::chrono::seconds(10))) {
    json reply = json::parse(*line, nullptr, false);
    if (reply.is_discarded() || !reply.is_object() || reply.value("jsonrpc", "") != "2.0") {
      stray.push_back(*line);
      continue;
    }
    if (!reply.contains("id")) continue;  // a server notification (e.g. a log message) is allowed
    const std::string key = reply["id"].dump();
    EXPECT_TRUE(requests.count(key)) << "reply to an id the session never sent: " << *line;
    EXPECT_FALSE(replies.count(key)) << "second reply to id " << key << ": " << *line;
    replies[key] = std::move(reply);
  }
  auto exit_code = server.wait(std::chrono::seconds(10));
  const std::string log = server.stderr_text();

  EXPECT_TRUE(stray.empty()) << "stdout must carry only JSON-RPC messages; got: " << stray.front();
  ASSERT_TRUE(exit_code.has_value()) << "the server did not exit at end of input; stderr:\n" << log;
  EXPECT_EQ(*exit_code, 0) << "stderr:\n" << log;

  for (const auto& [key, request] : requests) {
    SCOPED_TRACE(request.method + (request.tool.empty() ? "" : " " + request.tool) + " (id " + key + ")");
    auto it = replies.find(key);
    ASSERT_NE(it, replies.end()) << "no reply; stderr:\n" << log;
    const json& reply = it->second;
    ASSERT_FALSE(reply.contains("error")) << reply.dump();
    ASSERT_TRUE(reply.contains("result")) << reply.dump();
    const json& result = reply["result"];

    if (request.method == "initialize") {
      EXPECT_EQ(result.value("protocolVersion", ""), "2025-11-25");
      EXPECT_EQ(result["serverInfo"].value("name", ""), "memtrace-mcp");
    } else if (request.method == "tools/list") {
      std::set<std::string> names;
      for (const auto& tool : result["tools"]) names.insert(tool.value("name", ""));
      for (const char* tool : {"memtrace_remember", "memtrace_recall", "memtrace_search", "memtrace_decide",
                               "memtrace_forget"}) {
        EXPECT_TRUE(names.count(tool)) << tool << " missing from " << result.dump();
      }
    } else if (request.method == "ping") {
      EXPECT_EQ(result, json::object());
    } else if (request.method == "tools/call") {
      EXPECT_FALSE(text_of(result).empty()) << result.dump();
      if (request.tool == "memtrace_forget") {
        // The file cannot know the ids the server will generate, so it forgets a well-formed id that was
        // never stored: a tool-level "no such memory" answer (isError with a sentence naming the id), which
        // is still a successful JSON-RPC reply.
        EXPECT_TRUE(result.value("isError", false)) << result.dump();
        EXPECT_NE(text_of(result).find(request.arguments.value("id", "")), std::string::npos)
            << result.dump();
      } else {
        EXPECT_FALSE(result.value("isError", false)) << result.dump();
        EXPECT_TRUE(result.contains("structuredContent")) << "2025-11-25 results carry structuredContent";
      }
    }
  }
}

}  // namespace
