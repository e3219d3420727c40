#include "core/ids.h"

#include <algorithm>
#include <array>
#include <fstream>

namespace memtrace {
namespace {

constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

std::uint64_t seed_from_os() {
  std::random_device device;
  return (static_cast<std::uint64_t>(device()) << 32) ^ device();
}

}  // namespace

IdGenerator::IdGenerator() : random_(seed_from_os()) {}

std::string IdGenerator::next(UnixMillis now_ms) {
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;
  UnixMillis ms = 0;
  {
    std::lock_guard lock(mutex_);
    // Within one millisecond (or if the clock stepped back) increment the random part, so ids stay
    // strictly increasing in this process.
    if (now_ms <= last_ms_) {
      ms = last_ms_;
      lo = last_lo_ + 1;
      hi = last_hi_ + (lo == 0 ? 1 : 0);
    } else {
      ms = now_ms;
      lo = random_();
      hi = random_() & 0x7fffu;  // leave headroom so the increment above never overflows 80 bits
    }
    last_ms_ = ms;
    last_hi_ = hi;
    last_lo_ = lo;
  }
  // 10 base32 digits of time (48 bits, top 2 of 50 zero), then 16 digits of randomness (80 bits).
  std::array<char, 26> out{};
  auto t = static_cast<std::uint64_t>(ms) & 0xFFFFFFFFFFFFull;
  for (int i = 9; i >= 0; --i, t >>= 5) out[static_cast<std::size_t>(i)] = kCrockford[t & 31u];
  // The 80 random bits as hi (16) | lo (64): the last 12 digits take 60 bits of lo, the first 4 take
  // lo's top 4 bits and hi's 16.
  std::uint64_t low = lo;
  for (int i = 25; i >= 14; --i, low >>= 5) out[static_cast<std::size_t>(i)] = kCrockford[low & 31u];
  std::uint64_t high = ((hi & 0xFFFFu) << 4) | (lo >> 60);
  for (int i = 13; i >= 10; --i, high >>= 5) out[static_cast<std::size_t>(i)] = kCrockford[high & 31u];
  return std::string(out.begin(), out.end());
}

bool looks_like_id(const std::string& s) {
  if (s.size() != 26 || s[0] > '7') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z' && c != 'I' && c != 'L' && c != 'O' && c != 'U');
  });
}

std::string random_hex(std::size_t bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string raw(bytes, '\0');
  std::ifstream urandom("/dev/urandom", std::ios::binary);
  if (!urandom.read(raw.data(), static_cast<std::streamsize>(bytes))) {
    std::random_device device;  // getrandom(2)-backed on Linux
    for (auto& c : raw) c = static_cast<char>(device());
  }
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char c : raw) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

}  // namespace memtrace
