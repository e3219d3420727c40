// The memtrace_context prompt: listing it, and rendering it as an embedded resource.
#include "mcp/prompts.h"

#include "memory/context.h"

namespace memtrace::mcp {

using Json = nlohmann::json;
using jsonrpc::invalid_params;

RpcResult list_prompts(ProtocolVersion version, const Json& params) {
  if (params.is_object() && params.contains("cursor") && !params["cursor"].is_null()) {
    return tl::unexpected(invalid_params("unknown cursor; every prompt fits on one page"));
  }
  const bool titles = has_titles(version);
  Json session_id = {{"name", "session_id"},
                     {"description", "The session to bring in (default: this connection's current session)."},
                     {"required", false}};
  Json since = {
      {"name", "since"},
      {"description", "Only memories from this window: 30m, 4h, 7d, or an ISO-8601 time (default: all)."},
      {"required", false}};
  Json prompt = {{"name", kContextPromptName},
                 {"description",
                  "Bring a memtrace session's context into the conversation: its decisions with "
                  "reasoning, important and recent memories, with agents and times."},
                 {"arguments", Json::array({std::move(session_id), std::move(since)})}};
  if (titles) {
    prompt["title"] = "Session context";
    prompt["arguments"][0]["title"] = "Session id";
    prompt["arguments"][1]["title"] = "Since";
  }
  return Json{{"prompts", Json::array({std::move(prompt)})}};
}

RpcResult get_prompt(Engine& engine, const Caller& caller, const Json& params) {
  if (!params.is_object() || !params.contains("name") || !params["name"].is_string()) {
    return tl::unexpected(invalid_params("prompts/get needs a prompt name"));
  }
  const std::string name = params["name"];
  if (name != kContextPromptName) {
    return tl::unexpected(
        jsonrpc::ErrorObject{jsonrpc::kInvalidParams, "Unknown prompt: " + name, Json{{"name", name}}});
  }
  std::string session_id;
  ContextRequest request;
  if (params.contains("arguments") && !params["arguments"].is_null()) {
    const Json& args = params["arguments"];
    if (!args.is_object()) return tl::unexpected(invalid_params("arguments must be an object of strings"));
    for (const auto& [key, value] : args.items()) {
      if (!value.is_string()) return tl::unexpected(invalid_params("argument " + key + " must be a string"));
      const std::string text = value.get<std::string>();
      if (key == "session_id") {
        session_id = text;
      } else if (key == "since") {
        if (!text.empty()) request.since = text;
      } else {
        return tl::unexpected(invalid_params("unknown argument " + key +
                                             "; memtrace_context takes session_id "
                                             "and since"));
      }
    }
  }
  const std::string id = session_id.empty() ? caller.session_id : session_id;
  auto digest = session_context(engine, caller, id, request);
  if (!digest) {
    if (digest.error().code == ErrorCode::kNotFound || digest.error().code == ErrorCode::kInvalidArgument) {
      return tl::unexpected(invalid_params(digest.error().message));
    }
    return tl::unexpected(resource_error(digest.error(), context_uri(id)));
  }
  std::string uri = session_id.empty() ? std::string(kCurrentContextUri) : context_uri(id);
  if (request.since) uri += "?since=" + percent_encode(*request.since);
  Json resource = {{"uri", uri}, {"mimeType", "text/markdown"}, {"text", digest->text}};
  Json message = {{"role", "user"}, {"content", {{"type", "resource"}, {"resource", std::move(resource)}}}};
  return Json{{"description", "Context of memtrace session " + id},
              {"messages", Json::array({std::move(message)})}};
}

}  // namespace memtrace::mcp
