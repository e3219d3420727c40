// Opens the store a --store spec names. The one place that knows every backend.
#pragma once

#include <memory>
#include <string>

#include "core/error.h"
#include "store/store.h"

namespace memtrace::app {

// "sqlite:PATH" (also "sqlite://PATH"), "memory", or empty for the default SQLite file.
Result<std::unique_ptr<Store>> open_store(const std::string& spec);

}  // namespace memtrace::app
