// The 2026-07-28 rules without a server: _meta checks, what every result gains, and the HTTP request
// metadata headers checked against the body.
#include <gtest/gtest.h>

#include "mcp/modern_era.h"
#include "transport/http/request_metadata.h"

namespace memtrace {
namespace {

using nlohmann::json;
namespace modern = mcp::modern;

json meta_params(json meta) {
  return {{"_meta", std::move(meta)}};
}

json good_meta() {
  return {{modern::kProtocolVersionKey, "2026-07-28"}, {modern::kClientCapabilitiesKey, {{"sampling", json::object()}}}};
}

TEST(ModernMeta, RequiredFieldsAndVersion) {
  EXPECT_EQ(modern::read_meta(json::object()).error().code, jsonrpc::kInvalidParams);
  json no_version = good_meta();
  no_version.erase(modern::kProtocolVersionKey);
  EXPECT_EQ(modern::read_meta(meta_params(no_version)).error().code, jsonrpc::kInvalidParams);
  json no_capabilities = good_meta();
  no_capabilities.erase(modern::kClientCapabilitiesKey);
  EXPECT_EQ(modern::read_meta(meta_params(no_capabilities)).error().code, jsonrpc::kInvalidParams);
  json other = good_meta();
  other[modern::kProtocolVersionKey] = "2025-11-25";
  auto unsupported = modern::read_meta(meta_params(other));
  ASSERT_FALSE(unsupported);
  EXPECT_EQ(unsupported.error().code, -32022);
  EXPECT_EQ(unsupported.error().data["requested"], "2025-11-25");
  EXPECT_EQ(unsupported.error().data["supported"], json::array({"2026-07-28"}));
}

TEST(ModernMeta, OptionalFieldsAreRead) {
  json meta = good_meta();
  meta[modern::kClientInfoKey] = {{"name", "claude-code"}, {"version", "2"}};
  meta[modern::kLogLevelKey] = "notice";
  meta[modern::kSessionKey] = "01SESSION";
  auto read = modern::read_meta(meta_params(meta));
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(read->client_name, "claude-code");
  ASSERT_TRUE(read->log_level.has_value());
  EXPECT_EQ(*read->log_level, mcp::LogLevel::kNotice);
  EXPECT_EQ(read->session_id, "01SESSION");
  EXPECT_TRUE(read->client_capabilities.contains("sampling"));
  meta[modern::kLogLevelKey] = "loud";
  EXPECT_EQ(modern::read_meta(meta_params(meta)).error().code, jsonrpc::kInvalidParams);
}

TEST(ModernResults, EveryResultIsCompleteAndListsAreCacheable) {
  const json info = {{"name", "memtrace-mcp"}, {"version", "1"}};
  json tools = {{"tools", json::array()}};
  modern::finish_result("tools/list", tools, info);
  EXPECT_EQ(tools["resultType"], "complete");
  EXPECT_EQ(tools["_meta"][modern::kServerInfoKey], info);
  EXPECT_EQ(tools["cacheScope"], "public");
  EXPECT_GT(tools["ttlMs"].get<int>(), 0);
  json read = {{"contents", json::array()}};
  modern::finish_result("resources/read", read, info);
  EXPECT_EQ(read["cacheScope"], "private");
  EXPECT_EQ(read["ttlMs"], 0);
  json call = {{"content", json::array()}};
  modern::finish_result("tools/call", call, info);
  EXPECT_FALSE(call.contains("ttlMs"));
  json asking = {{"resultType", "input_required"}, {"inputRequests", json::object()}};
  modern::finish_result("resources/read", asking, info);
  EXPECT_EQ(asking["resultType"], "input_required");
  EXPECT_FALSE(asking.contains("cacheScope"));

  jsonrpc::ErrorObject missing{jsonrpc::kResourceNotFound, "Resource not found", json{{"uri", "x://y"}}};
  modern::finish_error(missing);
  EXPECT_EQ(missing.code, jsonrpc::kInvalidParams);
  EXPECT_EQ(missing.data["uri"], "x://y");
}

transport::http::HttpRequest headers(std::initializer_list<std::pair<const char*, const char*>> fields) {
  transport::http::HttpRequest request;
  for (const auto& [name, value] : fields) request.headers[name] = value;
  return request;
}

jsonrpc::Request call(const std::string& tool) {
  jsonrpc::Request request;
  request.id = jsonrpc::Id(1);
  request.method = "tools/call";
  request.params = {{"name", tool}, {"_meta", good_meta()}};
  return request;
}

TEST(ModernHeaders, Base64SentinelIsDecoded) {
  EXPECT_EQ(transport::http::decode_header_value("plain"), "plain");
  EXPECT_EQ(transport::http::decode_header_value("=?base64?SGVsbG8sIOS4lueVjA==?="), "Hello, \xe4\xb8\x96\xe7\x95\x8c");
  EXPECT_FALSE(transport::http::decode_header_value("=?base64?not*base64?=").has_value());
}

TEST(ModernHeaders, MustMatchTheBody) {
  using transport::http::header_mismatch;
  auto good = headers({{"mcp-protocol-version", "2026-07-28"}, {"mcp-method", "tools/call"}, {"mcp-name", "t"}});
  EXPECT_FALSE(header_mismatch(good, call("t")).has_value());
  EXPECT_TRUE(header_mismatch(good, call("other")).has_value());
  auto no_name = headers({{"mcp-protocol-version", "2026-07-28"}, {"mcp-method", "tools/call"}});
  EXPECT_TRUE(header_mismatch(no_name, call("t")).has_value());
  auto wrong_method = headers({{"mcp-protocol-version", "2026-07-28"}, {"mcp-method", "tools/list"}, {"mcp-name", "t"}});
  EXPECT_TRUE(header_mismatch(wrong_method, call("t")).has_value());
  auto wrong_version = headers({{"mcp-protocol-version", "2099-01-01"}, {"mcp-method", "tools/call"}, {"mcp-name", "t"}});
  EXPECT_TRUE(header_mismatch(wrong_version, call("t")).has_value());
  auto no_version = headers({{"mcp-method", "tools/call"}, {"mcp-name", "t"}});
  EXPECT_TRUE(header_mismatch(no_version, call("t")).has_value());
}

}  // namespace
}  // namespace memtrace
