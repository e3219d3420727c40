// `memtrace-mcp keys create|list|revoke`: API keys for the HTTP transport, kept hashed in the store.
#pragma once

#include "app/config.h"

namespace memtrace::app {

// Runs the keys subcommand named by config.keys.action. Output (the new secret, the list) goes to
// stdout; errors to stderr. Returns the process exit code.
int run_keys_command(const Config& config);

}  // namespace memtrace::app
