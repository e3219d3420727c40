#include "transport/stdio_relay.h"

#include "core/thread_name.h"

namespace memtrace::transport {
namespace {
thread_local bool t_reading = false;  // this thread is the reader right now
}  // namespace

StdioRelay::~StdioRelay() {
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

void StdioRelay::post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    tasks_.push_back(std::move(task));
  }
  // The reader runs what it posts itself, once it has passed the reading on (see run()).
  if (!t_reading) wake_.notify_one();
}

void StdioRelay::start(std::size_t threads) {
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
}

void StdioRelay::wait_input_ended() {
  std::unique_lock lock(mutex_);
  ended_cv_.wait(lock, [&] { return ended_; });
}

void StdioRelay::run() {
  name_this_thread("mt-stdio");
  std::unique_lock lock(mutex_);
  for (;;) {
    if (!tasks_.empty()) {
      auto task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
      lock.lock();
      continue;
    }
    if (!reading_ && !ended_ && hooks_.may_read()) {
      reading_ = true;
      lock.unlock();
      t_reading = true;
      const bool more = hooks_.read_once();
      t_reading = false;
      lock.lock();
      reading_ = false;
      if (!more) {
        ended_ = true;
        wake_.notify_all();
        ended_cv_.notify_all();
      } else if (!tasks_.empty()) {
        // This thread runs the calls it read; another one becomes the reader meanwhile. It is woken
        // with the mutex released, so that it does not wake only to wait for the mutex (two more
        // futex calls per call, each tens of µs on a small VM).
        auto task = std::move(tasks_.front());
        tasks_.pop_front();
        lock.unlock();
        wake_.notify_one();
        task();
        lock.lock();
      }
      continue;
    }
    if (ended_) return;
    wake_.wait(lock);
  }
}

}  // namespace memtrace::transport
