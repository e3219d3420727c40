// What each HTTP request means: security checks (Host, Origin, API key, rate limit), then Streamable
// HTTP (POST/GET/DELETE /mcp), legacy HTTP+SSE (GET /sse, POST /message), /healthz, /metrics and the
// memory browser page (/, /ui/...).
// No Beast here: requests come in as HttpRequest, answers go out through an Exchange.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "jsonrpc/message.h"
#include "rest/rest_api.h"
#include "transport/http/exchange.h"
#include "transport/http/http_server.h"
#include "transport/http/metrics.h"
#include "transport/http/rate_limiter.h"
#include "transport/http/security.h"
#include "transport/http/session_table.h"

namespace memtrace::transport::http {

// Thread-safety: handle() is called concurrently from I/O threads; the handler keeps no per-request
// state of its own.
class RequestHandler {
 public:
  RequestHandler(mcp::Server& server, const HttpOptions& options, OriginPolicy origins,
                 Authenticator authenticate, SessionTable& sessions, Metrics& metrics);

  void handle(HttpRequest request, const std::shared_ptr<Exchange>& exchange);

  // From now on new work is refused with 503.
  void stop_accepting() { stopping_ = true; }
  bool stopping() const { return stopping_; }

  // The metrics label for a path (bounded set).
  static const char* route_label(const std::string& path);

 private:
  void mcp_post(const HttpRequest& request, const Principal& who, const std::shared_ptr<Exchange>& exchange);
  static bool is_stateless(const HttpRequest& request, const jsonrpc::Parsed& parsed);
  void mcp_stateless(const HttpRequest& request, const Principal& who, jsonrpc::Parsed parsed,
                     const std::shared_ptr<Exchange>& exchange);
  void mcp_get(const HttpRequest& request, const Principal& who, const std::shared_ptr<Exchange>& exchange);
  void mcp_delete(const HttpRequest& request, const Principal& who,
                  const std::shared_ptr<Exchange>& exchange);
  void legacy_open(const HttpRequest& request, const Principal& who,
                   const std::shared_ptr<Exchange>& exchange);
  void legacy_post(const HttpRequest& request, const Principal& who,
                   const std::shared_ptr<Exchange>& exchange);
  void healthz(const std::shared_ptr<Exchange>& exchange);
  // The memory browser page (/, /ui/...): static files compiled in (mcp/browser_app.h).
  static bool is_browser_path(const std::string& path);
  void browser_file(const HttpRequest& request, const std::shared_ptr<Exchange>& exchange);
  // Memtrace's REST API (/api/v1/..., /health, /ready), run on the server's workers.
  void rest_call(const HttpRequest& request, const Principal& who, const std::shared_ptr<Exchange>& exchange);
  void metrics(const std::shared_ptr<Exchange>& exchange);

  // The session `id` if it exists and belongs to `who`; nullptr otherwise (both answer 404).
  std::shared_ptr<McpSession> owned_session(const std::string& id, const Principal& who,
                                            SessionKind kind) const;
  // The answer to a session the table did not take (503 table full, 429 key quota), carrying the id of
  // the request that asked for it; nullopt if it did.
  std::optional<HttpResponse> refuse_session(SessionTable::Added added, const HttpRequest& request,
                                             const Principal& who,
                                             const std::optional<jsonrpc::Id>& id) const;
  // Authenticates the request; false after answering it (401/503).
  bool authenticate(const HttpRequest& request, Principal& who, const std::shared_ptr<Exchange>& exchange);
  Headers cors_headers(const HttpRequest& request) const;

  mcp::Server& server_;
  const HttpOptions& options_;
  const OriginPolicy origins_;
  Authenticator authenticate_;
  SessionTable& sessions_;
  Metrics& metrics_;
  RateLimiter limiter_;
  rest::Api rest_;
  std::atomic<bool> stopping_{false};

  // Recently verified tokens (hash → principal), so that a busy client does not hit the store per request.
  // Entries live for a second: a revoked key stops working within that.
  struct CachedKey {
    Principal principal;
    std::chrono::steady_clock::time_point expires;
  };
  std::mutex key_cache_mutex_;
  std::unordered_map<std::string, CachedKey> key_cache_;
};

}  // namespace memtrace::transport::http
