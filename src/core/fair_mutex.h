// A mutex that hands itself to its waiters in the order they came (a ticket lock).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace memtrace {

// std::mutex lets a thread that unlocks and locks again at once go first, however long others have
// waited: a background loop of short critical sections (an indexer's batches) can keep a request out
// for as many of them as it likes. This one serves waiters first come, first served, so a waiter waits
// for at most the holders queued before it. It meets Lockable (std::lock_guard, std::unique_lock).
// try_lock() succeeds only when nobody holds the mutex or waits for it.
class FairMutex {
 public:
  void lock() {
    std::unique_lock lock(mutex_);
    const std::uint64_t ticket = next_++;
    turn_.wait(lock, [&] { return serving_ == ticket; });
  }
  bool try_lock() {
    std::lock_guard lock(mutex_);
    if (serving_ != next_) return false;
    ++next_;
    return true;
  }
  void unlock() {
    {
      std::lock_guard lock(mutex_);
      ++serving_;
    }
    turn_.notify_all();
  }
  // Whether a thread waits for the mutex now (for tests and diagnostics).
  bool has_waiters() const {
    std::lock_guard lock(mutex_);
    return next_ - serving_ > 1;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable turn_;
  std::uint64_t next_ = 0;     // the ticket the next lock() takes
  std::uint64_t serving_ = 0;  // the ticket that holds the mutex (== next_: nobody holds it)
};

}  // namespace memtrace
