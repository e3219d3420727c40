// The MCP server: what every client connection shares (engine, tool registry, worker threads, server
// identity and instructions), and Connection, one client's protocol state on top of a JSON-RPC endpoint.
// Knows no socket and no SQL.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/thread_pool.h"
#include "jsonrpc/endpoint.h"
#include "mcp/extensions.h"
#include "mcp/protocol_version.h"
#include "mcp/subscriptions.h"
#include "mcp/tool_registry.h"
#include "memory/engine.h"

namespace memtrace::mcp {

struct ServerOptions {
  std::string name = "memtrace-mcp";
  std::string version = "0.0.0";
  std::string agent;       // every write is attributed to this agent; empty: the client's clientInfo.name
  std::string session_id;  // the current session of every connection; empty: a new one per connection
  std::string ns = kDefaultNamespace;
  std::size_t worker_threads = 4;              // tool calls run here, never on a transport's reading thread
  bool context_in_instructions = false;        // initialize's instructions end with the session's digest
  std::size_t instructions_max_tokens = 2000;  // that digest's budget (1 token = 4 bytes)
};

// Thread-safety: configure (tools()) before the first connection; afterwards all methods are safe to
// call from any thread. Must outlive its connections; destroying it waits for running handlers.
// It watches the namespaces its connections are in and fans changes out through subscriptions()
// (store watch thread; see SubscriptionRegistry).
class Server {
 public:
  Server(Engine& engine, ServerOptions options);
  ~Server();

  Engine& engine() { return engine_; }
  ToolRegistry& tools() { return tools_; }
  const ServerOptions& options() const { return options_; }
  // Told to the model at initialize: when to remember, recall, search and decide.
  std::string instructions() const;
  // What initialize tells a client whose connection is `caller`: instructions(), then, with
  // context_in_instructions, the digest of the caller's current session.
  std::string instructions_for(const Caller& caller);
  SubscriptionRegistry& subscriptions() { return *subscriptions_; }
  // Resources, prompts and completions beside memtrace's own (set up before the first connection).
  Extensions& extensions() { return extensions_; }
  // The session of stateless (2026-07-28) requests whose _meta names none: one per server process, as
  // a stdio client has one per connection (options().session_id when set).
  const std::string& stateless_session_id() const { return stateless_session_id_; }
  void run_in_background(std::function<void()> task) { workers_.post(std::move(task)); }
  // Where connections run their calls unless their transport brings its own executor.
  Executor& executor() { return workers_; }

 private:
  Engine& engine_;
  ServerOptions options_;
  ToolRegistry tools_;
  Extensions extensions_;
  std::string stateless_session_id_;
  std::shared_ptr<SubscriptionRegistry> subscriptions_;  // owns the store watches; before workers_
  ThreadPool workers_;  // last: joined first on destruction, while everything above still exists
};

struct ConnectionOptions {
  std::string ns;  // empty: the server's namespace (an HTTP API key binds its own)
  // Runs this client's calls; nullptr: the server's worker threads. Must outlive the connection's work.
  Executor* executor = nullptr;
  // Bytes of calls (their messages) queued or running past which backlogged() is true: the transport
  // then stops reading this client (stdio) or turns its requests away (HTTP), so that a client that
  // never reads its answers stays bounded. Generous, because a client may well write a long pipeline
  // before it reads anything (some thousands of calls). A parsed message takes several times its text.
  std::size_t max_backlog = 4 * 1024 * 1024;
  // Every request is served in the stateless 2026-07-28 era (an HTTP request without a session):
  // initialize is then an unknown method. Otherwise the era is chosen per request: initialize makes a
  // legacy session; before it, a request whose _meta names a protocol version (or server/discover) is
  // served statelessly.
  bool stateless = false;
  // A read-only API key's connection: tools/call runs only the tools annotated readOnlyHint; any other
  // is answered with a tool error saying the key is read-only. Default false.
  bool read_only = false;
};

// One client's session of the protocol. The transport feeds it each message's text and gives it an
// Outbound for what goes back. Thread-safety: receive() from one reader at a time; the rest from any.
class Connection {
 public:
  Connection(Server& server, jsonrpc::Outbound& outbound, ConnectionOptions options = {});
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void receive(std::string_view text);
  // A message the transport has parsed already (to route it); `bytes` is its size, for backlogged().
  void receive(jsonrpc::Parsed parsed, std::size_t bytes);
  // A message the transport could not take whole (e.g. over the size limit).
  void reject(const std::optional<jsonrpc::Id>& id, jsonrpc::ErrorObject error);
  // The client gave up on request `id` (on 2026-07-28 HTTP: it closed the request's stream): the request
  // is cancelled as by notifications/cancelled. Unknown or answered ids are ignored.
  void cancel(const jsonrpc::Id& id);
  // Ends this client's subscriptions/listen requests with their graceful final answer (the transport is
  // closing); they would otherwise stay in flight for as long as the client listens.
  void end_subscriptions();
  // Waits up to `timeout` for in-flight requests to be answered; true if none is left.
  bool drain(std::chrono::milliseconds timeout);

  // True while the client has max_backlog bytes of calls queued or running (see ConnectionOptions).
  bool backlogged() const;

  bool initialized() const;
  std::optional<ProtocolVersion> protocol_version() const;
  Caller caller() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;  // shared with handlers running on workers
};

}  // namespace memtrace::mcp
