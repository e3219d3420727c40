// Reading a tool call's arguments once they passed the tool's schema: optional values by key.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace memtrace::mcp {

// Each returns nothing (or an empty list) when the key is absent or of another JSON type; the schema
// check before the handler already told the client about wrong types.
std::optional<std::string> opt_string(const nlohmann::json& args, const char* key);
std::optional<double> opt_number(const nlohmann::json& args, const char* key);
std::optional<std::int64_t> opt_integer(const nlohmann::json& args, const char* key);
std::vector<std::string> strings(const nlohmann::json& args, const char* key);  // the string items

}  // namespace memtrace::mcp
