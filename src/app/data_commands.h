// `memtrace-mcp export | import | stats | context`: one-shot commands on --store. They print their
// results to stdout (the user's, not a protocol's) and what they did or refused to stderr.
#pragma once

#include "app/config.h"

namespace memtrace::app {

// Runs the command named by config.data.name; returns the process exit code (0 ok, 1 failed, 2 misuse).
int run_data_command(const Config& config);

int run_export_command(const Config& config);
int run_import_command(const Config& config);
int run_stats_command(const Config& config);
int run_context_command(const Config& config);

}  // namespace memtrace::app
