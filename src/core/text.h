// Small text helpers that every layer uses.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace memtrace {

// The items with `separator` between each two: join({"a", "b"}, ", ") == "a, b"; join({}, x) == "".
std::string join(const std::vector<std::string>& items, std::string_view separator);

// At most two significant digits ("0.8", "0.25", "1"): how lines for a model show an importance.
std::string two_digit_number(double value);

}  // namespace memtrace
