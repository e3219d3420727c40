#include "transport/stdio_relay.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include <sys/eventfd.h>
#include <sys/timerfd.h>

#include "core/thread_name.h"

namespace memtrace::transport {
namespace {
thread_local bool t_reading = false;  // this thread is the reader right now

// Reads an eventfd's or timerfd's counter, if it is set (both are nonblocking).
void drain(int fd) {
  std::uint64_t count = 0;
  (void)!::read(fd, &count, sizeof count);  // EAGAIN: another thread took it, or nothing was set
}
}  // namespace

StdioRelay::StdioRelay(Hooks hooks) : hooks_(std::move(hooks)) {
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  timer_fd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
}

StdioRelay::~StdioRelay() {
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (timer_fd_ >= 0) ::close(timer_fd_);
}

void StdioRelay::post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    tasks_.push_back(std::move(task));
  }
  // The reader runs what it posts itself, once it has stopped reading (see run()).
  if (!t_reading) wake_one();
}

void StdioRelay::wake_one() {
  if (!timed()) {
    wake_.notify_one();
    return;
  }
  const std::uint64_t one = 1;
  // Nonblocking: a full counter (never, in practice) wakes every idle thread anyway.
  while (::write(wake_fd_, &one, sizeof one) < 0 && errno == EINTR) {
  }
}

void StdioRelay::set_timer(bool armed) {
  const auto delay = std::chrono::duration_cast<std::chrono::nanoseconds>(kFollowerDelay).count();
  itimerspec when{};
  if (armed) {
    when.it_value.tv_sec = static_cast<time_t>(delay / 1'000'000'000);
    when.it_value.tv_nsec = static_cast<long>(delay % 1'000'000'000);
  }
  ::timerfd_settime(timer_fd_, 0, &when, nullptr);
}

void StdioRelay::start(std::size_t threads) {
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
}

void StdioRelay::wait_input_ended() {
  std::unique_lock lock(mutex_);
  ended_cv_.wait(lock, [&] { return ended_; });
}

void StdioRelay::idle(std::unique_lock<std::mutex>& lock) {
  if (!timed()) {
    wake_.wait(lock);
    return;
  }
  pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {timer_fd_, POLLIN, 0}};
  lock.unlock();
  while (::poll(fds, 2, -1) < 0 && errno == EINTR) {
  }
  lock.lock();
  // Once input has ended the wake-up stays set, for every idle thread, whenever it polls.
  if (fds[0].revents != 0 && !ended_) drain(wake_fd_);
  if (fds[1].revents != 0) drain(timer_fd_);
}

void StdioRelay::run() {
  name_this_thread("mt-stdio");
  std::unique_lock lock(mutex_);
  bool armed = false;  // this thread armed the timer and has not stopped it since
  for (;;) {
    if (!tasks_.empty()) {
      auto task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
      lock.lock();
      continue;
    }
    if (armed) {
      // Its calls are done: nobody needs to take over the reading now.
      set_timer(false);
      armed = false;
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
        if (timed()) wake_one();  // stays set: it wakes every idle thread (see idle())
        ended_cv_.notify_all();
      } else if (!tasks_.empty()) {
        // This thread runs the calls it read. If they are still running when the timer fires, the
        // other thread becomes the reader. Without the timer it is woken at once, with the mutex
        // released, so that it does not wake only to wait for the mutex.
        auto task = std::move(tasks_.front());
        tasks_.pop_front();
        if (timed()) {
          set_timer(true);
          armed = true;
        }
        lock.unlock();
        if (!timed()) wake_.notify_one();
        task();
        lock.lock();
      }
      continue;
    }
    if (ended_) return;
    idle(lock);
  }
}

}  // namespace memtrace::transport
