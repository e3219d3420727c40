// Engine operations for bindings other than the MCP tools (the REST API): raw writes of any memory
// type, lookups by id, bounded scans, and reads of agents and sessions. The same validation as the tools.
#include <algorithm>

#include "memory/engine_internals.h"
#include "memory/sessions.h"

namespace memtrace {

Result<void> Engine::ping() {
  return store_.ping();
}

Result<Stored> Engine::write(const Caller& caller, WriteInput input) {
  if (blank(input.content)) return fail(ErrorCode::kInvalidArgument, "content is required");
  std::size_t size = input.content.size() + (input.reasoning ? input.reasoning->size() : 0);
  if (size > options_.max_content_bytes) {
    return fail(ErrorCode::kInvalidArgument, "content is " + std::to_string(size) + " bytes; the limit is " +
                                                 std::to_string(options_.max_content_bytes));
  }
  const auto& types = all_memory_types();
  if (std::find(types.begin(), types.end(), input.type) == types.end()) {
    return fail(ErrorCode::kInvalidArgument, "unknown memory type \"" + input.type + "\"");
  }
  auto tags = normalize_tags(input.tags, options_.max_tags);
  if (!tags) return tl::unexpected(tags.error());
  auto importance = check_importance(input.importance, 0.5);
  if (!importance) return tl::unexpected(importance.error());
  if (input.metadata_json.size() > kMaxMetadataBytes) {
    return fail(ErrorCode::kInvalidArgument, "metadata is limited to 16 KiB of JSON");
  }
  Memory memory;
  memory.type = std::move(input.type);
  memory.content = std::move(input.content);
  memory.tags = std::move(*tags);
  memory.importance = *importance;
  memory.metadata_json = std::move(input.metadata_json);
  memory.reasoning = std::move(input.reasoning);
  memory.created_at = clock_.now_ms();
  memory.id = ids_.next(memory.created_at);
  return store_memory(caller, std::move(memory), input.session_id);
}

Result<std::optional<Memory>> Engine::find_memory(const Caller& caller, const std::string& id) {
  return store_.get_memory(caller.ns, id, clock_.now_ms());
}

Result<std::vector<Memory>> Engine::scan(const Caller& caller, MemoryQuery query) {
  query.ns = caller.ns;
  query.now = clock_.now_ms();
  query.limit = std::clamp<std::size_t>(query.limit, 1, max_scan_page);
  return store_.query_memories(query);
}

Result<std::optional<Agent>> Engine::find_agent(const std::string& ns, const std::string& id) {
  return store_.get_agent(ns, id);
}

Result<std::vector<Agent>> Engine::list_agents(const std::string& ns) {
  return store_.list_agents(ns);
}

Result<bool> Engine::delete_agent(const std::string& ns, const std::string& id) {
  auto deleted = store_.delete_agent(ns, id);
  if (!deleted) return deleted;
  // Its next write in this process records it again.
  std::lock_guard lock(known_agents_mutex_);
  known_agents_.erase({ns, id});
  return deleted;
}

Result<std::optional<SessionSummary>> Engine::find_session(const std::string& ns, const std::string& id) {
  return describe_session(store_, ns, id, clock_.now_ms());
}

}  // namespace memtrace
