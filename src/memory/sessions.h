// Sessions as a caller sees them: create or resume by metadata, close, search, describe one; and
// registering agents. Domain rules only (validation, defaults, the resume rule); no JSON-RPC, no JSON.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "memory/engine.h"
#include "store/records.h"

namespace memtrace {

inline constexpr std::size_t kMaxMetadataKeys = 32;
inline constexpr std::size_t kMaxMetadataKeyBytes = 128;
inline constexpr std::size_t kMaxMetadataValueBytes = 1024;  // compact JSON text of one value
inline constexpr std::size_t kDefaultSessionPage = 20;
inline constexpr std::size_t kMaxSessionPage = 100;

struct SessionCreateInput {
  Metadata metadata;  // values are compact JSON text (records.h)
  // Resume the newest active session whose metadata contains every key/value of `metadata`.
  // Only applies when `metadata` is not empty: without metadata a new session is always started,
  // so that an argument-less call never lands in some other agent's unrelated session.
  bool resume = true;
  // Use this id: resume it if it exists (kInvalidArgument if closed), else create it with `metadata`.
  std::optional<std::string> session_id;
};

struct SessionOpened {
  SessionSummary session;
  bool resumed = false;
};

struct SessionSearchInput {
  Metadata metadata;                    // every key/value must be present
  std::optional<SessionStatus> status;  // nullopt: active and closed
  std::optional<std::string> agent_id;  // sessions this agent created or wrote into
  std::optional<std::int64_t> limit;    // default 20, at most 100
  std::optional<std::string> cursor;    // next_cursor of a previous page
};

struct SessionPage {
  std::vector<SessionSummary> sessions;  // newest first
  std::optional<std::string> next_cursor;
};

// Checks keys and value sizes; each error is a sentence a model can act on.
Result<void> check_metadata(const Metadata& metadata);

// Resumes or creates a session (see SessionCreateInput) and records the caller's agent.
Result<SessionOpened> create_or_resume(Engine& engine, const Caller& caller, const SessionCreateInput& input);

// Closes `session_id` (default: the caller's current session) and returns it as it now is. Closing the
// caller's own current session before anything was written stores it closed, so the rule "a closed
// session takes no new memories" holds for it too. kNotFound for an unknown session.
Result<SessionSummary> close_session(Engine& engine, const Caller& caller,
                                     const std::optional<std::string>& session_id);

Result<SessionPage> search_sessions(Engine& engine, const Caller& caller, const SessionSearchInput& input);

// One session with its agents, memory count and last activity (memories live at `now`); nullopt if
// there is none.
Result<std::optional<SessionSummary>> describe_session(Store& store, const std::string& ns,
                                                       const std::string& id, UnixMillis now);
Result<std::optional<SessionSummary>> describe_session(Engine& engine, const std::string& ns,
                                                       const std::string& id);

// Creates the agent or updates its description; `name` is its id.
Result<Agent> register_agent(Engine& engine, const std::string& ns, const std::string& name,
                             const std::string& description);

}  // namespace memtrace
