// Small text helpers that every layer uses.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace memtrace {

// The items with `separator` between each two: join({"a", "b"}, ", ") == "a, b"; join({}, x) == "".
std::string join(const std::vector<std::string>& items, std::string_view separator);

}  // namespace memtrace
