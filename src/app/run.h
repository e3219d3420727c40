// Wires a Config into a running server: logging, store, engine, MCP server, transport.
#pragma once

#include <chrono>

#include "app/config.h"

namespace memtrace::app {

// The exit status when the server stopped with calls still running (they were abandoned, not finished).
inline constexpr int kExitCallsAbandoned = 3;

// Calls were still running `waited` after the server began to stop: logs it and ends the process with
// kExitCallsAbandoned, without unwinding. Those calls hold the engine, the store and the transport, and
// destroying them (joining the workers) would wait on exactly the calls that are stuck.
[[noreturn]] void exit_abandoning_calls(std::chrono::milliseconds waited);

// Returns the process exit code: 0 after a clean end, 1 or 2 when it cannot start; ends the process with
// kExitCallsAbandoned when calls were still running after the drain timeout.
int run(const Config& config);

}  // namespace memtrace::app
