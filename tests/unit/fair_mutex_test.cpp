// The SQLite store's write lock: waiters are served in the order they came.
#include "core/fair_mutex.h"

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "support/eventually.h"

namespace memtrace {
namespace {

// Waits (bounded) until another thread queues on `mutex`.
bool someone_waits(const FairMutex& mutex) {
  return testing::eventually([&] { return mutex.has_waiters(); });
}

// What the indexer does to a remember: unlock, then lock again at once. The waiter goes first.
TEST(FairMutex, AHolderThatLocksAgainAtOnceQueuesBehindTheWaiter) {
  for (int round = 0; round < 20; ++round) {
    FairMutex mutex;
    std::mutex order_mutex;
    std::vector<std::string> order;
    auto record = [&](const char* who) {
      std::lock_guard lock(order_mutex);
      order.emplace_back(who);
    };
    mutex.lock();
    std::thread waiter([&] {
      std::lock_guard lock(mutex);
      record("waiter");
    });
    ASSERT_TRUE(someone_waits(mutex));
    mutex.unlock();
    mutex.lock();
    record("holder again");
    mutex.unlock();
    waiter.join();
    ASSERT_EQ(order, (std::vector<std::string>{"waiter", "holder again"})) << "round " << round;
  }
}

TEST(FairMutex, TryLockSucceedsOnlyWhenNobodyHoldsOrWaits) {
  FairMutex mutex;
  ASSERT_TRUE(mutex.try_lock());
  EXPECT_FALSE(mutex.try_lock()) << "held";
  std::mutex release_mutex;
  std::condition_variable release_cv;
  bool release = false;
  std::thread waiter([&] {
    std::lock_guard lock(mutex);
    std::unique_lock wait(release_mutex);
    release_cv.wait(wait, [&] { return release; });
  });
  ASSERT_TRUE(someone_waits(mutex));
  mutex.unlock();
  EXPECT_FALSE(mutex.try_lock()) << "it is the waiter's now, whether or not the waiter has woken yet";
  {
    std::lock_guard lock(release_mutex);
    release = true;
  }
  release_cv.notify_all();
  waiter.join();
  EXPECT_FALSE(mutex.has_waiters());
  EXPECT_TRUE(mutex.try_lock());
  mutex.unlock();
}

}  // namespace
}  // namespace memtrace
