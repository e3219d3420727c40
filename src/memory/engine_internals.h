// For the memory layer's own files only: the checks every write path shares, and the engine's store for
// the domain functions that live beside the engine (sessions, tasks, context). Layers above use Engine's
// methods and never see the Store.
#pragma once

#include <cstddef>
#include <string_view>

#include "memory/engine.h"

namespace memtrace {

// What every write path checks alike.
inline constexpr std::size_t kMaxMetadataBytes = 16 * 1024;

// Empty or only whitespace.
inline bool blank(std::string_view s) {
  return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

struct EngineInternals {
  static Store& store(Engine& engine) { return engine.store_; }
};

}  // namespace memtrace
