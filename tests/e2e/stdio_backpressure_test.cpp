// A client that sends and never reads: the server stops reading it once its queue is full, so memory
// stays bounded however much the client sends (before: 0.76 KB per unread request, 310 MB at 400k).
// Runs on SQLite and, as redis.StdioBackpressure.*, on Redis.
//
// Under AddressSanitizer or ThreadSanitizer the resident set is the sanitizer's (shadow memory,
// redzones, a quarantine of freed memory), not the server's, so the bound is checked in the normal
// build only; the rest of the test runs in all of them.
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "support/e2e_store.h"
#include "support/mcp_client.h"

namespace memtrace::testing {
namespace {

constexpr long long kCalls = 400000;
constexpr long long kReadBack = 2000;  // answers read once the client starts reading
constexpr long kBoundKiB = 64 * 1024;  // the bound: 64 MB

// Under a sanitizer the resident set is mostly the sanitizer's (shadow memory, redzones, a quarantine).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kUnderSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kUnderSanitizer = true;
#else
constexpr bool kUnderSanitizer = false;
#endif
#else
constexpr bool kUnderSanitizer = false;
#endif

// The peak resident set of a process so far (VmHWM), in KiB; nullopt if it cannot be read.
std::optional<long> peak_rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return std::nullopt;
}

TEST(StdioBackpressure, AClientThatNeverReadsKeepsTheServerUnder64MB) {
  E2eStore e2e;
  McpClient client(e2e.single_args());
  client.initialize("2025-11-25");
  ASSERT_FALSE(
      client.call_tool("memtrace_remember", {{"content", "one memory to recall"}}).value("isError", false));

  // The writer sends every call without reading an answer. With backpressure it blocks once the
  // server's queue and the pipes are full; without, the server reads it all into memory.
  std::mutex mutex;
  std::condition_variable written_cv;
  bool written = false;
  std::thread writer([&] {
    std::string chunk;
    try {
      for (long long id = 1; id <= kCalls; ++id) {
        chunk += R"({"jsonrpc":"2.0","id":)" + std::to_string(id) +
                 R"(,"method":"tools/call","params":{"name":"memtrace_recall","arguments":{"limit":1}}})"
                 "\n";
        if (chunk.size() >= 64 * 1024 || id == kCalls) {
          client.process().write(chunk);
          chunk.clear();
        }
      }
    } catch (const std::exception&) {
      // The server was stopped (below) while this write was blocked: the expected end.
    }
    std::lock_guard lock(mutex);
    written = true;
    written_cv.notify_all();
  });

  // Give the server every chance to read ahead while nobody reads its answers. Whether the writer
  // is still blocked when this wait ends does not decide the test: the peak memory does.
  bool wrote_everything = false;
  {
    std::unique_lock lock(mutex);
    wrote_everything = written_cv.wait_for(lock, std::chrono::seconds(5), [&] { return written; });
  }
  const auto peak_while_unread = peak_rss_kib(client.process().pid());

  // Now the client reads: the server resumes and answers, in the order the calls were sent.
  long long answered = 0;
  bool in_order = true;
  while (answered < kReadBack) {
    auto line = client.process().read_line(std::chrono::seconds(30));
    if (!line) break;
    auto message = Json::parse(*line, nullptr, false);
    if (!message.is_object() || !message.contains("id")) continue;
    ++answered;
    if (message["id"] != answered || message.contains("error") || message["result"].value("isError", false)) {
      if (in_order) ADD_FAILURE() << "answer " << answered << ": " << line->substr(0, 500);
      in_order = false;
    }
  }
  EXPECT_EQ(answered, kReadBack) << "the server answers once the client reads";
  EXPECT_TRUE(in_order) << "the answers are results, in the order the calls were sent";

  ASSERT_TRUE(peak_while_unread.has_value());
  std::printf("never-reading client: wrote %s of %lld calls in 5 s; peak RSS %ld KiB\n",
              wrote_everything ? "all" : "part", kCalls, *peak_while_unread);
  if (!kUnderSanitizer) {
    EXPECT_LT(*peak_while_unread, kBoundKiB) << "peak RSS while the client did not read";
    EXPECT_FALSE(wrote_everything) << "the server stopped reading a client that does not read";
  }
  client.process().kill(SIGKILL);  // unblocks the writer
  writer.join();
}

}  // namespace
}  // namespace memtrace::testing
