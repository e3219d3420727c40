// The session tools: argument decoding, the session domain calls, and the results a model reads.
#include "mcp/session_tools.h"

#include "mcp/memory_tools.h"
#include "mcp/tool_args.h"
#include "memory/context.h"
#include "memory/sessions.h"
#include "memory/time_text.h"

namespace memtrace::mcp {
namespace {

using Json = nlohmann::json;

std::string render_summary(const SessionSummary& s) {
  std::string text = "session " + s.session.id + " (" + to_string(s.session.status);
  if (!s.session.metadata.empty()) text += "; " + describe_metadata(s.session.metadata);
  text += "; " + std::to_string(s.memory_count) + (s.memory_count == 1 ? " memory" : " memories");
  if (!s.agents.empty()) {
    text += " by ";
    for (std::size_t i = 0; i < s.agents.size(); ++i) text += (i ? ", " : "") + s.agents[i];
  }
  if (s.last_activity > 0) text += "; last activity " + format_iso8601(s.last_activity);
  return text + ")";
}

ToolResult session_result(const SessionSummary& summary, const std::string& text) {
  ToolResult result;
  result.structured = {{"session", session_to_json(summary)}};
  result.text = text;
  return result;
}

ToolResult create_session_tool(Engine& engine, const Json& args, ToolContext& context) {
  SessionCreateInput input;
  if (auto m = args.find("metadata"); m != args.end()) input.metadata = metadata_from_json(*m);
  input.resume = args.value("resume", true);
  auto opened = create_or_resume(engine, context.caller, input);
  if (!opened) return tool_error(opened.error(), engine);
  context.switch_session(opened->session.session.id);
  ToolResult result;
  result.structured = {{"session", session_to_json(opened->session)}, {"resumed", opened->resumed}};
  result.text = std::string(opened->resumed ? "Resumed " : "Started ") + render_summary(opened->session) +
                ". It is now your current session: memories and decisions go there. Read what it holds with "
                "memtrace_session_context.";
  return result;
}

ToolResult close_session_tool(Engine& engine, const Json& args, ToolContext& context) {
  auto closed = close_session(engine, context.caller, opt_string(args, "session_id"));
  if (!closed) return tool_error(closed.error(), engine);
  std::string text = "Closed " + render_summary(*closed) + ". It keeps its memories but takes no new ones";
  if (closed->session.id == context.caller.session_id) {
    text += "; start or resume another session with memtrace_session_create before storing more";
  }
  return session_result(*closed, text + ".");
}

ToolResult search_sessions_tool(Engine& engine, const Json& args, ToolContext& context) {
  SessionSearchInput input;
  if (auto m = args.find("metadata"); m != args.end()) input.metadata = metadata_from_json(*m);
  const std::string status = args.value("status", "any");
  if (status == "active") input.status = SessionStatus::kActive;
  if (status == "closed") input.status = SessionStatus::kClosed;
  input.agent_id = opt_string(args, "agent_id");
  if (auto it = args.find("limit"); it != args.end() && it->is_number()) {
    input.limit = static_cast<std::int64_t>(it->get<double>());
  }
  input.cursor = opt_string(args, "cursor");
  auto page = search_sessions(engine, context.caller, input);
  if (!page) return tool_error(page.error(), engine);

  ToolResult result;
  Json sessions = Json::array();
  for (const auto& s : page->sessions) sessions.push_back(session_to_json(s));
  result.structured = {{"sessions", std::move(sessions)}};
  if (page->next_cursor) result.structured["next_cursor"] = *page->next_cursor;
  const std::string kind = status == "any" ? "" : status + " ";
  std::string where;
  if (!input.metadata.empty()) where += " with " + describe_metadata(input.metadata);
  if (input.agent_id) where += " involving agent " + *input.agent_id;
  if (page->sessions.empty()) {
    result.text = "No " + kind + "sessions" + where + ".";
  } else {
    result.text = std::to_string(page->sessions.size()) + " " + kind +
                  (page->sessions.size() == 1 ? "session" : "sessions") + where + " (newest first):";
    for (const auto& s : page->sessions) {
      result.text += "\n- " + render_summary(s);
      if (s.session.id == context.caller.session_id) result.text += " ← current";
    }
  }
  if (page->next_cursor) result.text += "\nMore: pass cursor \"" + *page->next_cursor + "\".";
  return result;
}

ToolResult context_tool(Engine& engine, const Json& args, ToolContext& context) {
  ContextRequest request;
  request.since = opt_string(args, "since");
  if (auto it = args.find("types"); it != args.end() && it->is_array()) {
    for (const auto& t : *it) {
      if (t.is_string()) request.types.push_back(t.get<std::string>());
    }
  }
  if (auto it = args.find("max_tokens"); it != args.end() && it->is_number()) {
    request.max_tokens = static_cast<std::size_t>(it->get<double>());
  }
  auto digest = session_context(engine, context.caller, opt_string(args, "session_id").value_or(""), request);
  if (!digest) return tool_error(digest.error(), engine);
  ToolResult result;
  result.text = digest->text;
  result.structured = {{"session_id", digest->session_id},
                       {"context", std::move(digest->text)},
                       {"tokens_estimate", digest->tokens_estimate},
                       {"omitted", digest->omitted}};
  return result;
}

ToolResult register_agent_tool(Engine& engine, const Json& args, ToolContext& context) {
  auto agent =
      register_agent(engine, context.caller.ns, args.value("name", ""), args.value("description", ""));
  if (!agent) return tool_error(agent.error(), engine);
  ToolResult result;
  result.structured = agent_to_json(*agent);
  result.text =
      "Registered agent " + agent->id + (agent->description.empty() ? "" : ": " + agent->description) + ".";
  if (agent->id != context.caller.agent_id) {
    result.text += " (This connection writes as " + context.caller.agent_id + ".)";
  }
  return result;
}

}  // namespace

Metadata metadata_from_json(const Json& object) {
  Metadata metadata;
  if (!object.is_object()) return metadata;
  for (const auto& [key, value] : object.items()) metadata[key] = value.dump();
  return metadata;
}

std::string describe_metadata(const Metadata& metadata) {
  std::string out;
  for (const auto& [key, value] : metadata) {
    if (!out.empty()) out += ", ";
    out += key + "=" + value;
  }
  return out;
}

Json session_to_json(const SessionSummary& summary) {
  const Session& s = summary.session;
  Json metadata = Json::object();
  for (const auto& [key, text] : s.metadata) {
    Json value = Json::parse(text, nullptr, false);
    metadata[key] = value.is_discarded() ? Json(text) : std::move(value);
  }
  Json out = {
      {"id", s.id},
      {"status", to_string(s.status)},
      {"metadata", std::move(metadata)},
      {"created_by", s.created_by},
      {"created_at", format_iso8601(s.created_at)},
      {"updated_at", format_iso8601(s.updated_at)},
      {"agents", summary.agents},
      {"memory_count", summary.memory_count},
      {"last_activity", format_iso8601(summary.last_activity > 0 ? summary.last_activity : s.updated_at)}};
  if (s.closed_at) out["closed_at"] = format_iso8601(*s.closed_at);
  return out;
}

Json agent_to_json(const Agent& agent) {
  return {
      {"id", agent.id}, {"description", agent.description}, {"created_at", format_iso8601(agent.created_at)}};
}

void register_session_tools(ToolRegistry& registry, Engine& engine) {
  registry.add_embedded("memtrace_session_create", [&engine](const Json& args, ToolContext& context) {
    return create_session_tool(engine, args, context);
  });
  registry.add_embedded("memtrace_session_close", [&engine](const Json& args, ToolContext& context) {
    return close_session_tool(engine, args, context);
  });
  registry.add_embedded("memtrace_session_search", [&engine](const Json& args, ToolContext& context) {
    return search_sessions_tool(engine, args, context);
  });
  registry.add_embedded(
      "memtrace_session_context",
      [&engine](const Json& args, ToolContext& context) { return context_tool(engine, args, context); },
      [](Json& args) { split_comma_separated(args, "types"); });
  registry.add_embedded("memtrace_agent_register", [&engine](const Json& args, ToolContext& context) {
    return register_agent_tool(engine, args, context);
  });
}

}  // namespace memtrace::mcp
