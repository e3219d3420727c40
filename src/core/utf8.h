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

// Whether `text` is well-formed UTF-8 (RFC 3629: shortest forms only, no surrogates, at most U+10FFFF).
bool is_well_formed_utf8(std::string_view text);

}  // namespace memtrace
