#include "mcp/tool_registry.h"

#include <stdexcept>

#include <spdlog/spdlog.h>

#include "mcp/embedded_schemas.h"

namespace memtrace::mcp {

namespace {
constexpr const char* kLevelNames[] = {"debug", "info",     "notice", "warning",
                                       "error", "critical", "alert",  "emergency"};
}

const char* to_string(LogLevel level) {
  return kLevelNames[static_cast<int>(level)];
}

bool parse_log_level(const std::string& text, LogLevel& out) {
  for (int i = 0; i < 8; ++i) {
    if (text == kLevelNames[i]) {
      out = static_cast<LogLevel>(i);
      return true;
    }
  }
  return false;
}

void ToolRegistry::add(Json definition, ToolHandler handler, ArgumentNormalizer normalize) {
  // A malformed definition is our bug, found at startup: throwing here is the right edge.
  if (!definition.contains("name") || !definition.contains("inputSchema") ||
      !definition["inputSchema"].is_object()) {
    throw std::logic_error("tool definition without name or inputSchema");
  }
  std::string name = definition["name"];
  Tool tool;
  tool.definition = std::make_unique<Json>(std::move(definition));
  tool.validator = std::make_unique<SchemaValidator>((*tool.definition)["inputSchema"]);
  tool.handler = std::move(handler);
  tool.normalize = std::move(normalize);
  tools_[name] = std::move(tool);
}

void ToolRegistry::add_embedded(const std::string& name, ToolHandler handler, ArgumentNormalizer normalize) {
  for (const auto& schema : embedded_tool_schemas()) {
    if (name == schema.name) {
      add(Json::parse(schema.json), std::move(handler), std::move(normalize));
      return;
    }
  }
  throw std::logic_error("no schemas/tools/" + name + ".json compiled in");
}

bool ToolRegistry::read_only(const std::string& name) const {
  auto it = tools_.find(name);
  if (it == tools_.end()) return false;
  const Json& annotations = it->second.definition->value("annotations", Json::object());
  return annotations.is_object() && annotations.value("readOnlyHint", false) == true;
}

Json ToolRegistry::list(ProtocolVersion version) const {
  Json tools = Json::array();
  for (const auto& [name, tool] : tools_) {
    Json entry = *tool.definition;
    if (!has_titles(version)) entry.erase("title");
    if (!has_tool_annotations(version)) entry.erase("annotations");
    if (!has_structured_output(version)) entry.erase("outputSchema");
    // _meta on a Tool (MCP Apps' ui.resourceUri) came with 2025-06-18, as structured output did.
    if (!has_structured_output(version)) entry.erase("_meta");
    if (!has_icons(version)) entry.erase("icons");
    tools.push_back(std::move(entry));
  }
  return tools;
}

const Json* ToolRegistry::definition(const std::string& name) const {
  auto it = tools_.find(name);
  return it == tools_.end() ? nullptr : it->second.definition.get();
}

ToolResult ToolRegistry::call(const std::string& name, Json arguments, ToolContext& context) const {
  const Tool& tool = tools_.at(name);
  if (arguments.is_null()) arguments = Json::object();
  if (!arguments.is_object()) return ToolResult::error("arguments must be a JSON object");
  if (tool.normalize) tool.normalize(arguments);
  if (auto why = tool.validator->validate(arguments)) {
    return ToolResult::error("Invalid arguments for " + name + ": " + *why);
  }
  return tool.handler(arguments, context);
}

}  // namespace memtrace::mcp
