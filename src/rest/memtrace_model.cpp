#include "rest/memtrace_model.h"

#include <algorithm>

#include "core/sha256.h"
#include "memory/time_text.h"

namespace memtrace::rest {
namespace {

using nlohmann::json;

json metadata_of(const Memory& memory) {
  json meta = json::parse(memory.metadata_json, nullptr, false);
  return meta.is_object() ? meta : json::object();
}

json extension_of(const json& metadata) {
  auto it = metadata.find(kExtensionKey);
  return it != metadata.end() && it->is_object() ? *it : json::object();
}

std::string string_field(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool is_tag_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == ':' || c == '-';
}

Result<std::optional<std::string>> optional_string(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return fail(ErrorCode::kInvalidArgument, std::string(key) + " must be a string");
  return std::optional<std::string>(it->get<std::string>());
}

json parse_value(const std::string& compact) {
  json value = json::parse(compact, nullptr, false);
  return value.is_discarded() ? json(compact) : value;
}

}  // namespace

std::string memtrace_type_of(const Memory& memory) {
  std::string stored = string_field(extension_of(metadata_of(memory)), "memory_type");
  if (!stored.empty()) return stored;
  if (memory.type == "decision") return "decision";
  if (memory.type == "fact") return "entity";
  return "episodic";
}

std::string event_type_of(const Memory& memory) {
  std::string stored = string_field(extension_of(metadata_of(memory)), "event_type");
  return stored.empty() ? memory.type : stored;
}

std::vector<std::string> stored_types_for(const std::string& memtrace_type) {
  if (memtrace_type == "episodic") return {"observation", "action", "event", "result"};
  if (memtrace_type == "entity") return {"fact"};
  if (memtrace_type == "decision") return {"decision"};
  if (memtrace_type == "session") return {"observation"};
  return {};
}

std::string sessionless_id(const std::string& agent_id) {
  return "sessionless:" + agent_id;
}

std::string auto_dedup_key(const std::string& agent_id, const std::string& event_type,
                           const std::string& content) {
  return sha256_hex(agent_id + "|" + event_type + "|" + content.substr(0, 200)).substr(0, 32);
}

std::string dedup_tag(const std::string& dedup_key) {
  bool usable = !dedup_key.empty() && dedup_key.size() <= 58 &&
                std::all_of(dedup_key.begin(), dedup_key.end(), is_tag_char);
  return "dedup:" + (usable ? dedup_key : sha256_hex(dedup_key).substr(0, 32));
}

json memory_json(const Memory& memory) {
  json metadata = metadata_of(memory);
  json extension = extension_of(metadata);
  metadata.erase(kExtensionKey);
  std::string dedup_key = string_field(extension, "dedup_key");
  std::string parent_id = string_field(extension, "parent_id");
  bool no_session = extension.value("no_session", false);

  json out = json::object();
  out["id"] = memory.id;
  out["time"] = format_iso8601(memory.created_at);
  out["org_id"] = memory.ns;
  out["agent_id"] = memory.agent_id;
  if (!no_session) out["session_id"] = memory.session_id;
  out["memory_type"] = memtrace_type_of(memory);
  out["event_type"] = event_type_of(memory);
  out["content"] = memory.content;
  if (memory.reasoning) {
    // Memtrace's clients read a decision's reasoning from metadata.reasoning.
    if (!metadata.contains("reasoning")) metadata["reasoning"] = *memory.reasoning;
    out["reasoning"] = *memory.reasoning;
  }
  if (!metadata.empty()) out["metadata"] = metadata;
  json tags = json::array();
  std::string hidden = dedup_key.empty() ? std::string() : dedup_tag(dedup_key);
  for (const auto& tag : memory.tags) {
    if (tag != hidden) tags.push_back(tag);
  }
  if (!tags.empty()) out["tags"] = tags;
  if (!dedup_key.empty()) out["dedup_key"] = dedup_key;
  out["importance"] = memory.importance;
  if (!parent_id.empty()) out["parent_id"] = parent_id;
  if (memory.expires_at) out["expires_at"] = format_iso8601(*memory.expires_at);
  return out;
}

json session_json(const SessionSummary& summary) {
  const Session& session = summary.session;
  json out = json::object();
  out["id"] = session.id;
  out["org_id"] = session.ns;
  out["agent_id"] = session.created_by;
  out["status"] = to_string(session.status);
  if (!session.metadata.empty()) {
    json metadata = json::object();
    for (const auto& [key, value] : session.metadata) metadata[key] = parse_value(value);
    out["metadata"] = metadata;
  }
  out["created_at"] = format_iso8601(session.created_at);
  out["updated_at"] = format_iso8601(session.updated_at);
  if (session.closed_at) out["closed_at"] = format_iso8601(*session.closed_at);
  out["agents"] = summary.agents;
  out["memory_count"] = summary.memory_count;
  out["last_activity_at"] = format_iso8601(summary.last_activity);
  return out;
}

json agent_json(const Agent& agent) {
  json out = json::object();
  out["id"] = agent.id;
  out["org_id"] = agent.ns;
  out["name"] = agent.id;
  if (!agent.description.empty()) out["description"] = agent.description;
  out["created_at"] = format_iso8601(agent.created_at);
  return out;
}

Result<MemoryCreate> parse_memory_create(const json& body) {
  if (!body.is_object()) return fail(ErrorCode::kInvalidArgument, "a memory is a JSON object");
  MemoryCreate create;
  auto agent_id = optional_string(body, "agent_id");
  if (!agent_id) return tl::unexpected(agent_id.error());
  if (!*agent_id || (*agent_id)->empty()) return fail(ErrorCode::kInvalidArgument, "agent_id is required");
  create.agent_id = **agent_id;
  auto content = optional_string(body, "content");
  if (!content) return tl::unexpected(content.error());
  if (!*content || (*content)->empty()) return fail(ErrorCode::kInvalidArgument, "content is required");
  create.input.content = **content;

  std::optional<std::string> fields[5];
  const char* names[5] = {"session_id", "memory_type", "event_type", "dedup_key", "parent_id"};
  for (int i = 0; i < 5; ++i) {
    auto value = optional_string(body, names[i]);
    if (!value) return tl::unexpected(value.error());
    fields[i] = *value;
  }
  create.session_id = fields[0].value_or("");
  std::string memory_type = fields[1].value_or("").empty() ? "episodic" : *fields[1];
  std::string event_type = fields[2].value_or("").empty() ? "general" : *fields[2];
  if (stored_types_for(memory_type).empty()) {
    return fail(ErrorCode::kInvalidArgument, "invalid memory_type: " + memory_type);
  }

  json metadata = json::object();
  if (auto it = body.find("metadata"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) return fail(ErrorCode::kInvalidArgument, "metadata must be an object");
    metadata = *it;
  }
  if (metadata.contains(kExtensionKey)) {
    return fail(ErrorCode::kInvalidArgument,
                std::string("metadata key \"") + kExtensionKey + "\" is reserved by memtrace-mcp");
  }
  if (memory_type == "decision") {
    if (auto it = metadata.find("reasoning"); it != metadata.end() && it->is_string()) {
      create.input.reasoning = it->get<std::string>();
      metadata.erase(it);
    }
  }

  if (auto it = body.find("tags"); it != body.end() && !it->is_null()) {
    if (!it->is_array()) return fail(ErrorCode::kInvalidArgument, "tags must be an array of strings");
    for (const auto& tag : *it) {
      if (!tag.is_string()) return fail(ErrorCode::kInvalidArgument, "tags must be an array of strings");
      create.input.tags.push_back(tag.get<std::string>());
    }
  }
  create.input.importance = 0.0;  // Memtrace's default
  if (auto it = body.find("importance"); it != body.end() && !it->is_null()) {
    if (!it->is_number()) return fail(ErrorCode::kInvalidArgument, "importance must be a number");
    create.input.importance = it->get<double>();
  }

  create.dedup_key = fields[3].value_or("");
  if (create.dedup_key.empty()) create.dedup_key = auto_dedup_key(create.agent_id, event_type, **content);
  create.input.tags.push_back(dedup_tag(create.dedup_key));

  if (memory_type == "episodic") {
    create.input.type = (event_type == "action" || event_type == "event" || event_type == "observation")
                            ? event_type
                            : "observation";
  } else {
    create.input.type = stored_types_for(memory_type).front();
  }
  json extension = {
      {"memory_type", memory_type}, {"event_type", event_type}, {"dedup_key", create.dedup_key}};
  if (fields[4] && !fields[4]->empty()) extension["parent_id"] = *fields[4];
  if (create.session_id.empty()) extension["no_session"] = true;
  metadata[kExtensionKey] = extension;
  create.input.metadata_json = metadata.dump();
  create.input.session_id = create.session_id.empty() ? sessionless_id(create.agent_id) : create.session_id;
  return create;
}

}  // namespace memtrace::rest
