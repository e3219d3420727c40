// --transport http: turns the HTTP part of Config into transport options and serves.
#pragma once

#include "app/config.h"
#include "mcp/server.h"
#include "store/store.h"

namespace memtrace::app {

// Returns the process exit code (0 after SIGTERM/SIGINT; 1 if the address cannot be bound; 2 for a bad
// --listen or a non-loopback address without API keys); calls abandoned at shutdown end the process with
// kExitCallsAbandoned (run.h).
int serve_http_transport(mcp::Server& server, Store& store, const Config& config);

}  // namespace memtrace::app
