// Resources, prompts and completions a server offers beside memtrace's own (today: the conformance
// fixtures). Each hook answers only for the URIs and names it knows and returns nullopt otherwise, so
// memtrace's own handling applies to everything else. Unset hooks add nothing.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "mcp/resources.h"

namespace memtrace::mcp {

// Thread-safety: set during setup, before the first connection; then only read.
struct Extensions {
  std::function<nlohmann::json()> resources;           // entries put first in resources/list
  std::function<nlohmann::json()> resource_templates;  // entries put first in resources/templates/list
  std::function<std::optional<RpcResult>(const std::string& uri)> read_resource;
  std::function<bool(const std::string& uri)> subscribable;  // resources/(un)subscribe answers {}
  std::function<nlohmann::json()> prompts;                   // entries put first in prompts/list
  std::function<std::optional<RpcResult>(const nlohmann::json& params)> get_prompt;
  std::function<std::optional<RpcResult>(const nlohmann::json& params)> complete;
};

}  // namespace memtrace::mcp
