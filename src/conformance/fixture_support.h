// What both conformance fixture files build their tools from.
#pragma once

#include <utility>

#include <nlohmann/json.hpp>

namespace memtrace::conformance::support {

inline nlohmann::json no_arguments() {
  return {{"type", "object"}, {"properties", nlohmann::json::object()}};
}

inline nlohmann::json tool(const char* name, const char* description,
                           nlohmann::json input_schema = no_arguments()) {
  return {{"name", name}, {"description", description}, {"inputSchema", std::move(input_schema)}};
}

}  // namespace memtrace::conformance::support
