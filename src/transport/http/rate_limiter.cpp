// Token bucket refilled continuously at `rate` tokens per second up to `burst`.
#include "transport/http/rate_limiter.h"

#include <algorithm>

namespace memtrace::transport::http {

RateLimiter::RateLimiter(double rate, double burst)
    : rate_(rate), burst_(burst > 0 ? burst : std::max(1.0, 2 * rate)) {}

bool RateLimiter::allow(const std::string& key, Clock::time_point now, double* retry_after_seconds) {
  if (rate_ <= 0) return true;
  std::lock_guard lock(mutex_);
  if (buckets_.size() > 100000) buckets_.clear();  // bounded memory even under a flood of keys
  auto [it, inserted] = buckets_.try_emplace(key, Bucket{burst_, now});
  Bucket& b = it->second;
  if (!inserted) {
    double elapsed = std::chrono::duration<double>(now - b.updated).count();
    b.tokens = std::min(burst_, b.tokens + std::max(0.0, elapsed) * rate_);
    b.updated = now;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return true;
  }
  if (retry_after_seconds) *retry_after_seconds = (1.0 - b.tokens) / rate_;
  return false;
}

}  // namespace memtrace::transport::http
