// The change feed tool and resource: argument decoding, the call into memory/changes.h, and the page as
// JSON and as text.
#include "mcp/change_tools.h"

#include <string_view>

#include "core/percent_encoding.h"
#include "mcp/memory_tools.h"
#include "mcp/tool_args.h"
#include "memory/changes.h"
#include "memory/time_text.h"

namespace memtrace::mcp {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kChangesUri = "memtrace://changes";

Json change_to_json(const FeedChange& change) {
  Json json = {{"cursor", change.cursor},
               {"kind", change.kind},
               {"at", format_iso8601(change.at)},
               {"agent", change.agent},
               {"session_id", change.session_id},
               {"subject", change.subject}};
  if (change.kind.rfind("memory.", 0) == 0) json["memory_id"] = change.subject;
  if (change.kind.rfind("task.", 0) == 0) json["task_id"] = change.subject;
  return json;
}

std::string page_text(const ChangePage& page, const std::optional<std::string>& cursor) {
  if (page.changes.empty()) {
    return "No changes" + (cursor ? " after cursor " + *cursor : std::string()) + ". Poll again with cursor " +
           page.next_cursor + ".";
  }
  std::string text = std::to_string(page.changes.size()) + " change(s), oldest first:\n";
  for (const auto& change : page.changes) {
    text += change.cursor + " " + format_iso8601(change.at) + " " + change.kind + " " + change.subject;
    if (!change.agent.empty()) text += " by " + change.agent;
    if (!change.session_id.empty() && change.session_id != change.subject) text += " in " + change.session_id;
    text += "\n";
  }
  text += page.more ? "More follow: call again with cursor " + page.next_cursor + "."
                    : "Next time pass cursor " + page.next_cursor + ".";
  return text;
}

ToolResult changes_tool(Engine& engine, const Json& args, ToolContext& context) {
  ChangesInput input;
  if (auto it = args.find("cursor"); it != args.end() && it->is_string()) input.cursor = it->get<std::string>();
  if (auto it = args.find("session_id"); it != args.end() && it->is_string())
    input.session_id = it->get<std::string>();
  input.kinds = strings(args, "kinds");
  if (auto it = args.find("limit"); it != args.end() && it->is_number_integer())
    input.limit = it->get<std::int64_t>();
  auto page = read_changes(engine, context.caller, input);
  if (!page) return tool_error(page.error(), engine);
  ToolResult result;
  result.structured = change_page_to_json(*page);
  result.text = page_text(*page, input.cursor);
  return result;
}

jsonrpc::ErrorObject bad_query(const std::string& message, const std::string& uri) {
  return resource_error(Error{ErrorCode::kInvalidArgument, message}, uri);
}

}  // namespace

void register_change_tools(ToolRegistry& registry, Engine& engine) {
  registry.add_embedded(
      "memtrace_changes",
      [&engine](const Json& args, ToolContext& context) { return changes_tool(engine, args, context); },
      [](Json& args) { split_comma_separated(args, "kinds"); });
}

Json change_page_to_json(const ChangePage& page) {
  Json changes = Json::array();
  for (const auto& change : page.changes) changes.push_back(change_to_json(change));
  return {{"changes", std::move(changes)}, {"next_cursor", page.next_cursor}, {"more", page.more}};
}

std::optional<RpcResult> read_change_resource(Engine& engine, const Caller& caller, const std::string& uri) {
  std::string_view rest(uri);
  if (rest.substr(0, kChangesUri.size()) != kChangesUri) return std::nullopt;
  rest.remove_prefix(kChangesUri.size());
  if (auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  if (!rest.empty() && rest.front() != '?') return std::nullopt;  // memtrace://changesX is not ours
  if (!rest.empty()) rest.remove_prefix(1);
  ChangesInput input;
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    const std::string_view key = pair.substr(0, eq);
    auto value = percent_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!value) return RpcResult(tl::unexpected(bad_query("malformed percent-encoding in the query", uri)));
    if (key == "cursor") {
      input.cursor = std::move(*value);
    } else if (key == "session_id") {
      input.session_id = std::move(*value);
    } else {
      return RpcResult(tl::unexpected(bad_query(
          "memtrace://changes takes the query parameters cursor and session_id, not \"" +
              std::string(key.substr(0, 32)) + "\"",
          uri)));
    }
  }
  auto page = read_changes(engine, caller, input);
  if (!page) return RpcResult(tl::unexpected(resource_error(page.error(), uri)));
  Json content = {{"uri", uri}, {"mimeType", "application/json"}, {"text", change_page_to_json(*page).dump()}};
  return RpcResult(Json{{"contents", Json::array({std::move(content)})}});
}

Json change_resource_template(bool titles) {
  Json entry = {{"uriTemplate", kChangesUriTemplate},
                {"name", "changes"},
                {"description",
                 "The namespace's change feed as JSON, oldest first: {changes: [{cursor, kind, at, agent, "
                 "session_id, subject}], next_cursor, more}. Read it again with ?cursor=<next_cursor> for "
                 "what happened since; &session_id= keeps one session's changes. The same as the tool "
                 "memtrace_changes."},
                {"mimeType", "application/json"}};
  if (titles) entry["title"] = "Change feed";
  return entry;
}

}  // namespace memtrace::mcp
