// Every thread the server starts carries a name, so that an operator's `top -H`, `ps -L` or perf tells
// them apart: over stdio, over HTTP, on whichever store the suite runs on.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/e2e_store.h"
#include "support/eventually.h"
#include "support/http_client.h"
#include "support/mcp_client.h"

namespace memtrace::testing {
namespace {

// The names of process `pid`'s threads, but for its main thread (which keeps the program's name).
std::multiset<std::string> thread_names(pid_t pid) {
  std::multiset<std::string> names;
  const std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
  for (const auto& task : std::filesystem::directory_iterator(tasks)) {
    if (task.path().filename() == std::to_string(pid)) continue;
    std::ifstream comm(task.path() / "comm");
    std::string name;
    std::getline(comm, name);
    names.insert(name);
  }
  return names;
}

// Whether a thread carries a name the server gave it.
bool named_by_the_server(const std::string& name) {
  return name.rfind("mt-", 0) == 0;
}

void expect_all_named(const std::multiset<std::string>& names) {
  for (const auto& name : names)
    EXPECT_TRUE(named_by_the_server(name)) << "a thread named \"" << name << "\"";
}

// Process `pid`'s thread names once each of `expected` is among them and every thread is named, or
// after 10 s. A thread names itself when it first runs; until then it carries the name of the thread
// that started it (a thread started a moment before the read, such as the checkpointer after a commit,
// had been caught so).
std::multiset<std::string> thread_names_with(pid_t pid, const std::vector<std::string>& expected) {
  std::multiset<std::string> names;
  eventually([&] {
    names = thread_names(pid);
    const bool all_named = std::all_of(names.begin(), names.end(), named_by_the_server);
    return all_named && std::all_of(expected.begin(), expected.end(),
                                    [&](const std::string& name) { return names.count(name) > 0; });
  });
  return names;
}

TEST(StdioThreads, EveryThreadTheServerStartsIsNamed) {
  E2eStore e2e;
  McpClient client(e2e.single_args());
  client.initialize("2025-11-25");
  // A remember starts the content indexer; a search runs on the client's lane.
  ASSERT_FALSE(client.call_tool("memtrace_remember", {{"content", "thread names for operators"}})
                   .value("isError", false));
  ASSERT_FALSE(client.call_tool("memtrace_search", {{"content_contains", "operators"}}).value("isError", false));
  const auto names = thread_names_with(client.process().pid(), {"mt-stdio", "mt-indexer", "mt-purge"});
  EXPECT_GE(names.count("mt-stdio"), 1u);
  EXPECT_EQ(names.count("mt-indexer"), 1u);
  EXPECT_EQ(names.count("mt-purge"), 1u);
  expect_all_named(names);
}

TEST(HttpThreads, EveryThreadTheServerStartsIsNamed) {
  HttpServerProcess server;
  McpHttpSession session(server.port());
  ASSERT_EQ(session.initialize().status, 200);
  ASSERT_FALSE(session.call_tool("memtrace_remember", {{"content", "thread names over HTTP"}})
                   .value("result", nlohmann::json::object())
                   .value("isError", false));
  const auto names = thread_names_with(server.process().pid(), {"mt-http"});
  EXPECT_GE(names.count("mt-http"), 1u);
  expect_all_named(names);
}

}  // namespace
}  // namespace memtrace::testing
