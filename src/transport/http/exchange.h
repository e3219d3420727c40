// One HTTP request as the MCP handlers see it, and the response they produce: a whole response, or an
// event stream fed through a StreamSink. Implemented over Beast in http_connection.cpp; no Beast here.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "transport/http/stream_sink.h"

namespace memtrace::transport::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;                          // "GET", "POST", ...
  std::string path;                            // percent-decoded, without the query
  std::map<std::string, std::string> query;    // decoded query parameters (first value wins)
  std::map<std::string, std::string> headers;  // lower-case names; repeated headers joined with ", "
  std::string body;
  std::string peer;  // remote address, for logs

  const std::string& header(const std::string& lower_name) const {
    static const std::string kEmpty;
    auto it = headers.find(lower_name);
    return it == headers.end() ? kEmpty : it->second;
  }
  bool has_header(const std::string& lower_name) const { return headers.count(lower_name) != 0; }
};

// Building an HttpRequest from what the wire carried (the server's reader, and the fuzz harness that
// feeds raw bytes through the same parser). A header field is kept under its lower-case name; a
// repeated field is joined to the first with ", ".
void add_request_header(HttpRequest& request, std::string_view name, std::string_view value);
// ASCII lower case, for header names and the case-insensitive parts of header values.
std::string lower_ascii(std::string_view text);
// The request target in origin form ("/mcp?x=1") into path (percent-decoded) and query (decoded, first
// value wins); false if the target is malformed (the server answers 400).
bool set_request_target(HttpRequest& request, std::string_view target);

struct HttpResponse {
  int status = 200;
  Headers headers;  // Content-Type among them when there is a body
  std::string body;
  bool close = false;  // close the connection afterwards
};

struct StreamStart {
  enum class Mode {
    kDeferred,  // POST answer: plain JSON if its first event says so (SinkEvent::plain_json), else SSE
    kSse,       // an event stream right away (GET, legacy /sse)
  };
  Mode mode = Mode::kSse;
  Headers headers;         // added to the 200 response (e.g. Mcp-Session-Id)
  std::string priming_id;  // SEP-1699 priming event sent first when the stream is SSE; empty: none
  int retry_ms = 1000;     // 0: no retry field (a stream that cannot be resumed)
  std::string preamble;  // raw SSE text sent first (legacy "event: endpoint")
  bool legacy = false;   // legacy framing: no event ids
  // Called once on the connection's strand when the stream is over (answered, ended, or the client left),
  // with the stream's sink if anyone (its session) still holds it, else null. A strong reference, never an
  // address: a freed sink's address may already belong to another request's sink.
  std::function<void(const std::shared_ptr<StreamSink>&)> on_close;
};

// Thread-safety: respond() and start_stream() may be called from any thread, once, exactly one of them.
class Exchange {
 public:
  virtual ~Exchange() = default;
  virtual void respond(HttpResponse response) = 0;
  // Turns the response into a stream; the returned sink feeds it. Safe to call with a session lock held.
  virtual std::shared_ptr<StreamSink> start_stream(StreamStart start) = 0;
};

}  // namespace memtrace::transport::http
