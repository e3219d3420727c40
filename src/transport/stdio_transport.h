// MCP over stdio: one compact JSON-RPC message per line on stdin and stdout. stdout carries nothing
// but protocol messages; logs go to stderr.
#pragma once

#include <chrono>
#include <cstddef>

#include "mcp/server.h"

namespace memtrace::transport {

struct StdioOptions {
  std::size_t max_line_bytes = 4 * 1024 * 1024;   // a longer line is answered with -32600, then skipped
  std::chrono::milliseconds drain_timeout{5000};  // at end of input, how long in-flight calls may finish
  int input_fd = 0;
  int output_fd = 1;
};

enum class ServeEnd {
  kDrained,    // end of input, and every call in flight finished
  kAbandoned,  // calls were still running after drain_timeout; they still use the transport's state,
               // which is left alive: the caller must end the process without destroying `server`
};

// Serves one client until end of input. What to do about abandoned calls is the caller's decision.
ServeEnd serve_stdio(mcp::Server& server, const StdioOptions& options);

}  // namespace memtrace::transport
