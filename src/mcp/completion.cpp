// completion/complete for session ids and time windows.
#include "mcp/completion.h"

#include <algorithm>
#include <cctype>

#include "mcp/prompts.h"

namespace memtrace::mcp {
namespace {

using Json = nlohmann::json;
using jsonrpc::invalid_params;

// Case-insensitive for ASCII, since people type ULIDs in lower case.
bool starts_with(const std::string& text, const std::string& prefix) {
  if (prefix.size() > text.size()) return false;
  return std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
}

Json answer(std::vector<std::string> matches, bool more_unseen) {
  const std::size_t total = matches.size();
  const bool has_more = more_unseen || total > kMaxCompletionValues;
  if (matches.size() > kMaxCompletionValues) matches.resize(kMaxCompletionValues);
  return Json{{"completion", {{"values", std::move(matches)}, {"total", total}, {"hasMore", has_more}}}};
}

RpcResult complete_session_id(Engine& engine, const Caller& caller, const std::string& prefix) {
  std::vector<std::string> matches;
  // The connection's own session first: it is the likeliest answer, stored yet or not.
  if (!caller.session_id.empty() && starts_with(caller.session_id, prefix))
    matches.push_back(caller.session_id);
  SessionQuery query;
  query.ns = caller.ns;
  query.limit = kMaxCompletionValues;
  query.now = engine.clock().now_ms();
  std::size_t scanned = 0;
  bool more_unseen = false;
  while (true) {
    auto page = engine.find_sessions(query);
    if (!page) {
      return tl::unexpected(
          jsonrpc::ErrorObject{jsonrpc::kInternalError, "Internal error: " + page.error().message, nullptr});
    }
    for (const auto& s : *page) {
      if (s.session.id != caller.session_id && starts_with(s.session.id, prefix))
        matches.push_back(s.session.id);
    }
    scanned += page->size();
    if (page->size() < query.limit) break;
    if (scanned >= kCompletionScan) {
      more_unseen = true;
      break;
    }
    query.before_id = page->back().session.id;
  }
  return answer(std::move(matches), more_unseen);
}

Json complete_since(const std::string& prefix) {
  std::vector<std::string> matches;
  for (const char* window : {"15m", "1h", "4h", "24h", "7d", "30d"}) {
    if (starts_with(window, prefix)) matches.emplace_back(window);
  }
  return answer(std::move(matches), false);
}

}  // namespace

RpcResult complete(Engine& engine, const Caller& caller, const Json& params) {
  if (!params.is_object() || !params.contains("ref") || !params["ref"].is_object() ||
      !params["ref"].contains("type") || !params["ref"]["type"].is_string()) {
    return tl::unexpected(invalid_params("completion/complete needs a ref {type, name | uri}"));
  }
  if (!params.contains("argument") || !params["argument"].is_object() ||
      !params["argument"].contains("name") || !params["argument"]["name"].is_string()) {
    return tl::unexpected(invalid_params("completion/complete needs an argument {name, value}"));
  }
  const Json& ref = params["ref"];
  const std::string argument = params["argument"]["name"];
  const Json& raw_value = params["argument"].contains("value") ? params["argument"]["value"] : Json("");
  if (!raw_value.is_string()) return tl::unexpected(invalid_params("argument.value must be a string"));
  const std::string value = raw_value.get<std::string>();
  const std::string type = ref["type"];

  if (type == "ref/prompt") {
    if (!ref.contains("name") || !ref["name"].is_string()) {
      return tl::unexpected(invalid_params("a ref/prompt needs a name"));
    }
    const std::string name = ref["name"];
    if (name != kContextPromptName) {
      return tl::unexpected(
          jsonrpc::ErrorObject{jsonrpc::kInvalidParams, "Unknown prompt: " + name, Json{{"name", name}}});
    }
    if (argument == "session_id") return complete_session_id(engine, caller, value);
    if (argument == "since") return complete_since(value);
    return answer({}, false);
  }
  if (type == "ref/resource") {
    if (!ref.contains("uri") || !ref["uri"].is_string()) {
      return tl::unexpected(invalid_params("a ref/resource needs a uri"));
    }
    const std::string uri = ref["uri"];
    const bool ours = uri == kContextUriTemplate || uri == kSessionUriTemplate;
    if (ours && argument == "session_id") return complete_session_id(engine, caller, value);
    return answer({}, false);
  }
  return tl::unexpected(invalid_params("ref.type must be ref/prompt or ref/resource, got " + type));
}

}  // namespace memtrace::mcp
