// Request routing and the rules of each endpoint; status codes follow the MCP transports page and the
// reference TypeScript SDK (mcp-notes.md §7.3).
#include "transport/http/request_handler.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "core/ids.h"
#include "core/sha256.h"
#include "jsonrpc/message.h"
#include "mcp/browser_app.h"
#include "mcp/modern_era.h"
#include "mcp/protocol_version.h"
#include "transport/http/request_metadata.h"
#include "transport/http/wire.h"

namespace memtrace::transport::http {
namespace {

constexpr int kServerError = -32000;      // implementation-defined: HTTP-level refusals
constexpr int kSessionNotFound = -32001;  // what the SDKs send with 404

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

// The media type of a Content-Type or Accept entry, without parameters, lower-cased.
std::string media_type(std::string_view value) {
  auto semi = value.find(';');
  return lower_ascii(trim(value.substr(0, semi)));
}

bool accepts(const std::string& accept_header, std::string_view type) {
  std::string_view rest = accept_header;
  std::string major = std::string(type.substr(0, type.find('/'))) + "/*";
  while (!rest.empty()) {
    auto comma = rest.find(',');
    std::string entry = media_type(rest.substr(0, comma));
    if (entry == type || entry == "*/*" || entry == major) return true;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return false;
}

bool is_json(const std::string& content_type) {
  return media_type(content_type) == "application/json";
}

using RequestId = std::optional<jsonrpc::Id>;

// The id a refusal echoes: that of the one request a body holds (or of an invalid message whose id could
// be read), so that the client can match the error to its call. None for a batch or an unreadable body.
RequestId request_id(const jsonrpc::Parsed& parsed) {
  if (parsed.is_batch || parsed.messages.size() != 1) return std::nullopt;
  if (const auto* r = std::get_if<jsonrpc::Request>(&parsed.messages.front())) return r->id;
  if (const auto* invalid = std::get_if<jsonrpc::Invalid>(&parsed.messages.front())) return invalid->id;
  return std::nullopt;
}

HttpResponse error_response(int status, int code, std::string_view message, Headers headers = {},
                            const RequestId& id = std::nullopt) {
  HttpResponse response;
  response.status = status;
  response.headers = std::move(headers);
  response.headers.emplace_back("Content-Type", "application/json");
  response.body = error_body(code, message, id ? &*id : nullptr);
  return response;
}

// A refusal before the request is routed, in the shape the endpoint's clients read: {"error": "..."} on
// the REST API, else JSON-RPC with the id of a POSTed request (its body is read for that alone: the
// request goes no further).
HttpResponse refusal(const HttpRequest& request, int status, int code, std::string_view message,
                     Headers headers = {}) {
  if (rest::Api::serves(request.path)) {
    HttpResponse response = error_response(status, code, message, std::move(headers));
    response.body = nlohmann::json{{"error", message}}.dump();
    return response;
  }
  const bool posted_message =
      request.method == "POST" && !request.body.empty() &&
      (request.path == "/mcp" || request.path == "/message" || request.path == "/messages");
  return error_response(status, code, message, std::move(headers),
                        posted_message ? request_id(jsonrpc::parse(request.body)) : std::nullopt);
}

HttpResponse json_response(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.headers.emplace_back("Content-Type", "application/json");
  response.body = std::move(body);
  return response;
}

HttpResponse empty_response(int status) {
  HttpResponse response;
  response.status = status;
  return response;
}

// Adds headers (CORS) to whatever the wrapped exchange answers.
class HeaderAddingExchange final : public Exchange {
 public:
  HeaderAddingExchange(std::shared_ptr<Exchange> inner, Headers extra)
      : inner_(std::move(inner)), extra_(std::move(extra)) {}
  void respond(HttpResponse response) override {
    response.headers.insert(response.headers.end(), extra_.begin(), extra_.end());
    inner_->respond(std::move(response));
  }
  std::shared_ptr<StreamSink> start_stream(StreamStart start) override {
    start.headers.insert(start.headers.end(), extra_.begin(), extra_.end());
    return inner_->start_stream(std::move(start));
  }

 private:
  std::shared_ptr<Exchange> inner_;
  Headers extra_;
};

}  // namespace

RequestHandler::RequestHandler(mcp::Server& server, const HttpOptions& options, OriginPolicy origins,
                               Authenticator authenticate, SessionTable& sessions, Metrics& metrics)
    : server_(server),
      options_(options),
      origins_(std::move(origins)),
      authenticate_(std::move(authenticate)),
      sessions_(sessions),
      metrics_(metrics),
      limiter_(options.rate_limit, options.rate_burst),
      rest_(server.engine()) {}

const char* RequestHandler::route_label(const std::string& path) {
  if (path == "/mcp") return "/mcp";
  if (path == "/sse") return "/sse";
  if (path == "/message" || path == "/messages") return "/message";
  if (path == "/healthz") return "/healthz";
  if (path == "/metrics") return "/metrics";
  if (is_browser_path(path)) return "/ui";
  if (rest::Api::serves(path)) return rest::Api::is_public(path) ? "/health" : "/api/v1";
  return "other";
}

Headers RequestHandler::cors_headers(const HttpRequest& request) const {
  const std::string& origin = request.header("origin");
  if (origin.empty() || !origins_.cors_enabled()) return {};
  return {{"Access-Control-Allow-Origin", origin},
          {"Vary", "Origin"},
          {"Access-Control-Expose-Headers", "Mcp-Session-Id, Mcp-Protocol-Version, WWW-Authenticate"}};
}

void RequestHandler::handle(HttpRequest request, const std::shared_ptr<Exchange>& raw_exchange) {
  // DNS rebinding: a page on evil.example that resolves to 127.0.0.1 sends Host/Origin of evil.example.
  if (!origins_.host_allowed(request.header("host"))) {
    spdlog::warn("refused a request from {}: Host \"{}\" is not allowed", request.peer,
                 request.header("host"));
    return raw_exchange->respond(refusal(request, 403, kServerError, "Forbidden: Host header not allowed"));
  }
  if (!origins_.origin_allowed(request.header("origin"))) {
    spdlog::warn("refused a request from {}: Origin \"{}\" is not allowed", request.peer,
                 request.header("origin"));
    return raw_exchange->respond(refusal(request, 403, kServerError, "Forbidden: Origin not allowed"));
  }
  std::shared_ptr<Exchange> exchange = raw_exchange;
  if (Headers cors = cors_headers(request); !cors.empty()) {
    exchange = std::make_shared<HeaderAddingExchange>(raw_exchange, std::move(cors));
  }
  const std::string& path = request.path;
  const std::string& method = request.method;

  if (method == "OPTIONS") {
    HttpResponse response =
        empty_response(request.has_header("origin") && origins_.cors_enabled() ? 204 : 405);
    if (response.status == 204) {
      response.headers = {
          {"Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS"},
          {"Access-Control-Allow-Headers",
           "Content-Type, Accept, Authorization, X-API-Key, Mcp-Session-Id, Mcp-Protocol-Version, "
           "Last-Event-ID"},
          {"Access-Control-Max-Age", "600"}};
    } else {
      response.headers = {{"Allow", "GET, POST, DELETE"}};
    }
    return exchange->respond(std::move(response));
  }
  if (path == "/healthz" && method == "GET") return healthz(exchange);
  // The memory browser's files hold no data (the page asks for a key and reads through /mcp): served
  // without one, so that a person can open the page and type it in.
  if (is_browser_path(path)) return browser_file(request, exchange);
  if (path == "/metrics" && method == "GET") return metrics(exchange);

  bool mcp = path == "/mcp";
  bool sse = path == "/sse";
  bool message = path == "/message" || path == "/messages";
  bool rest = rest::Api::serves(path);
  if (rest && rest::Api::is_public(path)) return rest_call(request, Principal{}, exchange);
  if (!mcp && !sse && !message && !rest)
    return exchange->respond(error_response(404, kServerError, "Not Found: " + path));

  Principal who;
  if (!authenticate(request, who, exchange)) return;
  double retry_after = 0;
  if (!limiter_.allow(who.key_id.empty() ? std::string("anonymous") : who.key_id, RateLimiter::Clock::now(),
                      &retry_after)) {
    ++metrics_.rate_limited;
    int seconds = std::max(1, static_cast<int>(retry_after + 0.999));
    return exchange->respond(refusal(request, 429, kServerError, "Too Many Requests: slow down",
                                     {{"Retry-After", std::to_string(seconds)}}));
  }
  if (stopping_) {
    HttpResponse response =
        refusal(request, 503, kServerError, "Service Unavailable: the server is shutting down");
    response.close = true;
    return exchange->respond(std::move(response));
  }

  if (rest) {
    if (who.read_only && !rest::Api::reads_only(method, path)) {
      return exchange->respond(
          refusal(request, 403, kServerError,
                  "Forbidden: this API key is read-only; " + method + " " + path + " changes memory"));
    }
    return rest_call(request, who, exchange);
  }
  if (mcp) {
    if (method == "POST") return mcp_post(request, who, exchange);
    if (method == "GET") return mcp_get(request, who, exchange);
    if (method == "DELETE") return mcp_delete(request, who, exchange);
    return exchange->respond(
        error_response(405, kServerError, "Method Not Allowed", {{"Allow", "GET, POST, DELETE"}}));
  }
  if (sse) {
    if (method == "GET") return legacy_open(request, who, exchange);
    return exchange->respond(error_response(405, kServerError, "Method Not Allowed", {{"Allow", "GET"}}));
  }
  if (method == "POST") return legacy_post(request, who, exchange);
  return exchange->respond(error_response(405, kServerError, "Method Not Allowed", {{"Allow", "POST"}}));
}

bool RequestHandler::authenticate(const HttpRequest& request, Principal& who,
                                  const std::shared_ptr<Exchange>& exchange) {
  // Memtrace's clients send the key as x-api-key; it counts as a Bearer token.
  const std::string& api_key = request.header("x-api-key");
  const std::string authorization = api_key.empty() ? request.header("authorization") : "Bearer " + api_key;
  auto unauthorized = [&](std::string_view message, bool invalid) {
    std::string challenge = "Bearer realm=\"memtrace-mcp\"";
    if (invalid) challenge += ", error=\"invalid_token\"";
    exchange->respond(refusal(request, 401, kServerError, message, {{"WWW-Authenticate", challenge}}));
    return false;
  };
  if (authorization.empty()) {
    if (options_.require_auth)
      return unauthorized("Unauthorized: send Authorization: Bearer <API key>", false);
    return true;  // anonymous, in the server's namespace
  }
  if (lower_ascii(authorization.substr(0, 7)) != "bearer ") {
    return unauthorized("Unauthorized: only Bearer API keys are accepted", true);
  }
  std::string token = trim(std::string_view(authorization).substr(7));
  if (token.empty() || !authenticate_) return unauthorized("Unauthorized: invalid API key", true);

  std::string hash = sha256_hex(token);
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(key_cache_mutex_);
    auto it = key_cache_.find(hash);
    if (it != key_cache_.end() && it->second.expires > now) {
      who = it->second.principal;
      return true;
    }
  }
  auto found = authenticate_(token);
  if (!found) {
    spdlog::error("cannot check an API key: {}", found.error().message);
    exchange->respond(refusal(request, 503, kServerError,
                              "Service Unavailable: the key store cannot be reached",
                              {{"Retry-After", "1"}}));
    return false;
  }
  if (!*found) return unauthorized("Unauthorized: unknown or revoked API key", true);
  who = **found;
  std::lock_guard lock(key_cache_mutex_);
  if (key_cache_.size() > 10000) key_cache_.clear();
  key_cache_[hash] = CachedKey{who, now + std::chrono::seconds(1)};
  return true;
}

std::optional<HttpResponse> RequestHandler::refuse_session(SessionTable::Added added,
                                                           const HttpRequest& request, const Principal& who,
                                                           const std::optional<jsonrpc::Id>& id) const {
  if (added == SessionTable::Added::kTableFull) {
    spdlog::warn("refused a new session from {}: {} sessions open (--max-sessions)", request.peer,
                 options_.max_sessions);
    return error_response(503, kServerError, "Service Unavailable: too many sessions", {{"Retry-After", "5"}},
                          id);
  }
  if (added == SessionTable::Added::kKeyFull) {
    spdlog::warn("refused a new session from {}: {} holds {} sessions, none idle (--max-sessions-per-key)",
                 request.peer, who.key_id.empty() ? std::string("anonymous") : "key " + who.key_id,
                 options_.max_sessions_per_key);
    return error_response(429, kServerError,
                          "Too Many Requests: this API key holds " +
                              std::to_string(options_.max_sessions_per_key) +
                              " sessions, all busy; end one with DELETE /mcp or retry later",
                          {{"Retry-After", "5"}}, id);
  }
  return std::nullopt;
}

std::shared_ptr<McpSession> RequestHandler::owned_session(const std::string& id, const Principal& who,
                                                          SessionKind kind) const {
  auto session = sessions_.find(id);
  // Another key's session is as unknown as a missing one: ids are never a way into another tenant.
  if (!session || session->kind() != kind || session->principal().key_id != who.key_id) return nullptr;
  return session;
}

void RequestHandler::mcp_post(const HttpRequest& request, const Principal& who,
                              const std::shared_ptr<Exchange>& exchange) {
  // Parsed first (and only here), so that every refusal below carries the request's id.
  jsonrpc::Parsed parsed = jsonrpc::parse(request.body);
  const RequestId call_id = request_id(parsed);
  if (!accepts(request.header("accept"), "application/json") ||
      !accepts(request.header("accept"), "text/event-stream")) {
    return exchange->respond(error_response(
        406, kServerError,
        "Not Acceptable: the client must accept both application/json and text/event-stream", {}, call_id));
  }
  if (!is_json(request.header("content-type"))) {
    return exchange->respond(error_response(
        415, kServerError, "Unsupported Media Type: the body must be Content-Type: application/json", {},
        call_id));
  }
  if (!parsed.is_batch) {
    if (const auto* invalid = std::get_if<jsonrpc::Invalid>(&parsed.messages.front())) {
      return exchange->respond(json_response(400, jsonrpc::serialize_error(invalid->id, invalid->error)));
    }
  } else {
    if (parsed.messages.empty()) {
      return exchange->respond(error_response(400, jsonrpc::kInvalidRequest, "Invalid Request: empty batch"));
    }
    for (const auto& message : parsed.messages) {
      if (std::holds_alternative<jsonrpc::Invalid>(message)) {
        return exchange->respond(error_response(
            400, jsonrpc::kInvalidRequest, "Invalid Request: a batch element is not a JSON-RPC message"));
      }
      const auto* r = std::get_if<jsonrpc::Request>(&message);
      if (r && r->method == "initialize") {
        return exchange->respond(error_response(400, jsonrpc::kInvalidRequest,
                                                "Invalid Request: initialize must not be part of a batch"));
      }
    }
  }

  const auto* first_request = std::get_if<jsonrpc::Request>(&parsed.messages.front());
  bool is_initialize = !parsed.is_batch && first_request && first_request->method == "initialize";
  const std::string& session_id = request.header("mcp-session-id");
  std::shared_ptr<McpSession> session;

  if (session_id.empty() && !parsed.is_batch && is_stateless(request, parsed)) {
    return mcp_stateless(request, who, std::move(parsed), exchange);
  }

  if (is_initialize) {
    if (!session_id.empty()) {
      if (!owned_session(session_id, who, SessionKind::kStreamable)) {
        return exchange->respond(error_response(404, kSessionNotFound, "Session not found", {}, call_id));
      }
      return exchange->respond(json_response(
          400, jsonrpc::serialize_error(first_request->id,
                                        {jsonrpc::kInvalidRequest,
                                         "Invalid Request: the session is already initialized", nullptr})));
    }
    session = std::make_shared<McpSession>(server_, random_hex(16), SessionKind::kStreamable, who,
                                           options_.session_limits, metrics_);
    if (auto refused = refuse_session(sessions_.add(session), request, who, call_id)) {
      return exchange->respond(std::move(*refused));
    }
  } else {
    if (session_id.empty()) {
      return exchange->respond(error_response(
          400, kServerError, "Bad Request: Mcp-Session-Id header is required; send initialize first", {},
          call_id));
    }
    session = owned_session(session_id, who, SessionKind::kStreamable);
    if (!session)
      return exchange->respond(error_response(404, kSessionNotFound, "Session not found", {}, call_id));
    const std::string& version = request.header("mcp-protocol-version");
    mcp::ProtocolVersion parsed_version;
    if (!version.empty() && !mcp::parse_version(version, parsed_version)) {
      std::string supported;
      for (const auto& v : mcp::supported_version_names()) supported += (supported.empty() ? "" : ", ") + v;
      return exchange->respond(error_response(400, kServerError,
                                              "Bad Request: Unsupported protocol version: " + version +
                                                  " (supported versions: " + supported + ")",
                                              {}, call_id));
    }
    if (parsed.is_batch) {
      auto negotiated = session->connection().protocol_version();
      if (!negotiated || !mcp::allows_batches(*negotiated)) {
        return exchange->respond(
            error_response(400, jsonrpc::kInvalidRequest,
                           "Invalid Request: batches are only accepted under protocol version 2025-03-26"));
      }
    }
  }

  std::vector<RoutedRequest> requests;
  std::vector<jsonrpc::Id> cancelled;
  for (const auto& message : parsed.messages) {
    if (const auto* r = std::get_if<jsonrpc::Request>(&message)) {
      metrics_.count_rpc(rpc_method_label(r->method));
      RoutedRequest routed{r->id, {}};
      if (r->method == "tools/call") {
        routed.tool = "unknown";
        if (r->params.is_object() && r->params.contains("name") && r->params["name"].is_string()) {
          const std::string& name = r->params["name"].get_ref<const std::string&>();
          if (server_.tools().contains(name)) routed.tool = name;
        }
      }
      requests.push_back(std::move(routed));
    } else if (const auto* n = std::get_if<jsonrpc::Notification>(&message)) {
      metrics_.count_rpc(rpc_method_label(n->method));
      if (n->method == "notifications/cancelled" && n->params.is_object() &&
          n->params.contains("requestId")) {
        if (auto id = jsonrpc::Id::from_json(n->params["requestId"])) cancelled.push_back(*id);
      }
    } else {
      metrics_.count_rpc("response");
    }
  }

  if (requests.empty()) {
    // Notifications and responses: accepted, nothing to send back.
    session->receive(std::move(parsed), request.body.size());
    for (const auto& id : cancelled) session->cancel_request(id);
    return exchange->respond(empty_response(202));
  }

  if (session->connection().backlogged()) {
    // The client has more calls waiting than it may (it sends faster than they run, or does not read
    // the answers): turn this one away until the earlier ones have drained, rather than queue it.
    metrics_.count_error("backlog");
    HttpResponse busy = error_response(
        503, kServerError, "Service Unavailable: this session has too many calls waiting; retry shortly", {},
        call_id);
    busy.headers.emplace_back("Retry-After", "1");
    return exchange->respond(std::move(busy));
  }

  std::string id = session->id();
  std::weak_ptr<McpSession> weak = session;
  session->open_post_stream(std::move(requests), parsed.is_batch, [&](const std::string& priming_id) {
    StreamStart start;
    start.mode = StreamStart::Mode::kDeferred;
    start.headers = {{"Mcp-Session-Id", id}};
    start.priming_id = priming_id;
    start.retry_ms = options_.sse_retry_ms;
    start.on_close = [weak](const std::shared_ptr<StreamSink>& sink) {
      if (auto s = weak.lock()) s->detach(sink);
    };
    return exchange->start_stream(std::move(start));
  });
  session->receive(std::move(parsed), request.body.size());
  for (const auto& cancel : cancelled) session->cancel_request(cancel);
  if (is_initialize && !session->connection().initialized()) {
    sessions_.remove(id, EndReason::kSessionClosed);  // a failed initialize leaves no session behind
  } else if (is_initialize) {
    spdlog::info(
        "session {} opened from {}{}", id, request.peer,
        who.key_id.empty() ? std::string() : " with key " + who.key_id + " (namespace " + who.ns + ")");
  }
}

// The 2026-07-28 era on the same endpoint: a request without a session whose MCP-Protocol-Version
// header names no legacy version (a modern one, or one we do not know: that is answered -32022), or
// that has no such header but names a protocol version in its _meta. initialize without a modern
// header, and everything with a session, stays legacy.
bool RequestHandler::is_stateless(const HttpRequest& request, const jsonrpc::Parsed& parsed) {
  const std::string version = trim(request.header("mcp-protocol-version"));
  mcp::ProtocolVersion legacy;
  if (!version.empty()) return !mcp::parse_version(version, legacy);
  const auto* message = std::get_if<jsonrpc::Request>(&parsed.messages.front());
  return message && message->method != "initialize" && mcp::modern::requested_version(message->params);
}

void RequestHandler::mcp_stateless(const HttpRequest& request, const Principal& who, jsonrpc::Parsed parsed,
                                   const std::shared_ptr<Exchange>& exchange) {
  const auto* message = std::get_if<jsonrpc::Request>(&parsed.messages.front());
  if (!message) {
    // 2026-07-28 defines no client notifications over HTTP (closing a stream cancels); responses have
    // no request of ours to answer. Accepted and dropped.
    return exchange->respond(empty_response(202));
  }
  metrics_.count_rpc(rpc_method_label(message->method));
  if (auto mismatch = header_mismatch(request, *message)) {
    return exchange->respond(
        error_response(400, mcp::modern::kHeaderMismatch, "Header mismatch: " + *mismatch, {}, message->id));
  }
  auto session = std::make_shared<McpSession>(server_, random_hex(16), SessionKind::kStateless, who,
                                              options_.session_limits, metrics_);
  if (auto refused = refuse_session(sessions_.add(session), request, who, message->id)) {
    return exchange->respond(std::move(*refused));
  }
  RoutedRequest routed{message->id, {}};
  if (message->method == "tools/call" && message->params.is_object() && message->params.contains("name") &&
      message->params["name"].is_string() && server_.tools().contains(message->params["name"])) {
    routed.tool = message->params["name"];
  }
  std::vector<RoutedRequest> requests;
  requests.push_back(std::move(routed));
  std::weak_ptr<McpSession> weak = session;
  session->open_post_stream(std::move(requests), false, [&](const std::string&) {
    StreamStart start;
    start.mode =
        StreamStart::Mode::kDeferred;  // no priming event, no retry: 2026-07-28 streams are not resumable
    start.retry_ms = 0;
    start.on_close = [this, weak, id = message->id](const std::shared_ptr<StreamSink>& sink) {
      // The request's stream is over: answered, or closed by the client, which cancels the request
      // (2026-07-28; a no-op once it was answered). Either way its session ends with it.
      if (auto s = weak.lock()) {
        s->detach(sink);
        s->connection().cancel(id);
        sessions_.remove(s->id(), EndReason::kSessionClosed);
      }
    };
    return exchange->start_stream(std::move(start));
  });
  session->receive(std::move(parsed), request.body.size());
}

void RequestHandler::mcp_get(const HttpRequest& request, const Principal& who,
                             const std::shared_ptr<Exchange>& exchange) {
  if (!accepts(request.header("accept"), "text/event-stream")) {
    return exchange->respond(
        error_response(406, kServerError, "Not Acceptable: the client must accept text/event-stream"));
  }
  const std::string& session_id = request.header("mcp-session-id");
  if (session_id.empty()) {
    return exchange->respond(
        error_response(400, kServerError, "Bad Request: Mcp-Session-Id header is required"));
  }
  auto session = owned_session(session_id, who, SessionKind::kStreamable);
  if (!session) return exchange->respond(error_response(404, kSessionNotFound, "Session not found"));
  const std::string& version = request.header("mcp-protocol-version");
  mcp::ProtocolVersion parsed_version;
  if (!version.empty() && !mcp::parse_version(version, parsed_version)) {
    return exchange->respond(
        error_response(400, kServerError, "Bad Request: Unsupported protocol version: " + version));
  }
  std::optional<std::string> last_event_id;
  if (request.has_header("last-event-id")) last_event_id = request.header("last-event-id");

  std::weak_ptr<McpSession> weak = session;
  auto attached = session->attach_get(last_event_id, [&](const std::string& priming_id) {
    StreamStart start;
    start.mode = StreamStart::Mode::kSse;
    start.headers = {{"Mcp-Session-Id", session->id()}};
    start.priming_id = priming_id;
    start.retry_ms = options_.sse_retry_ms;
    start.on_close = [weak](const std::shared_ptr<StreamSink>& sink) {
      if (auto s = weak.lock()) s->detach(sink);
    };
    return exchange->start_stream(std::move(start));
  });
  if (attached == McpSession::Attach::kConflict) {
    return exchange->respond(
        error_response(409, kServerError, "Conflict: only one standalone SSE stream is allowed per session"));
  }
  if (attached == McpSession::Attach::kEnded) {
    // Server-sent events' own way of saying "do not reconnect" (HTML, 9.2.3): the stream is over and
    // the client has all of it, e.g. its request was cancelled and will never be answered.
    return exchange->respond(empty_response(204));
  }
  if (attached == McpSession::Attach::kBadEventId) {
    return exchange->respond(error_response(
        400, kServerError, "Bad Request: Last-Event-ID names no stream this session still has"));
  }
}

void RequestHandler::mcp_delete(const HttpRequest& request, const Principal& who,
                                const std::shared_ptr<Exchange>& exchange) {
  const std::string& session_id = request.header("mcp-session-id");
  if (session_id.empty()) {
    return exchange->respond(
        error_response(400, kServerError, "Bad Request: Mcp-Session-Id header is required"));
  }
  if (!owned_session(session_id, who, SessionKind::kStreamable)) {
    return exchange->respond(error_response(404, kSessionNotFound, "Session not found"));
  }
  sessions_.remove(session_id, EndReason::kSessionClosed);
  spdlog::info("session {} ended by the client", session_id);
  exchange->respond(empty_response(200));
}

void RequestHandler::legacy_open(const HttpRequest& request, const Principal& who,
                                 const std::shared_ptr<Exchange>& exchange) {
  if (request.has_header("accept") && !accepts(request.header("accept"), "text/event-stream")) {
    return exchange->respond(
        error_response(406, kServerError, "Not Acceptable: the client must accept text/event-stream"));
  }
  auto session = std::make_shared<McpSession>(server_, random_hex(16), SessionKind::kLegacySse, who,
                                              options_.session_limits, metrics_);
  if (auto refused = refuse_session(sessions_.add(session), request, who, std::nullopt)) {
    return exchange->respond(std::move(*refused));
  }
  StreamStart start;
  start.mode = StreamStart::Mode::kSse;
  start.legacy = true;
  start.preamble = "event: endpoint\ndata: /message?sessionId=" + session->id() + "\n\n";
  std::weak_ptr<McpSession> weak = session;
  start.on_close = [this, weak](const std::shared_ptr<StreamSink>& sink) {
    // No resumption in the legacy transport: the session ends with its stream.
    if (auto s = weak.lock()) {
      s->detach(sink);
      sessions_.remove(s->id(), EndReason::kSessionClosed);
      spdlog::info("SSE session {} closed", s->id());
    }
  };
  session->attach_legacy(exchange->start_stream(std::move(start)));
  spdlog::info("SSE session {} opened from {}", session->id(), request.peer);
}

void RequestHandler::legacy_post(const HttpRequest& request, const Principal& who,
                                 const std::shared_ptr<Exchange>& exchange) {
  // Parsed first (and only here), so that every refusal below carries the request's id.
  jsonrpc::Parsed parsed = jsonrpc::parse(request.body);
  const RequestId call_id = request_id(parsed);
  auto it = request.query.find("sessionId");
  if (it == request.query.end() || it->second.empty()) {
    return exchange->respond(
        error_response(400, kServerError, "Bad Request: sessionId query parameter is required", {}, call_id));
  }
  auto session = owned_session(it->second, who, SessionKind::kLegacySse);
  if (!session)
    return exchange->respond(error_response(404, kSessionNotFound, "Session not found", {}, call_id));
  if (request.has_header("content-type") && !is_json(request.header("content-type"))) {
    return exchange->respond(error_response(
        415, kServerError, "Unsupported Media Type: the body must be Content-Type: application/json", {},
        call_id));
  }
  if (!parsed.is_batch && parsed.messages.size() == 1) {
    const auto* invalid = std::get_if<jsonrpc::Invalid>(&parsed.messages.front());
    if (invalid && invalid->error.code == jsonrpc::kParseError) {
      return exchange->respond(json_response(400, jsonrpc::serialize_error(std::nullopt, invalid->error)));
    }
  }
  for (const auto& message : parsed.messages) {
    if (const auto* r = std::get_if<jsonrpc::Request>(&message))
      metrics_.count_rpc(rpc_method_label(r->method));
    if (const auto* n = std::get_if<jsonrpc::Notification>(&message))
      metrics_.count_rpc(rpc_method_label(n->method));
  }
  session->receive(std::move(parsed), request.body.size());
  HttpResponse response = empty_response(202);
  response.headers.emplace_back("Content-Type", "text/plain");
  response.body = "Accepted";
  exchange->respond(std::move(response));
}

bool RequestHandler::is_browser_path(const std::string& path) {
  return path == "/" || path == "/ui" || path.rfind("/ui/", 0) == 0;
}

void RequestHandler::browser_file(const HttpRequest& request, const std::shared_ptr<Exchange>& exchange) {
  if (request.method != "GET") {
    return exchange->respond(error_response(405, kServerError, "Method Not Allowed", {{"Allow", "GET"}}));
  }
  HttpResponse response;
  const std::string& path = request.path;
  if (path == "/" || path == "/ui" || path == "/ui/" || path == "/ui/index.html") {
    response.headers.emplace_back("Content-Type", "text/html; charset=utf-8");
    response.body = mcp::browser_page_html();
  } else if (auto file = mcp::browser_page_file(std::string_view(path).substr(4))) {
    response.headers.emplace_back("Content-Type", std::string(file->content_type));
    response.body = std::string(file->body);
  } else {
    return exchange->respond(error_response(404, kServerError, "Not Found: " + path));
  }
  // Only our own script and stylesheet, talking only to this server; never framed by another site.
  response.headers.insert(
      response.headers.end(),
      {{"Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"},
       {"X-Content-Type-Options", "nosniff"},
       {"Referrer-Policy", "no-referrer"},
       {"Cache-Control", "no-cache"}});
  exchange->respond(std::move(response));
}

void RequestHandler::healthz(const std::shared_ptr<Exchange>& exchange) {
  // Store::ping may wait on the network (Redis): off the I/O thread.
  server_.run_in_background([this, exchange] {
    auto ping = server_.engine().ping();
    if (ping) {
      exchange->respond(json_response(200, R"({"status":"ok","store":"reachable"})"));
    } else {
      nlohmann::json body = {
          {"status", "unavailable"}, {"store", "unreachable"}, {"error", ping.error().message}};
      exchange->respond(json_response(503, jsonrpc::dump(body)));
    }
  });
}

void RequestHandler::metrics(const std::shared_ptr<Exchange>& exchange) {
  server_.run_in_background([this, exchange] {
    bool up = static_cast<bool>(server_.engine().ping());
    HttpResponse response;
    response.headers.emplace_back("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    response.body = metrics_.render(up);
    exchange->respond(std::move(response));
  });
}

void RequestHandler::rest_call(const HttpRequest& request, const Principal& who,
                               const std::shared_ptr<Exchange>& exchange) {
  rest::Request call{request.method, request.path, request.query, request.body};
  std::string ns = who.ns.empty() ? server_.options().ns : who.ns;
  // Store work stays off the I/O threads, as tool calls do.
  server_.run_in_background([this, call = std::move(call), ns = std::move(ns), exchange] {
    rest::Response answer = rest_.handle(call, ns);
    if (answer.body.empty()) return exchange->respond(empty_response(answer.status));
    exchange->respond(json_response(answer.status, std::move(answer.body)));
  });
}

}  // namespace memtrace::transport::http
