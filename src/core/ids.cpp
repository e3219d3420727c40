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
  // 128-bit value: 48 bits time | 16 bits hi | 64 bits lo, rendered as 26 base32 digits (130 bits).
  std::array<char, 26> out{};
  unsigned __int128 value = (static_cast<unsigned __int128>(static_cast<std::uint64_t>(ms) & 0xFFFFFFFFFFFFull) << 80) |
                            (static_cast<unsigned __int128>(hi & 0xFFFFu) << 64) | lo;
  for (int i = 25; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = kCrockford[static_cast<unsigned>(value & 31u)];
    value >>= 5;
  }
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
