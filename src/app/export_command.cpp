// `memtrace-mcp export`: the store as JSON Lines on stdout (docs/export-format.md), and the dispatch
// of the data commands.
#include <cstdio>
#include <string>

#include <spdlog/spdlog.h>

#include "app/data_commands.h"
#include "app/export_format.h"
#include "app/open_store.h"
#include "app/store_walk.h"
#include "core/clock.h"
#include "memory/time_text.h"

namespace memtrace::app {
namespace {

void print_line(const std::string& line) {
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
}

}  // namespace

int run_data_command(const Config& config) {
  const std::string& name = config.data.name;
  if (name == "export") return run_export_command(config);
  if (name == "import") return run_import_command(config);
  if (name == "stats") return run_stats_command(config);
  if (name == "context") return run_context_command(config);
  spdlog::error("unknown command \"{}\"", name);
  return 2;
}

int run_export_command(const Config& config) {
  SystemClock clock;
  const UnixMillis now = clock.now_ms();
  ExportFilter filter;
  if (!config.data.ns.empty()) filter.ns = config.data.ns;
  if (!config.data.session_id.empty()) filter.session_id = config.data.session_id;
  if (!config.data.since.empty()) {
    auto since = parse_time_bound("--since", config.data.since, now);
    if (!since) {
      spdlog::error("{}", since.error().message);
      return 2;
    }
    filter.since = *since;
  }
  auto store = open_store(config.store);
  if (!store) {
    spdlog::error("cannot open the store: {}", store.error().message);
    return 1;
  }
  auto namespaces = namespaces_to_walk(**store, filter);
  if (!namespaces) {
    spdlog::error("cannot list the namespaces of {}: {}", (*store)->describe(), namespaces.error().message);
    return 1;
  }

  print_line(header_line(filter));
  Progress progress("records read");
  std::size_t agents = 0, sessions = 0, memories = 0, claims = 0;
  for (const auto& ns : *namespaces) {
    auto contents = read_namespace(**store, ns, filter, now, progress);
    if (!contents) {
      progress.done();
      spdlog::error("cannot read namespace \"{}\" of {}: {}", ns, (*store)->describe(),
                    contents.error().message);
      return 1;
    }
    for (const auto& r : contents->agents) print_line(record_line(r));
    for (const auto& r : contents->sessions) print_line(record_line(r));
    for (const auto& r : contents->memories) print_line(record_line(r));
    for (const auto& r : contents->claims) print_line(record_line(r));
    agents += contents->agents.size();
    sessions += contents->sessions.size();
    memories += contents->memories.size();
    claims += contents->claims.size();
  }
  progress.done();
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    spdlog::error("cannot write the export to stdout");
    return 1;
  }
  spdlog::info("exported {} namespaces from {}: {} agents, {} sessions, {} memories, {} task claims",
               namespaces->size(), (*store)->describe(), agents, sessions, memories, claims);
  return 0;
}

}  // namespace memtrace::app
