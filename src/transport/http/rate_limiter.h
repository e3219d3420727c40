// Per-key token buckets: each API key (or the anonymous caller) may make `rate` requests per second on
// average, with bursts up to `burst`.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace memtrace::transport::http {

// Thread-safety: allow() may be called from any thread.
class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // rate <= 0 disables the limit. burst 0 means 2 × rate (at least 1).
  RateLimiter(double rate, double burst = 0);

  // Takes one token from `key`'s bucket; false (and the seconds until one is free) when it is empty.
  bool allow(const std::string& key, Clock::time_point now, double* retry_after_seconds = nullptr);
  bool enabled() const { return rate_ > 0; }

 private:
  struct Bucket {
    double tokens;
    Clock::time_point updated;
  };

  double rate_;
  double burst_;
  std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace memtrace::transport::http
