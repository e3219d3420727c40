// Walking a namespace for export and stats (store_walk.h).
#include "app/store_walk.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>

namespace memtrace::app {
namespace {

constexpr std::size_t kPage = 200;

long long steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Progress::Progress(std::string what) : what_(std::move(what)), terminal_(::isatty(STDERR_FILENO) == 1) {}

void Progress::add(std::size_t n) {
  count_ += n;
  if (!terminal_) return;
  const long long now = steady_ms();
  if (shown_ && now - last_shown_ms_ < 200) return;
  last_shown_ms_ = now;
  shown_ = true;
  std::fprintf(stderr, "\r%s: %zu", what_.c_str(), count_);
  std::fflush(stderr);
}

void Progress::done() {
  if (!shown_) return;
  std::fprintf(stderr, "\r%s: %zu\n", what_.c_str(), count_);
  std::fflush(stderr);
  shown_ = false;
}

Result<std::vector<std::string>> namespaces_to_walk(Store& store, const ExportFilter& filter) {
  if (filter.ns) return std::vector<std::string>{*filter.ns};
  return store.list_namespaces();
}

Result<NamespaceContents> read_namespace(Store& store, const std::string& ns, const ExportFilter& filter,
                                         UnixMillis now, Progress& progress) {
  NamespaceContents contents;
  contents.ns = ns;

  // Memories, newest first in pages, then turned oldest first.
  MemoryQuery query;
  query.ns = ns;
  query.session_id = filter.session_id;
  query.since = filter.since;
  query.now = now;
  query.limit = kPage;
  for (;;) {
    auto page = store.query_memories(query);
    if (!page) return tl::unexpected(page.error());
    if (page->empty()) break;
    query.before_id = page->back().id;
    progress.add(page->size());
    for (auto& memory : *page) contents.memories.push_back(std::move(memory));
  }
  std::reverse(contents.memories.begin(), contents.memories.end());

  std::set<std::string> named_sessions;
  std::set<std::string> named_agents;
  for (const auto& memory : contents.memories) {
    named_sessions.insert(memory.session_id);
    named_agents.insert(memory.agent_id);
  }

  auto claims = store.list_task_claims(ns, now);
  if (!claims) return tl::unexpected(claims.error());
  for (auto& claim : *claims) {
    if (filter.session_id && claim.holder_session != *filter.session_id) continue;
    if (filter.since && claim.claimed_at < *filter.since) continue;
    named_agents.insert(claim.holder_agent);
    contents.claims.push_back(std::move(claim));
  }
  progress.add(contents.claims.size());

  // Sessions.
  if (filter.session_id) {
    auto session = store.get_session(ns, *filter.session_id);
    if (!session) return tl::unexpected(session.error());
    if (*session) contents.sessions.push_back(std::move(**session));
  } else {
    SessionQuery sessions;
    sessions.ns = ns;
    sessions.now = now;
    sessions.limit = kPage;
    for (;;) {
      auto page = store.find_sessions(sessions);
      if (!page) return tl::unexpected(page.error());
      if (page->empty()) break;
      sessions.before_id = page->back().session.id;
      for (auto& summary : *page) {
        const Session& s = summary.session;
        if (!filter.since || s.updated_at >= *filter.since || named_sessions.count(s.id)) {
          contents.sessions.push_back(std::move(summary.session));
        }
      }
    }
    std::reverse(contents.sessions.begin(), contents.sessions.end());
  }
  progress.add(contents.sessions.size());
  for (const auto& session : contents.sessions) named_agents.insert(session.created_by);

  // Agents: all of them unless the export is narrowed, then those the records name (if stored).
  auto agents = store.list_agents(ns);
  if (!agents) return tl::unexpected(agents.error());
  for (auto& agent : *agents) {
    const bool narrowed = filter.session_id || filter.since;
    if (!narrowed || named_agents.count(agent.id) ||
        (!filter.session_id && agent.created_at >= *filter.since)) {
      contents.agents.push_back(std::move(agent));
    }
  }
  progress.add(contents.agents.size());
  return contents;
}

}  // namespace memtrace::app
