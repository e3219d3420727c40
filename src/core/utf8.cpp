#include "core/utf8.h"

#include <cstdint>
#include <cstring>

namespace memtrace {

std::string_view utf8_prefix(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  std::size_t end = max_bytes;
  // Step back over continuation bytes (10xxxxxx) to the start of the character that was cut.
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

std::string utf8_ellipsize(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  if (max_bytes < 3) return std::string(utf8_prefix(text, max_bytes));
  return std::string(utf8_prefix(text, max_bytes - 3)) + "...";
}

bool is_well_formed_utf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    // Runs of ASCII, most of what a page or a digest holds, eight bytes at a time.
    while (end - p >= 8) {
      std::uint64_t word;
      std::memcpy(&word, p, sizeof word);
      if (word & 0x8080808080808080ULL) break;
      p += 8;
    }
    if (p == end) break;
    if (*p < 0x80) {
      ++p;
      continue;
    }
    std::size_t length = 0;
    unsigned char low = 0x80, high = 0xBF;  // the bounds of the second byte
    if (*p >= 0xC2 && *p <= 0xDF) {
      length = 2;
    } else if (*p >= 0xE0 && *p <= 0xEF) {
      length = 3;
      if (*p == 0xE0) low = 0xA0;   // no overlong forms
      if (*p == 0xED) high = 0x9F;  // no surrogates
    } else if (*p >= 0xF0 && *p <= 0xF4) {
      length = 4;
      if (*p == 0xF0) low = 0x90;   // no overlong forms
      if (*p == 0xF4) high = 0x8F;  // nothing above U+10FFFF
    } else {
      return false;
    }
    if (static_cast<std::size_t>(end - p) < length || p[1] < low || p[1] > high) return false;
    for (std::size_t i = 2; i < length; ++i) {
      if (p[i] < 0x80 || p[i] > 0xBF) return false;
    }
    p += length;
  }
  return true;
}

}  // namespace memtrace
