// Memtrace's memory model on top of memtrace-mcp's: the two sets of memory types, the Memtrace-only
// fields (event_type, dedup_key, parent_id, memories without a session) and the JSON shapes of
// Memtrace's REST API. Mapping rules, no I/O.
//
// Memtrace → memtrace-mcp: episodic → observation (or action/event when event_type says so),
// entity → fact, decision → decision, session → observation. What memtrace-mcp has no column for
// travels in the memory's metadata under the reserved key "_memtrace" ({memory_type, event_type,
// dedup_key, parent_id, no_session}) and is taken out again when the memory is read over REST.
// A decision's metadata.reasoning (how Memtrace's SDK sends it) goes into the reasoning field.
// memtrace-mcp → Memtrace: decision → decision, fact → entity, everything else → episodic; the
// event_type of a memory written over MCP is its memtrace-mcp type ("observation", "action", ...).
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "memory/engine.h"
#include "store/records.h"

namespace memtrace::rest {

inline constexpr const char* kExtensionKey = "_memtrace";

// The Memtrace view of a stored memory.
std::string memtrace_type_of(const Memory& memory);
std::string event_type_of(const Memory& memory);

// The memtrace-mcp types a Memtrace memory type is stored as; empty for an unknown type.
std::vector<std::string> stored_types_for(const std::string& memtrace_type);

// A memory as Memtrace's API returns it (plus "id", and "reasoning" for decisions).
nlohmann::json memory_json(const Memory& memory);
nlohmann::json session_json(const SessionSummary& summary);
nlohmann::json agent_json(const Agent& agent);

// What POST /api/v1/memories asks for, checked and mapped.
struct MemoryCreate {
  std::string agent_id;
  std::string session_id;  // empty: none (stored in the agent's own session, sessionless_id)
  std::string dedup_key;   // given or derived (auto_dedup_key)
  WriteInput input;
};
Result<MemoryCreate> parse_memory_create(const nlohmann::json& body);

// Where memories written without a session live: one session per agent.
std::string sessionless_id(const std::string& agent_id);
// Memtrace's derived dedup key: the first 32 hex digits of SHA-256(agent|event_type|content[:200]).
std::string auto_dedup_key(const std::string& agent_id, const std::string& event_type,
                           const std::string& content);
// The tag that indexes a dedup key, so a duplicate is found with an exact tag lookup.
std::string dedup_tag(const std::string& dedup_key);

}  // namespace memtrace::rest
