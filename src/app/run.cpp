#include "app/run.h"

#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "app/data_commands.h"
#include "app/keys_command.h"
#include "app/open_store.h"
#include "app/serve_http.h"
#ifdef MEMTRACE_CONFORMANCE_FIXTURES
#include "conformance/fixtures.h"
#endif
#include "core/thread_name.h"
#include "mcp/server.h"
#include "mcp/session_tools.h"
#include "memory/engine.h"
#include "memory/sessions.h"
#include "memory/time_text.h"
#include "transport/stdio_transport.h"

namespace memtrace::app {
namespace {

void setup_logging(const std::string& level) {
  // stdout belongs to the protocol: every log line goes to stderr.
  auto logger = spdlog::stderr_color_mt("memtrace");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(logger);
}

// Removes expired memories now and then, so that TTL frees space as well as hiding them.
class ExpiryPurger {
 public:
  ExpiryPurger(Store& store, const Clock& clock)
      : thread_([this, &store, &clock] {
          name_this_thread("mt-purge");
          std::unique_lock lock(mutex_);
          do {
            lock.unlock();
            if (auto purged = store.purge_expired(clock.now_ms()); purged && *purged > 0) {
              spdlog::debug("purged {} expired memories", *purged);
            }
            lock.lock();
          } while (!wake_.wait_for(lock, std::chrono::minutes(1), [this] { return stop_; }));
        }) {}
  ~ExpiryPurger() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

// --session-metadata: resume the newest active session with these pairs (or --session's id), else
// create it, before serving, so that a host configuration can pin a server to one customer or task.
Result<std::string> open_configured_session(Engine& engine, const Config& config) {
  nlohmann::json pairs = nlohmann::json::object();
  for (const auto& pair : config.session_metadata) {
    auto eq = pair.find('=');
    pairs[pair.substr(0, eq)] = pair.substr(eq + 1);
  }
  Caller caller;
  caller.ns = config.ns;
  caller.agent_id = config.agent.empty() ? "memtrace-mcp" : config.agent;
  SessionCreateInput input;
  input.metadata = mcp::metadata_from_json(pairs);
  if (!config.session_id.empty()) input.session_id = config.session_id;
  auto opened = create_or_resume(engine, caller, input);
  if (!opened) return tl::unexpected(opened.error());
  spdlog::info("{} session {} ({})", opened->resumed ? "resumed" : "created", opened->session.session.id,
               mcp::describe_metadata(opened->session.session.metadata));
  return opened->session.session.id;
}

}  // namespace

void exit_abandoning_calls(std::chrono::milliseconds waited) {
  spdlog::error(
      "calls still running {} ms after the server began to stop were abandoned; exiting with status {}",
      waited.count(), kExitCallsAbandoned);
  spdlog::default_logger()->flush();
  ::_exit(kExitCallsAbandoned);
}

int run(const Config& config) {
  setup_logging(config.log_level);
  ::signal(SIGPIPE, SIG_IGN);  // a closed pipe is an error value from write(), not a dead process
  // Replies of tens of KiB come and go on every call: without a trim threshold glibc gives the top of the
  // heap back to the kernel after each and asks for it again (brk, page faults) on the next.
  ::mallopt(M_TRIM_THRESHOLD, 4 << 20);
  ::mallopt(M_TOP_PAD, 1 << 20);
  // Setting those fixes glibc's mmap threshold at 128 KiB, and a block above it is a fresh mapping each
  // time, faulted in page by page and unmapped at free: the session context's rows (about 450 KiB for
  // a 1,000-memory session) cost 3.5 ms of a 4.9 ms read that way. Up to 4 MiB come from the heap.
  ::mallopt(M_MMAP_THRESHOLD, 4 << 20);
  if (!config.keys.action.empty()) return run_keys_command(config);
  if (!config.data.name.empty()) return run_data_command(config);

  StoreOpenOptions store_options;
  store_options.redis_connect_timeout = std::chrono::milliseconds(config.redis_connect_timeout_ms);
  store_options.redis_command_timeout = std::chrono::milliseconds(config.redis_command_timeout_ms);
  store_options.redis_min_replicas = config.redis_min_replicas;
  store_options.redis_layout = config.redis_layout;
  store_options.max_memories_per_session = config.max_memories_per_session;
  store_options.sqlite_cache_mib = config.sqlite_cache_mib;
  store_options.change_retention =
      std::chrono::milliseconds(parse_duration(config.change_retention).value_or(0));
  auto store = open_store(config.store, store_options);
  if (!store) {
    spdlog::critical("cannot open the memory store: {}", store.error().message);
    return 1;
  }

  SystemClock clock;
  EngineOptions engine_options;
  engine_options.max_content_bytes = config.max_content_bytes;
  engine_options.dedup_window_ms = dedup_window_ms(config.dedup_window).value_or(0);  // checked by the parser
  Engine engine(**store, clock, engine_options);

  mcp::ServerOptions server_options;
  server_options.version = MEMTRACE_VERSION;
  server_options.agent = config.agent;
  server_options.ns = config.ns;
  server_options.worker_threads = config.workers;
  // One session per server start unless pinned: the session is created on its first write.
  // Over HTTP every client session gets its own memtrace session unless one is pinned.
  server_options.session_id =
      config.session_id.empty() && config.transport != "http" ? engine.new_id() : config.session_id;
  if (!config.session_metadata.empty()) {
    auto session = open_configured_session(engine, config);
    if (!session) {
      spdlog::critical("cannot open the session given by --session-metadata: {}", session.error().message);
      return 1;
    }
    server_options.session_id = *session;
  }
  server_options.context_in_instructions = config.context_in_instructions;
  server_options.instructions_max_tokens = config.instructions_max_tokens;
  mcp::Server server(engine, server_options);
  if (config.conformance_fixtures) {
#ifdef MEMTRACE_CONFORMANCE_FIXTURES
    conformance::register_conformance_fixtures(server);
#else
    spdlog::error(
        "--conformance-fixtures: this build has no conformance fixtures (they are for testing; configure "
        "with -DMEMTRACE_CONFORMANCE_FIXTURES=ON)");
    return 2;
#endif
  }
  if (config.transport == "http") {
    ExpiryPurger purger(**store, clock);
    return serve_http_transport(server, **store, config);
  }

  if (::isatty(STDIN_FILENO)) {
    spdlog::info("memtrace-mcp {}: an MCP memory server, waiting for a client on stdin (Ctrl-D ends it).",
                 MEMTRACE_VERSION);
    spdlog::info("memory lives in {}", (*store)->describe());
    spdlog::info("a host launches it as a stdio server, e.g.: claude mcp add memtrace -- memtrace-mcp");
    spdlog::info("see memtrace-mcp --help for options");
  } else {
    spdlog::info("memtrace-mcp {} serving stdio; store {}; session {}", MEMTRACE_VERSION,
                 (*store)->describe(), server_options.session_id);
  }

  ExpiryPurger purger(**store, clock);
  transport::StdioOptions stdio;
  stdio.max_line_bytes = config.max_line_bytes;
  if (transport::serve_stdio(server, stdio) == transport::ServeEnd::kAbandoned) {
    exit_abandoning_calls(stdio.drain_timeout);
  }
  return 0;
}

}  // namespace memtrace::app
