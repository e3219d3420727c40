// Fuzz harness: the HTTP transport's request side without a socket: raw bytes go through Beast's request
// parser with the server's limits, become HttpRequests as the server builds them (add_request_header,
// set_request_target), and are handled by the real RequestHandler (Host/Origin checks, Streamable HTTP
// POST/GET/DELETE /mcp, legacy /sse + /message, the REST API, /healthz, /metrics) on an in-memory SQLite
// store (server_fixture.h): the server is reused across inputs, with a fresh session table per input; a
// request with any Bearer key is in that input's own namespace, an anonymous one in the server's.
//
// The input holds up to 8 pipelined requests. Session ids are random, so the harness writes the newest
// session's id wherever a header or query value is exactly "@SID@" (seeds use it after initialize).
//
// Properties: nothing crashes or leaks; every request is answered (a whole response, or a stream) within
// seconds; statuses are real HTTP statuses; every message sent on a stream is valid JSON; at the end no
// call is left running.
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "fuzz_check.h"
#include "server_fixture.h"
#include "transport/http/request_handler.h"

namespace {

namespace http = memtrace::transport::http;
namespace bhttp = boost::beast::http;

constexpr std::size_t kMaxBodyBytes = 64 * 1024;
constexpr std::size_t kMaxRequests = 8;

// What became of one request.
struct Outcome {
  std::mutex mutex;
  std::condition_variable changed;
  bool answered = false;  // a response, an open SSE stream, or a deferred stream that ended
  bool finished = false;  // the stream is over (on_close is due)
  std::string session_id;
};

class Sink : public http::StreamSink {
 public:
  explicit Sink(std::shared_ptr<Outcome> outcome, bool deferred)
      : outcome_(std::move(outcome)), deferred_(deferred) {}
  void push(http::SinkEvent event) override {
    auto parsed = nlohmann::json::parse(event.data, nullptr, false);
    FUZZ_CHECK(!parsed.is_discarded(), "a stream carried a message that is not valid JSON");
    if (event.final) finish();
  }
  void end(http::EndReason) override { finish(); }

 private:
  void finish() {
    std::lock_guard lock(outcome_->mutex);
    outcome_->finished = true;
    if (deferred_) outcome_->answered = true;
    outcome_->changed.notify_all();
  }
  std::shared_ptr<Outcome> outcome_;
  bool deferred_;
};

class FakeExchange : public http::Exchange {
 public:
  explicit FakeExchange(std::shared_ptr<Outcome> outcome) : outcome_(std::move(outcome)) {}
  void respond(http::HttpResponse response) override {
    FUZZ_CHECK(!used_, "a request was answered twice");
    used_ = true;
    FUZZ_CHECK(response.status >= 200 && response.status <= 599, "an HTTP status out of range");
    std::lock_guard lock(outcome_->mutex);
    for (const auto& [name, value] : response.headers) {
      if (name == "Mcp-Session-Id") outcome_->session_id = value;
    }
    outcome_->answered = outcome_->finished = true;
    outcome_->changed.notify_all();
  }
  std::shared_ptr<http::StreamSink> start_stream(http::StreamStart start) override {
    FUZZ_CHECK(!used_, "a request was answered twice");
    used_ = true;
    const bool deferred = start.mode == http::StreamStart::Mode::kDeferred;
    auto sink = std::make_shared<Sink>(outcome_, deferred);
    std::lock_guard lock(outcome_->mutex);
    for (const auto& [name, value] : start.headers) {
      if (name == "Mcp-Session-Id") outcome_->session_id = value;
    }
    if (auto at = start.preamble.find("sessionId="); at != std::string::npos) {
      auto id = start.preamble.substr(at + 10);
      outcome_->session_id = id.substr(0, id.find('\n'));
    }
    if (!deferred) outcome_->answered = true;  // an event stream is the answer; it stays open
    on_close = std::move(start.on_close);
    this->sink = sink;
    outcome_->changed.notify_all();
    return sink;
  }
  std::function<void(const std::shared_ptr<http::StreamSink>&)> on_close;
  std::shared_ptr<http::StreamSink> sink;

 private:
  std::shared_ptr<Outcome> outcome_;
  bool used_ = false;
};

// The next request in `rest` as the server would read it, or nullopt at the end or on a malformed one
// (the server answers that with 400 and closes the connection, so nothing after it is read either).
std::optional<http::HttpRequest> next_request(std::string_view& rest) {
  if (rest.empty()) return std::nullopt;
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(kMaxBodyBytes);
  parser.eager(true);
  boost::beast::error_code ec;
  std::size_t used = 0;
  while (!parser.is_done() && used < rest.size()) {
    std::size_t n = parser.put(boost::asio::buffer(rest.data() + used, rest.size() - used), ec);
    used += n;
    if (ec == bhttp::error::need_more) {
      ec = {};
      break;
    }
    if (ec || n == 0) break;
  }
  if (!ec && !parser.is_done()) parser.put_eof(ec);
  rest.remove_prefix(used);
  if (ec || !parser.is_done()) return std::nullopt;
  auto message = parser.release();
  http::HttpRequest request;
  request.method = std::string(message.method_string());
  request.body = std::move(message.body());
  request.peer = "127.0.0.1";
  for (const auto& field : message) http::add_request_header(request, field.name_string(), field.value());
  if (!http::set_request_target(request, message.target())) return std::nullopt;
  return request;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace memtrace;
  std::string_view rest(reinterpret_cast<const char*>(data), size);

  mcp::ServerOptions server_options;
  server_options.worker_threads = 1;
  auto& fixture = fuzz::ServerFixture::for_next_input(server_options);

  http::HttpOptions options;
  options.max_body_bytes = kMaxBodyBytes;
  http::Metrics metrics;
  http::SessionTable sessions(options.max_sessions, options.max_sessions_per_key,
                              options.session_idle_timeout, metrics);
  {
    http::RequestHandler handler(
        *fixture.server, options, http::OriginPolicy("127.0.0.1", 8765, {}, {}),
        [&fixture](const std::string& token) -> Result<std::optional<http::Principal>> {
          if (token == "revoked") return std::nullopt;  // an unknown key
          return http::Principal{"key-" + token.substr(0, 16), fixture.ns};
        },
        sessions, metrics);

    std::string session_id;
    std::vector<std::shared_ptr<FakeExchange>> open_streams;
    for (std::size_t n = 0; n < kMaxRequests; ++n) {
      auto request = next_request(rest);
      if (!request) break;
      for (auto& [name, value] : request->headers) {
        if (value == "@SID@") value = session_id;
      }
      for (auto& [name, value] : request->query) {
        if (value == "@SID@") value = session_id;
      }
      auto outcome = std::make_shared<Outcome>();
      auto exchange = std::make_shared<FakeExchange>(outcome);
      handler.handle(std::move(*request), exchange);
      {
        std::unique_lock lock(outcome->mutex);
        bool answered =
            outcome->changed.wait_for(lock, std::chrono::seconds(10), [&] { return outcome->answered; });
        FUZZ_CHECK(answered, "an HTTP request was not answered within 10 s");
        if (!outcome->session_id.empty()) session_id = outcome->session_id;
        if (!outcome->finished) {
          open_streams.push_back(exchange);
          continue;
        }
      }
      // The stream is over: the connection would now tell its owner, as on its strand.
      if (exchange->on_close) exchange->on_close(exchange->sink);
    }
    FUZZ_CHECK(sessions.drain(std::chrono::seconds(10)),
               "calls were still running 10 s after the last request");
    sessions.close_all(http::EndReason::kShutdown);
    for (auto& exchange : open_streams) {
      if (exchange->on_close) exchange->on_close(exchange->sink);
    }
  }
  return 0;
}
