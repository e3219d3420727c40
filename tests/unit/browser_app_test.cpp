// The memory browser on the MCP side: memtrace_show linked to the ui://memtrace/browser app through
// _meta.ui.resourceUri, the app resource itself, and the page's files.
#include "mcp/browser_app.h"

#include <gtest/gtest.h>

#include "session_test_harness.h"

namespace memtrace {
namespace {

using testing::Json;
using testing::SessionHarness;
using testing::TestClient;

constexpr const char* kApp = "ui://memtrace/browser";

TEST(BrowserApp, ShowToolLinksTheAppResource) {
  SessionHarness h;
  TestClient client(h.server);
  client.initialize();
  Json show;
  const Json tools = client.result("tools/list")["tools"];
  for (const auto& tool : tools) {
    if (tool["name"] == "memtrace_show") show = tool;
  }
  ASSERT_TRUE(show.is_object());
  EXPECT_EQ(show["_meta"]["ui"]["resourceUri"], kApp);
  EXPECT_EQ(show["annotations"]["readOnlyHint"], true);
  Json r = client.call_tool("memtrace_show");
  EXPECT_FALSE(r.value("isError", false)) << r.dump();
  EXPECT_EQ(r["structuredContent"]["resource_uri"], kApp);
}

TEST(BrowserApp, ClientsBefore2025_06_18SeeNoToolMeta) {
  SessionHarness h;
  TestClient old(h.server);
  old.initialize("2025-03-26");
  const Json tools = old.result("tools/list")["tools"];
  for (const auto& tool : tools) EXPECT_FALSE(tool.contains("_meta")) << tool.dump();
}

TEST(BrowserApp, AppResourceIsListedAndReadAsOneDocument) {
  SessionHarness h;
  TestClient client(h.server);
  client.initialize();
  bool listed = false;
  const Json resources = client.result("resources/list")["resources"];
  for (const auto& r : resources) {
    if (r["uri"] == kApp) {
      listed = true;
      EXPECT_EQ(r["mimeType"], "text/html;profile=mcp-app");
    }
  }
  EXPECT_TRUE(listed);
  Json read = client.result("resources/read", {{"uri", kApp}});
  ASSERT_EQ(read["contents"].size(), 1u);
  const Json& content = read["contents"][0];
  EXPECT_EQ(content["mimeType"], "text/html;profile=mcp-app");
  const std::string html = content["text"];
  EXPECT_NE(html.find("data-mode=\"app\""), std::string::npos);
  EXPECT_NE(html.find("<style>"), std::string::npos);
  EXPECT_NE(html.find("class BridgeMcp"), std::string::npos);
  EXPECT_EQ(html.find("src=\"/ui/"), std::string::npos) << "an app cannot fetch from the server";
  // The inlined script ends only where we end it.
  EXPECT_EQ(html.find("</script>"), html.rfind("</script>"));
}

TEST(BrowserApp, PageLoadsItsFilesFromUi) {
  const std::string& page = mcp::browser_page_html();
  EXPECT_NE(page.find("data-mode=\"page\""), std::string::npos);
  EXPECT_NE(page.find("src=\"/ui/browser.js\""), std::string::npos);
  EXPECT_NE(page.find("href=\"/ui/browser.css\""), std::string::npos);
  ASSERT_TRUE(mcp::browser_page_file("browser.js"));
  EXPECT_FALSE(mcp::browser_page_file("browser.js")->body.empty());
  EXPECT_EQ(mcp::browser_page_file("browser.css")->content_type, "text/css; charset=utf-8");
  EXPECT_FALSE(mcp::browser_page_file("../secret"));
  EXPECT_FALSE(mcp::browser_page_file("browser.html"));
}

}  // namespace
}  // namespace memtrace
