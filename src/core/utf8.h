// UTF-8 helpers for cutting text without splitting a character.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace memtrace {

// The longest prefix of `text` of at most `max_bytes` bytes that ends on a character boundary.
std::string_view utf8_prefix(std::string_view text, std::size_t max_bytes);

// `text` cut to at most `max_bytes` bytes (including the "..." it then ends with).
std::string utf8_ellipsize(std::string_view text, std::size_t max_bytes);

}  // namespace memtrace
