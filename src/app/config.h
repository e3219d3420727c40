// Command line and environment → Config. Every flag has an environment twin (MEMTRACE_*).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace memtrace::app {

// The largest --max-content-bytes accepted. The tool schemas cap content (and decision, reasoning,
// result) at this many characters, so that the schema never refuses what the flag allows.
inline constexpr std::size_t kMaxContentBytesCeiling = 16 * 1024 * 1024;

// --transport http: Streamable HTTP at /mcp and legacy SSE at /sse (transport/http/http_server.h).
struct HttpConfig {
  std::string listen = "127.0.0.1:8765";   // HOST:PORT; port 0 picks a free one (logged)
  bool allow_unauthenticated = false;      // serve a non-loopback address without API keys
  bool require_auth = false;               // demand API keys even on loopback
  std::vector<std::string> allow_origins;  // extra allowed Origin values ("*" for any)
  std::vector<std::string> allow_hosts;    // extra allowed Host header values
  std::size_t max_body_bytes = 4 * 1024 * 1024;
  std::size_t max_connections = 4096;
  std::size_t max_connections_per_peer = 64;  // per remote IP address, loopback included
  std::size_t max_sessions = 4096;
  std::size_t max_sessions_per_key = 256;  // per API key (anonymous clients share one quota)
  double session_idle_timeout_s = 1800;
  double header_timeout_s = 10;
  double idle_timeout_s = 60;
  double shutdown_timeout_s = 10;
  double rate_limit = 0;  // requests per second per API key; 0: unlimited
  std::size_t threads = 2;
};

// `memtrace-mcp keys create|list|revoke`: API keys for the HTTP transport.
struct KeysCommand {
  std::string action;      // create | list | revoke; empty when another command runs
  std::string ns;          // create: the namespace the key is bound to; list: an optional filter
  std::string label;       // create: a note for people
  bool read_only = false;  // create: a key that may read but never write
  std::string id;          // revoke: the key's id
};

// The one-shot data commands: export, import, stats, context. Their output goes to stdout.
struct DataCommand {
  std::string name;               // export | import | stats | context; empty when another command runs
  std::string ns;                 // export, stats: one namespace (default: all); context: default "default"
  std::string session_id;         // export: one session; context: the session to render (required)
  std::string since;              // export: "7d" or an ISO-8601 time; context: the window
  std::size_t max_tokens = 2000;  // context: the digest's budget
};

struct Config {
  std::string store;  // sqlite:PATH | memory | redis://... | redis+unix://...; empty: $REDIS_URL, else SQLite
  std::size_t redis_connect_timeout_ms = 2000;
  std::size_t redis_command_timeout_ms = 2000;
  int redis_min_replicas = -1;               // -1: 1 on a Redis Cluster, 0 on a single Redis server
  int redis_layout = 2;                      // the key layout new Redis namespaces get (RedisOptions)
  std::size_t max_memories_per_session = 0;  // 0: unlimited (Redis store)
  std::size_t sqlite_cache_mib = 1;          // the SQLite write connection's page cache
  std::string change_retention = "7d";       // how long the change feed keeps changes ("30m", "12h", "7d")
  std::string agent;
  std::string session_id;
  std::string ns = "default";
  std::string log_level = "info";
  std::size_t max_line_bytes = 4 * 1024 * 1024;
  std::size_t max_content_bytes = 64 * 1024;  // at most kMaxContentBytesCeiling
  std::string dedup_window = "24h";           // 30s, 15m, 4h, 7d, 2w, or 0 (off); checked when parsed
  std::size_t workers = 4;
  std::vector<std::string> session_metadata;  // "key=value" (value: a string); resume or create at start
  bool context_in_instructions = false;       // default: on when session_id or session_metadata is set
  std::size_t instructions_max_tokens = 2000;
  std::string transport = "stdio";  // stdio | http
  HttpConfig http;
  bool conformance_fixtures = false;  // register the conformance suite's test tools, resources, prompts
  KeysCommand keys;
  DataCommand data;
};

// Parses argv (and the environment). Returns nullopt after printing --help/--version output (exit 0)
// or an error (exit code in `exit_code`).
std::optional<Config> parse_command_line(int argc, char** argv, int& exit_code);

// The --dedup-window in milliseconds (0: off), or nullopt if it is not 0 or a duration such as 24h.
std::optional<std::int64_t> dedup_window_ms(const std::string& text);

// ${XDG_DATA_HOME:-$HOME/.local/share}/memtrace/memtrace.db, or empty if neither variable is set.
std::string default_database_path();

}  // namespace memtrace::app
