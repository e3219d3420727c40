#include "app/config.h"

#include <cstdlib>

#include <CLI/CLI.hpp>

namespace memtrace::app {

std::string default_database_path() {
  const char* xdg = std::getenv("XDG_DATA_HOME");
  if (xdg && *xdg) return std::string(xdg) + "/memtrace/memtrace.db";
  const char* home = std::getenv("HOME");
  if (home && *home) return std::string(home) + "/.local/share/memtrace/memtrace.db";
  return {};
}

std::optional<Config> parse_command_line(int argc, char** argv, int& exit_code) {
  Config config;
  CLI::App app{
      "memtrace-mcp: a memory for AI agents that outlives the conversation and can be shared between agents.\n"
      "An MCP server: an MCP host (Claude Desktop, Claude Code, Cursor, VS Code) starts it and talks to it over\n"
      "stdin/stdout. Memories are kept in SQLite at " +
          (default_database_path().empty() ? std::string("$XDG_DATA_HOME/memtrace/memtrace.db")
                                           : default_database_path()) +
          " unless --store says otherwise.\n\n"
          "Add it to Claude Code:   claude mcp add memtrace -- memtrace-mcp\n"
          "Try it by hand:          memtrace-mcp --store memory < examples/session.jsonl\n",
      "memtrace-mcp"};
  app.get_formatter()->column_width(34);

  app.add_option("--store", config.store,
                 "Where memories live: sqlite:PATH (a file, created if missing) or memory (gone on exit)")
      ->envname("MEMTRACE_STORE");
  app.add_option("--agent", config.agent,
                 "Name that writes are attributed to (default: the MCP client's name, e.g. claude-code)")
      ->envname("MEMTRACE_AGENT");
  app.add_option("--session", config.session_id,
                 "Session to write into (default: a new session each time the server starts)")
      ->envname("MEMTRACE_SESSION");
  app.add_option("--namespace", config.ns, "Isolated memory space; reads and writes never cross it")
      ->envname("MEMTRACE_NAMESPACE")
      ->capture_default_str();
  app.add_option("--log-level", config.log_level, "stderr log level: trace, debug, info, warn, error, off")
      ->envname("MEMTRACE_LOG_LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();
  app.add_option("--max-line-bytes", config.max_line_bytes, "Largest message accepted on stdin, in bytes")
      ->envname("MEMTRACE_MAX_LINE_BYTES")
      ->check(CLI::Range(std::size_t{1024}, std::size_t{256} * 1024 * 1024))
      ->capture_default_str();
  app.add_option("--max-content-bytes", config.max_content_bytes, "Largest memory content accepted, in bytes")
      ->envname("MEMTRACE_MAX_CONTENT_BYTES")
      ->check(CLI::Range(std::size_t{16}, std::size_t{16} * 1024 * 1024))
      ->capture_default_str();
  app.add_option("--workers", config.workers, "Threads that run tool calls")
      ->envname("MEMTRACE_WORKERS")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.set_version_flag("--version", std::string("memtrace-mcp ") + MEMTRACE_VERSION);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    exit_code = app.exit(e);  // prints help/version to stdout, errors to stderr
    return std::nullopt;
  }
  exit_code = 0;
  return config;
}

}  // namespace memtrace::app
