#include "app/run.h"

#include <signal.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "app/open_store.h"
#include "mcp/server.h"
#include "memory/engine.h"
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
  ExpiryPurger(Store& store, const Clock& clock) : thread_([this, &store, &clock] {
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

}  // namespace

int run(const Config& config) {
  setup_logging(config.log_level);
  ::signal(SIGPIPE, SIG_IGN);  // a closed pipe is an error value from write(), not a dead process

  auto store = open_store(config.store);
  if (!store) {
    spdlog::critical("cannot open the memory store: {}", store.error().message);
    return 1;
  }

  SystemClock clock;
  EngineOptions engine_options;
  engine_options.max_content_bytes = config.max_content_bytes;
  Engine engine(**store, clock, engine_options);

  mcp::ServerOptions server_options;
  server_options.version = MEMTRACE_VERSION;
  server_options.agent = config.agent;
  server_options.ns = config.ns;
  server_options.worker_threads = config.workers;
  // One session per server start unless pinned: the session is created on its first write.
  server_options.session_id = config.session_id.empty() ? engine.new_id() : config.session_id;
  mcp::Server server(engine, server_options);

  if (::isatty(STDIN_FILENO)) {
    spdlog::info("memtrace-mcp {}: an MCP memory server, waiting for a client on stdin (Ctrl-D ends it).",
                 MEMTRACE_VERSION);
    spdlog::info("memory lives in {}", (*store)->describe());
    spdlog::info("a host launches it as a stdio server, e.g.: claude mcp add memtrace -- memtrace-mcp");
    spdlog::info("see memtrace-mcp --help for options");
  } else {
    spdlog::info("memtrace-mcp {} serving stdio; store {}; session {}", MEMTRACE_VERSION, (*store)->describe(),
                 server_options.session_id);
  }

  ExpiryPurger purger(**store, clock);
  transport::StdioOptions stdio;
  stdio.max_line_bytes = config.max_line_bytes;
  return transport::serve_stdio(server, stdio);
}

}  // namespace memtrace::app
