// The memory browser's files, assembled once into the page and the MCP App document.
#include "mcp/browser_app.h"

#include "mcp/embedded_ui.h"

namespace memtrace::mcp {
namespace {

// In browser.html: the mode marker and the line where the stylesheet and the script go.
constexpr std::string_view kModeMarker = "data-mode=\"page\"";
constexpr std::string_view kAssetsMarker = "<!--memtrace:assets-->";

std::string_view embedded(std::string_view name) {
  for (const auto& file : embedded_ui_files()) {
    if (name == file.name) return file.text;
  }
  return {};
}

std::string replace_once(std::string text, std::string_view marker, std::string_view with) {
  auto at = text.find(marker);
  if (at != std::string::npos) text.replace(at, marker.size(), with);
  return text;
}

}  // namespace

std::optional<UiFile> browser_page_file(std::string_view name) {
  if (name == "browser.css") return UiFile{"text/css; charset=utf-8", embedded(name)};
  if (name == "browser.js") return UiFile{"text/javascript; charset=utf-8", embedded(name)};
  return std::nullopt;
}

const std::string& browser_page_html() {
  static const std::string html = replace_once(
      std::string(embedded("browser.html")), kAssetsMarker,
      "<link rel=\"stylesheet\" href=\"/ui/browser.css\">\n<script src=\"/ui/browser.js\" defer></script>");
  return html;
}

const std::string& browser_app_html() {
  // An app's iframe has no server to fetch from: one self-contained document. A closing script tag in
  // browser.js would end the inlined script early; the browser test loading the app would fail then.
  static const std::string html = replace_once(
      replace_once(std::string(embedded("browser.html")), kModeMarker, "data-mode=\"app\""), kAssetsMarker,
      "<style>\n" + std::string(embedded("browser.css")) + "</style>\n<script>\n" +
          std::string(embedded("browser.js")) + "</script>");
  return html;
}

nlohmann::json browser_app_resource(bool titles) {
  nlohmann::json entry = {{"uri", kBrowserAppUri},
                          {"name", "memory-browser"},
                          {"description",
                           "The memory browser as an MCP App: sessions, timelines, search, context digests "
                           "and tasks of this namespace, read through the server's read-only tools."},
                          {"mimeType", kMcpAppMimeType}};
  if (titles) entry["title"] = "Memory browser";
  return entry;
}

std::optional<RpcResult> read_browser_app_resource(const std::string& uri) {
  if (uri != kBrowserAppUri) return std::nullopt;
  nlohmann::json content = {
      {"uri", kBrowserAppUri},
      {"mimeType", kMcpAppMimeType},
      {"text", browser_app_html()},
      // No network beyond the host's bridge: the app fetches nothing itself.
      {"_meta",
       {{"ui",
         {{"csp",
           {{"connectDomains", nlohmann::json::array()}, {"resourceDomains", nlohmann::json::array()}}},
          {"prefersBorder", true}}}}}};
  return nlohmann::json{{"contents", nlohmann::json::array({std::move(content)})}};
}

void register_browser_app_tool(ToolRegistry& registry) {
  registry.add_embedded("memtrace_show", [](const Json& args, ToolContext& context) {
    ToolResult result;
    std::string session = args.is_object() && args.contains("session_id") && args["session_id"].is_string()
                              ? args["session_id"].get<std::string>()
                              : std::string();
    result.structured = {{"resource_uri", kBrowserAppUri}};
    if (!session.empty()) result.structured["session_id"] = session;
    result.text = "Showing the memory browser (" + std::string(kBrowserAppUri) + ")" +
                  (session.empty() ? std::string() : " on session " + session) +
                  ". Hosts that do not render MCP Apps show nothing more: read memory with "
                  "memtrace_session_search, memtrace_recall and memtrace_session_context instead.";
    return result;
  });
}

}  // namespace memtrace::mcp
