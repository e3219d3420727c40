// The memory browser as the server carries it: the files of the web page the HTTP transport serves at
// / and /ui/, and the same browser as an MCP App (io.modelcontextprotocol/ui): the resource
// ui://memtrace/browser (text/html;profile=mcp-app, everything inlined in one document, as a host
// renders it in a sandboxed iframe) and the tool memtrace_show that links to it via _meta.ui.resourceUri.
// The browser reads memory through MCP calls only (tools/call, resources/read), so the page and the app
// are one program with two ways to reach the server: POST /mcp, or the host's postMessage bridge.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "mcp/resources.h"
#include "mcp/tool_registry.h"

namespace memtrace::mcp {

inline constexpr const char* kBrowserAppUri = "ui://memtrace/browser";
inline constexpr const char* kMcpAppMimeType = "text/html;profile=mcp-app";

struct UiFile {
  std::string_view content_type;
  std::string_view body;
};

// A file of the web page by its name under /ui/ ("browser.css", "browser.js"); nullopt if there is none.
std::optional<UiFile> browser_page_file(std::string_view name);
// The page served at / and /ui/: browser.html loading /ui/browser.css and /ui/browser.js.
const std::string& browser_page_html();
// The MCP App document: browser.html with the CSS and JavaScript inlined, in app mode.
const std::string& browser_app_html();

// The entry resources/list adds for the app (titles for versions that have them).
nlohmann::json browser_app_resource(bool titles);
// resources/read of ui://memtrace/browser; nullopt for any other URI.
std::optional<RpcResult> read_browser_app_resource(const std::string& uri);

// memtrace_show: shows the browser in hosts that render MCP Apps; elsewhere it answers in text.
void register_browser_app_tool(ToolRegistry& registry);

}  // namespace memtrace::mcp
