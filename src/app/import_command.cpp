// `memtrace-mcp import`: reads an export (docs/export-format.md) from stdin into --store.
//
// Everything is read and checked first (every line, and each memory's session, in the file or the
// store); one refused line refuses the whole input, so nothing is half-written by a bad file. Then the
// records are written, on SQLite in one transaction (a write batch), on Redis each record atomically
// on its own. A record whose id is already in the store is left as it is, so importing twice changes
// nothing; ids and times are kept.
#include <cstdio>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "app/data_commands.h"
#include "app/export_format.h"
#include "app/open_store.h"
#include "app/store_walk.h"
#include "core/clock.h"

namespace memtrace::app {
namespace {

template <class T>
struct Numbered {
  std::size_t line = 0;
  T record;
};

struct Input {
  std::vector<Numbered<Agent>> agents;
  std::vector<Numbered<Session>> sessions;
  std::vector<Numbered<Memory>> memories;
  std::vector<Numbered<TaskClaim>> claims;
};

struct Tally {
  std::size_t added = 0;
  std::size_t present = 0;
  std::size_t expired = 0;
  std::size_t conflicting = 0;
};

std::string describe(const char* what, const Tally& tally) {
  std::string out = std::to_string(tally.added) + " " + what + " added, " + std::to_string(tally.present) +
                    " already present";
  if (tally.expired) out += ", " + std::to_string(tally.expired) + " expired (skipped)";
  if (tally.conflicting) out += ", " + std::to_string(tally.conflicting) + " held by another holder (kept)";
  return out;
}

constexpr std::size_t kMaxReportedErrors = 20;

}  // namespace

int run_import_command(const Config& config) {
  SystemClock clock;
  const UnixMillis now = clock.now_ms();

  // 1. Read and decode every line.
  Input input;
  std::vector<std::string> errors;
  auto refuse = [&errors](std::size_t line, const std::string& why) {
    errors.push_back("line " + std::to_string(line) + ": " + why);
  };
  std::string line;
  std::size_t number = 0;
  bool header_seen = false;
  Progress reading("lines read");
  while (std::getline(std::cin, line)) {
    ++number;
    reading.add();
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!header_seen) {
      header_seen = true;
      if (auto why = check_header(line); !why.empty()) refuse(number, why);
      continue;
    }
    if (line.find_first_not_of(" \t") == std::string::npos) continue;  // blank lines are allowed
    auto decoded = decode_record(line);
    if (!decoded.record) {
      refuse(number, decoded.error);
      continue;
    }
    std::visit(
        [&](auto& record) {
          using T = std::decay_t<decltype(record)>;
          if constexpr (std::is_same_v<T, Agent>) input.agents.push_back({number, std::move(record)});
          if constexpr (std::is_same_v<T, Session>) input.sessions.push_back({number, std::move(record)});
          if constexpr (std::is_same_v<T, Memory>) input.memories.push_back({number, std::move(record)});
          if constexpr (std::is_same_v<T, TaskClaim>) input.claims.push_back({number, std::move(record)});
        },
        *decoded.record);
  }
  reading.done();
  if (std::cin.bad()) {
    spdlog::error("cannot read stdin");
    return 1;
  }
  if (!header_seen) refuse(1, "the input is empty; an export starts with its header line");

  StoreOpenOptions store_options;
  store_options.redis_layout = config.redis_layout;  // the namespace it fills may be new
  auto store = open_store(config.store, store_options);
  if (!store) {
    spdlog::error("cannot open the store: {}", store.error().message);
    return 1;
  }

  // 2. Check what the store must agree with: each memory's session is in the file or the store, and a
  // memory still to be added does not go into a session the store holds closed.
  std::map<std::pair<std::string, std::string>, const Session*> file_sessions;
  for (const auto& s : input.sessions) file_sessions[{s.record.ns, s.record.id}] = &s.record;
  std::map<std::pair<std::string, std::string>, std::optional<Session>> stored_sessions;
  auto stored_session = [&](const std::string& ns, const std::string& id) -> Result<std::optional<Session>> {
    auto key = std::make_pair(ns, id);
    if (auto it = stored_sessions.find(key); it != stored_sessions.end()) return it->second;
    auto got = (*store)->get_session(ns, id);
    if (!got) return tl::unexpected(got.error());
    stored_sessions[key] = *got;
    return *got;
  };
  std::set<std::size_t> memories_to_add;  // indexes into input.memories
  for (std::size_t i = 0; i < input.memories.size() && errors.size() < kMaxReportedErrors; ++i) {
    const auto& [at, memory] = input.memories[i];
    if (memory.expires_at && *memory.expires_at <= now) continue;
    auto existing = (*store)->get_memory(memory.ns, memory.id, now);
    if (!existing) {
      spdlog::error("cannot read {}: {}", (*store)->describe(), existing.error().message);
      return 1;
    }
    if (*existing) continue;
    memories_to_add.insert(i);
    auto in_store = stored_session(memory.ns, memory.session_id);
    if (!in_store) {
      spdlog::error("cannot read {}: {}", (*store)->describe(), in_store.error().message);
      return 1;
    }
    if (*in_store) {
      if ((*in_store)->status == SessionStatus::kClosed) {
        refuse(at, "memory " + memory.id + " belongs to session " + memory.session_id +
                       ", which is closed in the store; a closed session takes no new memories");
      }
    } else if (!file_sessions.count({memory.ns, memory.session_id})) {
      refuse(at, "memory " + memory.id + " belongs to session " + memory.session_id +
                     ", which is neither in the input nor in the store");
    }
  }
  if (!errors.empty()) {
    for (std::size_t i = 0; i < errors.size() && i < kMaxReportedErrors; ++i) spdlog::error("{}", errors[i]);
    if (errors.size() > kMaxReportedErrors) spdlog::error("... and more");
    spdlog::error("import refused: nothing was written to {}", (*store)->describe());
    return 1;
  }

  // 3. Write: agents, sessions (open while their memories land), memories, closings, claims.
  auto batch = (*store)->begin_batch();
  auto failed = [&](std::size_t at, const Error& error) {
    spdlog::error("line {}: {}", at, error.message);
    if (batch) {
      spdlog::error("import failed: nothing was written to {}", (*store)->describe());
    } else {
      spdlog::error(
          "import stopped: the records before line {} were written to {}; importing the same input "
          "again completes it",
          at, (*store)->describe());
    }
    return 1;
  };
  Progress writing("records written");
  Tally agents, sessions, memories, claims;
  for (const auto& [at, agent] : input.agents) {
    writing.add();
    auto existing = (*store)->get_agent(agent.ns, agent.id);
    if (!existing) return failed(at, existing.error());
    if (*existing) {
      ++agents.present;
      continue;
    }
    if (auto put = (*store)->upsert_agent(agent); !put) return failed(at, put.error());
    ++agents.added;
  }
  std::set<std::pair<std::string, std::string>> receiving;  // sessions that get memories
  for (std::size_t i : memories_to_add) {
    receiving.insert({input.memories[i].record.ns, input.memories[i].record.session_id});
  }
  std::vector<const Numbered<Session>*> to_close;
  for (const auto& numbered : input.sessions) {
    writing.add();
    const auto& [at, session] = numbered;
    auto existing = stored_session(session.ns, session.id);
    if (!existing) return failed(at, existing.error());
    if (*existing) {
      ++sessions.present;
      continue;
    }
    Session opened = session;
    if (session.status == SessionStatus::kClosed && receiving.count({session.ns, session.id})) {
      // Created open so that its memories can land, and closed at its time afterwards.
      opened.status = SessionStatus::kActive;
      opened.closed_at.reset();
      to_close.push_back(&numbered);
    }
    if (auto created = (*store)->create_session(opened); !created) return failed(at, created.error());
    ++sessions.added;
  }
  for (std::size_t i = 0; i < input.memories.size(); ++i) {
    writing.add();
    const auto& [at, memory] = input.memories[i];
    if (memory.expires_at && *memory.expires_at <= now) {
      ++memories.expired;
    } else if (!memories_to_add.count(i)) {
      ++memories.present;
    } else {
      if (auto inserted = (*store)->insert_memory(memory); !inserted) return failed(at, inserted.error());
      ++memories.added;
    }
  }
  for (const auto* numbered : to_close) {
    const Session& session = numbered->record;
    if (auto closed = (*store)->close_session(session.ns, session.id, *session.closed_at); !closed) {
      return failed(numbered->line, closed.error());
    }
  }
  for (const auto& [at, claim] : input.claims) {
    writing.add();
    if (claim.lease_until <= now) {
      ++claims.expired;
      continue;
    }
    auto current = (*store)->get_task_claim(claim.ns, claim.task_id, now);
    if (!current) return failed(at, current.error());
    if (*current && (*current)->holder_agent == claim.holder_agent &&
        (*current)->holder_session == claim.holder_session && (*current)->lease_until == claim.lease_until) {
      ++claims.present;
      continue;
    }
    if (*current) {
      ++claims.conflicting;
      continue;
    }
    // Taken as of its own claimed_at, so that the claim keeps its times.
    auto taken = (*store)->claim_task(claim.ns, claim.task_id, claim.holder_agent, claim.holder_session,
                                      claim.lease_until, claim.claimed_at);
    if (!taken) return failed(at, taken.error());
    ++(taken->claimed ? claims.added : claims.conflicting);
  }
  if (batch) {
    if (auto committed = batch->commit(); !committed) {
      spdlog::error("import failed: {}; nothing was written to {}", committed.error().message,
                    (*store)->describe());
      return 1;
    }
  }
  writing.done();
  spdlog::info("imported into {}: {}; {}; {}; {}", (*store)->describe(), describe("agents", agents),
               describe("sessions", sessions), describe("memories", memories),
               describe("task claims", claims));
  return 0;
}

}  // namespace memtrace::app
