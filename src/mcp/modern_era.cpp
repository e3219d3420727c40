#include "mcp/modern_era.h"

namespace memtrace::mcp::modern {

const std::vector<std::string>& versions() {
  static const std::vector<std::string> names = {std::string(kVersion)};
  return names;
}

std::optional<std::string> requested_version(const Json& params) {
  if (!params.is_object()) return std::nullopt;
  auto meta = params.find("_meta");
  if (meta == params.end() || !meta->is_object()) return std::nullopt;
  auto version = meta->find(kProtocolVersionKey);
  if (version == meta->end() || !version->is_string()) return std::nullopt;
  return version->get<std::string>();
}

namespace {

jsonrpc::ErrorObject invalid(std::string message) {
  return {jsonrpc::kInvalidParams, "Invalid params: " + std::move(message), nullptr};
}

}  // namespace

tl::expected<RequestMeta, jsonrpc::ErrorObject> read_meta(const Json& params) {
  if (!params.is_object() || !params.contains("_meta") || !params["_meta"].is_object()) {
    return tl::unexpected(invalid(std::string("a request must carry _meta with ") + kProtocolVersionKey +
                                  " and " + kClientCapabilitiesKey));
  }
  const Json& meta = params["_meta"];
  RequestMeta out;
  auto version = meta.find(kProtocolVersionKey);
  if (version == meta.end() || !version->is_string()) {
    return tl::unexpected(invalid(std::string("_meta must carry ") + kProtocolVersionKey));
  }
  out.version = version->get<std::string>();
  auto capabilities = meta.find(kClientCapabilitiesKey);
  if (capabilities == meta.end() || !capabilities->is_object()) {
    return tl::unexpected(invalid(std::string("_meta must carry ") + kClientCapabilitiesKey + " (an object)"));
  }
  bool known = false;
  for (const auto& v : versions()) known = known || v == out.version;
  if (!known) return tl::unexpected(unsupported_version(out.version));
  out.client_capabilities = *capabilities;
  auto info = meta.find(kClientInfoKey);
  if (info != meta.end() && info->is_object() && info->contains("name") && (*info)["name"].is_string()) {
    out.client_name = (*info)["name"].get<std::string>();
  }
  auto level = meta.find(kLogLevelKey);
  if (level != meta.end()) {
    LogLevel parsed;
    if (!level->is_string() || !parse_log_level(level->get<std::string>(), parsed)) {
      return tl::unexpected(invalid(std::string(kLogLevelKey) + " must be a log level such as \"info\""));
    }
    out.log_level = parsed;
  }
  auto session = meta.find(kSessionKey);
  if (session != meta.end()) {
    if (!session->is_string() || session->get_ref<const std::string&>().empty()) {
      return tl::unexpected(invalid(std::string(kSessionKey) + " must be a non-empty string"));
    }
    out.session_id = session->get<std::string>();
  }
  return out;
}

jsonrpc::ErrorObject unsupported_version(const std::string& requested) {
  return {kUnsupportedVersion, "Unsupported protocol version",
          Json{{"supported", versions()}, {"requested", requested}}};
}

jsonrpc::ErrorObject missing_capability(const std::string& capability) {
  return {kMissingClientCapability,
          "Missing required client capability: " + capability + " (declare it in " + kClientCapabilitiesKey + ")",
          Json{{"requiredCapabilities", {{capability, Json::object()}}}}};
}

bool removed_method(std::string_view method) {
  return method == "initialize" || method == "ping" || method == "logging/setLevel" ||
         method == "resources/subscribe" || method == "resources/unsubscribe";
}

void finish_result(std::string_view method, Json& result, const Json& server_info) {
  if (!result.is_object()) return;
  if (!result.contains("resultType")) result["resultType"] = "complete";
  Json& meta = result["_meta"];
  if (!meta.is_object()) meta = Json::object();
  meta[kServerInfoKey] = server_info;
  if (result["resultType"] != "complete") return;
  // What is the same for every client for a while (the server's own definitions) may be shared; what
  // depends on the caller's namespace and on memories that change any moment may not be cached.
  if (method == "tools/list" || method == "prompts/list" || method == "resources/templates/list" ||
      method == "server/discover") {
    result["ttlMs"] = 300000;
    result["cacheScope"] = "public";
  } else if (method == "resources/list" || method == "resources/read") {
    result["ttlMs"] = 0;
    result["cacheScope"] = "private";
  }
}

void finish_error(jsonrpc::ErrorObject& error) {
  if (error.code == jsonrpc::kResourceNotFound) error.code = jsonrpc::kInvalidParams;
}

}  // namespace memtrace::mcp::modern
