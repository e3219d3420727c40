// Percent-encoding (RFC 3986) as used in URIs and URLs: memtrace:// resource URIs, redis:// store URLs.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace memtrace {

// The value of one hex digit, or -1 if `c` is not one.
int hex_digit_value(char c);

// "%7Bns%7D" → "{ns}"; nullopt for a truncated or non-hex escape.
std::optional<std::string> percent_decode(std::string_view text);

}  // namespace memtrace
