// `memtrace-mcp stats`: how much each namespace holds, by session, agent and type, and the store's
// size, as plain text on stdout.
#include <cstdio>
#include <map>
#include <string>

#include <spdlog/spdlog.h>

#include "app/data_commands.h"
#include "app/open_store.h"
#include "app/store_walk.h"
#include "core/clock.h"

namespace memtrace::app {
namespace {

void print_counts(const char* title, const std::map<std::string, std::size_t>& counts) {
  std::printf("  %s:\n", title);
  for (const auto& [name, count] : counts) std::printf("    %-40s %zu\n", name.c_str(), count);
}

}  // namespace

int run_stats_command(const Config& config) {
  SystemClock clock;
  const UnixMillis now = clock.now_ms();
  auto store = open_store(config.store);
  if (!store) {
    spdlog::error("cannot open the store: {}", store.error().message);
    return 1;
  }
  ExportFilter filter;
  if (!config.data.ns.empty()) filter.ns = config.data.ns;
  auto namespaces = namespaces_to_walk(**store, filter);
  if (!namespaces) {
    spdlog::error("cannot list the namespaces of {}: {}", (*store)->describe(), namespaces.error().message);
    return 1;
  }
  std::printf("store: %s\n", (*store)->describe().c_str());
  if (auto bytes = (*store)->storage_bytes(); bytes) {
    std::printf("size: %llu bytes\n", static_cast<unsigned long long>(*bytes));
  } else {
    spdlog::warn("cannot measure the store: {}", bytes.error().message);
  }
  std::printf("namespaces: %zu\n", namespaces->size());
  Progress progress("records read");
  for (const auto& ns : *namespaces) {
    auto contents = read_namespace(**store, ns, filter, now, progress);
    if (!contents) {
      progress.done();
      spdlog::error("cannot read namespace \"{}\": {}", ns, contents.error().message);
      return 1;
    }
    std::map<std::string, std::size_t> by_session, by_agent, by_type;
    std::size_t active = 0;
    for (const auto& session : contents->sessions) {
      by_session[session.id];  // sessions without memories count 0
      if (session.status == SessionStatus::kActive) ++active;
    }
    for (const auto& agent : contents->agents) by_agent[agent.id];
    for (const auto& memory : contents->memories) {
      ++by_session[memory.session_id];
      ++by_agent[memory.agent_id];
      ++by_type[memory.type];
    }
    progress.done();
    std::printf("\nnamespace %s: %zu memories, %zu sessions (%zu active), %zu agents, %zu task claims\n",
                ns.c_str(), contents->memories.size(), contents->sessions.size(), active,
                contents->agents.size(), contents->claims.size());
    print_counts("memories by type", by_type);
    print_counts("memories by agent", by_agent);
    print_counts("memories by session", by_session);
  }
  std::fflush(stdout);
  return 0;
}

}  // namespace memtrace::app
