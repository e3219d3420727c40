// Routing of one session's outgoing messages to its streams, and the replay buffer behind resumption.
#include "transport/http/mcp_session.h"

#include <charconv>

#include <spdlog/spdlog.h>

#include "transport/http/wire.h"

namespace memtrace::transport::http {
namespace {

bool parse_event_id(std::string_view text, std::uint64_t& stream, std::uint64_t& seq) {
  auto sep = text.find('_');
  if (sep == std::string_view::npos || sep == 0 || sep + 1 >= text.size()) return false;
  auto a = std::from_chars(text.data(), text.data() + sep, stream);
  auto b = std::from_chars(text.data() + sep + 1, text.data() + text.size(), seq);
  return a.ec == std::errc() && a.ptr == text.data() + sep && b.ec == std::errc() &&
         b.ptr == text.data() + text.size();
}

}  // namespace

// 2026-07-28 Streamable HTTP: an unknown method is 404, a request the server rejects as malformed,
// unsupported or lacking a client capability is 400; other errors keep 200.
int McpSession::modern_status(int code) {
  if (code == jsonrpc::kMethodNotFound) return 404;
  if (code == jsonrpc::kInvalidParams || code == jsonrpc::kInvalidRequest || code == jsonrpc::kParseError ||
      (code <= -32020 && code >= -32022)) {
    return 400;
  }
  return 200;
}

McpSession::McpSession(mcp::Server& server, std::string id, SessionKind kind, Principal principal,
                       SessionLimits limits, Metrics& metrics)
    : server_(server),
      id_(std::move(id)),
      kind_(kind),
      principal_(std::move(principal)),
      limits_(limits),
      metrics_(metrics),
      last_activity_(Clock::now().time_since_epoch().count()) {
  streams_[0] = Stream{};
  mcp::ConnectionOptions options;
  options.ns = principal_.ns;
  options.stateless = kind_ == SessionKind::kStateless;
  options.read_only = principal_.read_only;
  connection_ = std::make_unique<mcp::Connection>(server_, *this, options);
}

McpSession::~McpSession() {
  // The protocol connection goes first: nothing may reach send() once the routing state is gone.
  connection_.reset();
  metrics_.replay_bytes -= static_cast<std::int64_t>(replay_bytes_);
}

std::string McpSession::event_id(std::uint64_t stream, std::uint64_t seq) {
  return std::to_string(stream) + "_" + std::to_string(seq);
}

void McpSession::open_post_stream(std::vector<RoutedRequest> requests, bool batch,
                                  const SinkFactory& make_sink) {
  touch();
  std::lock_guard lock(mutex_);
  std::uint64_t number = next_stream_++;
  Stream& stream = streams_[number];
  // Sequence 0 precedes every event, so resuming from the priming id replays the whole stream.
  stream.sink = make_sink(event_id(number, 0));
  stream.batch = batch;
  auto now = Clock::now();
  for (auto& request : requests) {
    std::string key = request.id.to_string();
    stream.request_keys.push_back(key);
    routes_[key] = Route{number, std::move(request.tool), now};
  }
  if (closed_) {
    stream.sink->end(EndReason::kSessionClosed);
    stream.sink.reset();
  }
}

void McpSession::receive(jsonrpc::Parsed parsed, std::size_t bytes) {
  touch();
  std::lock_guard lock(receive_mutex_);
  connection_->receive(std::move(parsed), bytes);
}

McpSession::Attach McpSession::attach_get(const std::optional<std::string>& last_event_id,
                                          const SinkFactory& make_sink) {
  touch();
  std::lock_guard lock(mutex_);
  std::uint64_t number = 0;
  std::uint64_t after = 0;
  if (last_event_id) {
    if (!parse_event_id(*last_event_id, number, after) || !streams_.count(number)) return Attach::kBadEventId;
  }
  Stream& stream = streams_[number];
  if (last_event_id && !closed_ && delivered_whole(number, stream, after)) return Attach::kEnded;
  if (closed_) {
    make_sink(std::string())->end(EndReason::kSessionClosed);
    return Attach::kOk;
  }
  std::string priming_id;
  if (!last_event_id) {
    if (stream.sink) return Attach::kConflict;
    // Messages queued while no stream was open follow the priming event.
    after = stream.delivered_mark;
    priming_id = event_id(0, after);
  } else if (stream.sink) {
    stream.sink->end(EndReason::kReplaced);  // the client gave up on that connection
  }
  stream.sink = make_sink(priming_id);
  stream.event_stream = true;
  bool final_sent = false;
  for (const auto& event : replay_) {
    if (event.stream != number || event.seq <= after) continue;
    stream.sink->push(SinkEvent{event_id(number, event.seq), event.data, event.final});
    stream.delivered_mark = event.seq;
    final_sent = final_sent || event.final;
  }
  if (final_sent) {
    stream.sink.reset();
  } else if (stream.finished) {
    // Its answer was already evicted from the replay buffer: nothing more will come.
    spdlog::warn("session {}: stream {} resumed after its answer left the replay buffer", id_, number);
    stream.sink->end(EndReason::kSessionClosed);
    stream.sink.reset();
  }
  return Attach::kOk;
}

bool McpSession::delivered_whole(std::uint64_t number, const Stream& stream, std::uint64_t after) const {
  if (number == 0 || !stream.finished) return false;
  if (stream.cancelled) return true;
  for (const auto& event : replay_) {
    if (event.stream == number && event.final) return event.seq <= after;
  }
  return false;  // the answer left the replay buffer: the client may not have it
}

void McpSession::attach_legacy(std::shared_ptr<StreamSink> sink) {
  std::lock_guard lock(mutex_);
  if (closed_) {
    sink->end(EndReason::kSessionClosed);
    return;
  }
  streams_[0].sink = std::move(sink);
}

void McpSession::detach(const std::shared_ptr<StreamSink>& sink) {
  if (!sink) return;
  std::lock_guard lock(mutex_);
  for (auto& [number, stream] : streams_) {
    if (stream.sink == sink) stream.sink.reset();
  }
}

void McpSession::finish_stream(std::uint64_t number, Stream& stream) {
  stream.finished = true;
  for (const auto& key : stream.request_keys) routes_.erase(key);
  if (stream.cancelled) {
    cancelled_.push_back(number);
    if (cancelled_.size() > kCancelledKept) {
      streams_.erase(cancelled_.front());
      cancelled_.pop_front();
    }
    return;
  }
  if (stream.buffered == 0 && number != 0) streams_.erase(number);
}

void McpSession::cancel_request(const jsonrpc::Id& id) {
  std::lock_guard lock(mutex_);
  auto route = routes_.find(id.to_string());
  if (route == routes_.end()) return;
  std::uint64_t number = route->second.stream;
  routes_.erase(route);
  auto it = streams_.find(number);
  if (it == streams_.end()) return;
  Stream& stream = it->second;
  bool any_left = false;
  for (const auto& key : stream.request_keys) any_left = any_left || routes_.count(key);
  if (any_left || stream.batch) return;  // a batch still answers its other requests
  if (stream.sink) {
    stream.sink->end(EndReason::kCancelled);
    stream.sink.reset();
  }
  stream.cancelled = true;
  finish_stream(number, stream);
}

void McpSession::poll_close(const jsonrpc::Id& request) {
  std::lock_guard lock(mutex_);
  auto route = routes_.find(request.to_string());
  if (route == routes_.end()) return;
  auto it = streams_.find(route->second.stream);
  if (it == streams_.end() || !it->second.sink) return;
  it->second.sink->end(EndReason::kPoll);
  it->second.sink.reset();
}

void McpSession::close(EndReason reason) {
  connection_->end_subscriptions();  // their final answers go out (or are dropped) before the streams end
  std::lock_guard lock(mutex_);
  if (closed_) return;
  closed_ = true;
  for (auto& [number, stream] : streams_) {
    if (stream.sink) {
      stream.sink->end(reason);
      stream.sink.reset();
    }
  }
  routes_.clear();
}

bool McpSession::closed() const {
  std::lock_guard lock(mutex_);
  return closed_;
}

bool McpSession::idle_for(Clock::duration timeout, Clock::time_point now) const {
  Clock::time_point last{Clock::duration(last_activity_.load())};
  if (now - last < timeout) return false;
  std::lock_guard lock(mutex_);
  for (const auto& [number, stream] : streams_) {
    if (stream.sink) return false;
  }
  return true;
}

void McpSession::buffer(std::uint64_t stream, std::uint64_t seq, const std::string& data, bool final) {
  replay_.push_back(Buffered{stream, seq, data, final});
  replay_bytes_ += data.size();
  metrics_.replay_bytes += static_cast<std::int64_t>(data.size());
  ++streams_[stream].buffered;
  while (!replay_.empty() &&
         (replay_.size() > limits_.replay_events || replay_bytes_ > limits_.replay_bytes)) {
    Buffered& oldest = replay_.front();
    replay_bytes_ -= oldest.data.size();
    metrics_.replay_bytes -= static_cast<std::int64_t>(oldest.data.size());
    auto it = streams_.find(oldest.stream);
    if (it != streams_.end() && --it->second.buffered == 0 && it->second.finished && !it->second.cancelled &&
        oldest.stream != 0) {
      streams_.erase(it);
    }
    replay_.pop_front();
  }
}

void McpSession::send(jsonrpc::OutboundMessage outbound) {
  using Kind = jsonrpc::OutboundMessage::Kind;
  std::string& message = outbound.text;
  const std::optional<jsonrpc::Id>& related = outbound.related;
  std::unique_lock lock(mutex_);
  if (closed_) return;

  if (kind_ == SessionKind::kLegacySse) {
    // One stream, no resumption: a message with nowhere to go is lost with the connection.
    Stream& stream = streams_[0];
    if (stream.sink) {
      stream.sink->push(SinkEvent{std::string(), std::move(message), false});
    } else {
      spdlog::debug("session {}: SSE stream gone; dropped a message", id_);
    }
    return;
  }

  std::uint64_t number = 0;
  const Route* route = nullptr;
  std::string key;
  if (related) {
    key = related->to_string();
    auto it = routes_.find(key);
    if (it == routes_.end()) {
      // The request's stream is finished or was cancelled; a late related message has no place.
      spdlog::debug("session {}: dropped a message for request {} (no open stream)", id_, key);
      return;
    }
    route = &it->second;
    number = route->stream;
  }
  Stream& stream = streams_[number];

  bool final = false;
  if (number != 0) {
    // The message says what it is (OutboundMessage): no second parse to find out.
    const bool tool_call = route && !route->tool.empty() && !stream.batch;
    final = outbound.kind == (stream.batch ? Kind::kBatch : Kind::kResponse);
    if (final) {
      if (outbound.is_error) metrics_.count_error("jsonrpc");
      if (outbound.is_tool_error) metrics_.count_error("tool");
      if (tool_call) {
        double seconds = std::chrono::duration<double>(Clock::now() - route->started).count();
        metrics_.observe_tool_call(route->tool, seconds, outbound.is_error || outbound.is_tool_error);
      }
    }
  }

  int status = 200;
  if (final && outbound.is_error && kind_ == SessionKind::kStateless)
    status = modern_status(outbound.error_code);
  std::uint64_t seq = next_seq_++;
  // A POST's answer that is the first event of its live sink goes out as a plain JSON response, with no
  // event id and no priming event before it. Only what a client could name in a Last-Event-ID is kept
  // for resumption: not such an answer (keeping every one held a busy session's last 512 answers, up
  // to 4 MiB, for nothing), nor a stateless (2026-07-28) request's messages, whose streams cannot be
  // resumed.
  const bool plain_json = number != 0 && final && stream.sink && !stream.event_stream;
  if (kind_ != SessionKind::kStateless && !plain_json) buffer(number, seq, message, final);
  if (stream.sink) {
    stream.event_stream = true;
    stream.sink->push(SinkEvent{event_id(number, seq), std::move(message), final, status, plain_json});
    stream.delivered_mark = seq;
    if (final) stream.sink.reset();
  }
  if (final) finish_stream(number, stream);
}

}  // namespace memtrace::transport::http
