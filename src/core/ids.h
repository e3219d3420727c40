// Time-sortable identifiers (ULID: 48-bit millisecond time + 80 random bits, Crockford base32, 26 chars).
// Ids made by one generator are strictly increasing, so "newest first" is "largest id first" and an id
// is a stable pagination cursor. Ids made by different processes sort by their creation millisecond.
#pragma once

#include <cstdint>
#include <mutex>
#include <random>
#include <string>

#include "core/clock.h"

namespace memtrace {

// Thread-safety: next() may be called from any thread.
class IdGenerator {
 public:
  IdGenerator();
  std::string next(UnixMillis now_ms);

 private:
  std::mutex mutex_;
  std::mt19937_64 random_;
  UnixMillis last_ms_ = -1;
  std::uint64_t last_hi_ = 0;  // upper 16 of the 80 random bits
  std::uint64_t last_lo_ = 0;  // lower 64 of the 80 random bits
};

// True if `s` has the shape of an id made by IdGenerator.
bool looks_like_id(const std::string& s);

// A random token of `bytes` bytes from the operating system's CSPRNG, hex-encoded.
std::string random_hex(std::size_t bytes);

}  // namespace memtrace
