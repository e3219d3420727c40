// Wiring of the HTTP transport: listen address, authentication policy, limits.
#include "app/serve_http.h"

#include <charconv>

#include <spdlog/spdlog.h>

#include "app/run.h"
#include "transport/http/api_keys.h"
#include "transport/http/http_server.h"
#include "transport/http/security.h"

namespace memtrace::app {
namespace {

std::chrono::milliseconds millis(double seconds) {
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

// "127.0.0.1:8765", "[::1]:0", "0.0.0.0:80". false for anything else.
bool parse_listen(const std::string& text, std::string& host, std::uint16_t& port) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size()) return false;
  host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) return false;
  const char* begin = text.data() + colon + 1;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, port);
  return ec == std::errc() && ptr == end;
}

}  // namespace

int serve_http_transport(mcp::Server& server, Store& store, const Config& config) {
  const HttpConfig& http = config.http;
  transport::http::HttpOptions options;
  if (!parse_listen(http.listen, options.host, options.port)) {
    spdlog::critical("--listen must be HOST:PORT (e.g. 127.0.0.1:8765 or [::1]:0); got \"{}\"", http.listen);
    return 2;
  }
  bool loopback = transport::http::is_loopback_host(options.host);
  options.require_auth = http.require_auth || (!loopback && !http.allow_unauthenticated);
  if (!loopback && !options.require_auth) {
    spdlog::warn(
        "serving {} without authentication (--allow-unauthenticated): anyone who can reach it can "
        "read and write memories",
        http.listen);
  }
  if (options.require_auth) {
    // A store that keeps no keys would refuse every request: say so now, not on the first request.
    if (auto probe = store.list_api_keys(std::nullopt); !probe) {
      spdlog::critical("API keys are required on {} but the store cannot keep them: {}", http.listen,
                       probe.error().message);
      return 2;
    } else if (probe->empty()) {
      spdlog::warn(
          "API keys are required but none exists yet: create one with "
          "`memtrace-mcp keys create --namespace NAME`");
    }
  }
  options.io_threads = http.threads;
  options.max_body_bytes = http.max_body_bytes;
  options.max_connections = http.max_connections;
  options.max_connections_per_peer = http.max_connections_per_peer;
  options.max_sessions = http.max_sessions;
  options.max_sessions_per_key = http.max_sessions_per_key;
  options.session_idle_timeout = millis(http.session_idle_timeout_s);
  options.header_timeout = millis(http.header_timeout_s);
  options.idle_timeout = millis(http.idle_timeout_s);
  options.drain_timeout = millis(http.shutdown_timeout_s);
  options.rate_limit = http.rate_limit;
  options.allowed_origins = http.allow_origins;
  options.allowed_hosts = http.allow_hosts;
  switch (transport::http::serve_http(server, options, transport::http::store_authenticator(store))) {
    case transport::http::ServeEnd::kDrained:
      return 0;
    case transport::http::ServeEnd::kNotListening:
      return 1;
    case transport::http::ServeEnd::kAbandoned:
      exit_abandoning_calls(options.drain_timeout);
  }
  return 0;
}

}  // namespace memtrace::app
