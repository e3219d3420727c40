// SHA-256 (FIPS 180-4) for hashing API keys at rest. Small and self-contained; tested against the
// standard's example vectors in tests/unit/http_sha256_test.cpp.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace memtrace::transport::http {

// Incremental hasher. Thread-safety: an instance belongs to one thread at a time.
class Sha256 {
 public:
  Sha256();
  void update(std::string_view bytes);
  // The 32-byte digest. The hasher must not be updated afterwards.
  std::array<std::uint8_t, 32> finish();

 private:
  void compress(const std::uint8_t* block);

  std::array<std::uint32_t, 8> state_;
  std::array<std::uint8_t, 64> block_{};
  std::size_t block_len_ = 0;
  std::uint64_t total_len_ = 0;
};

// Lower-case hex of SHA-256(bytes).
std::string sha256_hex(std::string_view bytes);

}  // namespace memtrace::transport::http
