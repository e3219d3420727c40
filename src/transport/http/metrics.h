// Counters, gauges and a latency histogram for GET /metrics, rendered in the Prometheus text format.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

namespace memtrace::transport::http {

// Thread-safety: every method may be called from any thread. Label values must come from small, fixed
// sets (callers normalise client-chosen strings first), so that series stay bounded.
class Metrics {
 public:
  static constexpr std::array<double, 13> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                      0.25,  0.5,    1.0,   2.5,  5.0,   10.0};

  void count_http(std::string_view method, std::string_view route, int status);
  void count_rpc(std::string_view method);
  void count_error(std::string_view kind);
  void observe_tool_call(std::string_view tool, double seconds, bool is_error);

  std::atomic<std::int64_t> open_connections{0};
  std::atomic<std::int64_t> open_streams{0};
  std::atomic<std::int64_t> open_sessions_streamable{0};
  std::atomic<std::int64_t> open_sessions_legacy{0};
  std::atomic<std::int64_t> rejected_connections{0};
  std::atomic<std::int64_t> rate_limited{0};
  std::atomic<std::int64_t> replay_bytes{0};  // messages kept for Last-Event-ID resumption, all sessions

  // `store_up`: the result of a Store::ping() made for this scrape.
  std::string render(bool store_up) const;

 private:
  struct Histogram {
    std::array<std::uint64_t, kBuckets.size()> buckets{};
    std::uint64_t count = 0;
    double sum = 0;
    std::uint64_t errors = 0;
  };

  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t> http_;
  std::map<std::string, std::uint64_t> rpc_;
  std::map<std::string, std::uint64_t> errors_;
  std::map<std::string, Histogram> tool_calls_;
};

// The JSON-RPC method as a metrics label: known MCP methods as themselves, anything else "other".
std::string_view rpc_method_label(std::string_view method);

}  // namespace memtrace::transport::http
