// The stdio relay's two threads: a message that comes while a call runs is still read (a ping is not
// stuck behind a long call), every call runs, and the threads end with the input.
#include "transport/stdio_relay.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace memtrace::transport {
namespace {

using namespace std::chrono_literals;

// A relay reading lines from a pipe. "ping" is handled on the reading thread, as the connection
// answers a ping; "call <n>" is posted as a task that records its number; "slow" is posted as a task
// that runs until release() is called.
class Harness {
 public:
  Harness() : relay_(StdioRelay::Hooks{[this] { return read_once(); }, [] { return true; }}) {
    EXPECT_EQ(::pipe(fds_), 0);
    relay_.start(2);
  }
  ~Harness() {
    release();
    end_input();
    relay_.wait_input_ended();
  }

  void send(const std::string& text) {
    ASSERT_EQ(::write(fds_[1], text.data(), text.size()), ssize_t(text.size()));
  }
  void end_input() {
    if (fds_[1] >= 0) ::close(fds_[1]);
    fds_[1] = -1;
  }
  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    changed_.notify_all();
  }
  // Waits until `event` has been recorded; false if it has not within `timeout`.
  bool wait_for(const std::string& event, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] {
      for (const auto& e : events_) {
        if (e == event) return true;
      }
      return false;
    });
  }
  std::vector<std::string> events() {
    std::lock_guard lock(mutex_);
    return events_;
  }
  StdioRelay& relay() { return relay_; }

 private:
  int fds_[2] = {-1, -1};
  std::string pending_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> events_;
  bool released_ = false;
  StdioRelay relay_;  // last: its threads are joined before the rest goes

  void record(std::string event) {
    std::lock_guard lock(mutex_);
    events_.push_back(std::move(event));
    changed_.notify_all();
  }

  bool read_once() {
    char chunk[4096];
    const ssize_t n = ::read(fds_[0], chunk, sizeof chunk);
    if (n <= 0) {
      ::close(fds_[0]);
      return false;
    }
    pending_.append(chunk, static_cast<std::size_t>(n));
    for (std::size_t end; (end = pending_.find('\n')) != std::string::npos;) {
      const std::string line = pending_.substr(0, end);
      pending_.erase(0, end + 1);
      if (line == "ping") {
        record("ping");
      } else if (line == "slow") {
        relay_.post([this] {
          record("slow started");
          std::unique_lock lock(mutex_);
          changed_.wait(lock, [&] { return released_; });
          events_.push_back("slow ended");
          changed_.notify_all();
        });
      } else {
        relay_.post([this, line] { record(line); });
      }
    }
    return true;
  }
};

TEST(StdioRelay, APingThatComesDuringALongCallIsReadBeforeTheCallEnds) {
  Harness h;
  h.send("slow\n");
  ASSERT_TRUE(h.wait_for("slow started"));
  h.send("ping\n");
  // The thread that runs the call does not read; the other one becomes the reader when the call has
  // run for a moment (StdioRelay::kFollowerDelay).
  EXPECT_TRUE(h.wait_for("ping")) << "nobody read the input while a call ran";
  h.release();
  ASSERT_TRUE(h.wait_for("slow ended"));
  EXPECT_EQ(h.events(), (std::vector<std::string>{"slow started", "ping", "slow ended"}));
}

TEST(StdioRelay, CallsThatComeDuringALongCallAreReadAndRun) {
  Harness h;
  h.send("slow\n");
  ASSERT_TRUE(h.wait_for("slow started"));
  // Both threads are taken while these wait: the slow call, and the reader that posted them (it
  // runs them itself, one after another).
  h.send("call 1\ncall 2\ncall 3\n");
  ASSERT_TRUE(h.wait_for("call 3"));
  h.release();
  ASSERT_TRUE(h.wait_for("slow ended"));
  auto events = h.events();
  EXPECT_EQ(std::count(events.begin(), events.end(), "call 1"), 1);
  EXPECT_EQ(std::count(events.begin(), events.end(), "call 2"), 1);
}

TEST(StdioRelay, EveryCallOfAPipelineRunsOnceAndTheThreadsEndWithTheInput) {
  Harness h;
  std::string burst;
  for (int i = 0; i < 2000; ++i) {
    burst += "call " + std::to_string(i) + "\n";
    if (i % 100 == 99) {
      h.send(burst);
      burst.clear();
    }
  }
  h.end_input();
  h.relay().wait_input_ended();
  ASSERT_TRUE(h.wait_for("call 1999"));
  // Tasks posted before the end still run: wait for all of them.
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE(h.wait_for("call " + std::to_string(i))) << i;
  EXPECT_EQ(h.events().size(), 2000u);
}

TEST(StdioRelay, ATaskPostedFromAnotherThreadRunsWhileTheInputIsQuiet) {
  Harness h;
  std::mutex mutex;
  std::condition_variable cv;
  bool ran = false;
  std::thread poster([&] {
    h.relay().post([&] {
      std::lock_guard lock(mutex);
      ran = true;
      cv.notify_all();
    });
  });
  poster.join();
  std::unique_lock lock(mutex);
  EXPECT_TRUE(cv.wait_for(lock, 10s, [&] { return ran; })) << "an idle relay did not run a posted task";
}

}  // namespace
}  // namespace memtrace::transport
