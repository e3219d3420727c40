#include "mcp/memory_json.h"

#include "core/text.h"
#include "memory/time_text.h"

namespace memtrace::mcp {

using Json = nlohmann::json;

Json memory_to_json(const Memory& m) {
  std::string text;
  jsonrpc::JsonWriter out(text);
  write_memory(out, m);
  return Json::parse(text);
}

void write_memory(jsonrpc::JsonWriter& out, const Memory& m) {
  // Keys in the order nlohmann's objects keep them (sorted), so that a memory reads the same whichever
  // way it was written.
  char time[kIso8601Chars];
  out.begin_object();
  out.key("agent_id").value(m.agent_id);
  out.key("content").value(m.content);
  out.key("created_at").value(std::string_view(time, format_iso8601(m.created_at, time)));
  if (m.expires_at) out.key("expires_at").value(std::string_view(time, format_iso8601(*m.expires_at, time)));
  out.key("id").value(m.id);
  out.key("importance").value(m.importance);
  if (m.metadata_json.size() > 2) {  // "{}" (the usual) needs no parse
    Json metadata = Json::parse(m.metadata_json, nullptr, false);
    if (metadata.is_object() && !metadata.empty()) out.key("metadata").json(metadata);
  }
  if (m.reasoning) out.key("reasoning").value(*m.reasoning);
  out.key("session_id").value(m.session_id);
  if (m.superseded_by) out.key("superseded_by").value(*m.superseded_by);
  out.key("tags").begin_array();
  for (const auto& tag : m.tags) out.value(tag);
  out.end_array();
  out.key("type").value(m.type);
  if (m.valid_until)
    out.key("valid_until").value(std::string_view(time, format_iso8601(*m.valid_until, time)));
  out.end_object();
}

Json stored_to_json(const Memory& m) {
  Json out = {{"id", m.id},
              {"session_id", m.session_id},
              {"agent_id", m.agent_id},
              {"created_at", format_iso8601(m.created_at)}};
  if (m.expires_at) out["expires_at"] = format_iso8601(*m.expires_at);
  return out;
}

Json stored_to_json(const Stored& stored) {
  Json out = stored_to_json(stored.memory);
  out["deduplicated"] = stored.deduplicated;
  if (!stored.superseded.empty()) out["superseded"] = stored.superseded;
  return out;
}

Json scope_to_json(const Scope& s) {
  Json out = {{"namespace", s.ns}, {"limit", s.limit}};
  if (s.session_id) out["session_id"] = *s.session_id;
  if (s.agent_id) out["agent_id"] = *s.agent_id;
  if (s.since) out["since"] = format_iso8601(*s.since);
  if (s.until) out["until"] = format_iso8601(*s.until);
  if (!s.types.empty()) out["types"] = s.types;
  if (!s.tags.empty()) out["tags"] = s.tags;
  if (s.content_contains) out["content_contains"] = *s.content_contains;
  if (s.min_importance) out["min_importance"] = *s.min_importance;
  if (s.include_superseded) out["include_superseded"] = true;
  return out;
}

Json page_to_json(const Page& page) {
  std::string text;
  text.reserve(256 + page.memories.size() * 320);
  jsonrpc::JsonWriter out(text);
  out.begin_object().key("memories").begin_array();
  for (const auto& m : page.memories) write_memory(out, m);
  out.end_array();
  if (page.next_cursor) out.key("next_cursor").value(*page.next_cursor);
  out.key("scope").json(scope_to_json(page.scope));
  out.end_object();
  return jsonrpc::raw_json(std::move(text));
}

void append_memory_line(std::string& line, const Memory& m) {
  line += "- ";
  append_utc_seconds(line, m.created_at);
  line += " · ";
  line += m.agent_id;
  line += " · ";
  line += m.type;
  if (!m.tags.empty()) {
    line += " · [";
    for (std::size_t i = 0; i < m.tags.size(); ++i) {
      if (i > 0) line += ", ";
      line += m.tags[i];
    }
    line += ']';
  }
  line += " · ";
  line += two_digit_number(m.importance);
  line += " · ";
  line += m.id;
  line += ": ";
  line += m.content;
  if (m.reasoning) {
    line += " (because: ";
    line += *m.reasoning;
    line += ')';
  }
  if (m.superseded_by) {
    line += " [superseded by ";
    line += *m.superseded_by;
    if (m.valid_until) {
      line += " at ";
      append_utc_seconds(line, *m.valid_until);
    }
    line += ']';
  }
}

std::string render_page(const Page& page) {
  const Scope& s = page.scope;
  std::string where = "namespace " + s.ns;
  if (s.session_id) where += ", session " + *s.session_id;
  if (s.agent_id) where += ", agent " + *s.agent_id;
  if (s.since) where += ", since " + format_iso8601(*s.since);
  if (s.until) where += ", until " + format_iso8601(*s.until);
  if (!s.types.empty()) where += ", types " + join(s.types, "/");
  if (!s.tags.empty()) where += ", tags " + join(s.tags, "+");
  if (s.content_contains) where += ", containing \"" + *s.content_contains + "\"";
  if (s.min_importance) where += ", importance >= " + two_digit_number(*s.min_importance);
  if (s.include_superseded) where += ", superseded included";

  std::string text;
  if (page.memories.empty()) {
    text = "No memories in " + where + ".";
  } else {
    text = std::to_string(page.memories.size()) + (page.memories.size() == 1 ? " memory" : " memories") +
           " (newest first) in " + where + ":";
    text.reserve(text.size() + page.memories.size() * 160);
    for (const auto& m : page.memories) {
      text += '\n';
      append_memory_line(text, m);
    }
  }
  if (page.next_cursor) text += "\nMore: pass cursor \"" + *page.next_cursor + "\".";
  return text;
}

}  // namespace memtrace::mcp
