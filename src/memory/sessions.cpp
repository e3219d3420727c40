// Sessions as a caller sees them: create or resume by metadata, close, search, describe; agents.
#include "memory/sessions.h"

#include <algorithm>

#include "memory/engine_internals.h"

namespace memtrace {
namespace {

constexpr std::size_t kMaxAgentNameBytes = 128;
constexpr std::size_t kMaxAgentDescriptionBytes = 2048;

bool has_control_chars(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; });
}

}  // namespace

Result<void> check_metadata(const Metadata& metadata) {
  if (metadata.size() > kMaxMetadataKeys) {
    return fail(ErrorCode::kInvalidArgument, "metadata has " + std::to_string(metadata.size()) +
                                                 " keys; at most " + std::to_string(kMaxMetadataKeys) +
                                                 " are allowed");
  }
  for (const auto& [key, value] : metadata) {
    if (key.empty() || key.size() > kMaxMetadataKeyBytes || has_control_chars(key)) {
      return fail(ErrorCode::kInvalidArgument,
                  "a metadata key is 1-128 printable characters, e.g. \"account_id\"; got \"" + key + "\"");
    }
    if (value.empty() || value.size() > kMaxMetadataValueBytes) {
      return fail(ErrorCode::kInvalidArgument,
                  "metadata value of \"" + key + "\" must be a JSON value of at most 1024 bytes");
    }
  }
  return {};
}

Result<std::optional<SessionSummary>> describe_session(Store& store, const std::string& ns,
                                                       const std::string& id, UnixMillis now) {
  // One indexed lookup with its summary. Without `id` the walk from just after it would summarize the
  // next older session when this one does not exist yet (a new client's first context read), which
  // on SQLite counts all of that session's memories.
  SessionQuery query;
  query.ns = ns;
  query.id = id;
  query.now = now;
  query.limit = 1;
  auto found = store.find_sessions(query);
  if (!found) return tl::unexpected(found.error());
  if (found->empty()) return std::optional<SessionSummary>();
  return std::optional<SessionSummary>(std::move(found->front()));
}

namespace {

Result<SessionSummary> summary_of(Store& store, const Session& session, UnixMillis now) {
  auto described = describe_session(store, session.ns, session.id, now);
  if (!described) return tl::unexpected(described.error());
  if (*described) return std::move(**described);
  SessionSummary summary;  // created a moment ago and already gone: report what we created
  summary.session = session;
  summary.last_activity = session.updated_at;
  return summary;
}

Session new_session(Engine& engine, const Caller& caller, const std::string& id, const Metadata& metadata) {
  Session session;
  session.ns = caller.ns;
  session.id = id;
  session.created_by = caller.agent_id;
  session.metadata = metadata;
  session.status = SessionStatus::kActive;
  session.created_at = session.updated_at = engine.clock().now_ms();
  return session;
}

Result<SessionSummary> create_new(Engine& engine, const Session& session) {
  auto created = EngineInternals::store(engine).create_session(session);
  if (!created) return tl::unexpected(created.error());
  return summary_of(EngineInternals::store(engine), session, session.created_at);
}

}  // namespace

Result<SessionOpened> create_or_resume(Engine& engine, const Caller& caller,
                                       const SessionCreateInput& input) {
  if (auto ok = check_metadata(input.metadata); !ok) return tl::unexpected(ok.error());
  if (caller.agent_id.empty()) return fail(ErrorCode::kInvalidArgument, "the caller has no agent id");
  if (auto agent = engine.ensure_agent(caller.ns, caller.agent_id); !agent)
    return tl::unexpected(agent.error());

  if (input.session_id) {
    const std::string& id = *input.session_id;
    if (id.empty() || has_control_chars(id)) {
      return fail(ErrorCode::kInvalidArgument, "a session id is a non-empty string of printable characters");
    }
    auto existing = describe_session(EngineInternals::store(engine), caller.ns, id, engine.clock().now_ms());
    if (!existing) return tl::unexpected(existing.error());
    if (*existing) {
      if ((*existing)->session.status == SessionStatus::kClosed) {
        return fail(ErrorCode::kInvalidArgument, "session " + id + " is closed; start another one");
      }
      return SessionOpened{std::move(**existing), true};
    }
    auto created = create_new(engine, new_session(engine, caller, id, input.metadata));
    if (created) return SessionOpened{std::move(*created), false};
    if (created.error().code != ErrorCode::kConflict) return tl::unexpected(created.error());
    auto again = describe_session(EngineInternals::store(engine), caller.ns, id,
                                  engine.clock().now_ms());  // another process won the race
    if (!again) return tl::unexpected(again.error());
    if (!*again) return tl::unexpected(created.error());
    return SessionOpened{std::move(**again), true};
  }

  Session session = new_session(engine, caller, engine.new_id(), input.metadata);
  if (input.resume && !input.metadata.empty()) {
    // One store step, so that agents starting together with the same metadata share one session.
    auto opening = EngineInternals::store(engine).resume_or_create_session(session);
    if (!opening) return tl::unexpected(opening.error());
    if (opening->resumed) {
      auto resumed =
          describe_session(EngineInternals::store(engine), caller.ns, opening->id, engine.clock().now_ms());
      if (!resumed) return tl::unexpected(resumed.error());
      if (*resumed) return SessionOpened{std::move(**resumed), true};
      // Gone between the two calls (no store deletes sessions today): create one rather than fail.
    } else {
      auto created = summary_of(EngineInternals::store(engine), session, session.created_at);
      if (!created) return tl::unexpected(created.error());
      return SessionOpened{std::move(*created), false};
    }
  }
  auto created = create_new(engine, session);
  if (!created) return tl::unexpected(created.error());
  return SessionOpened{std::move(*created), false};
}

Result<SessionSummary> close_session(Engine& engine, const Caller& caller,
                                     const std::optional<std::string>& session_id) {
  const std::string id = session_id.value_or(caller.session_id);
  if (id.empty()) return fail(ErrorCode::kInvalidArgument, "session_id must not be empty");
  Store& store = EngineInternals::store(engine);
  const UnixMillis now = engine.clock().now_ms();
  auto closed = store.close_session(caller.ns, id, now, caller.agent_id);
  if (!closed) return tl::unexpected(closed.error());
  if (!*closed) {
    if (id != caller.session_id) {
      return fail(ErrorCode::kNotFound,
                  "there is no session " + id + "; find one with memtrace_session_search");
    }
    // The caller's own session, not stored yet (it is created on its first write): store it closed.
    auto opened = engine.writable_session(caller, std::nullopt);
    if (!opened) return tl::unexpected(opened.error());
    closed = store.close_session(caller.ns, id, now, caller.agent_id);
    if (!closed) return tl::unexpected(closed.error());
  }
  auto described = describe_session(store, caller.ns, id, now);
  if (!described) return tl::unexpected(described.error());
  if (!*described) return fail(ErrorCode::kNotFound, "session " + id + " disappeared while closing it");
  return std::move(**described);
}

Result<SessionPage> search_sessions(Engine& engine, const Caller& caller, const SessionSearchInput& input) {
  if (auto ok = check_metadata(input.metadata); !ok) return tl::unexpected(ok.error());
  std::size_t limit = kDefaultSessionPage;
  if (input.limit) {
    if (*input.limit < 1 || static_cast<std::size_t>(*input.limit) > kMaxSessionPage) {
      return fail(ErrorCode::kInvalidArgument, "limit must be between 1 and " +
                                                   std::to_string(kMaxSessionPage) + ", got " +
                                                   std::to_string(*input.limit));
    }
    limit = static_cast<std::size_t>(*input.limit);
  }
  if (input.cursor && input.cursor->empty()) {
    return fail(ErrorCode::kInvalidArgument, "cursor must be the next_cursor of a previous result");
  }
  SessionQuery query;
  query.ns = caller.ns;
  query.metadata_contains = input.metadata;
  query.status = input.status;
  query.agent_id = input.agent_id;
  query.before_id = input.cursor;
  query.now = engine.clock().now_ms();
  query.limit = limit + 1;  // one more tells whether there is a next page
  auto found = EngineInternals::store(engine).find_sessions(query);
  if (!found) return tl::unexpected(found.error());
  SessionPage page;
  page.sessions = std::move(*found);
  if (page.sessions.size() > limit) {
    page.sessions.resize(limit);
    page.next_cursor = page.sessions.back().session.id;
  }
  return page;
}

Result<Agent> register_agent(Engine& engine, const std::string& ns, const std::string& name,
                             const std::string& description) {
  if (blank(name) || name.size() > kMaxAgentNameBytes || has_control_chars(name)) {
    return fail(ErrorCode::kInvalidArgument,
                "an agent name is 1-128 printable characters, e.g. \"researcher\"; got \"" + name + "\"");
  }
  if (description.size() > kMaxAgentDescriptionBytes) {
    return fail(ErrorCode::kInvalidArgument, "description is limited to 2048 bytes");
  }
  Agent agent;
  agent.ns = ns;
  agent.id = name;
  agent.description = description;
  agent.created_at = engine.clock().now_ms();
  return EngineInternals::store(engine).upsert_agent(agent);
}

Result<std::optional<SessionSummary>> describe_session(Engine& engine, const std::string& ns,
                                                       const std::string& id) {
  return describe_session(EngineInternals::store(engine), ns, id, engine.clock().now_ms());
}

}  // namespace memtrace
