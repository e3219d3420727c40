// Reading a tool call's arguments by key.
#include "mcp/tool_args.h"

namespace memtrace::mcp {

using Json = nlohmann::json;

std::optional<std::string> opt_string(const Json& args, const char* key) {
  auto it = args.find(key);
  if (it == args.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

std::optional<double> opt_number(const Json& args, const char* key) {
  auto it = args.find(key);
  if (it == args.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

std::optional<std::int64_t> opt_integer(const Json& args, const char* key) {
  auto it = args.find(key);
  if (it == args.end() || !it->is_number()) return std::nullopt;
  return static_cast<std::int64_t>(it->get<double>());
}

std::vector<std::string> strings(const Json& args, const char* key) {
  std::vector<std::string> out;
  if (auto it = args.find(key); it != args.end() && it->is_array()) {
    for (const auto& item : *it) {
      if (item.is_string()) out.push_back(item.get<std::string>());
    }
  }
  return out;
}

}  // namespace memtrace::mcp
