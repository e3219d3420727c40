// Routes and handlers of the Memtrace REST API. Field names, defaults, status codes and error bodies
// ({"error": "..."}) follow Memtrace (docs/api.md, internal/api); where Memtrace is wrong in substance
// (GET /memories/:id, tag matching, max_tokens, reasoning) this answers in the same shape but correctly.
#include "rest/rest_api.h"

#include <algorithm>
#include <charconv>
#include <set>
#include <vector>

#include <nlohmann/json.hpp>

#include "memory/context.h"
#include "memory/sessions.h"
#include "memory/time_text.h"
#include "rest/memtrace_model.h"

namespace memtrace::rest {
namespace {

using nlohmann::json;

constexpr std::size_t kScanBatch = 500;
constexpr std::size_t kMaxExamined = 100000;  // a listing reads at most this many memories
constexpr UnixMillis kDedupWindowMs = 24LL * 3600 * 1000;

Response reply(int status, const json& body) {
  return Response{status, body.dump()};
}

Response error(int status, const std::string& message) {
  return reply(status, json{{"error", message}});
}

Response error(const Error& e) {
  switch (e.code) {
    case ErrorCode::kInvalidArgument:
      return error(400, e.message);
    case ErrorCode::kNotFound:
      return error(404, e.message);
    case ErrorCode::kConflict:
      return error(409, e.message);
    case ErrorCode::kUnavailable:
    case ErrorCode::kTimeout:
      return error(503, e.message);
    default:
      return error(500, e.message);
  }
}

std::vector<std::string> split(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t start = 1;
  while (start <= path.size()) {
    auto slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  if (!parts.empty() && parts.back().empty()) parts.pop_back();  // a trailing slash
  return parts;
}

// The body as JSON; an empty body is {} (Memtrace's defaults), anything unparsable an error.
Result<json> parse_body(const std::string& body) {
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) return json::object();
  json parsed = json::parse(body, nullptr, false);
  if (parsed.is_discarded()) {
    return fail(ErrorCode::kInvalidArgument, "invalid request body: not valid JSON");
  }
  if (!parsed.is_object()) {
    return fail(ErrorCode::kInvalidArgument, "invalid request body: expected a JSON object");
  }
  return parsed;
}

std::string query_value(const Request& request, const std::string& key) {
  auto it = request.query.find(key);
  return it == request.query.end() ? std::string() : it->second;
}

Result<std::optional<long long>> query_int(const Request& request, const std::string& key) {
  std::string text = query_value(request, key);
  if (text.empty()) return std::optional<long long>();
  long long value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return fail(ErrorCode::kInvalidArgument, key + " must be an integer, got \"" + text + "\"");
  }
  return std::optional<long long>(value);
}

std::string trim(const std::string& s) {
  auto begin = s.find_first_not_of(" \t");
  if (begin == std::string::npos) return {};
  return s.substr(begin, s.find_last_not_of(" \t") - begin + 1);
}

Result<std::string> order_of(const std::string& order) {
  if (order.empty() || order == "desc") return std::string("desc");
  if (order == "asc") return std::string("asc");
  return fail(ErrorCode::kInvalidArgument, "order must be \"asc\" or \"desc\", got \"" + order + "\"");
}

// Everything a listing or a search asks for.
struct Listing {
  MemoryQuery query;                   // the filters the store applies
  std::set<std::string> memory_types;  // Memtrace types; empty: any
  std::set<std::string> event_types;   // empty: any
  std::size_t offset = 0;
  std::size_t limit = 100;
  bool ascending = false;
};

Result<void> set_types(Listing& listing, const std::vector<std::string>& memtrace_types) {
  std::set<std::string> stored;
  for (const auto& type : memtrace_types) {
    auto mapped = stored_types_for(type);
    if (mapped.empty()) return fail(ErrorCode::kInvalidArgument, "invalid memory_type: " + type);
    stored.insert(mapped.begin(), mapped.end());
    listing.memory_types.insert(type);
  }
  listing.query.types.assign(stored.begin(), stored.end());
  return {};
}

Result<void> set_window(Listing& listing, const std::string& since, const std::string& until,
                        UnixMillis now) {
  if (!since.empty()) {
    auto bound = parse_time_bound("since", since, now);
    if (!bound) return tl::unexpected(bound.error());
    listing.query.since = *bound;
  }
  if (!until.empty() && until != "now") {
    auto bound = parse_time_bound("until", until, now);
    if (!bound) return tl::unexpected(bound.error());
    listing.query.until = *bound;
  }
  return {};
}

struct Collected {
  std::vector<Memory> memories;
  bool has_more = false;
};

// Reads the store in keyset pages, applies the filters the store has no index for (Memtrace types and
// event types live in metadata), then order, offset and limit.
Result<Collected> collect(Engine& engine, const Caller& caller, Listing listing) {
  auto wanted = [&](const Memory& memory) {
    if (!listing.memory_types.empty() && !listing.memory_types.count(memtrace_type_of(memory))) return false;
    if (!listing.event_types.empty() && !listing.event_types.count(event_type_of(memory))) return false;
    return true;
  };
  const std::size_t needed = listing.offset + listing.limit + 1;
  std::vector<Memory> matches;
  std::size_t examined = 0;
  MemoryQuery query = listing.query;
  query.limit = kScanBatch;
  // Listings and searches show what is true now, as recall does: a superseded memory is left out.
  query.exclude_superseded = true;
  while (true) {
    auto rows = engine.scan(caller, query);
    if (!rows) return tl::unexpected(rows.error());
    for (auto& memory : *rows) {
      if (wanted(memory)) matches.push_back(std::move(memory));
    }
    examined += rows->size();
    if (rows->size() < kScanBatch) break;
    if (!listing.ascending && matches.size() >= needed) break;
    if (examined >= kMaxExamined) {
      return fail(ErrorCode::kInvalidArgument,
                  "this query reads more than " + std::to_string(kMaxExamined) +
                      " memories; narrow it with agent_id, session_id, since or until");
    }
    query.before_id = rows->back().id;
  }
  if (listing.ascending) std::reverse(matches.begin(), matches.end());
  Collected out;
  if (listing.offset >= matches.size()) return out;
  auto begin = matches.begin() + static_cast<std::ptrdiff_t>(listing.offset);
  std::size_t available = matches.size() - listing.offset;
  out.has_more = available > listing.limit;
  auto end = begin + static_cast<std::ptrdiff_t>(std::min(available, listing.limit));
  out.memories.assign(std::make_move_iterator(begin), std::make_move_iterator(end));
  return out;
}

json memories_json(const std::vector<Memory>& memories) {
  json out = json::array();
  for (const auto& memory : memories) out.push_back(memory_json(memory));
  return out;
}

Caller reader(const std::string& ns) {
  Caller caller;
  caller.ns = ns;
  return caller;
}

std::string uptime_text(std::chrono::steady_clock::duration elapsed) {
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(elapsed).count();
  std::string out;
  if (seconds >= 3600) out += std::to_string(seconds / 3600) + "h";
  if (seconds >= 60) out += std::to_string(seconds / 60 % 60) + "m";
  return out + std::to_string(seconds % 60) + "s";
}

// ---- memories ----

Result<json> create_one(Engine& engine, const std::string& ns, const json& body) {
  auto create = parse_memory_create(body);
  if (!create) return tl::unexpected(create.error());
  Caller caller;
  caller.ns = ns;
  caller.agent_id = create->agent_id;
  caller.session_id = *create->input.session_id;  // created on first write, as Memtrace needs none
  // Memtrace refuses a memory whose dedup key it saw in the last 24 hours.
  MemoryQuery seen;
  seen.tags = {dedup_tag(create->dedup_key)};
  seen.since = engine.clock().now_ms() - kDedupWindowMs;
  seen.exclude_superseded = true;  // as on MCP: a superseded memory is no reason to refuse its repeat
  seen.limit = 1;
  auto duplicates = engine.scan(caller, seen);
  if (!duplicates) return tl::unexpected(duplicates.error());
  if (!duplicates->empty()) return fail(ErrorCode::kConflict, "duplicate memory");
  auto stored = engine.write(caller, std::move(create->input));
  if (!stored) return tl::unexpected(stored.error());
  return memory_json(stored->memory);
}

Response create_memories(Engine& engine, const std::string& ns, const Request& request) {
  auto body = parse_body(request.body);
  if (!body) return error(body.error());
  if (auto batch = body->find("memories"); batch != body->end() && batch->is_array() && !batch->empty()) {
    json created = json::array();
    for (std::size_t i = 0; i < batch->size(); ++i) {
      auto one = create_one(engine, ns, (*batch)[i]);
      if (!one && one.error().code == ErrorCode::kConflict) continue;  // duplicates are skipped
      if (!one) {
        return error(400, "failed to create memory " + std::to_string(i) + ": " + one.error().message + " (" +
                              std::to_string(created.size()) + " stored before it)");
      }
      created.push_back(std::move(*one));
    }
    return reply(201, json{{"memories", created}, {"count", created.size()}});
  }
  auto one = create_one(engine, ns, *body);
  if (!one) return error(one.error());
  return reply(201, *one);
}

Response list_memories(Engine& engine, const std::string& ns, const Request& request,
                       const std::string& forced_session = {}, const std::string& forced_agent = {}) {
  Listing listing;
  std::string agent = forced_agent.empty() ? query_value(request, "agent_id") : forced_agent;
  std::string session = forced_session.empty() ? query_value(request, "session_id") : forced_session;
  if (!agent.empty()) listing.query.agent_id = agent;
  if (!session.empty()) listing.query.session_id = session;
  if (std::string type = query_value(request, "memory_type"); !type.empty()) {
    if (auto ok = set_types(listing, {type}); !ok) return error(ok.error());
  }
  if (std::string event = query_value(request, "event_type"); !event.empty()) listing.event_types = {event};
  std::string tags = query_value(request, "tags");
  for (std::size_t start = 0; start < tags.size();) {
    auto comma = tags.find(',', start);
    if (comma == std::string::npos) comma = tags.size();
    std::string tag = trim(tags.substr(start, comma - start));
    if (!tag.empty()) listing.query.tags.push_back(tag);
    start = comma + 1;
  }
  if (auto ok = set_window(listing, query_value(request, "since"), query_value(request, "until"),
                           engine.clock().now_ms());
      !ok)
    return error(ok.error());
  auto limit = query_int(request, "limit");
  if (!limit) return error(limit.error());
  auto offset = query_int(request, "offset");
  if (!offset) return error(offset.error());
  // Memtrace: default 100; 0, negative or above 1000 falls back to 100. A negative offset counts as 0.
  listing.limit = (*limit && **limit > 0 && **limit <= 1000) ? static_cast<std::size_t>(**limit) : 100;
  listing.offset = (*offset && **offset > 0) ? static_cast<std::size_t>(**offset) : 0;
  auto order = order_of(query_value(request, "order"));
  if (!order) return error(order.error());
  listing.ascending = *order == "asc";
  auto collected = collect(engine, reader(ns), std::move(listing));
  if (!collected) return error(collected.error());
  return reply(200, json{{"memories", memories_json(collected->memories)},
                         {"count", collected->memories.size()},
                         {"has_more", collected->has_more}});
}

Response get_memory(Engine& engine, const std::string& ns, const std::string& id) {
  auto found = engine.find_memory(reader(ns), id);
  if (!found) return error(found.error());
  if (!*found) return error(404, "memory not found");
  return reply(200, memory_json(**found));
}

Result<std::vector<std::string>> string_list(const json& body, const char* key) {
  std::vector<std::string> out;
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return out;
  if (!it->is_array())
    return fail(ErrorCode::kInvalidArgument, std::string(key) + " must be an array of strings");
  for (const auto& item : *it) {
    if (!item.is_string()) {
      return fail(ErrorCode::kInvalidArgument, std::string(key) + " must be an array of strings");
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

std::string string_or_empty(const json& body, const char* key) {
  auto it = body.find(key);
  return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Result<void> check_strings(const json& body, std::initializer_list<const char*> keys) {
  for (const char* key : keys) {
    auto it = body.find(key);
    if (it != body.end() && !it->is_null() && !it->is_string()) {
      return fail(ErrorCode::kInvalidArgument,
                  std::string("invalid request body: ") + key + " must be a string");
    }
  }
  return {};
}

Response search(Engine& engine, const std::string& ns, const Request& request) {
  auto body = parse_body(request.body);
  if (!body) return error(body.error());
  if (auto ok =
          check_strings(*body, {"agent_id", "session_id", "content_contains", "since", "until", "order"});
      !ok)
    return error(ok.error());
  Listing listing;
  if (auto agent = string_or_empty(*body, "agent_id"); !agent.empty()) listing.query.agent_id = agent;
  if (auto session = string_or_empty(*body, "session_id"); !session.empty())
    listing.query.session_id = session;
  auto types = string_list(*body, "memory_types");
  if (!types) return error(types.error());
  if (auto ok = set_types(listing, *types); !ok) return error(ok.error());
  auto events = string_list(*body, "event_types");
  if (!events) return error(events.error());
  listing.event_types.insert(events->begin(), events->end());
  auto tags = string_list(*body, "tags");
  if (!tags) return error(tags.error());
  listing.query.tags = *tags;
  if (auto text = string_or_empty(*body, "content_contains"); !text.empty())
    listing.query.content_contains = text;
  if (auto it = body->find("min_importance"); it != body->end() && !it->is_null()) {
    if (!it->is_number()) return error(400, "invalid request body: min_importance must be a number");
    if (it->get<double>() > 0) listing.query.min_importance = it->get<double>();
  }
  if (auto ok = set_window(listing, string_or_empty(*body, "since"), string_or_empty(*body, "until"),
                           engine.clock().now_ms());
      !ok)
    return error(ok.error());
  long long limit = 0;
  if (auto it = body->find("limit"); it != body->end() && !it->is_null()) {
    if (!it->is_number_integer()) return error(400, "invalid request body: limit must be an integer");
    limit = it->get<long long>();
  }
  listing.limit = (limit > 0 && limit <= 1000) ? static_cast<std::size_t>(limit) : 50;  // Memtrace's rule
  auto order = order_of(string_or_empty(*body, "order"));
  if (!order) return error(order.error());
  listing.ascending = *order == "asc";
  auto started = std::chrono::steady_clock::now();
  auto collected = collect(engine, reader(ns), std::move(listing));
  if (!collected) return error(collected.error());
  auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  return reply(200, json{{"results", memories_json(collected->memories)},
                         {"count", collected->memories.size()},
                         {"query_time_ms", took.count()}});
}

// ---- agents ----

Response register_agent_route(Engine& engine, const std::string& ns, const Request& request) {
  auto body = parse_body(request.body);
  if (!body) return error(body.error());
  if (auto ok = check_strings(*body, {"name", "description"}); !ok) return error(ok.error());
  std::string name = string_or_empty(*body, "name");
  if (name.empty()) return error(400, "name is required");
  // In memtrace-mcp an agent exists as soon as it writes or opens a session (the guide registers the
  // researcher after creating its session), so registering again is not a conflict: it keeps the agent
  // and updates a non-empty description.
  auto agent = register_agent(engine, ns, name, string_or_empty(*body, "description"));
  if (!agent) return error(agent.error());
  return reply(201, agent_json(*agent));
}

Response get_agent(Engine& engine, const std::string& ns, const std::string& id) {
  auto agent = engine.find_agent(ns, id);
  if (!agent) return error(agent.error());
  if (!*agent) return error(404, "agent not found");
  return reply(200, agent_json(**agent));
}

Response list_agents(Engine& engine, const std::string& ns) {
  auto agents = engine.list_agents(ns);
  if (!agents) return error(agents.error());
  json list = json::array();
  for (const auto& agent : *agents) list.push_back(agent_json(agent));
  return reply(200, json{{"agents", list}, {"count", agents->size()}});
}

// As Memtrace: the agent's record goes (204), what it wrote stays; 404 if there is none.
Response delete_agent(Engine& engine, const std::string& ns, const std::string& id) {
  auto deleted = engine.delete_agent(ns, id);
  if (!deleted) return error(deleted.error());
  if (!*deleted) return error(404, "agent not found");
  return Response{204, {}};
}

Response agent_stats(Engine& engine, const std::string& ns, const std::string& id) {
  auto agent = engine.find_agent(ns, id);
  if (!agent) return error(agent.error());
  if (!*agent) return error(404, "agent not found");
  const UnixMillis day_ago = engine.clock().now_ms() - 24LL * 3600 * 1000;
  std::int64_t count = 0, last_day = 0, errors_last_day = 0;
  std::optional<UnixMillis> last_active;
  std::map<std::string, std::int64_t> types;
  MemoryQuery query;
  query.agent_id = id;
  query.limit = kScanBatch;
  while (true) {
    auto rows = engine.scan(reader(ns), query);
    if (!rows) return error(rows.error());
    for (const auto& memory : *rows) {
      ++count;
      ++types[memtrace_type_of(memory)];
      if (!last_active || memory.created_at > *last_active) last_active = memory.created_at;
      if (memory.created_at > day_ago) {
        ++last_day;
        if (event_type_of(memory) == "error") ++errors_last_day;
      }
    }
    if (rows->size() < kScanBatch) break;
    query.before_id = rows->back().id;
  }
  std::int64_t sessions = 0, active = 0;
  SessionSearchInput search;
  search.agent_id = id;
  search.limit = static_cast<std::int64_t>(kMaxSessionPage);
  while (true) {
    auto page = search_sessions(engine, reader(ns), search);
    if (!page) return error(page.error());
    for (const auto& summary : page->sessions) {
      ++sessions;
      if (summary.session.status == SessionStatus::kActive) ++active;
    }
    if (!page->next_cursor) break;
    search.cursor = page->next_cursor;
  }
  json out = {{"agent_id", id},
              {"memory_count", count},
              {"memories_24h", last_day},
              {"errors_24h", errors_last_day},
              {"session_count", sessions},
              {"active_sessions", active},
              {"memory_types", types}};
  if (last_active) out["last_active_at"] = format_iso8601(*last_active);
  return reply(200, out);
}

// ---- sessions ----

Result<Metadata> metadata_of(const json& object) {
  Metadata metadata;
  if (!object.is_object()) return fail(ErrorCode::kInvalidArgument, "metadata must be an object");
  for (const auto& [key, value] : object.items()) metadata[key] = value.dump();
  if (auto ok = check_metadata(metadata); !ok) return tl::unexpected(ok.error());
  return metadata;
}

Response create_session(Engine& engine, const std::string& ns, const Request& request) {
  auto body = parse_body(request.body);
  if (!body) return error(body.error());
  if (auto ok = check_strings(*body, {"agent_id"}); !ok) return error(ok.error());
  Caller caller;
  caller.ns = ns;
  caller.agent_id = string_or_empty(*body, "agent_id");
  if (caller.agent_id.empty()) return error(400, "agent_id is required");
  SessionCreateInput input;
  input.resume = false;  // Memtrace always starts a new session
  if (auto it = body->find("metadata"); it != body->end() && !it->is_null()) {
    auto metadata = metadata_of(*it);
    if (!metadata) return error(metadata.error());
    input.metadata = std::move(*metadata);
  }
  auto opened = create_or_resume(engine, caller, input);
  if (!opened) return error(opened.error());
  return reply(201, session_json(opened->session));
}

Response list_sessions(Engine& engine, const std::string& ns, const Request& request) {
  SessionSearchInput search;
  if (auto agent = query_value(request, "agent_id"); !agent.empty()) search.agent_id = agent;
  if (auto status = query_value(request, "status"); !status.empty()) {
    if (status == "active")
      search.status = SessionStatus::kActive;
    else if (status == "closed")
      search.status = SessionStatus::kClosed;
    else
      return error(400, "status must be \"active\" or \"closed\", got \"" + status + "\"");
  }
  // metadata={"account_id":"42"} (JSON) and/or metadata.account_id=42 (a string value).
  if (auto text = query_value(request, "metadata"); !text.empty()) {
    json parsed = json::parse(text, nullptr, false);
    if (parsed.is_discarded())
      return error(400, "metadata must be a JSON object, e.g. {\"account_id\":\"42\"}");
    auto metadata = metadata_of(parsed);
    if (!metadata) return error(metadata.error());
    search.metadata = std::move(*metadata);
  }
  for (const auto& [key, value] : request.query) {
    if (key.rfind("metadata.", 0) == 0 && key.size() > 9) search.metadata[key.substr(9)] = json(value).dump();
  }
  if (auto ok = check_metadata(search.metadata); !ok) return error(ok.error());
  auto limit = query_int(request, "limit");
  if (!limit) return error(limit.error());
  auto offset = query_int(request, "offset");
  if (!offset) return error(offset.error());
  std::size_t wanted = (*limit && **limit > 0 && **limit <= 1000) ? static_cast<std::size_t>(**limit) : 100;
  std::size_t skip = (*offset && **offset > 0) ? static_cast<std::size_t>(**offset) : 0;
  search.limit = static_cast<std::int64_t>(kMaxSessionPage);
  json sessions = json::array();
  std::size_t seen = 0;
  bool more = false;
  while (true) {
    auto page = search_sessions(engine, reader(ns), search);
    if (!page) return error(page.error());
    for (const auto& summary : page->sessions) {
      if (seen++ < skip) continue;
      if (sessions.size() == wanted) {
        more = true;
        break;
      }
      sessions.push_back(session_json(summary));
    }
    if (more || !page->next_cursor) break;
    search.cursor = page->next_cursor;
  }
  return reply(200, json{{"sessions", sessions}, {"count", sessions.size()}, {"has_more", more}});
}

Response get_session(Engine& engine, const std::string& ns, const std::string& id) {
  auto found = engine.find_session(ns, id);
  if (!found) return error(found.error());
  if (!*found) return error(404, "session not found");
  return reply(200, session_json(**found));
}

Response update_session(Engine& engine, const std::string& ns, const std::string& id,
                        const Request& request) {
  auto body = parse_body(request.body);
  if (!body) return error(body.error());
  if (auto ok = check_strings(*body, {"status"}); !ok) return error(ok.error());
  auto found = engine.find_session(ns, id);
  if (!found) return error(found.error());
  if (!*found) return error(404, "session not found");
  std::string status = string_or_empty(*body, "status");
  if (auto it = body->find("metadata"); it != body->end() && !it->is_null()) {
    auto metadata = metadata_of(*it);
    if (!metadata) return error(metadata.error());
    if (*metadata != (*found)->session.metadata) {
      return error(400,
                   "memtrace-mcp keeps a session's metadata as created (sessions are found again by it); "
                   "start a new session for new metadata");
    }
  }
  if (status.empty()) return reply(200, session_json(**found));
  if (status == "active") {
    if ((*found)->session.status == SessionStatus::kActive) return reply(200, session_json(**found));
    return error(400, "a closed session stays closed in memtrace-mcp; start a new one");
  }
  if (status != "closed")
    return error(400, "status must be \"active\" or \"closed\", got \"" + status + "\"");
  Caller caller = reader(ns);
  auto closed = close_session(engine, caller, id);
  if (!closed) return error(closed.error());
  return reply(200, session_json(*closed));
}

Response session_context_route(Engine& engine, const std::string& ns, const std::string& id,
                               const Request& request) {
  auto body = parse_body(request.body);
  if (!body) return error(body.error());
  if (auto ok = check_strings(*body, {"since"}); !ok) return error(ok.error());
  auto found = engine.find_session(ns, id);
  if (!found) return error(found.error());
  if (!*found) return error(404, "session not found");
  ContextRequest context;
  std::string since = string_or_empty(*body, "since");
  context.since = since.empty() ? std::string("24h") : since;  // Memtrace's default window
  auto types = string_list(*body, "include_types");
  if (!types) return error(types.error());
  std::set<std::string> stored;
  for (const auto& type : *types) {
    auto mapped = stored_types_for(type);
    if (mapped.empty()) return error(400, "invalid include_type '" + type + "'");
    stored.insert(mapped.begin(), mapped.end());
  }
  context.types.assign(stored.begin(), stored.end());
  if (auto it = body->find("max_tokens"); it != body->end() && !it->is_null()) {
    if (!it->is_number_integer()) return error(400, "invalid request body: max_tokens must be an integer");
    long long tokens = it->get<long long>();
    if (tokens > 0)
      context.max_tokens = static_cast<std::size_t>(std::min<long long>(tokens, kMaxContextTokens));
  }
  auto digest = session_context(engine, reader(ns), id, context);
  if (!digest) return error(digest.error());
  return reply(200, json{{"session_id", id},
                         {"context", digest->text},
                         {"memory_count", digest->listed},
                         {"omitted", digest->omitted},
                         {"tokens_estimate", digest->tokens_estimate}});
}

Response not_found(const Request& request) {
  return error(404, "Cannot " + request.method + " " + request.path);
}

Response method_not_allowed(const Request& request) {
  return error(405, "Method Not Allowed: " + request.method + " " + request.path);
}

}  // namespace

Api::Api(Engine& engine) : engine_(engine), started_(std::chrono::steady_clock::now()) {}

bool Api::serves(const std::string& path) {
  return is_public(path) || path == "/api/v1" || path.rfind("/api/v1/", 0) == 0;
}

bool Api::is_public(const std::string& path) {
  return path == "/health" || path == "/ready";
}

bool Api::reads_only(const std::string& method, const std::string& path) {
  if (method == "GET") return true;
  if (method != "POST") return false;
  std::vector<std::string> parts = split(path);  // "api", "v1", ...
  return (parts.size() == 3 && parts[2] == "search") ||
         (parts.size() == 5 && parts[2] == "sessions" && parts[4] == "context");
}

Response Api::handle(const Request& request, const std::string& ns) {
  const std::string& m = request.method;
  if (request.path == "/health" || request.path == "/ready") {
    if (m != "GET") return method_not_allowed(request);
    auto ping = engine_.ping();
    if (request.path == "/health") {
      return reply(200, json{{"status", "ok"},
                             {"service", "memtrace"},
                             {"uptime", uptime_text(std::chrono::steady_clock::now() - started_)},
                             {"store", ping.has_value()}});
    }
    if (!ping) {
      return reply(
          503,
          json{{"status", "not ready"}, {"reason", "store_unreachable"}, {"hint", ping.error().message}});
    }
    return reply(200, json{{"status", "ready"}, {"store", true}});
  }
  std::vector<std::string> parts = split(request.path);  // "api", "v1", ...
  if (parts.size() < 3) return not_found(request);
  const std::string& collection = parts[2];
  const std::size_t n = parts.size();
  try {
    if (collection == "memories") {
      if (n == 3) {
        if (m == "POST") return create_memories(engine_, ns, request);
        if (m == "GET") return list_memories(engine_, ns, request);
        return method_not_allowed(request);
      }
      if (n == 4) return m == "GET" ? get_memory(engine_, ns, parts[3]) : method_not_allowed(request);
    } else if (collection == "search" && n == 3) {
      return m == "POST" ? search(engine_, ns, request) : method_not_allowed(request);
    } else if (collection == "agents") {
      if (n == 3) {
        if (m == "POST") return register_agent_route(engine_, ns, request);
        if (m == "GET") return list_agents(engine_, ns);
        return method_not_allowed(request);
      }
      if (n == 4) {
        if (m == "GET") return get_agent(engine_, ns, parts[3]);
        if (m == "DELETE") return delete_agent(engine_, ns, parts[3]);
        return method_not_allowed(request);
      }
      if (n == 5 && parts[4] == "stats") {
        return m == "GET" ? agent_stats(engine_, ns, parts[3]) : method_not_allowed(request);
      }
      if (n == 5 && parts[4] == "memories") {
        return m == "GET" ? list_memories(engine_, ns, request, {}, parts[3]) : method_not_allowed(request);
      }
    } else if (collection == "sessions") {
      if (n == 3) {
        if (m == "POST") return create_session(engine_, ns, request);
        if (m == "GET") return list_sessions(engine_, ns, request);
        return method_not_allowed(request);
      }
      if (n == 4) {
        if (m == "GET") return get_session(engine_, ns, parts[3]);
        if (m == "PUT") return update_session(engine_, ns, parts[3], request);
        return method_not_allowed(request);
      }
      if (n == 5 && parts[4] == "context") {
        return m == "POST" ? session_context_route(engine_, ns, parts[3], request)
                           : method_not_allowed(request);
      }
      if (n == 5 && parts[4] == "memories") {
        return m == "GET" ? list_memories(engine_, ns, request, parts[3]) : method_not_allowed(request);
      }
    }
  } catch (const std::exception& e) {
    return error(500, std::string("internal error: ") + e.what());
  }
  return not_found(request);
}

}  // namespace memtrace::rest
