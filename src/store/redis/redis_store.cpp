// The Redis store: Store calls become EVALSHA of the scripts in redis_scripts.cpp, pipelined on one socket
// per node.
#include "store/redis/redis_store.h"

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <mutex>
#include <set>
#include <unordered_set>
#include <utility>

#include <spdlog/spdlog.h>

#include "store/dedup.h"
#include "store/deferred_indexer.h"
#include "store/redis/redis_changes.h"
#include "store/redis/redis_claims.h"
#include "store/redis/redis_cluster.h"
#include "store/redis/redis_connection.h"
#include "store/redis/redis_export.h"
#include "store/redis/redis_keys.h"
#include "store/redis/redis_memory_string.h"
#include "store/redis/redis_router.h"
#include "store/redis/redis_scripts.h"
#include "store/redis/redis_watcher.h"

namespace memtrace {
namespace {

using redis::reply_integer;
using redis::reply_string;
using redis::ReplyPtr;

constexpr std::size_t kPurgeBatch = 500;

std::int64_t wall_clock_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}
constexpr std::size_t kMaxNeedleTrigrams = 32;

std::string format_double(double value) {
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return ec == std::errc() ? std::string(buffer, end) : std::to_string(value);
}

template <class Number>
Number parse_number(std::string_view text) {
  Number value{};
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

// Calls `visit(field, value)` for each pair of an HGETALL-shaped array reply.
template <class Visit>
void for_each_field(const redisReply* fields, Visit&& visit) {
  if (!fields || fields->type != REDIS_REPLY_ARRAY) return;
  for (std::size_t i = 0; i + 1 < fields->elements; i += 2) {
    visit(reply_string(fields->element[i]), reply_string(fields->element[i + 1]));
  }
}

// A memory string of a script's reply (redis_memory_string.h).
Result<Memory> parse_memory(const std::string& ns, const redisReply* reply) {
  Memory memory;
  memory.ns = ns;
  if (!reply || reply->type != REDIS_REPLY_STRING ||
      !redis::decode_memory_string(reply_string(reply), memory)) {
    return fail(ErrorCode::kInternal,
                "redis store: a memory of namespace " + ns + " is stored in a form this version cannot read");
  }
  return memory;
}

Session parse_session(const std::string& ns, const redisReply* fields) {
  Session session;
  session.ns = ns;
  for_each_field(fields, [&](std::string_view field, std::string_view value) {
    if (field == "id") {
      session.id = value;
    } else if (field == "cb") {
      session.created_by = value;
    } else if (field == "st") {
      session.status = value == "closed" ? SessionStatus::kClosed : SessionStatus::kActive;
    } else if (field == "ca") {
      session.created_at = parse_number<UnixMillis>(value);
    } else if (field == "ua") {
      session.updated_at = parse_number<UnixMillis>(value);
    } else if (field == "cl") {
      session.closed_at = parse_number<UnixMillis>(value);
    } else if (field.rfind("md:", 0) == 0) {
      session.metadata.emplace(std::string(field.substr(3)), std::string(value));
    }
  });
  return session;
}

// A session record of find_sessions.lua / rank_memories.lua: {hash, agents, count, last activity}.
std::optional<SessionSummary> parse_summary(const std::string& ns, const redisReply* row) {
  if (row->type != REDIS_REPLY_ARRAY || row->elements != 4) return std::nullopt;
  SessionSummary summary;
  summary.session = parse_session(ns, row->element[0]);
  for (std::size_t a = 0; a < row->element[1]->elements; ++a) {
    summary.agents.emplace_back(reply_string(row->element[1]->element[a]));
  }
  std::sort(summary.agents.begin(), summary.agents.end());
  summary.memory_count = std::max<long long>(reply_integer(row->element[2]), 0);
  auto last_activity = reply_string(row->element[3]);
  summary.last_activity =
      last_activity.empty() ? summary.session.updated_at : parse_number<UnixMillis>(last_activity);
  return summary;
}

ApiKey parse_api_key(const redisReply* fields) {
  ApiKey key;
  for_each_field(fields, [&](std::string_view field, std::string_view value) {
    if (field == "id") {
      key.id = value;
    } else if (field == "ns") {
      key.ns = value;
    } else if (field == "h") {
      key.hash = value;
    } else if (field == "l") {
      key.label = value;
    } else if (field == "ca") {
      key.created_at = parse_number<UnixMillis>(value);
    } else if (field == "ra") {
      key.revoked_at = parse_number<UnixMillis>(value);
    }
  });
  return key;
}

Agent parse_agent(const std::string& ns, const redisReply* fields) {
  Agent agent;
  agent.ns = ns;
  for_each_field(fields, [&](std::string_view field, std::string_view value) {
    if (field == "id") {
      agent.id = value;
    } else if (field == "d") {
      agent.description = value;
    } else if (field == "ca") {
      agent.created_at = parse_number<UnixMillis>(value);
    }
  });
  return agent;
}

bool is_empty_array(const redisReply* reply) {
  return !reply || reply->type != REDIS_REPLY_ARRAY || reply->elements == 0;
}

Result<void> check_name(std::string_view what, const std::string& value) {
  if (value.empty()) return fail(ErrorCode::kInvalidArgument, std::string(what) + " must not be empty");
  return {};
}

// A slice answer of query_memories / rank_memories / find_sessions: {last examined id (or rank), more,
// examined, ...}, its first `header` elements always there.
struct Slice {
  std::string last;
  bool more = false;
  std::size_t examined = 0;
};

Result<Slice> read_slice(const redisReply* reply, std::size_t header = 3) {
  if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < header) {
    return fail(ErrorCode::kInternal, "redis store: a query script answered in an unexpected shape");
  }
  Slice slice;
  slice.last = reply_string(reply->element[0]);
  slice.more = reply_integer(reply->element[1]) != 0;
  slice.examined = static_cast<std::size_t>(reply_integer(reply->element[2]));
  return slice;
}

class RedisStore final : public Store {
 public:
  explicit RedisStore(RedisOptions options)
      : options_(std::move(options)), endpoint_{describe_redis(options_), options_.command_timeout} {
    redis::LocateSlot locate;
    if (options_.cluster_seeds.empty()) {
      router_ = std::make_unique<redis::SingleNodeRouter>(options_, endpoint_);
      locate = [options = options_](int, bool) -> Result<RedisOptions> { return options; };
    } else {
      auto cluster = std::make_unique<redis::ClusterRouter>(options_);
      locate = [cluster = cluster.get()](int slot, bool refresh) {
        return cluster->master_options(slot, refresh);
      };
      router_ = std::move(cluster);
    }
    subscriber_ = std::make_shared<redis::Subscriber>(options_, endpoint_.description, std::move(locate));
    indexer_ = std::make_unique<DeferredIndexer>(
        "redis: indexing memory content",
        [this](const std::string& ns) -> Result<bool> {
          auto reply = run(scripts_.index_content, ns,
                           {std::to_string(kIndexBatch), std::to_string(index_additions(index_backlog_)),
                            std::to_string(kSweepEntries)},
                           Access::kWrite);
          if (!reply) return tl::unexpected(reply.error());
          index_backlog_ = reply_integer(reply->get());
          return index_backlog_ > 0;
        },
        options_.content_index_delay, kIndexBatch);
  }

  ~RedisStore() override {
    indexer_.reset();     // indexes what is left while the router is there
    subscriber_->stop();  // before the router its thread asks goes
  }

  std::string describe() const override { return endpoint_.description; }

  Result<void> ping() override { return router_->ping(); }

  Result<Agent> upsert_agent(const Agent& agent) override {
    if (auto ok = check_name("namespace", agent.ns); !ok) return tl::unexpected(ok.error());
    if (auto ok = check_name("agent id", agent.id); !ok) return tl::unexpected(ok.error());
    auto reply = run(scripts_.upsert_agent, agent.ns,
                     {agent.id, agent.description, std::to_string(agent.created_at)}, Access::kFirstWrite);
    if (!reply) return tl::unexpected(reply.error());
    return parse_agent(agent.ns, reply->get());
  }

  Result<std::optional<Agent>> get_agent(const std::string& ns, const std::string& id) override {
    auto reply = hgetall(ns, redis::agent_key(id));
    if (!reply) return tl::unexpected(reply.error());
    if (is_empty_array(reply->get())) return std::optional<Agent>();
    return std::optional<Agent>(parse_agent(ns, reply->get()));
  }

  Result<bool> delete_agent(const std::string& ns, const std::string& id) override {
    if (auto ok = check_name("namespace", ns); !ok) return tl::unexpected(ok.error());
    const std::string key = redis::namespace_prefix(ns) + redis::agent_key(id);
    auto reply = command(key, {"DEL", key}, Access::kWrite);
    if (!reply) return tl::unexpected(reply.error());
    return reply_integer(reply->get()) > 0;
  }

  Result<void> create_session(const Session& session) override {
    auto opened = create_or_resume(session, false);
    if (!opened) return tl::unexpected(opened.error());
    return {};
  }

  Result<SessionOpening> resume_or_create_session(const Session& session) override {
    if (session.metadata.empty()) {
      return fail(ErrorCode::kInvalidArgument, "resuming a session by metadata needs at least one key");
    }
    return create_or_resume(session, true);
  }

  Result<std::optional<Session>> get_session(const std::string& ns, const std::string& id) override {
    auto reply = hgetall(ns, redis::session_key(id));
    if (!reply) return tl::unexpected(reply.error());
    if (is_empty_array(reply->get())) return std::optional<Session>();
    return std::optional<Session>(parse_session(ns, reply->get()));
  }

  Result<bool> close_session(const std::string& ns, const std::string& id, UnixMillis at,
                             const std::string& agent) override {
    auto reply = run(scripts_.close_session, ns, {id, std::to_string(at), agent}, Access::kWrite);
    if (!reply) return tl::unexpected(reply.error());
    return reply_integer(reply->get()) != 0;
  }

  Result<std::vector<SessionSummary>> find_sessions(const SessionQuery& query) override {
    if (auto ok = check_name("namespace", query.ns); !ok) return tl::unexpected(ok.error());
    std::vector<SessionSummary> found;
    if (query.limit == 0) return found;
    std::vector<std::string> all;
    for (const auto& [key, value] : query.metadata_contains) all.push_back(redis::metadata_index(key, value));
    if (query.agent_id) all.push_back(redis::agent_sessions_index(*query.agent_id));

    const std::string prefix = redis::namespace_prefix(query.ns);
    auto walked = router_->run(prefix, [&](redis::Connection& connection) -> Result<void> {
      found.clear();  // a redirected walk starts again
      const auto deadline = redis::call_deadline(options_.command_timeout);
      std::string cursor = query.before_id.value_or("");
      for (;;) {
        std::vector<std::string> args = {std::to_string(query.now),
                                         cursor,
                                         std::to_string(query.limit - found.size()),
                                         std::to_string(std::max<std::size_t>(options_.scan_batch, 1)),
                                         query.status ? to_string(*query.status) : "",
                                         std::to_string(all.size())};
        args.insert(args.end(), all.begin(), all.end());
        args.push_back(query.id.value_or(""));
        auto reply = scripts_.find_sessions.run(connection, prefix, args);
        if (!reply) return tl::unexpected(reply.error());
        auto slice = read_slice(reply->get());
        if (!slice) return tl::unexpected(slice.error());
        const redisReply* rows = reply->get();
        for (std::size_t i = 3; i < rows->elements; ++i) {
          if (auto summary = parse_summary(query.ns, rows->element[i])) found.push_back(std::move(*summary));
        }
        if (!slice->more || found.size() >= query.limit) break;
        if (std::chrono::steady_clock::now() > deadline) return slow_query_error(found.size());
        cursor = slice->last;
      }
      return {};
    });
    if (!walked) return tl::unexpected(walked.error());
    return found;
  }

  Result<void> insert_memory(const Memory& memory) override {
    // A memory that arrives superseded (an import) needs the fields only write_memory's script writes.
    if (memory.superseded_by) {
      auto written = run_write_memory(memory, WriteOptions{});
      if (!written) return tl::unexpected(written.error());
      return {};
    }
    auto args = remember_args(memory);
    if (!args) return tl::unexpected(args.error());
    auto reply = run(scripts_.remember, memory.ns, *args, Access::kFirstWrite);
    if (!reply) return tl::unexpected(reply.error());
    indexer_->wrote(memory.ns);
    if (auto evicted = reply_integer(reply->get()); evicted > 0) {
      spdlog::debug("session {}: the window of {} memories evicted {}", memory.session_id,
                    options_.max_memories_per_session, evicted);
    }
    return {};
  }

  Result<WriteOutcome> write_memory(const Memory& memory, const WriteOptions& options) override {
    if (memory.superseded_by || memory.valid_until) {
      return fail(ErrorCode::kInvalidArgument, "a new memory cannot be superseded already");
    }
    if (options.may_send && t_sent_writes && &t_sent_writes->store_ == this) {
      auto sent = send_write_memory(memory, options);
      if (!sent) return tl::unexpected(sent.error());
      if (*sent) return **sent;
    }
    if (options.supersedes.empty() && options.dedup_window_ms <= 0 && !options.idempotency_key) {
      if (auto inserted = insert_memory(memory); !inserted) return tl::unexpected(inserted.error());
      return WriteOutcome{};
    }
    return run_write_memory(memory, options);
  }

  // Writes sent and not waited for, in a group (WriteBatch, WriteOptions::may_send): the group's writes
  // travel to Redis together instead of one round trip each. Nothing else this thread sends through the
  // store overtakes them (on_node): it follows them on their socket, or waits for their replies first. Only
  // on one node with no replicas to wait for: a cluster may redirect a write, and WAIT needs a connection of
  // its own.
  class SentWrites final : public WriteBatch {
   public:
    explicit SentWrites(RedisStore& store) : store_(store) { t_sent_writes = this; }
    ~SentWrites() override {
      store_.take_replies(*this);  // a batch dropped uncommitted still reads what it sent
      t_sent_writes = nullptr;
    }
    Result<void> commit() override {
      store_.take_replies(*this);
      return {};
    }
    bool sends_writes() const override { return true; }
    std::vector<std::pair<std::uint64_t, Result<WriteOutcome>>> take_sent() override {
      return std::move(done_);
    }
    // Whether every write it has sent and not read went on the pipeline `connection` is a turn of.
    bool all_sent_on(redis::Connection& connection) const {
      const redis::PipelinedConnection* pipelined = connection.pipelined();
      return std::all_of(sent_.begin(), sent_.end(),
                         [&](const Sent& write) { return pipelined && write.command.sent_on(*pipelined); });
    }

   private:
    friend class RedisStore;
    struct Sent {
      std::uint64_t number;
      redis::SentCommand command;
      std::string ns;
      std::string session_id;
      std::vector<std::string> args;  // to run it again after NOSCRIPT
    };
    RedisStore& store_;
    std::vector<Sent> sent_;
    std::vector<std::pair<std::uint64_t, Result<WriteOutcome>>> done_;
    std::uint64_t next_ = 1;
    bool taking_ = false;
  };
  static inline thread_local SentWrites* t_sent_writes = nullptr;

  std::unique_ptr<WriteBatch> begin_batch() override {
    if (!options_.cluster_seeds.empty() || router_->min_replicas() > 0 || t_sent_writes) return nullptr;
    return std::make_unique<SentWrites>(*this);
  }

  // The write_memory script sent without waiting; nullopt where it cannot be (run it instead).
  Result<std::optional<WriteOutcome>> send_write_memory(const Memory& memory, const WriteOptions& options) {
    auto args = write_memory_args(memory, options);
    if (!args) return tl::unexpected(args.error());
    if (auto ok = register_namespace(memory.ns); !ok) return tl::unexpected(ok.error());
    const std::string prefix = redis::namespace_prefix(memory.ns);
    std::optional<redis::SentCommand> sent;
    auto done = router_->run(prefix, [&](redis::Connection& connection) -> Result<void> {
      auto command = scripts_.write_memory.send(connection, prefix, *args);
      if (!command) return tl::unexpected(command.error());
      sent = std::move(*command);
      return {};
    });
    if (!done) return tl::unexpected(done.error());
    if (!sent) return std::optional<WriteOutcome>();
    SentWrites& writes = *t_sent_writes;
    const std::uint64_t number = writes.next_++;
    writes.sent_.push_back({number, std::move(*sent), memory.ns, memory.session_id, std::move(*args)});
    WriteOutcome outcome;
    outcome.sent = number;
    return std::optional<WriteOutcome>(std::move(outcome));
  }

  // Reads the replies of the writes this thread sent, in order, into their outcomes.
  void take_replies(SentWrites& writes) {
    if (writes.taking_ || writes.sent_.empty()) return;
    writes.taking_ = true;
    auto sent = std::move(writes.sent_);
    writes.sent_.clear();
    for (auto& write : sent) {
      std::string raw_error;
      auto reply = write.command.get(&raw_error);
      Result<WriteOutcome> outcome;
      if (!reply && raw_error.rfind("NOSCRIPT", 0) == 0) {
        // Redis lost its scripts (restart, SCRIPT FLUSH): nothing ran; run it again, loading them.
        auto again = run(scripts_.write_memory, write.ns, write.args, Access::kFirstWrite);
        outcome =
            again ? read_write_outcome(write.ns, write.session_id, *again) : tl::unexpected(again.error());
      } else if (!reply) {
        outcome = tl::unexpected(reply.error());
      } else {
        outcome = read_write_outcome(write.ns, write.session_id, *reply);
      }
      writes.done_.emplace_back(write.number, std::move(outcome));
    }
    writes.taking_ = false;
  }

  // The write_memory script: the remember script's arguments, then what WriteOptions asks.
  Result<WriteOutcome> run_write_memory(const Memory& memory, const WriteOptions& options) {
    auto args = write_memory_args(memory, options);
    if (!args) return tl::unexpected(args.error());
    auto reply = run(scripts_.write_memory, memory.ns, *args, Access::kFirstWrite);
    if (!reply) return tl::unexpected(reply.error());
    return read_write_outcome(memory.ns, memory.session_id, *reply);
  }

  Result<std::vector<std::string>> write_memory_args(const Memory& memory, const WriteOptions& options) {
    auto args = remember_args(memory);
    if (!args) return tl::unexpected(args.error());
    for (const auto& id : options.supersedes) {
      if (auto ok = check_name("memory id", id); !ok) return tl::unexpected(ok.error());
    }
    args->push_back(memory.superseded_by.value_or(""));
    args->push_back(memory.valid_until ? std::to_string(*memory.valid_until) : "");
    args->push_back(std::to_string(std::max<std::int64_t>(options.dedup_window_ms, 0)));
    args->push_back(dedup_fingerprint(memory));
    args->push_back(memory.ns);
    args->push_back(std::to_string(options.supersedes.size()));
    args->insert(args->end(), options.supersedes.begin(), options.supersedes.end());
    args->push_back(options.idempotency_key.value_or(""));
    args->push_back(std::to_string(kIdempotencyWindowMs));
    return args;
  }

  // What the write_memory script's reply says it did.
  Result<WriteOutcome> read_write_outcome(const std::string& ns, const std::string& session_id,
                                          const ReplyPtr& reply) {
    const redisReply* r = reply.get();
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
      return fail(ErrorCode::kInternal, "redis store: write_memory answered in an unexpected shape");
    }
    if (reply_string(r->element[0]) == "duplicate") {
      auto earlier = parse_memory(ns, r->element[1]);
      if (!earlier) return tl::unexpected(earlier.error());
      return WriteOutcome::deduplicated(std::move(*earlier));
    }
    indexer_->wrote(ns);
    if (auto evicted = reply_integer(r->element[1]); evicted > 0) {
      spdlog::debug("session {}: the window of {} memories evicted {}", session_id,
                    options_.max_memories_per_session, evicted);
    }
    return WriteOutcome{};
  }

  // The remember script's arguments for `memory`, checked.
  Result<std::vector<std::string>> remember_args(const Memory& memory) {
    if (auto ok = check_name("namespace", memory.ns); !ok) return tl::unexpected(ok.error());
    if (auto ok = check_name("memory id", memory.id); !ok) return tl::unexpected(ok.error());
    if (auto ok = check_name("session id", memory.session_id); !ok) return tl::unexpected(ok.error());
    if (auto ok = check_name("agent id", memory.agent_id); !ok) return tl::unexpected(ok.error());
    if (auto ok = check_name("type", memory.type); !ok) return tl::unexpected(ok.error());
    std::vector<std::string> args = {memory.id,
                                     memory.session_id,
                                     memory.agent_id,
                                     memory.type,
                                     memory.content,
                                     redis::encode_list(memory.tags),
                                     format_double(memory.importance),
                                     std::to_string(memory.created_at),
                                     memory.expires_at ? std::to_string(*memory.expires_at) : "",
                                     memory.metadata_json,
                                     memory.reasoning ? "1" : "0",
                                     memory.reasoning.value_or(""),
                                     std::to_string(options_.max_memories_per_session),
                                     std::to_string(options_.new_namespace_layout)};
    return args;
  }

  Result<std::optional<Memory>> get_memory(const std::string& ns, const std::string& id,
                                           UnixMillis now) override {
    auto reply = run(scripts_.get_memory, ns, {id}, Access::kRead);
    if (!reply) return tl::unexpected(reply.error());
    if ((*reply)->type == REDIS_REPLY_NIL) return std::optional<Memory>();
    auto memory = parse_memory(ns, reply->get());
    if (!memory) return tl::unexpected(memory.error());
    if (memory->expires_at && *memory->expires_at <= now) return std::optional<Memory>();
    return std::optional<Memory>(std::move(*memory));
  }

  Result<RankedMemories> rank_memories(const RankQuery& query) override {
    if (auto ok = check_name("namespace", query.ns); !ok) return tl::unexpected(ok.error());
    const std::string prefix = redis::namespace_prefix(query.ns);
    const std::size_t batch = std::max<std::size_t>(options_.scan_batch, 1);
    const std::size_t count_up_to = query.count_up_to();
    RankedMemories ranked;
    std::size_t weighed = 0;  // of the memories returned so far
    auto walked = router_->run(prefix, [&](redis::Connection& connection) -> Result<void> {
      ranked = RankedMemories{};  // a redirected walk starts again
      weighed = 0;
      std::unordered_set<std::string> seen;
      const auto deadline = redis::call_deadline(options_.command_timeout);
      std::string from = "0";
      bool describe = query.with_session;  // in the first answer only
      bool counting = true;                // false once an answer has counted them all
      // Returns `m`, once: a write between slices can move a memory across their boundary.
      auto take = [&](Memory&& m) {
        if (!seen.insert(m.id).second) return;
        weighed += query.weight.of(m);
        ranked.memories.push_back(std::move(m));
      };
      // Whether the read has what it needs: the memory that fills the weight, or `limit` of them.
      auto satisfied = [&] {
        return (query.max_weight > 0 && weighed > query.max_weight) || ranked.memories.size() >= query.limit;
      };
      for (;;) {
        const std::size_t want = satisfied() ? 0 : query.limit - ranked.memories.size();
        const auto& w = query.weight;
        auto args = [&](std::size_t wanted) {
          return std::vector<std::string>{
              std::to_string(query.now),
              query.session_id,
              from,
              std::to_string(wanted),
              std::to_string(batch),
              counting ? std::to_string(count_up_to - std::min(count_up_to, ranked.total)) : "0",
              describe ? "1" : "0",
              std::to_string(query.max_weight > 0 ? query.max_weight - weighed : 0),
              std::to_string(w.per_memory),
              std::to_string(w.agent_cap),
              std::to_string(w.type_cap),
              std::to_string(w.content_cap)};
        };
        // A digest's first read: the script describes and counts, SORT reads the memories (see
        // send_ranked_sort); both in one round trip.
        std::optional<RankedSort> sorted;
        if (describe && want > 0) {
          auto sent =
              send_ranked_sort(connection, prefix, query.session_id, args(0), sort_slice(query, want, batch));
          if (!sent) return tl::unexpected(sent.error());
          sorted = std::move(*sent);
        }
        ReplyPtr reply;
        if (sorted) {
          reply = std::move(sorted->script);
        } else {
          auto ran = scripts_.rank_memories.run(connection, prefix, args(want));
          if (!ran) return tl::unexpected(ran.error());
          reply = std::move(*ran);
        }
        auto slice = read_slice(reply.get(), 5);
        if (!slice) return tl::unexpected(slice.error());
        const redisReply* rows = reply.get();
        if (rows->element[4]->type != REDIS_REPLY_ARRAY) {
          return fail(ErrorCode::kInternal, "redis store: rank_memories answered in an unexpected shape");
        }
        if (describe) {
          describe = false;
          ranked.session = parse_summary(query.ns, rows->element[4]);
          if (!ranked.session) return {};  // no such session
        }
        ranked.total += static_cast<std::size_t>(reply_integer(rows->element[3]));
        for (std::size_t i = 5; i < rows->elements; ++i) {
          auto memory = parse_memory(query.ns, rows->element[i]);
          if (!memory) return tl::unexpected(memory.error());
          take(std::move(*memory));
        }
        if (sorted) {
          // The memories SORT read, in the index's order, checked as the script checks them. Not
          // conclusive where the script still counts an older session by walking, or where a memory of
          // the slice is no string (gone, or in an older version's format, which the script rewrites):
          // the script then reads them all, from the top.
          const redisReply* strings = sorted->memories.get();
          bool conclusive = !slice->more;
          for (std::size_t i = 0; conclusive && i < strings->elements; ++i) {
            conclusive = strings->element[i]->type == REDIS_REPLY_STRING;
          }
          if (!conclusive) {  // from "0" again, counting again, the session described
            ranked.total = 0;
            continue;
          }
          counting = false;  // the script has counted them all: what follows only reads memories
          ranked.memories.reserve(ranked.memories.size() + strings->elements);
          for (std::size_t i = 0; i < strings->elements && !satisfied(); ++i) {
            auto memory = parse_memory(query.ns, strings->element[i]);
            if (!memory) return tl::unexpected(memory.error());
            if (memory->superseded_by || (memory->expires_at && *memory->expires_at <= query.now)) continue;
            take(std::move(*memory));
          }
          if (satisfied() || strings->elements < sorted->asked) break;
          from = std::to_string(sorted->asked);
          continue;
        }
        if (!slice->more) break;
        if (std::chrono::steady_clock::now() > deadline) return slow_query_error(ranked.total);
        from = slice->last;
      }
      return {};
    });
    if (!walked) return tl::unexpected(walked.error());
    if (query.max_weight > 0 && !ranked.memories.empty()) {
      mean_ranked_weight_.store(std::max<std::size_t>(weighed / ranked.memories.size(), 1),
                                std::memory_order_relaxed);
    }
    ranked.total = std::min(std::max(ranked.total, ranked.memories.size()), count_up_to);
    ranked.total_is_lower_bound = ranked.total >= count_up_to;
    return ranked;
  }

  // How many memory strings a digest's SORT reads: those wanted (at most a walk's slice), and under a
  // weight bound as many as it takes at the mean weight of the memories the last weighed read returned,
  // with a quarter and four to spare (the script's walk sizes its slices the same way). A digest of
  // 8-word memories stops at about 77 of its 126 wanted: a SORT of all 126 took 60 us of Redis time,
  // one of this slice 47. An estimate that falls short costs a second round trip, never a memory.
  std::size_t sort_slice(const RankQuery& query, std::size_t want, std::size_t batch) const {
    std::size_t n = std::min(want, batch);
    const std::size_t mean = mean_ranked_weight_.load(std::memory_order_relaxed);
    if (query.max_weight > 0 && mean > 0) n = std::min(n, query.max_weight / mean * 5 / 4 + 4);
    return n;
  }

  // The answers of a digest's first read, sent together: the rank_memories script asked for no memory
  // (it describes and counts the session) and SORT <mi:sw:session> BY nosort LIMIT 0 n DESC GET <m:*>,
  // which reads the first n memory strings of the session's importance index, in its order, in C. The
  // script's walk had passed each string through Lua twice (into the script and out), which was two
  // thirds of its time: for a digest of a 1,000-memory session, 240 us of script against 37 us for a
  // SORT of 80 strings. One round trip, as before; the script and SORT run one after the other, and
  // a write between them is one between two slices of the walk, which the walk already allows for.
  struct RankedSort {
    ReplyPtr script;
    ReplyPtr memories;  // an array of strings and nils
    std::size_t asked = 0;
  };
  // nullopt where it cannot be done: no pipeline, the script not loaded yet, a cluster, a namespace
  // whose key prefix SORT would read as a pattern ('*' or '->'), a Redis that refused SORT ... GET
  // (ACLs without full read permission refuse GET patterns): the script alone then reads. Both commands
  // go out in one write, and Redis answers them together.
  Result<std::optional<RankedSort>> send_ranked_sort(redis::Connection& connection, const std::string& prefix,
                                                     const std::string& session_id,
                                                     const std::vector<std::string>& script_args,
                                                     std::size_t n) {
    redis::PipelinedConnection* pipelined = connection.pipelined();
    if (!pipelined || !options_.cluster_seeds.empty() || !sort_reads_.load(std::memory_order_relaxed) ||
        prefix.find('*') != std::string::npos || prefix.find("->") != std::string::npos) {
      return std::optional<RankedSort>();
    }
    const auto script = scripts_.rank_memories.evalsha(prefix, script_args);
    if (script.empty()) return std::optional<RankedSort>();
    const std::string key = prefix + redis::session_window_index(session_id);
    const std::string pattern = prefix + redis::memory_key("*");
    const std::string count = std::to_string(n);
    auto sent =
        pipelined->send_all({std::vector<std::string_view>(script.begin(), script.end()),
                             {"SORT", key, "BY", "nosort", "LIMIT", "0", count, "DESC", "GET", pattern}});
    if (!sent) return tl::unexpected(sent.error());
    std::string raw_error;
    auto described = (*sent)[0].get(&raw_error);
    if (!described && raw_error.rfind("NOSCRIPT", 0) == 0) {
      (*sent)[1].get();  // Redis lost its scripts: nothing ran; the caller runs the script, which reloads it
      return std::optional<RankedSort>();
    }
    if (!described) return tl::unexpected(described.error());
    raw_error.clear();
    auto memories = (*sent)[1].get(&raw_error);
    if (!memories && !raw_error.empty()) {
      spdlog::info("redis store: SORT ... GET refused ({}); digests read their memories in Lua", raw_error);
      sort_reads_.store(false, std::memory_order_relaxed);
      return std::optional<RankedSort>();
    }
    if (!memories) return tl::unexpected(memories.error());
    if ((*memories)->type != REDIS_REPLY_ARRAY) {
      return fail(ErrorCode::kInternal, "redis store: SORT answered in an unexpected shape");
    }
    return std::optional<RankedSort>(RankedSort{std::move(*described), std::move(*memories), n});
  }

  Result<std::vector<Memory>> query_memories(const MemoryQuery& query) override {
    if (auto ok = check_name("namespace", query.ns); !ok) return tl::unexpected(ok.error());
    std::vector<Memory> found;
    if (query.limit == 0) return found;
    // Every memory has a session and an agent: an empty one matches none (the script reads '' as no filter).
    if ((query.session_id && query.session_id->empty()) || (query.agent_id && query.agent_id->empty())) {
      return found;
    }
    std::string needle = query.content_contains ? redis::fold_case(*query.content_contains) : "";
    std::vector<std::string> trigrams;
    for (const auto& trigram : redis::needle_trigrams(needle, kMaxNeedleTrigrams)) {
      trigrams.push_back(trigram);
    }
    std::vector<std::string> tags = query.tags;
    std::sort(tags.begin(), tags.end());
    tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
    std::vector<std::string> types = query.types;
    std::sort(types.begin(), types.end());
    types.erase(std::unique(types.begin(), types.end()), types.end());
    // A needle under 3 bytes has no trigram: only a bounded number of candidates is searched.
    const bool short_needle = !needle.empty() && needle.size() < 3;
    const std::size_t batch = std::max<std::size_t>(options_.scan_batch, 1);

    const std::string prefix = redis::namespace_prefix(query.ns);
    auto walked = router_->run(prefix, [&](redis::Connection& connection) -> Result<void> {
      found.clear();  // a redirected walk starts again
      const auto deadline = redis::call_deadline(options_.command_timeout);
      std::string cursor = query.before_id.value_or("");
      std::size_t examined = 0;
      for (;;) {
        std::size_t budget = batch;
        if (short_needle) budget = std::min(budget, options_.short_needle_scan_limit - examined);
        if (budget == 0) break;
        std::vector<std::string> args = {std::to_string(query.now),
                                         cursor,
                                         std::to_string(query.limit - found.size()),
                                         std::to_string(budget),
                                         query.since ? std::to_string(*query.since) : "",
                                         query.until ? std::to_string(*query.until) : "",
                                         query.min_importance ? format_double(*query.min_importance) : "",
                                         needle,
                                         std::to_string(options_.candidate_list_max),
                                         query.exclude_superseded ? "1" : "0",
                                         query.session_id.value_or(""),
                                         query.agent_id.value_or("")};
        args.push_back(std::to_string(types.size()));
        args.insert(args.end(), types.begin(), types.end());
        args.push_back(std::to_string(trigrams.size()));
        args.insert(args.end(), trigrams.begin(), trigrams.end());
        args.push_back(std::to_string(tags.size()));
        args.insert(args.end(), tags.begin(), tags.end());
        auto reply = scripts_.query_memories.run(connection, prefix, args);
        if (!reply) return tl::unexpected(reply.error());
        auto slice = read_slice(reply->get());
        if (!slice) return tl::unexpected(slice.error());
        const redisReply* rows = reply->get();
        for (std::size_t i = 3; i < rows->elements; ++i) {
          auto memory = parse_memory(query.ns, rows->element[i]);
          if (!memory) return tl::unexpected(memory.error());
          found.push_back(std::move(*memory));
        }
        examined += slice->examined;
        if (!slice->more || found.size() >= query.limit) break;
        if (std::chrono::steady_clock::now() > deadline) return slow_query_error(examined);
        cursor = slice->last;
      }
      return {};
    });
    if (!walked) return tl::unexpected(walked.error());
    return found;
  }

  Result<bool> delete_memory(const std::string& ns, const std::string& id,
                             const std::string& agent) override {
    auto reply = run(scripts_.forget, ns, {id, std::to_string(wall_clock_ms()), agent}, Access::kWrite);
    if (!reply) return tl::unexpected(reply.error());
    const bool forgotten = reply_integer(reply->get()) != 0;
    if (forgotten) indexer_->wrote(ns);  // its postings entries go at a sweep (index_content)
    return forgotten;
  }

  Result<ChangePage> read_changes(const ChangeQuery& query) override {
    if (query.limit == 0) return fail(ErrorCode::kInvalidArgument, "limit must be at least 1");
    auto reply = run(scripts_.read_changes, query.ns,
                     redis::read_changes_args(query, options_.change_retention), Access::kRead);
    if (!reply) return tl::unexpected(reply.error());
    return redis::parse_change_page(reply->get(), query, options_.change_retention);
  }

  Result<std::size_t> purge_expired(UnixMillis now) override {
    auto namespaces = command(redis::kNamespacesKey, {"SMEMBERS", redis::kNamespacesKey});
    if (!namespaces) return tl::unexpected(namespaces.error());
    std::size_t purged = 0;
    const std::string now_text = std::to_string(now);
    const std::string batch = std::to_string(kPurgeBatch);
    const std::string oldest_kept =
        std::to_string(std::max<std::int64_t>(now - options_.change_retention.count(), 0));
    for (std::size_t i = 0; i < (*namespaces)->elements; ++i) {
      const std::string ns(reply_string((*namespaces)->element[i]));
      for (;;) {
        auto reply = run(scripts_.purge_expired, ns, {now_text, batch, oldest_kept}, Access::kWrite);
        if (!reply) return tl::unexpected(reply.error());
        auto removed = static_cast<std::size_t>(reply_integer(reply->get()));
        purged += removed;
        if (removed > 0) indexer_->wrote(ns);  // their postings entries go at a sweep (index_content)
        if (removed < kPurgeBatch) break;
      }
    }
    return purged;
  }

  Result<void> put_api_key(const ApiKey& key) override {
    if (auto ok = check_name("API key id", key.id); !ok) return tl::unexpected(ok.error());
    if (auto ok = check_name("API key hash", key.hash); !ok) return tl::unexpected(ok.error());
    auto reply = run_api_keys(scripts_.put_api_key,
                              {key.id, key.ns, key.hash, key.label, std::to_string(key.created_at),
                               key.revoked_at ? std::to_string(*key.revoked_at) : ""},
                              Access::kWrite);
    if (!reply) return tl::unexpected(reply.error());
    return {};
  }

  Result<std::optional<ApiKey>> find_api_key_by_hash(const std::string& hash) override {
    auto reply = run_api_keys(scripts_.find_api_key, {hash}, Access::kRead);
    if (!reply) return tl::unexpected(reply.error());
    if (is_empty_array(reply->get())) return std::optional<ApiKey>();
    return std::optional<ApiKey>(parse_api_key(reply->get()));
  }

  Result<std::vector<ApiKey>> list_api_keys(const std::optional<std::string>& ns) override {
    auto reply = run_api_keys(scripts_.list_api_keys, {ns.value_or("")}, Access::kRead);
    if (!reply) return tl::unexpected(reply.error());
    std::vector<ApiKey> keys;
    for (std::size_t i = 0; i < (*reply)->elements; ++i) keys.push_back(parse_api_key((*reply)->element[i]));
    return keys;
  }

  Result<bool> revoke_api_key(const std::string& id, UnixMillis at) override {
    auto reply = run_api_keys(scripts_.revoke_api_key, {id, std::to_string(at)}, Access::kWrite);
    if (!reply) return tl::unexpected(reply.error());
    return reply_integer(reply->get()) != 0;
  }

  // One subscriber per store multiplexes every watched namespace (redis_watcher.h). Returns once
  // subscribed (no later write is missed) or once an attempt failed (the subscriber has logged why and
  // keeps retrying in the background).
  std::unique_ptr<ChangeSubscription> watch(const std::string& ns, ChangeCallback callback) override {
    return subscriber_->watch(ns, std::move(callback));
  }

  // Whole-store enumerations (export, stats): redis_export.cpp.
  Result<std::vector<std::string>> list_namespaces() override {
    return on_node(redis::kNamespacesKey, Access::kRead,
                   [&](redis::Connection& connection) { return redis::list_namespaces(connection); });
  }
  Result<std::vector<Agent>> list_agents(const std::string& ns) override {
    if (auto ok = check_name("namespace", ns); !ok) return tl::unexpected(ok.error());
    return on_node(redis::namespace_prefix(ns), Access::kRead,
                   [&](redis::Connection& connection) { return redis::list_agents(connection, ns); });
  }
  Result<std::vector<TaskClaim>> list_task_claims(const std::string& ns, UnixMillis now) override {
    if (auto ok = check_name("namespace", ns); !ok) return tl::unexpected(ok.error());
    return on_node(redis::namespace_prefix(ns), Access::kRead, [&](redis::Connection& connection) {
      return redis::list_task_claims(connection, claim_scripts_, ns, now);
    });
  }
  Result<std::uint64_t> storage_bytes() override {
    return on_node(redis::kNamespacesKey, Access::kRead,
                   [&](redis::Connection& connection) { return redis::used_memory(connection); });
  }

  // Task claims: redis_claims.cpp.
  Result<ClaimOutcome> claim_task(const std::string& ns, const std::string& task_id,
                                  const std::string& holder_agent, const std::string& holder_session,
                                  UnixMillis lease_until, UnixMillis now,
                                  std::optional<std::int64_t> token) override {
    if (auto ok = check_name("namespace", ns); !ok) return tl::unexpected(ok.error());
    // A claim may be the first thing a namespace holds: export walks the registry.
    if (auto ok = register_namespace(ns); !ok) return tl::unexpected(ok.error());
    return on_node(redis::namespace_prefix(ns), Access::kWrite, [&](redis::Connection& connection) {
      return redis::claim_task(connection, claim_scripts_, ns, task_id, holder_agent, holder_session,
                               lease_until, now, token);
    });
  }

  Result<bool> release_task(const std::string& ns, const std::string& task_id,
                            const std::string& holder_agent, const std::string& holder_session,
                            UnixMillis now, std::optional<std::int64_t> token) override {
    return on_node(redis::namespace_prefix(ns), Access::kWrite, [&](redis::Connection& connection) {
      return redis::release_task(connection, claim_scripts_, ns, task_id, holder_agent, holder_session, now,
                                 token);
    });
  }

  Result<CompleteOutcome> complete_task(const std::string& ns, const std::string& task_id,
                                        std::optional<std::int64_t> token, const Memory& result,
                                        UnixMillis now) override {
    auto args = remember_args(result);
    if (!args) return tl::unexpected(args.error());
    auto outcome = on_node(redis::namespace_prefix(ns), Access::kWrite, [&](redis::Connection& connection) {
      return redis::complete_task(connection, claim_scripts_, ns, task_id, token, *args, now);
    });
    if (outcome) indexer_->wrote(ns);  // the result memory, if it was stored (else a step finds nothing)
    return outcome;
  }

  Result<bool> reopen_task(const std::string& ns, const std::string& task_id, const std::string& agent,
                           const std::string& session, UnixMillis now) override {
    return on_node(redis::namespace_prefix(ns), Access::kWrite, [&](redis::Connection& connection) {
      return redis::reopen_task(connection, claim_scripts_, ns, task_id, agent, session, now);
    });
  }

  Result<TaskRecord> get_task(const std::string& ns, const std::string& task_id, UnixMillis now) override {
    return on_node(redis::namespace_prefix(ns), Access::kRead, [&](redis::Connection& connection) {
      return redis::get_task(connection, claim_scripts_, ns, task_id, now);
    });
  }

  Result<std::optional<TaskClaim>> get_task_claim(const std::string& ns, const std::string& task_id,
                                                  UnixMillis now) override {
    return on_node(redis::namespace_prefix(ns), Access::kRead, [&](redis::Connection& connection) {
      return redis::get_task_claim(connection, claim_scripts_, ns, task_id, now);
    });
  }

 private:
  // The create_session script, creating `session` or (resume) returning the session to resume.
  Result<SessionOpening> create_or_resume(const Session& session, bool resume) {
    if (auto ok = check_name("namespace", session.ns); !ok) return tl::unexpected(ok.error());
    if (auto ok = check_name("session id", session.id); !ok) return tl::unexpected(ok.error());
    std::vector<std::string> args = {session.id,
                                     session.created_by,
                                     to_string(session.status),
                                     std::to_string(session.created_at),
                                     std::to_string(session.updated_at),
                                     session.closed_at ? std::to_string(*session.closed_at) : "",
                                     resume ? "1" : "0",
                                     std::to_string(session.metadata.size())};
    for (const auto& [key, value] : session.metadata) {
      args.push_back(key);
      args.push_back(value);
      args.push_back(redis::metadata_index(key, value));
    }
    auto reply = run(scripts_.create_session, session.ns, args, Access::kFirstWrite);
    if (!reply) return tl::unexpected(reply.error());
    const redisReply* r = reply->get();
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
      return fail(ErrorCode::kInternal, "redis store: create_session answered in an unexpected shape");
    }
    return SessionOpening{std::string(reply_string(r->element[0])), reply_integer(r->element[1]) == 1};
  }

  // kRead: a lookup. kWrite: acknowledged once --redis-min-replicas replicas have it (Router::write).
  // kFirstWrite: a write that may be a namespace's first; it first records the namespace in the
  // registry that purge_expired walks (once per namespace and process).
  enum class Access { kRead, kWrite, kFirstWrite };

  // Runs a script in the namespace, on the node that holds it.
  Result<ReplyPtr> run(redis::Script& script, const std::string& ns, const std::vector<std::string>& args,
                       Access access) {
    if (auto ok = check_name("namespace", ns); !ok) return tl::unexpected(ok.error());
    if (access == Access::kFirstWrite) {
      if (auto ok = register_namespace(ns); !ok) return tl::unexpected(ok.error());
    }
    return run_script(script, redis::namespace_prefix(ns), args, access);
  }

  Result<ReplyPtr> run_api_keys(redis::Script& script, const std::vector<std::string>& args, Access access) {
    return run_script(script, std::string(redis::kApiKeysPrefix), args, access);
  }

  // Runs `work` (a function of a Connection returning a Result) on the node that holds `key` (a write:
  // acknowledged as Router::write says), and returns what it returned.
  template <class Work>
  auto on_node(std::string_view key, Access access, Work&& work)
      -> decltype(work(std::declval<redis::Connection&>())) {
    using Out = decltype(work(std::declval<redis::Connection&>()));
    // Nothing this thread sends overtakes the writes it sent without waiting (SentWrites): Redis
    // executes what follows them on the socket they went on after them; on another connection they are
    // read first.
    SentWrites* sent = t_sent_writes && &t_sent_writes->store_ == this ? t_sent_writes : nullptr;
    std::optional<Out> out;
    auto step = [&](redis::Connection& connection) -> Result<void> {
      if (sent && !sent->all_sent_on(connection)) take_replies(*sent);
      out.emplace(work(connection));
      if (!*out) return tl::unexpected(out->error());
      return {};
    };
    auto done = access == Access::kRead ? router_->run(key, step) : router_->write(key, step);
    if (!done) return tl::unexpected(done.error());
    return std::move(*out);
  }

  Result<ReplyPtr> run_script(redis::Script& script, const std::string& prefix,
                              const std::vector<std::string>& args, Access access) {
    return on_node(prefix, access,
                   [&](redis::Connection& connection) { return script.run(connection, prefix, args); });
  }

  // One command on the node that holds `key`.
  Result<ReplyPtr> command(std::string_view key, const std::vector<std::string_view>& args,
                           Access access = Access::kRead) {
    return on_node(key, access, [&](redis::Connection& connection) { return connection.command(args); });
  }

  Result<ReplyPtr> hgetall(const std::string& ns, const std::string& suffix) {
    if (auto ok = check_name("namespace", ns); !ok) return tl::unexpected(ok.error());
    const std::string key = redis::namespace_prefix(ns) + suffix;
    return command(key, {"HGETALL", key});
  }

  Result<void> register_namespace(const std::string& ns) {
    {
      std::lock_guard lock(namespaces_mutex_);
      if (namespaces_.count(ns)) return {};
    }
    // Not waited for by replicas: an idempotent hint for purge_expired, not a caller's data; a
    // registration lost in a failover is made again by the next process writing there.
    auto reply = command(redis::kNamespacesKey, {"SADD", redis::kNamespacesKey, ns});
    if (!reply) return tl::unexpected(reply.error());
    std::lock_guard lock(namespaces_mutex_);
    namespaces_.insert(ns);
    return {};
  }

  tl::unexpected<Error> slow_query_error(std::size_t examined) const {
    return fail(ErrorCode::kTimeout, "the query examined " + std::to_string(examined) +
                                         " candidates in redis store " + describe() +
                                         " without filling a page within " +
                                         std::to_string(options_.command_timeout.count()) +
                                         " ms; narrow it (session_id, tags, type, since)");
  }

  // Memories per index_content script, and postings entries added: about 0.7 ms of Redis time (1.3 ms
  // p99, under a write load at W=16), which every other client of that Redis waits for. A count of
  // memories alone did not bound it: 256 memories of 56 KB (1,550 distinct trigrams each) held Redis
  // for 0.8 s. At 256 entries a step, the indexer fell behind a W=16 burst of remembers (23k pending
  // after 50k); at 512 it keeps up (2k). And the postings entries a step of their sweep reads.
  static constexpr std::size_t kIndexBatch = 256;
  static constexpr std::size_t kIndexAdditions = 512;
  static constexpr std::size_t kSweepEntries = 2048;
  // The entries of the next step, by how many memories the last one left pending: kIndexAdditions, and
  // that again for every 512 pending, up to four times (about 2.8 ms of Redis time). The indexer gets
  // one step in for every round of the other calls on the socket, so a sustained W=16 load of remembers
  // outran steps of 512 entries (38k pending after 1M of them, each checked by content by every search
  // meanwhile); larger steps hold the other calls longer only while memories wait in numbers.
  static std::size_t index_additions(long long backlog) {
    return kIndexAdditions * static_cast<std::size_t>(std::clamp<long long>(backlog / 512 + 1, 1, 4));
  }
  long long index_backlog_ = 0;  // what the indexer's last step left pending (its steps run one at a time)

  const RedisOptions options_;
  const redis::Endpoint endpoint_;
  std::unique_ptr<redis::Router> router_;          // the one server, or the cluster's masters
  std::shared_ptr<redis::Subscriber> subscriber_;  // live events (watch); stopped before router_ goes
  redis::Scripts scripts_;
  redis::ClaimScripts claim_scripts_;
  std::mutex namespaces_mutex_;
  std::set<std::string> namespaces_;          // registered in kNamespacesKey by this process
  std::unique_ptr<DeferredIndexer> indexer_;  // the content index, after the writes (scripts_.index_content)
  std::atomic<bool> sort_reads_{true};        // SORT ... GET allowed (send_ranked_sort)
  // The mean weight of the memories the last weighed ranked read returned (sort_slice); 0: none yet.
  std::atomic<std::size_t> mean_ranked_weight_{0};
};

}  // namespace

Result<std::unique_ptr<Store>> open_redis_store(const RedisOptions& options) {
  if (options.connect_timeout.count() <= 0 || options.command_timeout.count() <= 0) {
    return fail(ErrorCode::kInvalidArgument, "redis connect and command timeouts must be positive");
  }
  if (options.pool_size == 0)
    return fail(ErrorCode::kInvalidArgument, "the redis connection pool needs at least 1");
  if (options.unix_path.empty() && options.host.empty()) {
    return fail(ErrorCode::kInvalidArgument, "a redis store needs a host or a unix socket path");
  }
  // hiredis writes with write(2): a Redis that closed the connection would raise SIGPIPE, whose
  // default action ends the process. A vanished Redis must be an error value, so unless the program
  // chose a disposition of its own, ignore SIGPIPE.
  struct sigaction current {};
  if (::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL)
    ::signal(SIGPIPE, SIG_IGN);

  auto store = std::make_unique<RedisStore>(options);
  if (auto alive = store->ping(); !alive) {
    spdlog::warn("{}; starting anyway: memory calls fail with \"unavailable\" until it is reachable",
                 alive.error().message);
  } else {
    spdlog::debug("redis store {} is reachable", store->describe());
  }
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace memtrace
