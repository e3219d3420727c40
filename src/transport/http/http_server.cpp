// The Beast side of the HTTP transport: the listener, one self-owning connection object per socket on its
// own strand (read with deadlines and a body limit, write plain or streamed responses), and the server
// lifecycle (signals, graceful drain). Everything Beast lives in this one file to keep compile times down.
#include "transport/http/http_server.h"

#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <thread>
#include <unordered_map>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include "core/thread_name.h"
#include "transport/http/request_handler.h"
#include "transport/http/wire.h"

namespace memtrace::transport::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

class HttpConnection;

// What the listener and every connection share. Owned by serve_http, outlives all connections.
struct ServerContext {
  ServerContext(net::io_context& i, const HttpOptions& o, RequestHandler& h, Metrics& m)
      : ioc(i), options(o), handler(h), metrics(m) {}

  net::io_context& ioc;
  const HttpOptions& options;
  RequestHandler& handler;
  Metrics& metrics;

  std::mutex mutex;
  std::condition_variable all_closed;
  std::unordered_map<const HttpConnection*, std::weak_ptr<HttpConnection>> connections;
  std::atomic<bool> stopping{false};

  void add(const std::shared_ptr<HttpConnection>& connection) {
    std::lock_guard lock(mutex);
    connections[connection.get()] = connection;
  }
  void remove(const HttpConnection* connection) {
    std::lock_guard lock(mutex);
    connections.erase(connection);
    if (connections.empty()) all_closed.notify_all();
  }

  // Connections per remote address (--max-connections-per-peer): one peer holding many idle sockets
  // cannot use up --max-connections and keep everyone else out before they even authenticate.
  bool admit_peer(const std::string& address) {
    std::lock_guard lock(mutex);
    std::size_t& count = per_peer[address];
    if (count >= options.max_connections_per_peer) return false;
    ++count;
    return true;
  }
  void release_peer(const std::string& address) {
    std::lock_guard lock(mutex);
    auto it = per_peer.find(address);
    if (it != per_peer.end() && --it->second == 0) per_peer.erase(it);
  }
  std::unordered_map<std::string, std::size_t> per_peer;  // guarded by mutex
};

// One TCP connection: HTTP/1.1 requests one after another (keep-alive), each answered by a plain
// response or by a stream of server-sent events.
// Thread-safety: all state is touched only on the connection's strand (the stream's executor); the
// Exchange and StreamSink adapters post there.
class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
 public:
  // `peer_address` was admitted by ServerContext::admit_peer; the connection releases it when it goes.
  HttpConnection(tcp::socket socket, ServerContext& context, std::string peer_address)
      : context_(context),
        stream_(std::move(socket)),
        keepalive_timer_(stream_.get_executor()),
        peer_address_(std::move(peer_address)) {
    ++context_.metrics.open_connections;
    beast::error_code ec;
    auto endpoint = stream_.socket().remote_endpoint(ec);
    if (!ec) peer_ = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
  }

  ~HttpConnection() {
    --context_.metrics.open_connections;
    if (streaming_) --context_.metrics.open_streams;
    context_.release_peer(peer_address_);
    context_.remove(this);
  }

  void run() {
    context_.add(shared_from_this());
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->do_read_header(); });
  }

  // Server stopping: a connection waiting for a request is closed; a busy one closes after its answer.
  void stop() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      self->close_after_ = true;
      if (self->state_ == State::kReading) self->close();
    });
  }

  // ---- called (via post) by the Exchange and StreamSink adapters -------------------------------------

  void respond(std::uint64_t generation, HttpResponse response) {
    if (generation != generation_ || state_ != State::kHandling) return;
    write_response(std::move(response));
  }

  void begin_stream(std::uint64_t generation, StreamStart start) {
    if (generation != generation_ || state_ != State::kHandling) return;
    state_ = State::kStreaming;
    stream_start_ = std::move(start);
    headers_sent_ = false;
    finishing_ = false;
    if (stream_start_.mode == StreamStart::Mode::kSse) {
      // A GET or legacy stream lives until one side leaves; its connection is not reused afterwards,
      // which lets us keep a read pending to notice at once when the client goes away.
      close_after_ = true;
      start_sse();
      watch_peer();
    }
  }

  void stream_push(std::uint64_t generation, SinkEvent event) {
    if (generation != generation_ || state_ != State::kStreaming || finishing_) return;
    if (!headers_sent_) {
      if (event.plain_json) {
        // The answer came before anything else: a plain JSON response (the common, cheap case).
        HttpResponse response;
        response.status = event.status;
        response.headers = stream_start_.headers;
        response.headers.emplace_back("Content-Type", "application/json");
        response.body = std::move(event.data);
        finish_stream_callbacks();
        state_ = State::kHandling;
        write_response(std::move(response));
        return;
      }
      start_sse();
    }
    pending_ += stream_start_.legacy ? sse_message({}, event.data) : sse_message(event.id, event.data);
    if (event.final) finishing_ = true;
    flush();
  }

  void stream_end(std::uint64_t generation, EndReason reason) {
    if (generation != generation_ || state_ != State::kStreaming || finishing_) return;
    if (!headers_sent_) {
      if (reason == EndReason::kSessionClosed || reason == EndReason::kShutdown) {
        finish_stream_callbacks();
        state_ = State::kHandling;
        HttpResponse response;
        response.status = reason == EndReason::kShutdown ? 503 : 404;
        response.headers.emplace_back("Content-Type", "application/json");
        response.body =
            error_body(reason == EndReason::kShutdown ? -32000 : -32001,
                       reason == EndReason::kShutdown ? "Service Unavailable: the server is shutting down"
                                                      : "Session not found");
        response.close = reason == EndReason::kShutdown;
        write_response(std::move(response));
        return;
      }
      start_sse();  // poll/cancel: the client still gets a stream it can resume or drop
    }
    finishing_ = true;
    if (reason != EndReason::kCancelled) close_after_ = true;
    flush();
  }

 private:
  enum class State { kReading, kHandling, kWriting, kStreaming, kClosed };

  class ConnectionExchange;
  class ConnectionSink;

  // ---- reading ---------------------------------------------------------------------------------------

  void do_read_header() {
    if (context_.stopping || close_after_) return close();
    state_ = State::kReading;
    ++generation_;
    parser_.emplace();
    parser_->header_limit(16 * 1024);
    parser_->body_limit(context_.options.max_body_bytes);
    stream_.expires_after(first_request_ ? context_.options.header_timeout : context_.options.idle_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             beast::bind_front_handler(&HttpConnection::on_read_header, shared_from_this()));
  }

  void on_read_header(beast::error_code ec, std::size_t) {
    if (ec) {
      if (ec == beast::error::timeout && first_request_) {
        spdlog::debug("closing connection from {}: no request header within {} ms", peer_,
                      context_.options.header_timeout.count());
      }
      if (ec == bhttp::error::header_limit) return refuse(431, "Request Header Fields Too Large");
      if (ec == bhttp::error::body_limit) return too_large();  // a Content-Length over the limit
      if (ec != bhttp::error::end_of_stream && ec != beast::error::timeout &&
          ec != net::error::operation_aborted && ec != net::error::eof &&
          ec != net::error::connection_reset) {
        return refuse(400, "Bad Request: malformed HTTP request");
      }
      return close();
    }
    first_request_ = false;
    {
      const auto& header = parser_->get();
      method_ = std::string(header.method_string());
      std::string_view target(header.target().data(), header.target().size());
      route_ = RequestHandler::route_label(std::string(target.substr(0, target.find('?'))));
    }
    auto length = parser_->content_length();
    if (length && *length > context_.options.max_body_bytes) return too_large();
    auto& request = parser_->get();
    auto expect = request[bhttp::field::expect];
    stream_.expires_after(context_.options.body_timeout);
    if (beast::iequals(expect, "100-continue")) {
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      net::async_write(stream_, net::buffer(kContinue),
                       [self = shared_from_this()](beast::error_code e, std::size_t) {
                         if (e) return self->close();
                         self->do_read_body();
                       });
      return;
    }
    do_read_body();
  }

  void do_read_body() {
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&HttpConnection::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == bhttp::error::body_limit) return too_large();
    if (ec) return close();
    stream_.expires_never();
    dispatch_request();
  }

  void too_large() {
    HttpResponse response;
    response.status = 413;
    response.headers.emplace_back("Content-Type", "application/json");
    response.body =
        error_body(-32000, "Payload Too Large: the body exceeds " +
                               std::to_string(context_.options.max_body_bytes) + " bytes (--max-body-bytes)");
    response.close = true;  // the rest of the body was never read
    keep_alive_ = false;
    state_ = State::kHandling;
    write_response(std::move(response));
  }

  void refuse(int status, const std::string& message) {
    HttpResponse response;
    response.status = status;
    response.headers.emplace_back("Content-Type", "application/json");
    response.body = error_body(-32000, message);
    response.close = true;
    keep_alive_ = false;
    state_ = State::kHandling;
    write_response(std::move(response), false);
  }

  void dispatch_request() {
    auto message = parser_->release();
    HttpRequest request;
    request.method = std::string(message.method_string());
    request.body = std::move(message.body());
    request.peer = peer_;
    keep_alive_ = message.keep_alive();
    version_ = message.version();
    for (const auto& field : message) add_request_header(request, field.name_string(), field.value());
    if (!set_request_target(request, message.target())) {
      state_ = State::kHandling;
      return refuse(400, "Bad Request: malformed request target");
    }
    method_ = request.method;
    route_ = RequestHandler::route_label(request.path);

    state_ = State::kHandling;
    auto exchange = std::make_shared<ConnectionExchange>(shared_from_this(), generation_);
    try {
      context_.handler.handle(std::move(request), exchange);
    } catch (const std::exception& e) {
      spdlog::error("HTTP handler failed on {} {}: {}", method_, route_, e.what());
      HttpResponse response;
      response.status = 500;
      response.headers.emplace_back("Content-Type", "application/json");
      response.body = error_body(-32603, "Internal error");
      respond(generation_, std::move(response));
    }
  }

  // ---- plain responses -------------------------------------------------------------------------------

  void write_response(HttpResponse response, bool count = true) {
    if (count) context_.metrics.count_http(method_, route_, response.status);
    if (response.status >= 500) context_.metrics.count_error("http_5xx");
    auto message = std::make_shared<bhttp::response<bhttp::string_body>>(
        static_cast<bhttp::status>(response.status), version_ ? version_ : 11);
    for (auto& [name, value] : response.headers) message->insert(name, value);
    message->body() = std::move(response.body);
    bool keep = keep_alive_ && !response.close && !close_after_ && !context_.stopping;
    message->keep_alive(keep);
    message->prepare_payload();
    state_ = State::kWriting;
    stream_.expires_after(context_.options.write_timeout);
    bhttp::async_write(stream_, *message,
                       [self = shared_from_this(), message, keep](beast::error_code ec, std::size_t) {
                         if (ec || !keep) return self->close();
                         self->do_read_header();
                       });
  }

  // ---- streamed responses ----------------------------------------------------------------------------

  void start_sse() {
    if (headers_sent_) return;
    headers_sent_ = true;
    ++context_.metrics.open_streams;
    streaming_ = true;
    context_.metrics.count_http(method_, route_, 200);
    auto header =
        std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::ok, version_ ? version_ : 11);
    header->set(bhttp::field::content_type, "text/event-stream");
    header->set(bhttp::field::cache_control, "no-cache, no-transform");
    header->set("X-Accel-Buffering", "no");
    for (auto& [name, value] : stream_start_.headers) header->insert(name, value);
    header->keep_alive(keep_alive_ && !context_.stopping);
    header->chunked(true);
    header_ = header;
    serializer_ = std::make_shared<bhttp::response_serializer<bhttp::empty_body>>(*header);
    header_pending_ = true;
    if (!stream_start_.preamble.empty()) pending_ += stream_start_.preamble;
    if (!stream_start_.priming_id.empty()) {
      pending_ += sse_priming(stream_start_.priming_id, stream_start_.retry_ms);
    } else if (!stream_start_.legacy && stream_start_.retry_ms > 0) {
      pending_ += sse_retry(stream_start_.retry_ms);
    }
    arm_keepalive();
    flush();
  }

  void watch_peer() {
    stream_.socket().async_read_some(net::buffer(peek_), [self = shared_from_this(), gen = generation_](
                                                             beast::error_code ec, std::size_t) {
      if (gen != self->generation_ || self->state_ != State::kStreaming) return;
      if (ec) return self->stream_broken();
      self->watch_peer();  // a client has nothing to say on an event stream; ignore it
    });
  }

  void arm_keepalive() {
    keepalive_timer_.expires_after(context_.options.keepalive_interval);
    // The timer runs on the connection's strand (it was made from the stream's executor).
    keepalive_timer_.async_wait([self = shared_from_this(), gen = generation_](beast::error_code ec) {
      if (ec || gen != self->generation_ || self->state_ != State::kStreaming || self->finishing_) return;
      if (self->pending_.empty() && !self->writing_) self->pending_ += kSseKeepAlive;
      self->flush();
      self->arm_keepalive();
    });
  }

  void flush() {
    if (writing_ || state_ != State::kStreaming) return;
    auto self = shared_from_this();
    if (header_pending_) {
      header_pending_ = false;
      writing_ = true;
      stream_.expires_after(context_.options.write_timeout);
      bhttp::async_write_header(stream_, *serializer_, [self](beast::error_code ec, std::size_t) {
        self->writing_ = false;
        if (ec) return self->stream_broken();
        self->flush();
      });
      return;
    }
    if (!pending_.empty()) {
      writing_ = true;
      chunk_ = std::move(pending_);
      pending_.clear();
      stream_.expires_after(context_.options.write_timeout);
      net::async_write(stream_, bhttp::make_chunk(net::buffer(chunk_)),
                       [self](beast::error_code ec, std::size_t) {
                         self->writing_ = false;
                         if (ec) return self->stream_broken();
                         self->flush();
                       });
      return;
    }
    if (finishing_) {
      writing_ = true;
      stream_.expires_after(context_.options.write_timeout);
      net::async_write(stream_, bhttp::make_chunk_last(), [self](beast::error_code ec, std::size_t) {
        self->writing_ = false;
        self->end_stream_state();
        if (ec || self->close_after_ || !self->keep_alive_ || self->context_.stopping) return self->close();
        self->do_read_header();
      });
      return;
    }
    stream_.expires_never();  // waiting for events; the keep-alive timer writes now and then
  }

  void stream_broken() {
    spdlog::debug("stream to {} closed by the peer", peer_);
    end_stream_state();
    close();
  }

  void end_stream_state() {
    if (state_ != State::kStreaming) return;
    keepalive_timer_.cancel();
    if (streaming_) {
      --context_.metrics.open_streams;
      streaming_ = false;
    }
    finish_stream_callbacks();
    state_ = State::kHandling;
  }

  void finish_stream_callbacks() {
    if (!has_sink_) return;
    has_sink_ = false;
    auto on_close = std::move(stream_start_.on_close);
    // Null when the session already let the sink go (it delivered the answer): nothing to detach then.
    std::shared_ptr<StreamSink> sink = sink_.lock();
    sink_.reset();
    if (on_close) on_close(sink);
  }

  void close() {
    if (state_ == State::kClosed) return;
    if (state_ == State::kStreaming) end_stream_state();
    state_ = State::kClosed;
    ++generation_;
    keepalive_timer_.cancel();
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

  // ---- adapters --------------------------------------------------------------------------------------

  class ConnectionSink final : public StreamSink {
   public:
    ConnectionSink(std::shared_ptr<HttpConnection> connection, std::uint64_t generation)
        : connection_(std::move(connection)), generation_(generation) {}
    void push(SinkEvent event) override {
      net::post(connection_->stream_.get_executor(),
                [c = connection_, g = generation_, e = std::move(event)]() mutable {
                  c->stream_push(g, std::move(e));
                });
    }
    void end(EndReason reason) override {
      net::post(connection_->stream_.get_executor(),
                [c = connection_, g = generation_, reason] { c->stream_end(g, reason); });
    }

   private:
    std::shared_ptr<HttpConnection> connection_;
    std::uint64_t generation_;
  };

  class ConnectionExchange final : public Exchange {
   public:
    ConnectionExchange(std::shared_ptr<HttpConnection> connection, std::uint64_t generation)
        : connection_(std::move(connection)), generation_(generation) {}
    void respond(HttpResponse response) override {
      net::post(connection_->stream_.get_executor(),
                [c = connection_, g = generation_, r = std::move(response)]() mutable {
                  c->respond(g, std::move(r));
                });
    }
    std::shared_ptr<StreamSink> start_stream(StreamStart start) override {
      auto sink = std::make_shared<ConnectionSink>(connection_, generation_);
      std::weak_ptr<StreamSink> weak = sink;
      net::post(connection_->stream_.get_executor(),
                [c = connection_, g = generation_, s = std::move(start), weak]() mutable {
                  c->sink_ = std::move(weak);
                  c->has_sink_ = true;
                  c->begin_stream(g, std::move(s));
                });
      return sink;
    }

   private:
    std::shared_ptr<HttpConnection> connection_;
    std::uint64_t generation_;
  };

  ServerContext& context_;
  beast::tcp_stream stream_;
  net::steady_timer keepalive_timer_;
  const std::string peer_address_;  // the remote IP address, as counted per peer
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::string peer_;
  std::string method_;
  const char* route_ = "other";
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool first_request_ = true;
  bool close_after_ = false;
  State state_ = State::kReading;
  std::uint64_t generation_ = 0;  // bumped per request: late calls from an old exchange are ignored

  // The stream of the current response.
  StreamStart stream_start_;
  // The current stream's sink, owned by its session; weak so that a finished stream is never mistaken for
  // a newer one allocated at the same address.
  std::weak_ptr<StreamSink> sink_;
  bool has_sink_ = false;
  std::shared_ptr<bhttp::response<bhttp::empty_body>> header_;
  std::shared_ptr<bhttp::response_serializer<bhttp::empty_body>> serializer_;
  bool header_pending_ = false;
  bool headers_sent_ = false;
  bool streaming_ = false;
  bool finishing_ = false;
  bool writing_ = false;
  std::string pending_;
  std::string chunk_;
  std::array<char, 512> peek_{};
};

// Accepts connections until stopped; refuses those over --max-connections with a short 503.
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(ServerContext& context, tcp::acceptor acceptor)
      : context_(context), acceptor_(std::move(acceptor)), retry_timer_(context.ioc) {}

  void run() { do_accept(); }

  void stop() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      self->acceptor_.close(ec);
      self->retry_timer_.cancel();
    });
  }

 private:
  void do_accept() {
    acceptor_.async_accept(net::make_strand(context_.ioc),
                           beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      // EMFILE and friends: back off briefly instead of spinning.
      spdlog::warn("accept failed: {}", ec.message());
      retry_timer_.expires_after(std::chrono::milliseconds(100));
      retry_timer_.async_wait([self = shared_from_this()](beast::error_code e) {
        if (!e) self->do_accept();
      });
      return;
    }
    beast::error_code ignored;
    auto remote = socket.remote_endpoint(ignored);
    std::string address = ignored ? std::string() : remote.address().to_string();
    if (static_cast<std::size_t>(context_.metrics.open_connections.load()) >=
        context_.options.max_connections) {
      static const std::string kBusy =
          "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nRetry-After: 1\r\nConnection: "
          "close\r\n\r\n";
      refuse(socket, kBusy);
    } else if (!context_.admit_peer(address)) {
      spdlog::debug("refused a connection from {}: {} open from that address (--max-connections-per-peer)",
                    address, context_.options.max_connections_per_peer);
      static const std::string kTooMany =
          "HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\nRetry-After: 1\r\nConnection: "
          "close\r\n\r\n";
      refuse(socket, kTooMany);
    } else {
      std::make_shared<HttpConnection>(std::move(socket), context_, std::move(address))->run();
    }
    do_accept();
  }

  void refuse(tcp::socket& socket, const std::string& response) {
    ++context_.metrics.rejected_connections;
    beast::error_code ignored;
    net::write(socket, net::buffer(response), ignored);
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  ServerContext& context_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_timer_;
};

// Sessions expire on a timer; ended sessions are freed once their calls finish.
void schedule_sweep(net::steady_timer& timer, SessionTable& sessions, std::chrono::milliseconds every) {
  timer.expires_after(every);
  timer.async_wait([&timer, &sessions, every](beast::error_code ec) {
    if (ec) return;
    sessions.sweep();
    schedule_sweep(timer, sessions, every);
  });
}

void raise_fd_limit() {
  // Many SSE streams mean many sockets; the soft limit (often 1024) may be raised up to the hard one.
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

ServeEnd serve_http(mcp::Server& server, const HttpOptions& options, Authenticator authenticate) {
  raise_fd_limit();
  // What calls in flight reach (sessions, their streams' connections, the strands they post to) lives on
  // the heap, so that it can outlive this function when calls are abandoned (ServeEnd::kAbandoned).
  auto ioc_owner =
      std::make_unique<net::io_context>(static_cast<int>(std::max<std::size_t>(1, options.io_threads)));
  net::io_context& ioc = *ioc_owner;

  beast::error_code ec;
  auto address = net::ip::make_address(options.host == "localhost" ? "127.0.0.1" : options.host, ec);
  if (ec) {
    spdlog::critical("cannot listen on {}: not an IP address ({})", options.host, ec.message());
    return ServeEnd::kNotListening;
  }
  tcp::acceptor acceptor(ioc);
  tcp::endpoint endpoint(address, options.port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    spdlog::critical("cannot listen on {}:{}: {}", options.host, options.port, ec.message());
    return ServeEnd::kNotListening;
  }
  std::uint16_t port = acceptor.local_endpoint().port();

  auto metrics_owner = std::make_unique<Metrics>();
  Metrics& metrics = *metrics_owner;
  auto sessions_owner = std::make_unique<SessionTable>(options.max_sessions, options.max_sessions_per_key,
                                                       options.session_idle_timeout, metrics);
  SessionTable& sessions = *sessions_owner;
  std::string host_text = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  OriginPolicy origins(options.host == "localhost" ? "127.0.0.1" : options.host, port,
                       options.allowed_origins, options.allowed_hosts);
  auto handler_owner = std::make_unique<RequestHandler>(server, options, std::move(origins),
                                                        std::move(authenticate), sessions, metrics);
  RequestHandler& handler = *handler_owner;
  auto context_owner = std::make_unique<ServerContext>(ioc, options, handler, metrics);
  ServerContext& context = *context_owner;

  auto listener = std::make_shared<Listener>(context, std::move(acceptor));
  listener->run();

  net::steady_timer sweep_timer(ioc);
  auto sweep_every = std::clamp(options.session_idle_timeout / 4, std::chrono::milliseconds(50),
                                std::chrono::milliseconds(1000));
  schedule_sweep(sweep_timer, sessions, sweep_every);

  std::mutex stop_mutex;
  std::condition_variable stop_requested;
  bool stop = false;
  int stop_signal = 0;
  net::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](beast::error_code e, int signal) {
    if (e) return;
    std::lock_guard lock(stop_mutex);
    stop = true;
    stop_signal = signal;
    stop_requested.notify_all();
  });

  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < std::max<std::size_t>(1, options.io_threads); ++i) {
    threads.emplace_back([&ioc] {
      name_this_thread("mt-http");
      ioc.run();
    });
  }

  spdlog::info("listening on http://{}:{}/mcp (Streamable HTTP; legacy SSE at /sse){}", host_text, port,
               options.require_auth ? "; API keys required" : "");
  if (options.on_listening) options.on_listening(port);

  {
    std::unique_lock lock(stop_mutex);
    stop_requested.wait(lock, [&] { return stop; });
  }
  spdlog::info("received {}: no new connections; waiting up to {} ms for calls in flight",
               stop_signal == SIGINT ? "SIGINT" : "SIGTERM", options.drain_timeout.count());

  // 1. No new connections, no new requests; idle keep-alive connections go.
  handler.stop_accepting();
  listener->stop();
  auto stop_connections = [&] {
    std::vector<std::shared_ptr<HttpConnection>> live;
    {
      std::lock_guard lock(context.mutex);
      for (auto& [raw, weak] : context.connections) {
        if (auto c = weak.lock()) live.push_back(std::move(c));
      }
    }
    for (auto& c : live) c->stop();
  };
  stop_connections();
  // 2. Calls in flight finish and their answers go out.
  bool drained = sessions.drain(options.drain_timeout);
  if (!drained)
    spdlog::warn("calls still running after {} ms; stopping anyway", options.drain_timeout.count());
  // 3. Streams end; the connections carrying them close once their last bytes are written.
  context.stopping = true;
  sessions.close_all(EndReason::kShutdown);
  stop_connections();
  {
    std::unique_lock lock(context.mutex);
    context.all_closed.wait_for(lock, std::chrono::seconds(2), [&] { return context.connections.empty(); });
  }
  sweep_timer.cancel();
  signals.cancel();
  ioc.stop();
  for (auto& t : threads) t.join();
  spdlog::info("HTTP server stopped");
  if (!drained) {
    // Calls still running answer into these sessions and post to these strands: leave them alive.
    (void)context_owner.release();
    (void)handler_owner.release();
    (void)sessions_owner.release();
    (void)metrics_owner.release();
    (void)ioc_owner.release();
    return ServeEnd::kAbandoned;
  }
  return ServeEnd::kDrained;
}

}  // namespace memtrace::transport::http
