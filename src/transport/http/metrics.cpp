// Prometheus exposition format 0.0.4: # HELP / # TYPE lines, then one sample per line.
#include "transport/http/metrics.h"

#include <array>
#include <sstream>

namespace memtrace::transport::http {

void Metrics::count_http(std::string_view method, std::string_view route, int status) {
  std::lock_guard lock(mutex_);
  ++http_[{std::string(method), std::string(route), status}];
}

void Metrics::count_rpc(std::string_view method) {
  std::lock_guard lock(mutex_);
  ++rpc_[std::string(method)];
}

void Metrics::count_error(std::string_view kind) {
  std::lock_guard lock(mutex_);
  ++errors_[std::string(kind)];
}

void Metrics::observe_tool_call(std::string_view tool, double seconds, bool is_error) {
  std::lock_guard lock(mutex_);
  Histogram& h = tool_calls_[std::string(tool)];
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++h.buckets[i];
  }
  ++h.count;
  h.sum += seconds;
  if (is_error) ++h.errors;
}

std::string Metrics::render(bool store_up) const {
  std::ostringstream out;
  std::lock_guard lock(mutex_);
  out << "# HELP memtrace_http_requests_total HTTP requests served, by method, route and status.\n"
         "# TYPE memtrace_http_requests_total counter\n";
  for (const auto& [key, n] : http_) {
    const auto& [method, route, status] = key;
    out << "memtrace_http_requests_total{method=\"" << method << "\",route=\"" << route << "\",status=\""
        << status << "\"} " << n << '\n';
  }
  out << "# HELP memtrace_rpc_requests_total JSON-RPC requests received, by method.\n"
         "# TYPE memtrace_rpc_requests_total counter\n";
  for (const auto& [method, n] : rpc_)
    out << "memtrace_rpc_requests_total{method=\"" << method << "\"} " << n << '\n';
  out << "# HELP memtrace_errors_total Errors: JSON-RPC error responses, tool results with isError, HTTP "
         "5xx.\n"
         "# TYPE memtrace_errors_total counter\n";
  for (const auto& [kind, n] : errors_) out << "memtrace_errors_total{kind=\"" << kind << "\"} " << n << '\n';
  out << "# HELP memtrace_tool_call_duration_seconds Time from receiving tools/call to sending its result.\n"
         "# TYPE memtrace_tool_call_duration_seconds histogram\n";
  for (const auto& [tool, h] : tool_calls_) {
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
      out << "memtrace_tool_call_duration_seconds_bucket{tool=\"" << tool << "\",le=\"" << kBuckets[i]
          << "\"} " << h.buckets[i] << '\n';
    }
    out << "memtrace_tool_call_duration_seconds_bucket{tool=\"" << tool << "\",le=\"+Inf\"} " << h.count
        << '\n';
    out << "memtrace_tool_call_duration_seconds_sum{tool=\"" << tool << "\"} " << h.sum << '\n';
    out << "memtrace_tool_call_duration_seconds_count{tool=\"" << tool << "\"} " << h.count << '\n';
  }
  out << "# HELP memtrace_tool_call_errors_total Tool calls answered with isError or a JSON-RPC error.\n"
         "# TYPE memtrace_tool_call_errors_total counter\n";
  for (const auto& [tool, h] : tool_calls_) {
    out << "memtrace_tool_call_errors_total{tool=\"" << tool << "\"} " << h.errors << '\n';
  }
  out << "# HELP memtrace_sessions_open MCP sessions currently open, by transport.\n"
         "# TYPE memtrace_sessions_open gauge\n"
      << "memtrace_sessions_open{transport=\"streamable_http\"} " << open_sessions_streamable.load() << '\n'
      << "memtrace_sessions_open{transport=\"sse\"} " << open_sessions_legacy.load() << '\n'
      << "# HELP memtrace_http_connections_open TCP connections currently open.\n"
         "# TYPE memtrace_http_connections_open gauge\n"
      << "memtrace_http_connections_open " << open_connections.load() << '\n'
      << "# HELP memtrace_sse_streams_open Server-sent event streams currently open.\n"
         "# TYPE memtrace_sse_streams_open gauge\n"
      << "memtrace_sse_streams_open " << open_streams.load() << '\n'
      << "# HELP memtrace_replay_buffer_bytes Bytes of messages kept so that clients can resume broken "
         "event streams (Last-Event-ID), over all sessions.\n"
         "# TYPE memtrace_replay_buffer_bytes gauge\n"
      << "memtrace_replay_buffer_bytes " << replay_bytes.load() << '\n'
      << "# HELP memtrace_http_connections_rejected_total Connections refused over --max-connections or "
         "--max-connections-per-peer.\n"
         "# TYPE memtrace_http_connections_rejected_total counter\n"
      << "memtrace_http_connections_rejected_total " << rejected_connections.load() << '\n'
      << "# HELP memtrace_rate_limited_total Requests refused with 429 by the per-key rate limit.\n"
         "# TYPE memtrace_rate_limited_total counter\n"
      << "memtrace_rate_limited_total " << rate_limited.load() << '\n'
      << "# HELP memtrace_store_up Whether the memory store answered a ping (1) or not (0).\n"
         "# TYPE memtrace_store_up gauge\n"
      << "memtrace_store_up " << (store_up ? 1 : 0) << '\n';
  return out.str();
}

std::string_view rpc_method_label(std::string_view method) {
  static constexpr std::array<std::string_view, 20> kKnown = {
      "initialize",
      "ping",
      "tools/list",
      "tools/call",
      "resources/list",
      "resources/templates/list",
      "resources/read",
      "resources/subscribe",
      "resources/unsubscribe",
      "prompts/list",
      "prompts/get",
      "logging/setLevel",
      "completion/complete",
      "notifications/initialized",
      "notifications/cancelled",
      "notifications/progress",
      "notifications/roots/list_changed",
      "server/discover",
      "response",
      "batch",
  };
  for (auto known : kKnown) {
    if (known == method) return known;
  }
  return "other";
}

}  // namespace memtrace::transport::http
