// When the call the current thread is running reached the server. The layer that runs calls sets it,
// so that a store can bound the whole call, its time in line included, rather than each step of it.
#pragma once

#include <chrono>
#include <optional>

namespace memtrace {

// Sets the arrival of the call this thread runs for the scope's lifetime (scopes nest; the innermost
// counts). Thread-safety: per thread; a scope must end on the thread that began it.
class CallArrival {
 public:
  using Clock = std::chrono::steady_clock;

  explicit CallArrival(Clock::time_point at) noexcept;
  ~CallArrival();
  CallArrival(const CallArrival&) = delete;
  CallArrival& operator=(const CallArrival&) = delete;

  // The arrival of the innermost call this thread runs; nullopt outside any call (a background
  // thread, a command-line tool).
  static std::optional<Clock::time_point> current() noexcept;

 private:
  std::optional<Clock::time_point> previous_;
};

}  // namespace memtrace
