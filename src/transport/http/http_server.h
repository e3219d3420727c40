// MCP over HTTP: Streamable HTTP at /mcp (2025-03-26 … 2025-11-25), the legacy HTTP+SSE transport at
// /sse + /message (2024-11-05 clients), /healthz and /metrics. The only header of this layer that code
// outside it includes; Boost.Beast stays inside the layer's .cpp files.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "mcp/server.h"
#include "transport/http/mcp_session.h"

namespace memtrace::transport::http {

struct HttpOptions {
  std::string host = "127.0.0.1";  // listen address; anything but loopback should require auth
  std::uint16_t port = 8765;       // 0: any free port (the bound one is logged and passed to on_listening)
  std::size_t io_threads = 2;      // threads running the I/O; tool calls run on the server's workers

  std::size_t max_body_bytes = 4 * 1024 * 1024;             // larger POST bodies: 413
  std::chrono::milliseconds header_timeout{10000};          // a new connection must send its header by then
  std::chrono::milliseconds idle_timeout{60000};            // a keep-alive connection waiting for a request
  std::chrono::milliseconds body_timeout{30000};            // reading a request body
  std::chrono::milliseconds write_timeout{30000};           // a client that stops reading is cut off
  std::chrono::milliseconds session_idle_timeout{1800000};  // sessions without requests or streams expire
  std::chrono::milliseconds keepalive_interval{15000};      // SSE comment lines keep idle streams alive
  std::chrono::milliseconds drain_timeout{10000};           // on SIGTERM, how long in-flight calls may finish
  int sse_retry_ms = 1000;                                  // the SSE "retry:" sent to clients
  std::size_t max_connections = 4096;                       // further connections get 503 and are closed
  std::size_t max_connections_per_peer = 64;                // from one IP address; further ones get 429
  std::size_t max_sessions = 4096;                          // further initialize requests get 503
  std::size_t max_sessions_per_key = 256;                   // see SessionTable::add: LRU idle evicted, or 429
  SessionLimits session_limits;

  std::vector<std::string> allowed_origins;  // --allow-origin: extra Origin values (or "*")
  std::vector<std::string> allowed_hosts;    // --allow-host: extra Host header values
  bool require_auth = false;                 // every /mcp, /sse, /message request needs a valid API key
  double rate_limit = 0;                     // requests per second per key (0: unlimited)
  double rate_burst = 0;                     // bucket size (0: twice the rate)

  // Called once the socket is bound, with the real port (also logged as "listening on http://…/mcp").
  std::function<void(std::uint16_t port)> on_listening;
};

// Maps a bearer token to the key it belongs to. nullopt: no such (or a revoked) key. An error: the
// key store could not be asked (the request gets 503). Called on I/O threads; should be quick.
using Authenticator = std::function<Result<std::optional<Principal>>(const std::string& token)>;

enum class ServeEnd {
  kDrained,       // stopped by a signal, and every call in flight finished
  kAbandoned,     // calls were still running after drain_timeout; the transport's state is left alive for
                  // them: the caller must end the process without destroying `server`
  kNotListening,  // the address could not be bound (logged)
};

// Serves until SIGTERM or SIGINT: then stops accepting, lets in-flight calls finish (up to
// drain_timeout), closes streams and returns. What to do about abandoned calls is the caller's decision.
ServeEnd serve_http(mcp::Server& server, const HttpOptions& options, Authenticator authenticate);

}  // namespace memtrace::transport::http
