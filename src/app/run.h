// Wires a Config into a running server: logging, store, engine, MCP server, transport.
#pragma once

#include "app/config.h"

namespace memtrace::app {

// Returns the process exit code.
int run(const Config& config);

}  // namespace memtrace::app
