// Wall-clock time as Unix milliseconds, injectable so that tests control "now" (TTL, since windows).
#pragma once

#include <atomic>
#include <cstdint>

namespace memtrace {

using UnixMillis = std::int64_t;

// Thread-safety: implementations must be safe to call from any thread.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual UnixMillis now_ms() const = 0;
};

class SystemClock final : public Clock {
 public:
  UnixMillis now_ms() const override;
};

// A clock that only moves when told to; for tests.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(UnixMillis start) : now_(start) {}
  UnixMillis now_ms() const override { return now_.load(); }
  void advance_ms(UnixMillis delta) { now_ += delta; }
  void set_ms(UnixMillis t) { now_ = t; }

 private:
  std::atomic<UnixMillis> now_;
};

}  // namespace memtrace
