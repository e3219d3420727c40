// Waiting in tests for something another thread or process does: polling with a deadline, never a
// bare sleep.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace memtrace::testing {

// Retries `attempt` until it returns true or `timeout` passes (polling every few milliseconds).
inline bool eventually(const std::function<bool()>& attempt,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (attempt()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling interval, bounded by the deadline
  }
}

}  // namespace memtrace::testing
