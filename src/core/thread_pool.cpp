#include "core/thread_pool.h"

#include "core/thread_name.h"

namespace memtrace {

ThreadPool::ThreadPool(std::size_t threads) : max_threads_(threads == 0 ? 1 : threads) {
  workers_.reserve(max_threads_);
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void ThreadPool::post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    tasks_.push_back(std::move(task));
    // A thread is started only when every one there is has work: a pool nobody posts to (the stdio
    // transport runs calls on its own threads) costs no thread at all.
    if (idle_ < tasks_.size() && workers_.size() < max_threads_) workers_.emplace_back([this] { run(); });
  }
  wake_.notify_one();
}

void ThreadPool::run() {
  name_this_thread("mt-worker");
  std::unique_lock lock(mutex_);
  for (;;) {
    ++idle_;
    wake_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
    --idle_;
    if (tasks_.empty()) return;  // stopping, and nothing left to run
    std::function<void()> task = std::move(tasks_.front());
    tasks_.pop_front();
    lock.unlock();
    task();
    task = nullptr;  // destroyed outside the lock, like the task itself ran
    lock.lock();
  }
}

}  // namespace memtrace
