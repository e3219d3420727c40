// The worker pool: every posted task runs, up to N at once, and threads start only when work needs them.
#include "core/thread_pool.h"

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "support/threads.h"

namespace memtrace {
namespace {

using memtrace::testing::threads_of_this_process;

TEST(ThreadPool, APoolNobodyPostsToStartsNoThread) {
  const std::size_t before = threads_of_this_process();
  {
    ThreadPool pool(8);
    EXPECT_EQ(threads_of_this_process(), before);
  }
  EXPECT_EQ(threads_of_this_process(), before);
}

TEST(ThreadPool, RunsEveryTaskPostedFromManyThreads) {
  std::atomic<int> ran{0};
  {
    ThreadPool pool(3);
    std::vector<std::thread> posters;
    for (int p = 0; p < 4; ++p) {
      posters.emplace_back([&] {
        for (int i = 0; i < 500; ++i) pool.post([&] { ++ran; });
      });
    }
    for (auto& t : posters) t.join();
  }  // the destructor runs what was posted, then joins
  EXPECT_EQ(ran.load(), 2000);
}

TEST(ThreadPool, RunsUpToItsSizeAtOnce) {
  constexpr int kSize = 4;
  std::mutex mutex;
  std::condition_variable cv;
  int running = 0;
  bool release = false;
  ThreadPool pool(kSize);  // after what its tasks use: joined before those are destroyed
  for (int i = 0; i < kSize; ++i) {
    pool.post([&] {
      std::unique_lock lock(mutex);
      ++running;
      cv.notify_all();
      cv.wait(lock, [&] { return release; });
    });
  }
  {
    // Every task blocks until all of them run: only a pool that started kSize threads gets here.
    std::unique_lock lock(mutex);
    EXPECT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return running == kSize; }));
    release = true;
  }
  cv.notify_all();
}

}  // namespace
}  // namespace memtrace
