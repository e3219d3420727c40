// For the memory layer's own files only: the engine's store, for the domain functions that live beside
// the engine (sessions, tasks, context). Layers above use Engine's methods and never see the Store.
#pragma once

#include "memory/engine.h"

namespace memtrace {

struct EngineInternals {
  static Store& store(Engine& engine) { return engine.store_; }
};

}  // namespace memtrace
