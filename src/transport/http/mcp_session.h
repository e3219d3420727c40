// One MCP session over HTTP: its protocol connection, the streams its messages go out on, and the
// bounded replay buffer that lets a client resume a stream with Last-Event-ID. No Beast types here.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "jsonrpc/endpoint.h"
#include "mcp/server.h"
#include "transport/http/metrics.h"
#include "transport/http/stream_sink.h"

namespace memtrace::transport::http {

// Who a session belongs to: the API key that created it and the namespace that key is bound to.
struct Principal {
  std::string key_id;  // empty: unauthenticated (loopback without --require-auth)
  std::string ns;      // empty: the server's namespace
  bool read_only = false;  // a read-only key (kReadOnlyApiKeyPrefix): reads only, on /mcp and /api/v1
};

// kStateless: one 2026-07-28 request without a session (its "session" lives as long as its stream and
// is never named to the client).
enum class SessionKind { kStreamable, kLegacySse, kStateless };

struct SessionLimits {
  std::size_t replay_events = 512;             // messages kept for Last-Event-ID resumption
  std::size_t replay_bytes = 4 * 1024 * 1024;  // and their total size
};

// A request id as routed: the request's id, and for tools/call the tool (for latency metrics).
struct RoutedRequest {
  jsonrpc::Id id;
  std::string tool;  // non-empty for tools/call
};

// Routing: a message related to a request goes to the stream of the POST that carried the request
// (Streamable HTTP) and the answer ends that stream; unrelated messages go to the standalone GET stream.
// Legacy SSE sessions have one stream for everything. Event ids are "<stream>_<sequence>".
//
// Thread-safety: all methods may be called from any thread. send() is called by worker threads (tool
// results, progress), store threads (resource updates) and I/O threads (synchronous answers).
// receive() calls are serialized internally (the protocol connection takes one reader at a time).
class McpSession final : public jsonrpc::Outbound, public std::enable_shared_from_this<McpSession> {
 public:
  using Clock = std::chrono::steady_clock;

  McpSession(mcp::Server& server, std::string id, SessionKind kind, Principal principal, SessionLimits limits,
             Metrics& metrics);
  ~McpSession() override;
  McpSession(const McpSession&) = delete;
  McpSession& operator=(const McpSession&) = delete;

  const std::string& id() const { return id_; }
  SessionKind kind() const { return kind_; }
  const Principal& principal() const { return principal_; }
  mcp::Connection& connection() { return *connection_; }

  // Makes the sink of a stream, given the stream's priming event id. Called with the session lock held.
  using SinkFactory = std::function<std::shared_ptr<StreamSink>(const std::string& priming_id)>;

  // A POST carrying requests: opens a stream for them, with a sink from `make_sink`. Call before
  // receive() of the same body.
  void open_post_stream(std::vector<RoutedRequest> requests, bool batch, const SinkFactory& make_sink);
  // Feeds one message body to the protocol connection.
  // A POST body the transport has parsed already (`bytes`: its size, for the client's backlog).
  void receive(jsonrpc::Parsed parsed, std::size_t bytes);

  enum class Attach { kOk, kConflict, kBadEventId, kEnded };
  // GET: with `last_event_id`, resumes the stream it names and replays what followed it (the sink gets
  // no priming id); without, opens the standalone stream (kConflict while another connection holds it).
  // kEnded: the stream named is over and the client has all of it (its request was cancelled, or the
  // answer was delivered), so there is nothing to resume. `make_sink` is called only for kOk.
  Attach attach_get(const std::optional<std::string>& last_event_id, const SinkFactory& make_sink);
  // Legacy SSE: the one stream of the session.
  void attach_legacy(std::shared_ptr<StreamSink> sink);
  // The HTTP layer reports that `sink`'s connection is gone or its stream finished. Only the stream
  // holding this very sink lets it go; null is ignored.
  void detach(const std::shared_ptr<StreamSink>& sink);

  // The request was cancelled: it will not be answered, so its stream ends now. The stream is remembered
  // as ended (the last kCancelledKept of them), so that a client resuming it learns there is nothing more.
  void cancel_request(const jsonrpc::Id& id);
  // Closes the connection carrying `request`'s stream but keeps the stream: the client resumes it with
  // GET + Last-Event-ID (SSE polling, SEP-1699).
  void poll_close(const jsonrpc::Id& request);

  // Ends every stream; nothing more is delivered.
  void close(EndReason reason);
  bool closed() const;

  void touch() { last_activity_.store(Clock::now().time_since_epoch().count()); }
  Clock::time_point last_activity() const {
    return Clock::time_point(Clock::duration(last_activity_.load()));
  }
  // Idle: no request since `timeout` ago and no stream open.
  bool idle_for(Clock::duration timeout, Clock::time_point now) const;
  // True when no request is in flight (then the session may be destroyed).
  bool drained() { return connection_->drain(std::chrono::milliseconds(0)); }

  void send(jsonrpc::OutboundMessage message) override;
  void close_stream(const jsonrpc::Id& related) override { poll_close(related); }

 private:
  struct Stream {
    std::shared_ptr<StreamSink> sink;
    std::vector<std::string> request_keys;  // Id::to_string() of the requests it answers
    bool batch = false;
    bool finished = false;
    bool cancelled = false;            // finished without an answer: its request was cancelled
    std::size_t buffered = 0;          // its events still in the replay buffer
    std::uint64_t delivered_mark = 0;  // standalone stream: last sequence pushed to a sink
    // Its sink is an event stream: it carried an event before the answer, or a GET opened it. Until
    // then a POST's answer goes out as plain JSON (SinkEvent::plain_json), with no event id a client
    // could resume from.
    bool event_stream = false;
  };
  struct Route {
    std::uint64_t stream;
    std::string tool;
    Clock::time_point started;
  };
  struct Buffered {
    std::uint64_t stream;
    std::uint64_t seq;
    std::string data;
    bool final;
  };

  static std::string event_id(std::uint64_t stream, std::uint64_t seq);
  static int modern_status(int json_rpc_code);
  // Keeps an event for Last-Event-ID resumption, within limits_ (the oldest go first).
  void buffer(std::uint64_t stream, std::uint64_t seq, const std::string& data, bool final);
  void finish_stream(std::uint64_t number, Stream& stream);
  // A finished stream whose every event up to its end the client has seen (`after`: its Last-Event-ID).
  bool delivered_whole(std::uint64_t number, const Stream& stream, std::uint64_t after) const;

  mcp::Server& server_;
  const std::string id_;
  const SessionKind kind_;
  const Principal principal_;
  const SessionLimits limits_;
  Metrics& metrics_;
  std::atomic<Clock::rep> last_activity_;

  std::mutex receive_mutex_;  // one receive() at a time
  mutable std::mutex mutex_;  // guards everything below
  bool closed_ = false;
  std::uint64_t next_seq_ = 1;
  std::uint64_t next_stream_ = 1;  // 0 is the standalone (or legacy) stream
  std::map<std::uint64_t, Stream> streams_;
  static constexpr std::size_t kCancelledKept = 64;
  std::deque<std::uint64_t> cancelled_;  // the cancelled streams kept, oldest first
  std::unordered_map<std::string, Route> routes_;
  std::deque<Buffered> replay_;
  std::size_t replay_bytes_ = 0;

  std::unique_ptr<mcp::Connection> connection_;  // last: destroyed first, while the routing state exists
};

}  // namespace memtrace::transport::http
