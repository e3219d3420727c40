#include "core/text.h"

#include <charconv>

namespace memtrace {

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += separator;
    out += items[i];
  }
  return out;
}

std::string two_digit_number(double value) {
  // What printf's "%.2g" writes (the standard defines to_chars so), without its format parsing and
  // locale: a digest writes one per important memory, and snprintf took a twentieth of a digest's CPU.
  char buffer[32];
  const auto written = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::general, 2);
  return std::string(buffer, written.ptr);
}

}  // namespace memtrace
