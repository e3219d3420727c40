// Encoding and validating the lines of an export (docs/export-format.md).
#include "app/export_format.h"

#include "memory/time_text.h"

namespace memtrace::app {
namespace {

using Json = nlohmann::ordered_json;

std::string time_text(UnixMillis t) {
  return format_iso8601(t);
}

// Field readers: each throws Refused with a sentence naming the field.
struct Refused {
  std::string why;
};

const Json& field(const Json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) throw Refused{std::string("\"") + name + "\" is missing"};
  return *it;
}

std::string text(const Json& object, const char* name, bool may_be_empty = false) {
  const Json& value = field(object, name);
  if (!value.is_string()) throw Refused{std::string("\"") + name + "\" must be a string"};
  auto s = value.get<std::string>();
  if (s.empty() && !may_be_empty) throw Refused{std::string("\"") + name + "\" must not be empty"};
  return s;
}

UnixMillis parse_instant(const Json& value, const char* name) {
  if (!value.is_string()) throw Refused{std::string("\"") + name + "\" must be an ISO-8601 time string"};
  auto parsed = parse_iso8601(value.get<std::string>());
  if (!parsed) {
    throw Refused{std::string("\"") + name + "\" is not an ISO-8601 time: \"" + value.get<std::string>() +
                  "\""};
  }
  return *parsed;
}

UnixMillis instant(const Json& object, const char* name) {
  return parse_instant(field(object, name), name);
}

std::optional<UnixMillis> optional_instant(const Json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return std::nullopt;
  return parse_instant(*it, name);
}

Json encode(const Agent& agent) {
  return {{"kind", "agent"},
          {"ns", agent.ns},
          {"id", agent.id},
          {"description", agent.description},
          {"created_at", time_text(agent.created_at)}};
}

Json encode(const Session& session) {
  Json metadata = Json::object();
  for (const auto& [key, value] : session.metadata) {
    metadata[key] = Json::parse(value, nullptr, false);  // stored as JSON text
  }
  Json out = {{"kind", "session"},
              {"ns", session.ns},
              {"id", session.id},
              {"created_by", session.created_by},
              {"status", to_string(session.status)},
              {"metadata", metadata},
              {"created_at", time_text(session.created_at)},
              {"updated_at", time_text(session.updated_at)}};
  if (session.closed_at) out["closed_at"] = time_text(*session.closed_at);
  return out;
}

Json encode(const Memory& memory) {
  Json metadata = Json::parse(memory.metadata_json, nullptr, false);
  if (metadata.is_discarded()) metadata = Json::object();
  Json out = {{"kind", "memory"},
              {"ns", memory.ns},
              {"id", memory.id},
              {"session_id", memory.session_id},
              {"agent_id", memory.agent_id},
              {"type", memory.type},
              {"content", memory.content},
              {"tags", memory.tags},
              {"importance", memory.importance},
              {"created_at", time_text(memory.created_at)}};
  if (memory.expires_at) out["expires_at"] = time_text(*memory.expires_at);
  out["metadata"] = metadata;
  if (memory.reasoning) out["reasoning"] = *memory.reasoning;
  if (memory.superseded_by) out["superseded_by"] = *memory.superseded_by;
  if (memory.valid_until) out["valid_until"] = time_text(*memory.valid_until);
  return out;
}

Json encode(const TaskClaim& claim) {
  return {{"kind", "task_claim"},
          {"ns", claim.ns},
          {"task_id", claim.task_id},
          {"holder_agent", claim.holder_agent},
          {"holder_session", claim.holder_session},
          {"claimed_at", time_text(claim.claimed_at)},
          {"lease_until", time_text(claim.lease_until)}};
}

Agent decode_agent(const Json& j) {
  return Agent{text(j, "ns"), text(j, "id"), text(j, "description", true), instant(j, "created_at")};
}

Session decode_session(const Json& j) {
  Session session;
  session.ns = text(j, "ns");
  session.id = text(j, "id");
  session.created_by = text(j, "created_by");
  auto status = text(j, "status");
  if (status == "active") {
    session.status = SessionStatus::kActive;
  } else if (status == "closed") {
    session.status = SessionStatus::kClosed;
  } else {
    throw Refused{"\"status\" must be \"active\" or \"closed\", got \"" + status + "\""};
  }
  const Json& metadata = field(j, "metadata");
  if (!metadata.is_object()) throw Refused{"\"metadata\" must be an object"};
  for (const auto& [key, value] : metadata.items()) session.metadata[key] = value.dump();
  session.created_at = instant(j, "created_at");
  session.updated_at = instant(j, "updated_at");
  session.closed_at = optional_instant(j, "closed_at");
  if (session.status == SessionStatus::kClosed && !session.closed_at) {
    throw Refused{"a closed session needs \"closed_at\""};
  }
  if (session.status == SessionStatus::kActive && session.closed_at) {
    throw Refused{"an active session has no \"closed_at\""};
  }
  return session;
}

Memory decode_memory(const Json& j) {
  Memory memory;
  memory.ns = text(j, "ns");
  memory.id = text(j, "id");
  memory.session_id = text(j, "session_id");
  memory.agent_id = text(j, "agent_id");
  memory.type = text(j, "type");
  memory.content = text(j, "content");
  const Json& tags = field(j, "tags");
  if (!tags.is_array()) throw Refused{"\"tags\" must be an array of strings"};
  for (const auto& tag : tags) {
    if (!tag.is_string() || tag.get<std::string>().empty()) {
      throw Refused{"\"tags\" must be an array of non-empty strings"};
    }
    memory.tags.push_back(tag.get<std::string>());
  }
  const Json& importance = field(j, "importance");
  if (!importance.is_number() || importance.get<double>() < 0 || importance.get<double>() > 1) {
    throw Refused{"\"importance\" must be a number between 0 and 1"};
  }
  memory.importance = importance.get<double>();
  memory.created_at = instant(j, "created_at");
  memory.expires_at = optional_instant(j, "expires_at");
  if (auto it = j.find("metadata"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) throw Refused{"\"metadata\" must be an object"};
    memory.metadata_json = it->dump();
  }
  if (auto it = j.find("reasoning"); it != j.end() && !it->is_null()) {
    if (!it->is_string()) throw Refused{"\"reasoning\" must be a string"};
    memory.reasoning = it->get<std::string>();
  }
  if (auto it = j.find("superseded_by"); it != j.end() && !it->is_null()) {
    if (!it->is_string() || it->get<std::string>().empty()) {
      throw Refused{"\"superseded_by\" must be a non-empty string (a memory id)"};
    }
    memory.superseded_by = it->get<std::string>();
  }
  memory.valid_until = optional_instant(j, "valid_until");
  if (memory.superseded_by.has_value() != memory.valid_until.has_value()) {
    throw Refused{"\"superseded_by\" and \"valid_until\" come together (a superseded memory has both)"};
  }
  return memory;
}

TaskClaim decode_claim(const Json& j) {
  TaskClaim claim{text(j, "ns"),
                  text(j, "task_id"),
                  text(j, "holder_agent"),
                  text(j, "holder_session"),
                  instant(j, "claimed_at"),
                  instant(j, "lease_until")};
  if (claim.lease_until <= claim.claimed_at) throw Refused{"\"lease_until\" must be after \"claimed_at\""};
  return claim;
}

}  // namespace

std::string header_line(const ExportFilter& filter) {
  Json header = {{"format", kExportFormat}, {"version", kExportVersion}};
  if (filter.ns) header["namespace"] = *filter.ns;
  if (filter.session_id) header["session_id"] = *filter.session_id;
  if (filter.since) header["since"] = time_text(*filter.since);
  return header.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string record_line(const Record& record) {
  Json json = std::visit([](const auto& r) { return encode(r); }, record);
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string check_header(const std::string& line) {
  Json header = Json::parse(line, nullptr, false);
  if (header.is_discarded() || !header.is_object()) return "the first line is not a JSON object";
  auto format = header.find("format");
  if (format == header.end() || *format != kExportFormat) {
    return std::string("the first line is not a memtrace export header (\"format\": \"") + kExportFormat +
           "\")";
  }
  auto version = header.find("version");
  if (version == header.end() || !version->is_number_integer())
    return "the header has no integer \"version\"";
  if (version->get<int>() > kExportVersion || version->get<int>() < 1) {
    return "format version " + version->dump() + " is not one this memtrace-mcp reads (1 to " +
           std::to_string(kExportVersion) + ")";
  }
  return {};
}

DecodedLine decode_record(const std::string& line) {
  Json json = Json::parse(line, nullptr, false);
  if (json.is_discarded()) return {std::nullopt, "not valid JSON"};
  if (!json.is_object()) return {std::nullopt, "not a JSON object"};
  try {
    auto kind = text(json, "kind");
    if (kind == "agent") return {decode_agent(json), {}};
    if (kind == "session") return {decode_session(json), {}};
    if (kind == "memory") return {decode_memory(json), {}};
    if (kind == "task_claim") return {decode_claim(json), {}};
    return {std::nullopt, "unknown \"kind\" \"" + kind + "\" (agent, session, memory, task_claim)"};
  } catch (const Refused& refused) {
    return {std::nullopt, refused.why};
  } catch (const nlohmann::json::exception& e) {
    return {std::nullopt, e.what()};
  }
}

}  // namespace memtrace::app
