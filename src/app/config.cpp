#include "app/config.h"

#include <cstdlib>

#include <CLI/CLI.hpp>

#include "memory/time_text.h"

namespace memtrace::app {

std::string default_database_path() {
  const char* xdg = std::getenv("XDG_DATA_HOME");
  if (xdg && *xdg) return std::string(xdg) + "/memtrace/memtrace.db";
  const char* home = std::getenv("HOME");
  if (home && *home) return std::string(home) + "/.local/share/memtrace/memtrace.db";
  return {};
}

namespace {

void add_http_options(CLI::App& app, Config& config) {
  HttpConfig& http = config.http;
  app.add_option("--transport", config.transport,
                 "stdio (a host starts the server) or http (Streamable HTTP at /mcp, legacy SSE at /sse)")
      ->envname("MEMTRACE_TRANSPORT")
      ->check(CLI::IsMember({"stdio", "http"}))
      ->capture_default_str();
  app.add_option("--listen", http.listen,
                 "HTTP address HOST:PORT; port 0 picks a free port (the bound one is logged). Any address "
                 "but loopback needs API keys unless --allow-unauthenticated")
      ->envname("MEMTRACE_LISTEN")
      ->capture_default_str();
  app.add_flag("--allow-unauthenticated", http.allow_unauthenticated,
               "Serve a non-loopback address without API keys (only behind something that authenticates)")
      ->envname("MEMTRACE_ALLOW_UNAUTHENTICATED");
  app.add_flag("--require-auth", http.require_auth,
               "Demand an API key on every MCP request, even on loopback")
      ->envname("MEMTRACE_REQUIRE_AUTH");
  app.add_option("--allow-origin", http.allow_origins,
                 "A browser Origin allowed to call the server (repeatable; \"*\" for any). Default: none "
                 "but this server's own loopback origins")
      ->envname("MEMTRACE_ALLOW_ORIGIN")
      ->delimiter(',');
  app.add_option("--allow-host", http.allow_hosts,
                 "A Host header value accepted besides localhost/127.0.0.1/[::1] (repeatable)")
      ->envname("MEMTRACE_ALLOW_HOST")
      ->delimiter(',');
  app.add_option("--max-body-bytes", http.max_body_bytes, "Largest HTTP request body; larger ones get 413")
      ->envname("MEMTRACE_MAX_BODY_BYTES")
      ->check(CLI::Range(std::size_t{1024}, std::size_t{256} * 1024 * 1024))
      ->capture_default_str();
  app.add_option("--max-connections", http.max_connections, "Open TCP connections at most; more get 503")
      ->envname("MEMTRACE_MAX_CONNECTIONS")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}))
      ->capture_default_str();
  app.add_option("--max-connections-per-peer", http.max_connections_per_peer,
                 "Open TCP connections from one IP address (loopback too) at most; more get 429, so one "
                 "peer cannot use up --max-connections")
      ->envname("MEMTRACE_MAX_CONNECTIONS_PER_PEER")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}))
      ->capture_default_str();
  app.add_option("--max-sessions", http.max_sessions, "Open MCP sessions at most; more get 503")
      ->envname("MEMTRACE_MAX_SESSIONS")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}))
      ->capture_default_str();
  app.add_option("--max-sessions-per-key", http.max_sessions_per_key,
                 "Open MCP sessions per API key at most (clients without a key share one quota). A new "
                 "session past it ends that key's least recently used idle session (no stream open, no "
                 "call running; its client gets 404 and starts over); if none is idle: 429 + Retry-After")
      ->envname("MEMTRACE_MAX_SESSIONS_PER_KEY")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}))
      ->capture_default_str();
  app.add_option("--session-idle-timeout", http.session_idle_timeout_s,
                 "Seconds after which an HTTP session without requests or open streams ends")
      ->envname("MEMTRACE_SESSION_IDLE_TIMEOUT")
      ->check(CLI::Range(0.05, 7 * 24 * 3600.0))
      ->capture_default_str();
  app.add_option("--header-timeout", http.header_timeout_s,
                 "Seconds a new connection has to send a request header (slow clients are cut off)")
      ->envname("MEMTRACE_HEADER_TIMEOUT")
      ->check(CLI::Range(0.05, 3600.0))
      ->capture_default_str();
  app.add_option("--idle-timeout", http.idle_timeout_s,
                 "Seconds a keep-alive connection may wait between requests")
      ->envname("MEMTRACE_IDLE_TIMEOUT")
      ->check(CLI::Range(0.05, 24 * 3600.0))
      ->capture_default_str();
  app.add_option("--shutdown-timeout", http.shutdown_timeout_s,
                 "On SIGTERM/SIGINT, seconds that calls in flight may take to finish")
      ->envname("MEMTRACE_SHUTDOWN_TIMEOUT")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  app.add_option("--rate-limit", http.rate_limit,
                 "Requests per second per API key, bursts of twice that (0: off)")
      ->envname("MEMTRACE_RATE_LIMIT")
      ->check(CLI::Range(0.0, 1e6))
      ->capture_default_str();
  app.add_option("--http-threads", http.threads, "Threads doing HTTP I/O (tool calls run on --workers)")
      ->envname("MEMTRACE_HTTP_THREADS")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_flag("--conformance-fixtures", config.conformance_fixtures,
               "Also offer the test tools, resources and prompts the MCP conformance suite calls (test "
               "builds only: -DMEMTRACE_CONFORMANCE_FIXTURES=ON)")
      ->envname("MEMTRACE_CONFORMANCE_FIXTURES");
}

void add_keys_command(CLI::App& app, Config& config) {
  KeysCommand& keys = config.keys;
  auto* cmd = app.add_subcommand("keys", "Manage API keys for the HTTP transport (stored hashed in --store)");
  cmd->require_subcommand(1);
  cmd->fallthrough();
  auto* create = cmd->add_subcommand("create", "Create a key bound to one namespace; prints the secret once");
  create->add_option("--namespace", keys.ns, "The namespace every request with this key is confined to")
      ->required();
  create->add_option("--label", keys.label, "A note saying who or what holds the key");
  create->add_flag("--read-only", keys.read_only,
                   "A key that may only read (read-only tools, GET and search on /api/v1, the memory "
                   "browser without forget); its secret starts with mtr_");
  create->fallthrough();
  create->callback([&keys] { keys.action = "create"; });
  auto* list = cmd->add_subcommand("list", "List keys (never their secrets)");
  list->add_option("--namespace", keys.ns, "Only the keys of this namespace");
  list->fallthrough();
  list->callback([&keys] { keys.action = "list"; });
  auto* revoke = cmd->add_subcommand("revoke", "Revoke a key by id: it stops working within a second");
  revoke->add_option("id", keys.id, "The key's id, as `keys list` shows it")->required();
  revoke->fallthrough();
  revoke->callback([&keys] { keys.action = "revoke"; });
}

void add_data_commands(CLI::App& app, Config& config) {
  DataCommand& data = config.data;
  auto* out = app.add_subcommand(
      "export",
      "Write agents, sessions, memories and task claims to stdout as JSON Lines (docs/export-format.md)");
  out->add_option("--namespace", data.ns, "Only this namespace (default: every namespace)");
  out->add_option("--session", data.session_id, "Only this session, its memories and claims");
  out->add_option("--since", data.since,
                  "Only what was created or updated since: 7d, 4h or an ISO-8601 time");
  out->callback([&data] { data.name = "export"; });

  auto* in = app.add_subcommand("import",
                                "Read an export from stdin into --store; idempotent, keeps ids and times, "
                                "refuses the whole input if any line is malformed");
  in->callback([&data] { data.name = "import"; });

  auto* stats =
      app.add_subcommand("stats", "Count memories per namespace, session, agent and type; store size");
  stats->add_option("--namespace", data.ns, "Only this namespace (default: every namespace)");
  stats->callback([&data] { data.name = "stats"; });

  auto* context = app.add_subcommand(
      "context", "Print a session's context digest, as the memtrace_session_context tool renders it");
  context->add_option("session", data.session_id, "The session's id")->required();
  context->add_option("--namespace", data.ns, "The session's namespace (default: default)");
  context->add_option("--since", data.since, "Only memories since: 4h, 7d or an ISO-8601 time");
  context->add_option("--max-tokens", data.max_tokens, "Budget of the digest, in tokens of 4 bytes")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000}))
      ->capture_default_str();
  context->callback([&data] { data.name = "context"; });
  for (auto* cmd : {out, in, stats, context}) cmd->fallthrough();
}

}  // namespace

std::optional<std::int64_t> dedup_window_ms(const std::string& text) {
  if (text == "0") return 0;
  auto duration = parse_duration(text);
  if (!duration) return std::nullopt;
  return *duration;
}

std::optional<Config> parse_command_line(int argc, char** argv, int& exit_code) {
  Config config;
  CLI::App app{
      "memtrace-mcp: a memory for AI agents that outlives the conversation and can be shared between "
      "agents.\n"
      "An MCP server: an MCP host (Claude Desktop, Claude Code, Cursor, VS Code) starts it and talks to it "
      "over\n"
      "stdin/stdout. Memories are kept in SQLite at " +
          (default_database_path().empty() ? std::string("$XDG_DATA_HOME/memtrace/memtrace.db")
                                           : default_database_path()) +
          " unless --store says otherwise.\n\n"
          "Add it to Claude Code:   claude mcp add memtrace -- memtrace-mcp\n"
          "Try it by hand:          memtrace-mcp --store memory < examples/session.jsonl\n",
      "memtrace-mcp"};
  app.get_formatter()->column_width(34);

  app.add_option("--store", config.store,
                 "Where memories live: sqlite:PATH (a file, created if missing), memory (gone on exit), "
                 "redis://[user:password@]host[:port][/db], redis+unix:///path/redis.sock[?db=N] or "
                 "redis+cluster://[user:password@]host:port[,host:port...] (seed nodes of a Redis Cluster) "
                 "(shared live by every process using it; default: $REDIS_URL if set, else the SQLite file)")
      ->envname("MEMTRACE_STORE");
  app.add_option("--redis-connect-timeout-ms", config.redis_connect_timeout_ms,
                 "Redis store: how long one connection attempt may take")
      ->envname("MEMTRACE_REDIS_CONNECT_TIMEOUT_MS")
      ->check(CLI::Range(std::size_t{1}, std::size_t{600000}))
      ->capture_default_str();
  app.add_option(
         "--redis-command-timeout-ms", config.redis_command_timeout_ms,
         "Redis store: how long a call may take, its wait for a worker or a connection included, before "
         "failing with a timeout")
      ->envname("MEMTRACE_REDIS_COMMAND_TIMEOUT_MS")
      ->check(CLI::Range(std::size_t{1}, std::size_t{600000}))
      ->capture_default_str();
  app.add_option("--redis-min-replicas", config.redis_min_replicas,
                 "Redis store: acknowledge a write only once this many replicas have it (WAIT), else fail "
                 "saying it may or may not be stored; default 1 on a cluster, 0 on a single server")
      ->envname("MEMTRACE_REDIS_MIN_REPLICAS")
      ->check(CLI::Range(0, 16));
  app.add_option(
         "--redis-layout", config.redis_layout,
         "Redis store: the key layout a namespace gets with its first memory. 2 keeps sessions, agents, "
         "types, tags and importance as postings of numbers (a third less memory); 1, the layout of "
         "builds before, as sorted sets of ids: choose it while servers of such a build write into "
         "the same Redis. A namespace keeps its layout")
      ->envname("MEMTRACE_REDIS_LAYOUT")
      ->check(CLI::Range(1, 2))
      ->capture_default_str();
  app.add_option("--max-memories-per-session", config.max_memories_per_session,
                 "Keep at most N memories per session: each new one past N drops the session's expired "
                 "memories, then the least important (then the oldest); 0 keeps all")
      ->envname("MEMTRACE_MAX_MEMORIES_PER_SESSION")
      ->capture_default_str();
  app.add_option("--sqlite-cache-mib", config.sqlite_cache_mib,
                 "SQLite store: page cache of the connection that writes and serves most reads, in MiB. "
                 "Larger is faster on a large store and costs as much resident memory (4 MiB: about 20% "
                 "more calls/s at 16 in flight on 10k memories)")
      ->envname("MEMTRACE_SQLITE_CACHE_MIB")
      ->check(CLI::Range(std::size_t{1}, std::size_t{4096}))
      ->capture_default_str();
  app.add_option("--change-retention", config.change_retention,
                 "How long the change feed (memtrace_changes) keeps changes: 30m, 12h, 7d, 2w; a cursor "
                 "older than this is refused with the cursor to restart from")
      ->envname("MEMTRACE_CHANGE_RETENTION")
      ->check(CLI::Validator(
          [](std::string& text) {
            auto ms = parse_duration(text);
            if (!ms || *ms <= 0)
              return "expected a duration such as 30m, 12h, 7d or 2w, got \"" + text + "\"";
            return std::string();
          },
          "DURATION"))
      ->capture_default_str();
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
      ->check(CLI::Range(std::size_t{16}, kMaxContentBytesCeiling))
      ->capture_default_str();
  app.add_option("--dedup-window", config.dedup_window,
                 "A memtrace_remember equal (content, type, tags, agent, session) to a memory written this "
                 "recently returns that memory with deduplicated: true instead of storing a copy: 30s, 15m, "
                 "4h, 7d, 2w; 0 turns it off")
      ->envname("MEMTRACE_DEDUP_WINDOW")
      ->check(CLI::Validator(
          [](std::string& text) {
            if (dedup_window_ms(text)) return std::string();
            return "expected 0 or a duration such as 30m, 24h, 7d; got \"" + text + "\"";
          },
          "DURATION"))
      ->capture_default_str();
  app.add_option("--workers", config.workers, "Threads that run tool calls")
      ->envname("MEMTRACE_WORKERS")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--session-metadata", config.session_metadata,
                 "KEY=VALUE identifying the session to work in (repeatable): at start, resume the newest "
                 "active session whose metadata has all these pairs, else create one with them (values are "
                 "strings)")
      ->envname("MEMTRACE_SESSION_METADATA")
      ->check(CLI::Validator(
          [](std::string& pair) {
            auto eq = pair.find('=');
            if (eq == std::string::npos || eq == 0) return "expected KEY=VALUE, got \"" + pair + "\"";
            return std::string();
          },
          "KEY=VALUE"));
  bool context_flag = false;
  auto* context_option =
      app.add_flag("--context-in-instructions,!--no-context-in-instructions", context_flag,
                   "Put the current session's context digest into the instructions a client gets at "
                   "initialize (default: on when --session or --session-metadata is given)")
          ->envname("MEMTRACE_CONTEXT_IN_INSTRUCTIONS");
  app.add_option("--instructions-max-tokens", config.instructions_max_tokens,
                 "Budget of that digest, in tokens of 4 bytes")
      ->envname("MEMTRACE_INSTRUCTIONS_MAX_TOKENS")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000}))
      ->capture_default_str();
  add_http_options(app, config);
  add_keys_command(app, config);
  add_data_commands(app, config);
  app.set_version_flag("--version", std::string("memtrace-mcp ") + MEMTRACE_VERSION);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    exit_code = app.exit(e);  // prints help/version to stdout, errors to stderr
    return std::nullopt;
  }
  if (config.store.empty()) {
    // The usual way to name a Redis server (Heroku, Render, docker-compose), after --store and
    // MEMTRACE_STORE.
    if (const char* redis_url = std::getenv("REDIS_URL"); redis_url && *redis_url) config.store = redis_url;
  }
  config.context_in_instructions = context_option->count() > 0
                                       ? context_flag
                                       : !config.session_id.empty() || !config.session_metadata.empty();
  exit_code = 0;
  return config;
}

}  // namespace memtrace::app
