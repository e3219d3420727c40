// Sessions as MCP resources: URIs, listing with pagination, templates, reading, subscription targets.
#include "mcp/resources.h"

#include <charconv>

#include "core/percent_encoding.h"
#include "mcp/browser_app.h"
#include "mcp/change_tools.h"
#include "mcp/session_tools.h"
#include "mcp/task_tools.h"
#include "memory/context.h"
#include "memory/sessions.h"
#include "memory/time_text.h"

namespace memtrace::mcp {
namespace {

using Json = nlohmann::json;
using jsonrpc::invalid_params;

constexpr std::string_view kPrefix = "memtrace://sessions/";
constexpr std::string_view kCursorPrefix = "sessions-before:";

std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find(separator, start);
    if (end == std::string_view::npos) end = text.size();
    if (end > start) out.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::optional<std::string> cursor_param(const Json& params, bool& bad) {
  bad = false;
  if (!params.is_object() || !params.contains("cursor") || params["cursor"].is_null()) return std::nullopt;
  if (!params["cursor"].is_string()) {
    bad = true;
    return std::nullopt;
  }
  return params["cursor"].get<std::string>();
}

std::string session_title(const SessionSummary& s) {
  std::string title = "Session " + s.session.id + " context";
  if (!s.session.metadata.empty()) title += " (" + describe_metadata(s.session.metadata) + ")";
  return title;
}

std::string session_description(const SessionSummary& s) {
  std::string text = "Markdown digest of session " + s.session.id + " (" + to_string(s.session.status) +
                     "): " + std::to_string(s.memory_count) + (s.memory_count == 1 ? " memory" : " memories");
  if (!s.agents.empty()) {
    text += " by ";
    for (std::size_t i = 0; i < s.agents.size(); ++i) text += (i ? ", " : "") + s.agents[i];
  }
  if (s.last_activity > 0) text += "; last activity " + format_iso8601(s.last_activity);
  return text + ".";
}

}  // namespace

std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

std::string context_uri(const std::string& session_id) {
  return std::string(kPrefix) + percent_encode(session_id) + "/context";
}

std::string record_uri(const std::string& session_id) {
  return std::string(kPrefix) + percent_encode(session_id);
}

tl::expected<std::optional<SessionUri>, std::string> parse_session_uri(std::string_view uri) {
  if (uri.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  std::string_view rest = uri.substr(kPrefix.size());
  if (auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  std::string_view query;
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  SessionUri parsed;
  std::string_view segment = rest;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    if (rest.substr(slash) != "/context") return std::nullopt;
    segment = rest.substr(0, slash);
    parsed.kind = SessionUri::Kind::kContext;
  } else {
    parsed.kind = SessionUri::Kind::kRecord;
  }
  if (segment.empty()) return std::nullopt;
  if (segment == "current") {
    // Only the context follows the current session; "current" spelled %63urrent is a session's id.
    if (parsed.kind != SessionUri::Kind::kContext) return std::nullopt;
    parsed.current = true;
  } else {
    auto id = percent_decode(segment);
    if (!id || id->empty()) return std::nullopt;
    parsed.session_id = std::move(*id);
  }
  if (!query.empty() && parsed.kind == SessionUri::Kind::kRecord) {
    return tl::unexpected(std::string("the session record takes no query parameters"));
  }
  for (const auto& pair : split(query, '&')) {
    auto eq = pair.find('=');
    std::string key = pair.substr(0, eq);
    auto value =
        percent_decode(eq == std::string::npos ? std::string_view() : std::string_view(pair).substr(eq + 1));
    if (!value) return tl::unexpected("the value of " + key + " is not valid percent-encoding");
    if (key == "since") {
      parsed.since = *value;
    } else if (key == "max_tokens") {
      std::size_t n = 0;
      auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), n);
      if (ec != std::errc() || end != value->data() + value->size() || n < 1 || n > kMaxContextTokens) {
        return tl::unexpected("max_tokens must be an integer between 1 and " +
                              std::to_string(kMaxContextTokens) + ", got \"" + *value + "\"");
      }
      parsed.max_tokens = n;
    } else if (key == "types") {
      parsed.types = split(*value, ',');
    } else {
      return tl::unexpected("unknown query parameter \"" + key +
                            "\"; a context URI accepts since, max_tokens "
                            "and types");
    }
  }
  return parsed;
}

jsonrpc::ErrorObject resource_not_found(const std::string& uri) {
  return jsonrpc::ErrorObject{jsonrpc::kResourceNotFound, "Resource not found: " + uri, Json{{"uri", uri}}};
}

jsonrpc::ErrorObject resource_error(const Error& error, const std::string& uri) {
  switch (error.code) {
    case ErrorCode::kNotFound:
      return resource_not_found(uri);
    case ErrorCode::kInvalidArgument:
      return invalid_params(error.message);
    default:
      return jsonrpc::ErrorObject{jsonrpc::kInternalError, "Internal error: " + error.message,
                                  Json{{"uri", uri}}};
  }
}

tl::expected<std::string, jsonrpc::ErrorObject> uri_param(const Json& params) {
  if (!params.is_object() || !params.contains("uri") || !params["uri"].is_string()) {
    return tl::unexpected(invalid_params("a uri string is required"));
  }
  return params["uri"].get<std::string>();
}

RpcResult list_resources(Engine& engine, const Caller& caller, ProtocolVersion version, const Json& params) {
  bool bad = false;
  auto cursor = cursor_param(params, bad);
  if (bad || (cursor && cursor->rfind(kCursorPrefix, 0) != 0) ||
      (cursor && cursor->size() == kCursorPrefix.size())) {
    return tl::unexpected(invalid_params("unknown cursor; pass the nextCursor of a previous resources/list"));
  }
  const bool titles = has_titles(version);
  Json resources = Json::array();
  if (!cursor) {
    Json current = {
        {"uri", kCurrentContextUri},
        {"name", "current-session-context"},
        {"description", "Markdown digest of this connection's current session (" + caller.session_id +
                            "): decisions, important and recent memories, with agents and times."},
        {"mimeType", "text/markdown"}};
    if (titles) current["title"] = "Current session context";
    resources.push_back(std::move(current));
    resources.push_back(browser_app_resource(titles));  // ui://memtrace/browser (mcp/browser_app.h)
  }

  SessionQuery query;
  query.ns = caller.ns;
  if (cursor) query.before_id = cursor->substr(kCursorPrefix.size());
  query.now = engine.clock().now_ms();
  query.limit = kResourcePageSize + 1;
  auto found = engine.find_sessions(query);
  if (!found) return tl::unexpected(resource_error(found.error(), kCurrentContextUri));
  Json result;
  if (found->size() > kResourcePageSize) {
    found->resize(kResourcePageSize);
    result["nextCursor"] = std::string(kCursorPrefix) + found->back().session.id;
  }
  for (const auto& s : *found) {
    Json entry = {{"uri", context_uri(s.session.id)},
                  {"name", "session-" + s.session.id + "-context"},
                  {"description", session_description(s)},
                  {"mimeType", "text/markdown"}};
    if (titles) entry["title"] = session_title(s);
    resources.push_back(std::move(entry));
  }
  result["resources"] = std::move(resources);
  return result;
}

RpcResult list_resource_templates(ProtocolVersion version, const Json& params) {
  bool bad = false;
  if (cursor_param(params, bad) || bad) {
    return tl::unexpected(invalid_params("unknown cursor; every template fits on one page"));
  }
  Json context = {{"uriTemplate", kContextUriTemplate},
                  {"name", "session-context"},
                  {"description",
                   "Markdown digest of a session: decisions with their reasoning, important and "
                   "recent memories, with agents and UTC times. Optional query: ?since=4h (or an "
                   "ISO-8601 time), &max_tokens=2000 (1 token = 4 bytes), &types=decision,fact."},
                  {"mimeType", "text/markdown"}};
  Json record = {{"uriTemplate", kSessionUriTemplate},
                 {"name", "session"},
                 {"description",
                  "A session record as JSON: status, metadata, agents taking part, memory count, "
                  "last activity."},
                 {"mimeType", "application/json"}};
  if (has_titles(version)) {
    context["title"] = "Session context";
    record["title"] = "Session record";
  }
  Json templates = Json::array({std::move(context), std::move(record)});
  for (auto& entry : coordination_resource_templates(has_titles(version))) {
    templates.push_back(std::move(entry));
  }
  templates.push_back(change_resource_template(has_titles(version)));
  return Json{{"resourceTemplates", std::move(templates)}};
}

RpcResult read_resource(Engine& engine, const Caller& caller, const Json& params) {
  auto uri = uri_param(params);
  if (!uri) return tl::unexpected(uri.error());
  // memtrace://tasks/... and memtrace://agents/... (mcp/task_tools.h)
  if (auto coordination = read_coordination_resource(engine, caller, *uri)) return std::move(*coordination);
  // ui://memtrace/browser (mcp/browser_app.h)
  if (auto app = read_browser_app_resource(*uri)) return std::move(*app);
  // memtrace://changes (mcp/change_tools.h)
  if (auto changes = read_change_resource(engine, caller, *uri)) return std::move(*changes);
  auto parsed = parse_session_uri(*uri);
  if (!parsed) return tl::unexpected(invalid_params(parsed.error()));
  if (!*parsed) return tl::unexpected(resource_not_found(*uri));
  const SessionUri& target = **parsed;

  if (target.kind == SessionUri::Kind::kRecord) {
    auto described = describe_session(engine, caller.ns, target.session_id);
    if (!described) return tl::unexpected(resource_error(described.error(), *uri));
    if (!*described) return tl::unexpected(resource_not_found(*uri));
    Json content = {
        {"uri", *uri}, {"mimeType", "application/json"}, {"text", session_to_json(**described).dump()}};
    return Json{{"contents", Json::array({std::move(content)})}};
  }

  ContextRequest request;
  request.since = target.since;
  request.types = target.types;
  request.max_tokens = target.max_tokens.value_or(kDefaultContextTokens);
  auto digest =
      session_context(engine, caller, target.current ? caller.session_id : target.session_id, request);
  if (!digest) return tl::unexpected(resource_error(digest.error(), *uri));
  Json content = {{"uri", *uri}, {"mimeType", "text/markdown"}, {"text", digest->text}};
  return Json{{"contents", Json::array({std::move(content)})}};
}

tl::expected<SubscriptionTarget, jsonrpc::ErrorObject> resolve_subscription(Engine& engine,
                                                                            const Caller& caller,
                                                                            const Json& params) {
  auto uri = uri_param(params);
  if (!uri) return tl::unexpected(uri.error());
  auto parsed = parse_session_uri(*uri);
  if (!parsed) return tl::unexpected(invalid_params(parsed.error()));
  if (!*parsed) return tl::unexpected(resource_not_found(*uri));
  SubscriptionTarget target;
  target.uri = *uri;
  if ((*parsed)->current) {
    // The current session may not be stored yet (it is created on its first write): still watchable.
    target.session_id = caller.session_id;
    target.follows_current = true;
    return target;
  }
  target.session_id = (*parsed)->session_id;
  auto described = describe_session(engine, caller.ns, target.session_id);
  if (!described) return tl::unexpected(resource_error(described.error(), *uri));
  if (!*described && target.session_id != caller.session_id) return tl::unexpected(resource_not_found(*uri));
  return target;
}

}  // namespace memtrace::mcp
