// How many threads this process has (for tests that check a component starts none until it needs one).
#pragma once

#include <cstddef>
#include <filesystem>

namespace memtrace::testing {

inline std::size_t threads_of_this_process() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

}  // namespace memtrace::testing
