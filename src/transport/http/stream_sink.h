// The seam between MCP sessions and HTTP connections: a session pushes outgoing messages into a sink;
// the HTTP layer implements sinks as open responses (JSON, SSE). No Beast types here.
#pragma once

#include <string>

namespace memtrace::transport::http {

struct SinkEvent {
  std::string id;      // SSE event id; empty on legacy streams
  std::string data;    // one serialized JSON-RPC message (or a batch array)
  bool final = false;  // the answer the stream was opened for: the stream ends after it
  int status = 200;    // the HTTP status if this final answer is the whole response (plain JSON)
  // The whole response, as plain JSON with no event id: the answer of a POST's stream that carried
  // nothing before it. The session decides, since it also decides what it keeps for resumption (an
  // answer with no event id can never be resumed, so it keeps none of these).
  bool plain_json = false;
};

enum class EndReason {
  kSessionClosed,  // DELETE, idle expiry
  kShutdown,       // the server is stopping
  kReplaced,       // the client resumed this stream on another connection
  kPoll,           // close the connection, keep the stream: the client resumes with GET + Last-Event-ID
  kCancelled,      // the client cancelled the request the stream answers
};

// Thread-safety: push() and end() are called from any thread with the owning session's lock held, so
// they must only queue work (post to the connection's strand) and never call back into the session.
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  virtual void push(SinkEvent event) = 0;
  // No more events will come through this sink.
  virtual void end(EndReason reason) = 0;
};

}  // namespace memtrace::transport::http
