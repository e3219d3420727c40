#include "memory/engine.h"

#include <algorithm>
#include <cmath>

#include "core/text.h"
#include "memory/engine_internals.h"
#include "memory/time_text.h"

namespace memtrace {
namespace {

constexpr std::size_t kMaxTagLength = 64;
constexpr const char* kDefaultRecallWindow = "24h";

bool is_tag_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == ':' || c == '-';
}

std::string trim(const std::string& s) {
  auto begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return {};
  auto end = s.find_last_not_of(" \t\r\n");
  return s.substr(begin, end - begin + 1);
}

std::string format_number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", value);
  return buffer;
}

Result<void> check_types(const std::vector<std::string>& types) {
  for (const auto& type : types) {
    const auto& known = all_memory_types();
    if (std::find(known.begin(), known.end(), type) == known.end()) {
      return fail(ErrorCode::kInvalidArgument,
                  "types may contain " + join(known, ", ") + "; got \"" + type + "\"");
    }
  }
  return {};
}

// A rough size of a memory in a result page, to keep pages within the byte budget.
std::size_t approximate_size(const Memory& m) {
  std::size_t size =
      200 + m.content.size() + m.metadata_json.size() + (m.reasoning ? m.reasoning->size() : 0);
  for (const auto& tag : m.tags) size += tag.size() + 3;
  return size;
}

}  // namespace

const std::vector<std::string>& rememberable_types() {
  static const std::vector<std::string> types = {"observation", "action", "event", "fact"};
  return types;
}

const std::vector<std::string>& all_memory_types() {
  static const std::vector<std::string> types = {"observation", "action",   "event",
                                                 "fact",        "decision", "result"};
  return types;
}

Result<std::vector<std::string>> normalize_tags(const std::vector<std::string>& tags, std::size_t max_tags) {
  std::vector<std::string> out;
  for (const auto& raw : tags) {
    std::string tag = trim(raw);
    if (tag.empty() || tag.size() > kMaxTagLength || !std::all_of(tag.begin(), tag.end(), is_tag_char)) {
      return fail(
          ErrorCode::kInvalidArgument,
          "a tag is 1-64 characters of letters, digits and _.:- (e.g. \"customer:42\"); got \"" + raw + "\"");
    }
    if (std::find(out.begin(), out.end(), tag) == out.end()) out.push_back(std::move(tag));
  }
  if (out.size() > max_tags) {
    return fail(ErrorCode::kInvalidArgument, "at most " + std::to_string(max_tags) +
                                                 " tags per memory; got " + std::to_string(out.size()));
  }
  return out;
}

Result<double> check_importance(std::optional<double> importance, double fallback) {
  if (!importance) return fallback;
  if (!std::isfinite(*importance) || *importance < 0.0 || *importance > 1.0) {
    return fail(ErrorCode::kInvalidArgument,
                "importance must be between 0 and 1, got " + format_number(*importance));
  }
  return *importance;
}

Engine::Engine(Store& store, const Clock& clock, EngineOptions options)
    : store_(store), clock_(clock), options_(options) {}

Result<void> Engine::ensure_agent(const std::string& ns, const std::string& agent_id) {
  {
    std::lock_guard lock(known_agents_mutex_);
    if (known_agents_.count({ns, agent_id})) return {};
  }
  Agent agent;
  agent.ns = ns;
  agent.id = agent_id;
  agent.created_at = clock_.now_ms();
  auto stored = store_.upsert_agent(agent);
  if (!stored) return tl::unexpected(stored.error());
  std::lock_guard lock(known_agents_mutex_);
  known_agents_.insert({ns, agent_id});
  return {};
}

namespace {
// The WriteGroup of this thread, innermost first (WriteGroup::outer_).
thread_local Engine::WriteGroup* t_write_group = nullptr;
}  // namespace

const Result<Stored>& WriteConfirmation::outcome() const {
  static const Result<Stored> kUnconfirmed =
      tl::unexpected(Error{ErrorCode::kInternal, "bug: a write was answered before its group committed"});
  return outcome_ ? *outcome_ : kUnconfirmed;
}

Engine::WriteGroup::WriteGroup(Engine& engine)
    : engine_(engine), batch_(engine.store_.begin_batch()), outer_(t_write_group) {
  t_write_group = this;
}

Engine::WriteGroup::~WriteGroup() {
  // Writes sent and never committed: the store still reads their outcomes as the batch goes.
  batch_.reset();
  t_write_group = outer_;
}

Result<void> Engine::WriteGroup::commit() {
  if (!batch_) return {};
  auto committed = batch_->commit();
  if (!committed) {
    // Agents recorded inside the failed batch were rolled back with it: record them again next time.
    std::lock_guard lock(engine_.known_agents_mutex_);
    engine_.known_agents_.clear();
  }
  auto outcomes = batch_->take_sent();
  auto sent = std::move(sent_);
  sent_.clear();
  confirming_ = true;  // what confirm() writes again is written at once
  for (auto& write : sent) {
    auto it = std::find_if(outcomes.begin(), outcomes.end(),
                           [&](const auto& outcome) { return outcome.first == write.number; });
    if (it == outcomes.end()) {
      write.confirmation->outcome_ =
          tl::unexpected(Error{ErrorCode::kInternal, "the store did not say what became of a write it sent"});
      continue;
    }
    engine_.confirm(write, std::move(it->second));
  }
  confirming_ = false;
  return committed;
}

void Engine::confirm(WriteGroup::Sent& sent, Result<WriteOutcome> outcome) {
  const auto& memory = sent.memory;
  if (!outcome &&
      (outcome.error().code == ErrorCode::kNotFound || outcome.error().code == ErrorCode::kInvalidArgument)) {
    // The session closed or went since this process last wrote into it: what store_memory does when
    // its one-step write finds that, now, with nothing sent ahead of it any more.
    know_session(memory.ns, memory.session_id, false);
    sent.options.may_send = false;
    auto again = store_memory(sent.caller, memory, sent.session_id, sent.options);
    sent.confirmation->outcome_ = std::move(again);
    return;
  }
  if (!outcome) {
    sent.confirmation->outcome_ = tl::unexpected(outcome.error());
    return;
  }
  if (outcome->duplicate_of) {
    sent.confirmation->outcome_ = Stored{std::move(*outcome->duplicate_of), true, {}, nullptr};
    return;
  }
  sent.confirmation->outcome_ = Stored{memory, false, sent.options.supersedes, nullptr};
}

bool Engine::session_known(const std::string& ns, const std::string& id) {
  std::lock_guard lock(known_sessions_mutex_);
  return known_sessions_.count({ns, id}) > 0;
}

void Engine::know_session(const std::string& ns, const std::string& id, bool known) {
  std::lock_guard lock(known_sessions_mutex_);
  if (!known) {
    known_sessions_.erase({ns, id});
    return;
  }
  if (known_sessions_.size() >= kKnownSessionsMax) known_sessions_.clear();
  known_sessions_.insert({ns, id});
}

Result<Session> Engine::writable_session(const Caller& caller, const std::optional<std::string>& requested) {
  const std::string& id = requested ? *requested : caller.session_id;
  if (id.empty()) return fail(ErrorCode::kInvalidArgument, "session_id must not be empty");
  auto existing = store_.get_session(caller.ns, id);
  if (!existing) return tl::unexpected(existing.error());
  if (*existing) {
    if ((*existing)->status == SessionStatus::kClosed) {
      return fail(ErrorCode::kInvalidArgument,
                  "session " + id +
                      " is closed and takes no new memories; start a new one with "
                      "memtrace_session_create (or omit session_id to write into your current session)");
    }
    return **existing;
  }
  if (requested && *requested != caller.session_id) {
    return fail(ErrorCode::kNotFound, "there is no session " + id +
                                          "; omit session_id to use your current session, or find one with "
                                          "memtrace_session_search");
  }
  // The caller's own session is created lazily, on its first write, so that a server start that
  // stores nothing leaves no empty session behind.
  Session session;
  session.ns = caller.ns;
  session.id = id;
  session.created_by = caller.agent_id;
  session.created_at = session.updated_at = clock_.now_ms();
  auto created = store_.create_session(session);
  if (!created && created.error().code != ErrorCode::kConflict) return tl::unexpected(created.error());
  if (!created) {  // another process created it a moment ago
    auto again = store_.get_session(caller.ns, id);
    if (!again) return tl::unexpected(again.error());
    if (*again) return **again;
  }
  return session;
}

Result<Stored> Engine::store_memory(const Caller& caller, Memory memory,
                                    const std::optional<std::string>& session_id,
                                    const WriteOptions& options) {
  if (auto agent = ensure_agent(caller.ns, caller.agent_id); !agent) return tl::unexpected(agent.error());
  memory.ns = caller.ns;
  memory.session_id = session_id ? *session_id : caller.session_id;
  memory.agent_id = caller.agent_id;
  if (memory.session_id.empty()) return fail(ErrorCode::kInvalidArgument, "session_id must not be empty");
  // The store checks in the same atomic step that the session exists and is open, so the usual write
  // is one store call (one round trip on Redis) and a session closed by another process a moment ago
  // cannot slip in between a check and the write. Only when that check fails does writable_session
  // find out why: it creates the caller's own session on its first write, or words the error.
  // (A refused supersede is kNotFound too: writable_session then finds the session usable, and the
  // second attempt answers with the same refusal.)
  // In a group, a write into a session known to take writes may be sent without waiting (WriteGroup).
  WriteGroup* group = sending_group();
  WriteOptions attempt = options;
  attempt.may_send = group && !group->confirming_ && session_known(memory.ns, memory.session_id);
  auto written = store_.write_memory(memory, attempt);
  if (written && written->sent) {
    auto confirmation = std::make_shared<WriteConfirmation>();
    group->sent_.push_back({*written->sent, confirmation, caller, memory, session_id, options});
    return Stored{std::move(memory), false, options.supersedes, std::move(confirmation)};
  }
  if (!written &&
      (written.error().code == ErrorCode::kNotFound || written.error().code == ErrorCode::kInvalidArgument)) {
    auto session = writable_session(caller, session_id);
    if (!session) return tl::unexpected(session.error());
    written = store_.write_memory(memory, options);
  }
  if (!written) return tl::unexpected(written.error());
  return stored(std::move(memory), *written, options);
}

Engine::WriteGroup* Engine::sending_group() {
  WriteGroup* group = t_write_group;
  if (!group || &group->engine_ != this || !group->batch_ || !group->batch_->sends_writes()) return nullptr;
  return group;
}

Stored Engine::stored(Memory memory, WriteOutcome& written, const WriteOptions& options) {
  if (sending_group()) know_session(memory.ns, memory.session_id, true);
  if (written.duplicate_of) return Stored{std::move(*written.duplicate_of), true, {}, nullptr};
  return Stored{std::move(memory), false, options.supersedes, nullptr};
}

namespace {

constexpr std::size_t kMaxIdempotencyKeyBytes = 200;

// An idempotency key as given, checked: not blank, at most kMaxIdempotencyKeyBytes.
Result<std::optional<std::string>> idempotency_key(std::optional<std::string>& key) {
  if (!key) return std::optional<std::string>();
  if (blank(*key)) return fail(ErrorCode::kInvalidArgument, "idempotency_key must not be blank");
  if (key->size() > kMaxIdempotencyKeyBytes) {
    return fail(ErrorCode::kInvalidArgument, "idempotency_key is limited to " +
                                                 std::to_string(kMaxIdempotencyKeyBytes) + " bytes; got " +
                                                 std::to_string(key->size()));
  }
  return std::move(key);
}

}  // namespace

Result<Stored> Engine::remember(const Caller& caller, RememberInput input) {
  Memory memory;
  memory.content = std::move(input.content);
  if (blank(memory.content)) {
    return fail(ErrorCode::kInvalidArgument, "content must not be empty: say what to remember");
  }
  if (memory.content.size() > options_.max_content_bytes) {
    return fail(ErrorCode::kInvalidArgument, "content is " + std::to_string(memory.content.size()) +
                                                 " bytes; the limit is " +
                                                 std::to_string(options_.max_content_bytes) +
                                                 ". Store a summary, or split it into several memories");
  }
  const auto& types = rememberable_types();
  if (std::find(types.begin(), types.end(), input.type) == types.end()) {
    return fail(ErrorCode::kInvalidArgument, "type must be one of " + join(types, ", ") + "; got \"" +
                                                 input.type +
                                                 "\" (decisions are stored with memtrace_decide)");
  }
  memory.type = std::move(input.type);
  auto tags = normalize_tags(input.tags, options_.max_tags);
  if (!tags) return tl::unexpected(tags.error());
  memory.tags = std::move(*tags);
  auto importance = check_importance(input.importance, 0.5);
  if (!importance) return tl::unexpected(importance.error());
  memory.importance = *importance;
  if (input.metadata_json.size() > kMaxMetadataBytes) {
    return fail(ErrorCode::kInvalidArgument, "metadata is limited to 16 KiB of JSON");
  }
  memory.metadata_json = std::move(input.metadata_json);
  memory.created_at = clock_.now_ms();
  if (input.ttl) {
    auto ttl = parse_duration(*input.ttl);
    if (!ttl || *ttl <= 0) {
      return fail(ErrorCode::kInvalidArgument,
                  "ttl accepts a duration such as 30m, 12h, 7d or 2w; got \"" + *input.ttl + "\"");
    }
    memory.expires_at = memory.created_at + *ttl;
  }
  WriteOptions write;
  for (auto& id : input.supersedes) {
    if (blank(id)) return fail(ErrorCode::kInvalidArgument, "supersedes must not contain an empty id");
    if (std::find(write.supersedes.begin(), write.supersedes.end(), id) == write.supersedes.end()) {
      write.supersedes.push_back(std::move(id));
    }
  }
  if (write.supersedes.size() > kMaxSupersedes) {
    return fail(ErrorCode::kInvalidArgument, "a memory can supersede at most " +
                                                 std::to_string(kMaxSupersedes) + " memories; got " +
                                                 std::to_string(write.supersedes.size()));
  }
  write.dedup_window_ms = options_.dedup_window_ms;
  auto key = idempotency_key(input.idempotency_key);
  if (!key) return tl::unexpected(key.error());
  write.idempotency_key = std::move(*key);
  memory.id = ids_.next(memory.created_at);
  return store_memory(caller, std::move(memory), input.session_id, write);
}

Result<Stored> Engine::decide(const Caller& caller, DecideInput input) {
  if (blank(input.decision)) return fail(ErrorCode::kInvalidArgument, "decision must not be empty");
  if (blank(input.reasoning)) {
    return fail(ErrorCode::kInvalidArgument, "reasoning must not be empty: say why this was decided");
  }
  if (input.decision.size() + input.reasoning.size() > options_.max_content_bytes) {
    return fail(ErrorCode::kInvalidArgument, "decision and reasoning together exceed " +
                                                 std::to_string(options_.max_content_bytes) + " bytes");
  }
  Memory memory;
  memory.type = "decision";
  memory.content = std::move(input.decision);
  memory.reasoning = std::move(input.reasoning);
  auto tags = normalize_tags(input.tags, options_.max_tags);
  if (!tags) return tl::unexpected(tags.error());
  memory.tags = std::move(*tags);
  auto importance = check_importance(input.importance, 0.7);
  if (!importance) return tl::unexpected(importance.error());
  memory.importance = *importance;
  memory.created_at = clock_.now_ms();
  memory.id = ids_.next(memory.created_at);
  WriteOptions write;
  auto key = idempotency_key(input.idempotency_key);
  if (!key) return tl::unexpected(key.error());
  write.idempotency_key = std::move(*key);
  return store_memory(caller, std::move(memory), input.session_id, write);
}

Result<std::size_t> Engine::page_limit(const std::optional<std::int64_t>& requested) const {
  if (!requested) return options_.default_limit;
  if (*requested < 1 || static_cast<std::size_t>(*requested) > options_.max_limit) {
    return fail(ErrorCode::kInvalidArgument, "limit must be between 1 and " +
                                                 std::to_string(options_.max_limit) + ", got " +
                                                 std::to_string(*requested));
  }
  return static_cast<std::size_t>(*requested);
}

Result<Page> Engine::run_query(MemoryQuery query, Scope scope, const std::optional<std::string>& cursor) {
  if (cursor) {
    if (!looks_like_id(*cursor)) {
      return fail(ErrorCode::kInvalidArgument,
                  "cursor \"" + *cursor +
                      "\" is not one this server returned; pass next_cursor from a previous result");
    }
    query.before_id = *cursor;
  }
  const std::size_t limit = query.limit;
  query.limit = limit + 1;  // one more tells whether there is a next page
  auto rows = store_.query_memories(query);
  if (!rows) return tl::unexpected(rows.error());

  Page page;
  page.scope = std::move(scope);
  std::size_t bytes = 0;
  for (auto& memory : *rows) {
    if (page.memories.size() == limit ||
        (!page.memories.empty() && bytes + approximate_size(memory) > options_.page_byte_budget)) {
      page.next_cursor = page.memories.back().id;
      break;
    }
    bytes += approximate_size(memory);
    page.memories.push_back(std::move(memory));
  }
  return page;
}

Result<Page> Engine::recall(const Caller& caller, const RecallInput& input) {
  const UnixMillis now = clock_.now_ms();
  auto since = parse_time_bound("since", input.since.value_or(kDefaultRecallWindow), now);
  if (!since) return tl::unexpected(since.error());
  if (auto ok = check_types(input.types); !ok) return tl::unexpected(ok.error());
  auto limit = page_limit(input.limit);
  if (!limit) return tl::unexpected(limit.error());

  MemoryQuery query;
  query.ns = caller.ns;
  query.session_id = input.session_id;
  query.agent_id = input.agent_id;
  query.types = input.types;
  query.since = *since;
  query.now = now;
  query.limit = *limit;
  query.exclude_superseded = !input.include_superseded;

  Scope scope;
  scope.ns = caller.ns;
  scope.session_id = input.session_id;
  scope.agent_id = input.agent_id;
  scope.since = *since;
  scope.types = input.types;
  scope.include_superseded = input.include_superseded;
  scope.limit = *limit;
  return run_query(std::move(query), std::move(scope), input.cursor);
}

Result<Page> Engine::search(const Caller& caller, const SearchInput& input) {
  const UnixMillis now = clock_.now_ms();
  MemoryQuery query;
  query.ns = caller.ns;
  query.now = now;
  if (input.since) {
    auto since = parse_time_bound("since", *input.since, now);
    if (!since) return tl::unexpected(since.error());
    query.since = *since;
  }
  if (input.until) {
    auto until = parse_time_bound("until", *input.until, now);
    if (!until) return tl::unexpected(until.error());
    query.until = *until;
  }
  if (auto ok = check_types(input.types); !ok) return tl::unexpected(ok.error());
  auto tags = normalize_tags(input.tags, options_.max_tags);
  if (!tags) return tl::unexpected(tags.error());
  if (input.min_importance) {
    auto importance = check_importance(input.min_importance, 0.0);
    if (!importance) {
      return fail(ErrorCode::kInvalidArgument,
                  "min_importance must be between 0 and 1, got " + format_number(*input.min_importance));
    }
  }
  auto limit = page_limit(input.limit);
  if (!limit) return tl::unexpected(limit.error());
  if (input.content_contains && input.content_contains->empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "content_contains must not be empty; omit it to match any content");
  }

  query.session_id = input.session_id;
  query.agent_id = input.agent_id;
  query.types = input.types;
  query.tags = *tags;
  query.content_contains = input.content_contains;
  query.min_importance = input.min_importance;
  query.exclude_superseded = !input.include_superseded;
  query.limit = *limit;

  Scope scope;
  scope.ns = caller.ns;
  scope.session_id = query.session_id;
  scope.agent_id = query.agent_id;
  scope.since = query.since;
  scope.until = query.until;
  scope.types = query.types;
  scope.tags = query.tags;
  scope.content_contains = query.content_contains;
  scope.min_importance = query.min_importance;
  scope.include_superseded = input.include_superseded;
  scope.limit = *limit;
  return run_query(std::move(query), std::move(scope), input.cursor);
}

Result<Memory> Engine::forget(const Caller& caller, const std::string& id) {
  auto existing = store_.get_memory(caller.ns, id, clock_.now_ms());
  if (!existing) return tl::unexpected(existing.error());
  if (!*existing) {
    return fail(ErrorCode::kNotFound,
                "there is no memory " + id + " (it may have expired or been forgotten already)");
  }
  auto deleted = store_.delete_memory(caller.ns, id, caller.agent_id);
  if (!deleted) return tl::unexpected(deleted.error());
  if (!*deleted) return fail(ErrorCode::kNotFound, "there is no memory " + id);
  return std::move(**existing);
}

}  // namespace memtrace
