// Command line and environment → Config. Every flag has an environment twin (MEMTRACE_*).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace memtrace::app {

struct Config {
  std::string store;  // "sqlite:PATH" | "memory"; empty: the default SQLite file
  std::string agent;
  std::string session_id;
  std::string ns = "default";
  std::string log_level = "info";
  std::size_t max_line_bytes = 4 * 1024 * 1024;
  std::size_t max_content_bytes = 64 * 1024;
  std::size_t workers = 4;
};

// Parses argv (and the environment). Returns nullopt after printing --help/--version output (exit 0)
// or an error (exit code in `exit_code`).
std::optional<Config> parse_command_line(int argc, char** argv, int& exit_code);

// ${XDG_DATA_HOME:-$HOME/.local/share}/memtrace/memtrace.db, or empty if neither variable is set.
std::string default_database_path();

}  // namespace memtrace::app
