// A small blocking HTTP/1.1 client for end-to-end tests (Beast, with a deadline on every read), an SSE
// event reader, and a launcher for memtrace-mcp in HTTP mode on a free loopback port.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/child_process.h"

namespace memtrace::testing {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpReply {
  int status = 0;                              // 0: no answer (connection closed or timed out)
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;

  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
  nlohmann::json json() const { return nlohmann::json::parse(body); }
};

struct SseEvent {
  std::string id;
  std::string event;  // empty: the default "message"
  std::string data;
  std::optional<int> retry;
  bool has_id = false;
};

// One TCP connection to 127.0.0.1:port. Requests are sent one at a time; an answer may be read whole
// (request) or incrementally (begin + next_event / read_body). Not thread-safe.
class HttpClient {
 public:
  // `source_address`: connect from this local address (e.g. 127.0.0.2) instead of any.
  explicit HttpClient(std::uint16_t port, std::string host_header = {},
                      const std::string& source_address = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends a request and reads the whole answer. Host defaults to 127.0.0.1:port.
  HttpReply request(const std::string& method, const std::string& target, const Headers& headers = {},
                    const std::string& body = {},
                    std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Sends a request and reads only the status and headers; the body follows through next_event/read_body.
  HttpReply begin(const std::string& method, const std::string& target, const Headers& headers = {},
                  const std::string& body = {}, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // The next SSE event of the body (comments skipped); nullopt at the end of the body or on timeout.
  std::optional<SseEvent> next_event(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // The rest of the body after begin().
  std::string read_body(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // True if the body ended (or the peer closed) within `timeout`.
  bool body_ended(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  bool body_done() const;

  // Raw bytes, for malformed or slow requests; and whether the server then closes the connection.
  void write_raw(const std::string& bytes);
  bool closed_by_peer(std::chrono::milliseconds timeout);
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// memtrace-mcp --transport http --listen 127.0.0.1:0 (plus `args`), with the bound port read from its log.
class HttpServerProcess {
 public:
  explicit HttpServerProcess(std::vector<std::string> args = {}, std::map<std::string, std::string> env = {});
  // Stops the server with SIGTERM (its graceful path) if it still runs.
  ~HttpServerProcess();
  std::uint16_t port() const { return port_; }
  ChildProcess& process() { return *process_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/mcp"; }

 private:
  std::unique_ptr<ChildProcess> process_;
  std::uint16_t port_ = 0;
};

// An API key for namespace `ns` in `store` (memtrace-mcp keys create); fails the test if it cannot.
std::string create_api_key(const std::string& store, const std::string& ns);
// The header that presents `token` as a Bearer API key.
inline Headers bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

// A Streamable HTTP MCP client on top of HttpClient: keeps the session id and protocol version.
class McpHttpSession {
 public:
  explicit McpHttpSession(std::uint16_t port, Headers extra_headers = {},
                          const std::string& source_address = {});
  // Another keep-alive connection into `joined`'s session (same session id, version and headers).
  McpHttpSession(std::uint16_t port, const McpHttpSession& joined, const std::string& source_address = {});

  // POST initialize (+ notifications/initialized); returns the initialize reply.
  HttpReply initialize(const std::string& version = "2025-11-25");
  // POST one message; the JSON answer (or, for an SSE answer, the final message of the stream).
  HttpReply post(const nlohmann::json& message, const Headers& extra = {});
  // POST a request and return its final JSON-RPC response (SSE or JSON), collecting notifications.
  nlohmann::json call(const std::string& method, const nlohmann::json& params = nlohmann::json::object());
  nlohmann::json call_tool(const std::string& name,
                           const nlohmann::json& arguments = nlohmann::json::object());

  Headers headers(bool with_session = true) const;
  // Opens the session's standalone GET stream on `listener` (where unrelated messages go); its status.
  int listen(HttpClient& listener) const;
  const std::string& session_id() const { return session_id_; }
  std::vector<nlohmann::json>& notifications() { return notifications_; }
  HttpClient& client() { return client_; }
  long long next_id() { return ++last_id_; }

 private:
  std::uint16_t port_;
  Headers extra_;
  HttpClient client_;
  std::string session_id_;
  std::string version_;
  long long last_id_ = 0;
  std::vector<nlohmann::json> notifications_;
};

}  // namespace memtrace::testing
