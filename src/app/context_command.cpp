// `memtrace-mcp context SESSION`: the session's context digest on stdout, rendered exactly as the
// memtrace_session_context tool renders it (memory/context.h).
#include <cstdio>

#include <spdlog/spdlog.h>

#include "app/data_commands.h"
#include "app/open_store.h"
#include "core/clock.h"
#include "memory/context.h"
#include "memory/engine.h"

namespace memtrace::app {

int run_context_command(const Config& config) {
  auto store = open_store(config.store);
  if (!store) {
    spdlog::error("cannot open the store: {}", store.error().message);
    return 1;
  }
  SystemClock clock;
  Engine engine(**store, clock);
  Caller caller;
  caller.ns = config.data.ns.empty() ? config.ns : config.data.ns;
  caller.agent_id = config.agent.empty() ? "memtrace-mcp" : config.agent;
  ContextRequest request;
  if (!config.data.since.empty()) request.since = config.data.since;
  request.max_tokens = config.data.max_tokens;
  auto digest = session_context(engine, caller, config.data.session_id, request);
  if (!digest) {
    spdlog::error("{}", digest.error().message);
    return 1;
  }
  std::fwrite(digest->text.data(), 1, digest->text.size(), stdout);
  if (digest->text.empty() || digest->text.back() != '\n') std::fputc('\n', stdout);
  std::fflush(stdout);
  return 0;
}

}  // namespace memtrace::app
