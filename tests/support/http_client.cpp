// Blocking Beast client: every read has a deadline (tcp_stream timeouts), so a broken server fails a
// test instead of hanging it.
#include "support/http_client.h"

#include <signal.h>

#include <regex>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace memtrace::testing {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

struct HttpClient::Impl {
  net::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  std::uint16_t port;
  std::string host_header;
  std::optional<bhttp::response_parser<bhttp::buffer_body>> parser;
  std::string pending;  // body bytes read but not yet consumed as events
  bool ended = false;

  // Runs the io_context until the pending operation completes; tcp_stream's timer bounds it.
  void run() {
    ioc.restart();
    ioc.run();
  }

  void send(const std::string& method, const std::string& target, const Headers& headers,
            const std::string& body, std::chrono::milliseconds timeout) {
    bhttp::request<bhttp::string_body> request{bhttp::string_to_verb(method), target, 11};
    bool has_host = false;
    for (const auto& [name, value] : headers) {
      if (beast::iequals(name, "host")) has_host = true;
    }
    if (!has_host) request.set(bhttp::field::host, host_header);
    for (const auto& [name, value] : headers) request.insert(name, value);
    request.body() = body;
    if (!body.empty() || method == "POST") request.prepare_payload();
    stream.expires_after(timeout);
    beast::error_code ec;
    bhttp::async_write(stream, request, [&](beast::error_code e, std::size_t) { ec = e; });
    run();
    if (ec) throw std::runtime_error("HTTP write failed: " + ec.message());
    parser.emplace();
    parser->body_limit(boost::none);
    pending.clear();
    ended = false;
  }

  bool read_header(HttpReply& reply, std::chrono::milliseconds timeout) {
    stream.expires_after(timeout);
    beast::error_code ec;
    bhttp::async_read_header(stream, buffer, *parser, [&](beast::error_code e, std::size_t) { ec = e; });
    run();
    if (ec) return false;
    const auto& message = parser->get();
    reply.status = static_cast<int>(message.result_int());
    for (const auto& field : message) {
      std::string name(field.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      reply.headers[name] = std::string(field.value());
    }
    if (parser->is_done()) ended = true;
    return true;
  }

  // Reads more body bytes into `pending`; false at the end of the body, on error or timeout.
  bool read_more(std::chrono::milliseconds timeout) {
    if (ended || !parser) return false;
    char chunk[8192];
    parser->get().body().data = chunk;
    parser->get().body().size = sizeof chunk;
    stream.expires_after(timeout);
    beast::error_code ec;
    bhttp::async_read_some(stream, buffer, *parser, [&](beast::error_code e, std::size_t) { ec = e; });
    run();
    if (ec == bhttp::error::need_buffer) ec = {};
    std::size_t got = sizeof chunk - parser->get().body().size;
    pending.append(chunk, got);
    if (ec || parser->is_done()) ended = true;
    return got > 0 || !ended;
  }
};

HttpClient::HttpClient(std::uint16_t port, std::string host_header, const std::string& source_address)
    : impl_(std::make_unique<Impl>()) {
  impl_->port = port;
  impl_->host_header = host_header.empty() ? "127.0.0.1:" + std::to_string(port) : host_header;
  impl_->stream.expires_after(std::chrono::seconds(10));
  beast::error_code ec;
  if (!source_address.empty()) {
    // Another loopback address (127.0.0.2, ...): to the server, a different peer.
    impl_->stream.socket().open(tcp::v4());
    impl_->stream.socket().bind(tcp::endpoint(net::ip::make_address(source_address), 0), ec);
    if (ec) throw std::runtime_error("cannot bind to " + source_address + ": " + ec.message());
  }
  impl_->stream.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port),
                              [&](beast::error_code e) { ec = e; });
  impl_->run();
  if (ec)
    throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port) + ": " + ec.message());
}

HttpClient::~HttpClient() = default;

HttpReply HttpClient::request(const std::string& method, const std::string& target, const Headers& headers,
                              const std::string& body, std::chrono::milliseconds timeout) {
  HttpReply reply = begin(method, target, headers, body, timeout);
  if (reply.status != 0) reply.body = read_body(timeout);
  return reply;
}

HttpReply HttpClient::begin(const std::string& method, const std::string& target, const Headers& headers,
                            const std::string& body, std::chrono::milliseconds timeout) {
  impl_->send(method, target, headers, body, timeout);
  HttpReply reply;
  impl_->read_header(reply, timeout);
  return reply;
}

std::optional<SseEvent> HttpClient::next_event(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    // Events end with a blank line; a comment-only block (": keep-alive") is not an event.
    auto end = impl_->pending.find("\n\n");
    while (end != std::string::npos) {
      std::string block = impl_->pending.substr(0, end);
      impl_->pending.erase(0, end + 2);
      SseEvent event;
      bool any = false;
      std::size_t start = 0;
      while (start <= block.size()) {
        auto eol = block.find('\n', start);
        std::string line = block.substr(start, eol == std::string::npos ? std::string::npos : eol - start);
        start = eol == std::string::npos ? block.size() + 1 : eol + 1;
        if (line.empty() || line[0] == ':') continue;
        auto colon = line.find(':');
        std::string field = line.substr(0, colon);
        std::string value = colon == std::string::npos ? std::string() : line.substr(colon + 1);
        if (!value.empty() && value[0] == ' ') value.erase(0, 1);
        if (field == "id") {
          event.id = value;
          event.has_id = true;
          any = true;
        } else if (field == "event") {
          event.event = value;
          any = true;
        } else if (field == "data") {
          if (!event.data.empty()) event.data += '\n';
          event.data += value;
          any = true;
        } else if (field == "retry") {
          event.retry = std::stoi(value);
          any = true;
        }
      }
      if (any) return event;
      end = impl_->pending.find("\n\n");
    }
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !impl_->read_more(left)) return std::nullopt;
  }
}

std::string HttpClient::read_body(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!impl_->ended) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !impl_->read_more(left)) break;
  }
  std::string body = std::move(impl_->pending);
  impl_->pending.clear();
  return body;
}

bool HttpClient::body_ended(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!impl_->ended) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    impl_->read_more(left);
  }
  return true;
}

bool HttpClient::body_done() const {
  return impl_->ended;
}

void HttpClient::write_raw(const std::string& bytes) {
  impl_->stream.expires_after(std::chrono::seconds(10));
  beast::error_code ec;
  net::async_write(impl_->stream, net::buffer(bytes), [&](beast::error_code e, std::size_t) { ec = e; });
  impl_->run();
  if (ec) throw std::runtime_error("raw write failed: " + ec.message());
}

bool HttpClient::closed_by_peer(std::chrono::milliseconds timeout) {
  impl_->stream.expires_after(timeout);
  char byte;
  beast::error_code ec;
  for (;;) {
    std::size_t n = 0;
    impl_->stream.async_read_some(net::buffer(&byte, 1), [&](beast::error_code e, std::size_t got) {
      ec = e;
      n = got;
    });
    impl_->run();
    if (ec == beast::error::timeout) return false;
    if (ec) return true;  // eof or reset
    (void)n;              // a response to the partial request: keep reading until the close
  }
}

void HttpClient::close() {
  beast::error_code ec;
  impl_->stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  impl_->stream.close();
}

// ---- HttpServerProcess -----------------------------------------------------------------------------

std::string create_api_key(const std::string& store, const std::string& ns) {
  ChildProcess process({MEMTRACE_BINARY, "--store", store, "keys", "create", "--namespace", ns});
  auto line = process.read_line(std::chrono::seconds(20));
  EXPECT_EQ(process.wait(std::chrono::seconds(20)), 0) << process.stderr_text();
  EXPECT_TRUE(line && line->rfind("mtk_", 0) == 0) << "keys create printed no key: " << process.stderr_text();
  return line.value_or("");
}

HttpServerProcess::HttpServerProcess(std::vector<std::string> args, std::map<std::string, std::string> env) {
  std::vector<std::string> argv = {MEMTRACE_BINARY, "--transport", "http", "--listen", "127.0.0.1:0"};
  bool has_store = false;
  for (const auto& a : args) has_store = has_store || a == "--store" || a.rfind("--store=", 0) == 0;
  if (!has_store) {
    argv.push_back("--store");
    argv.push_back("memory");
  }
  argv.insert(argv.end(), args.begin(), args.end());
  process_ = std::make_unique<ChildProcess>(argv, env);
  // The server logs "listening on http://HOST:PORT/mcp" once bound; wait for it (bounded).
  static const std::regex kListening(R"(listening on http://[^ ]*:(\d+)/mcp)");
  std::string log;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    log += process_->stderr_text();
    std::smatch match;
    if (std::regex_search(log, match, kListening)) {
      port_ = static_cast<std::uint16_t>(std::stoi(match[1]));
      return;
    }
    if (process_->wait(std::chrono::milliseconds(10))) break;  // exited: it will never listen
  }
  throw std::runtime_error("memtrace-mcp did not start listening; its log:\n" + log +
                           process_->stderr_text());
}

HttpServerProcess::~HttpServerProcess() {
  if (process_ && !process_->wait(std::chrono::milliseconds(0))) {
    process_->kill(SIGTERM);
    process_->wait(std::chrono::seconds(15));
  }
}

// ---- McpHttpSession --------------------------------------------------------------------------------

McpHttpSession::McpHttpSession(std::uint16_t port, Headers extra_headers, const std::string& source_address)
    : port_(port), extra_(std::move(extra_headers)), client_(port, {}, source_address) {}

McpHttpSession::McpHttpSession(std::uint16_t port, const McpHttpSession& joined,
                               const std::string& source_address)
    : port_(port),
      extra_(joined.extra_),
      client_(port, {}, source_address),
      session_id_(joined.session_id_),
      version_(joined.version_) {}

Headers McpHttpSession::headers(bool with_session) const {
  Headers h = {{"Accept", "application/json, text/event-stream"}, {"Content-Type", "application/json"}};
  if (with_session && !session_id_.empty()) h.emplace_back("Mcp-Session-Id", session_id_);
  if (with_session && !version_.empty()) h.emplace_back("MCP-Protocol-Version", version_);
  h.insert(h.end(), extra_.begin(), extra_.end());
  return h;
}

int McpHttpSession::listen(HttpClient& listener) const {
  return listener.begin("GET", "/mcp", {{"Accept", "text/event-stream"}, {"Mcp-Session-Id", session_id_}})
      .status;
}

HttpReply McpHttpSession::initialize(const std::string& version) {
  nlohmann::json message = {{"jsonrpc", "2.0"},
                            {"id", next_id()},
                            {"method", "initialize"},
                            {"params",
                             {{"protocolVersion", version},
                              {"capabilities", nlohmann::json::object()},
                              {"clientInfo", {{"name", "http-e2e"}, {"version", "1"}}}}}};
  HttpReply reply = client_.request("POST", "/mcp", headers(false), message.dump());
  if (reply.status == 200) {
    session_id_ = reply.header("mcp-session-id");
    version_ = version;
    HttpReply ack = client_.request("POST", "/mcp", headers(),
                                    R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
    if (ack.status != 202)
      throw std::runtime_error("initialized notification got " + std::to_string(ack.status));
  }
  return reply;
}

HttpReply McpHttpSession::post(const nlohmann::json& message, const Headers& extra) {
  Headers h = headers();
  h.insert(h.end(), extra.begin(), extra.end());
  HttpReply reply = client_.begin("POST", "/mcp", h, message.dump());
  if (reply.header("content-type").rfind("text/event-stream", 0) != 0) {
    reply.body = client_.read_body();
    return reply;
  }
  while (auto event = client_.next_event()) {
    if (event->data.empty()) continue;  // priming
    auto parsed = nlohmann::json::parse(event->data);
    if (parsed.contains("method")) {
      notifications_.push_back(parsed);
      continue;
    }
    reply.body = event->data;
  }
  return reply;
}

nlohmann::json McpHttpSession::call(const std::string& method, const nlohmann::json& params) {
  nlohmann::json message = {{"jsonrpc", "2.0"}, {"id", next_id()}, {"method", method}, {"params", params}};
  HttpReply reply = post(message);
  if (reply.status != 200) {
    throw std::runtime_error(method + " got HTTP " + std::to_string(reply.status) + ": " + reply.body);
  }
  return reply.json();
}

nlohmann::json McpHttpSession::call_tool(const std::string& name, const nlohmann::json& arguments) {
  auto response = call("tools/call", {{"name", name}, {"arguments", arguments}});
  if (!response.contains("result")) throw std::runtime_error("tools/call " + name + ": " + response.dump());
  return response["result"];
}

}  // namespace memtrace::testing
