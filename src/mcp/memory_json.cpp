#include "mcp/memory_json.h"

#include <cstdio>

#include "core/text.h"
#include "memory/time_text.h"

namespace memtrace::mcp {

using Json = nlohmann::json;

namespace {

std::string format_importance(double value) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%.2g", value);
  return buffer;
}

}  // namespace

Json memory_to_json(const Memory& m) {
  Json out = {{"id", m.id},
              {"content", m.content},
              {"type", m.type},
              {"tags", m.tags},
              {"importance", m.importance},
              {"agent_id", m.agent_id},
              {"session_id", m.session_id},
              {"created_at", format_iso8601(m.created_at)}};
  if (m.expires_at) out["expires_at"] = format_iso8601(*m.expires_at);
  if (m.metadata_json.size() > 2) {  // "{}" (the usual) needs no parse
    Json metadata = Json::parse(m.metadata_json, nullptr, false);
    if (metadata.is_object() && !metadata.empty()) out["metadata"] = std::move(metadata);
  }
  if (m.reasoning) out["reasoning"] = *m.reasoning;
  if (m.superseded_by) out["superseded_by"] = *m.superseded_by;
  if (m.valid_until) out["valid_until"] = format_iso8601(*m.valid_until);
  return out;
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
  Json memories = Json::array();
  for (const auto& m : page.memories) memories.push_back(memory_to_json(m));
  Json out = {{"memories", std::move(memories)}, {"scope", scope_to_json(page.scope)}};
  if (page.next_cursor) out["next_cursor"] = *page.next_cursor;
  return out;
}

std::string render_memory_line(const Memory& m) {
  std::string line = "- " + format_iso8601(m.created_at).substr(0, 19) + "Z · " + m.agent_id + " · " + m.type;
  if (!m.tags.empty()) line += " · [" + join(m.tags, ", ") + "]";
  line += " · " + format_importance(m.importance) + " · " + m.id + ": " + m.content;
  if (m.reasoning) line += " (because: " + *m.reasoning + ")";
  if (m.superseded_by) {
    line += " [superseded by " + *m.superseded_by;
    if (m.valid_until) line += " at " + format_iso8601(*m.valid_until).substr(0, 19) + "Z";
    line += "]";
  }
  return line;
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
  if (s.min_importance) where += ", importance >= " + format_importance(*s.min_importance);
  if (s.include_superseded) where += ", superseded included";

  std::string text;
  if (page.memories.empty()) {
    text = "No memories in " + where + ".";
  } else {
    text = std::to_string(page.memories.size()) + (page.memories.size() == 1 ? " memory" : " memories") +
           " (newest first) in " + where + ":";
    for (const auto& m : page.memories) text += "\n" + render_memory_line(m);
  }
  if (page.next_cursor) text += "\nMore: pass cursor \"" + *page.next_cursor + "\".";
  return text;
}

}  // namespace memtrace::mcp
