// One client's protocol state: the lifecycle gate, version negotiation, the method table, and the
// translation of tool results into the fields the negotiated version knows.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <mutex>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "core/call_arrival.h"
#include "core/serial_lane.h"
#include "mcp/completion.h"
#include "mcp/prompts.h"
#include "mcp/resources.h"
#include "mcp/server.h"

namespace memtrace::mcp {

using jsonrpc::ErrorObject;
using jsonrpc::Id;
using jsonrpc::Notification;
using jsonrpc::Reply;
using jsonrpc::Request;

struct Connection::Impl : NotificationSink, std::enable_shared_from_this<Connection::Impl> {
  Impl(Server& s, jsonrpc::Outbound& outbound, ConnectionOptions options)
      : server(s),
        endpoint(outbound, jsonrpc::Endpoint::Handlers{
                               [this](Request r, Reply reply) { on_request(std::move(r), std::move(reply)); },
                               [this](Notification n) { on_notification(std::move(n)); },
                               [this] { return batches_allowed(); },
                           }),
        lane(SerialLane::create(options.executor ? *options.executor : server.executor(),
                                [this](std::vector<SerialLane::Task>& group) { run_group(group); })),
        max_backlog(options.max_backlog),
        read_only(options.read_only) {
    caller.ns = options.ns.empty() ? server.options().ns : options.ns;
    caller.session_id =
        server.options().session_id.empty() ? server.engine().new_id() : server.options().session_id;
  }

  Server& server;
  jsonrpc::Endpoint endpoint;
  // The size of the message being received (receive() runs on one reader at a time): what a queued
  // call counts for in the backlog, with what the queue itself holds for it.
  std::size_t receiving_bytes = 0;
  static constexpr std::size_t kCallOverheadBytes = 512;
  // This client's calls, in arrival order (see on_request).
  std::shared_ptr<SerialLane> lane;
  // When the lane's last call (or group's answers) ended: written and read only by the lane's runs,
  // which never overlap.
  std::chrono::steady_clock::time_point previous_call_done{};
  const std::size_t max_backlog;
  const bool read_only;

  mutable std::mutex mutex;  // guards the state below
  bool init_done = false;
  ProtocolVersion version = kLatestVersion;
  Caller caller;
  std::atomic<LogLevel> log_level{LogLevel::kWarning};  // until the client asks for more (logging/setLevel)

  // Unsolicited notifications (resources/updated, list_changed) come from the store's watch thread,
  // possibly while the Connection is being destroyed: `closed`, set by ~Connection under this mutex,
  // guarantees that nothing is sent through the transport's Outbound after the Connection is gone.
  std::mutex close_mutex;
  bool closed = false;

  void send_notification(std::string_view method, const Json& params) override {
    {
      std::lock_guard lock(mutex);
      if (!init_done) return;
    }
    std::lock_guard lock(close_mutex);
    if (!closed) endpoint.notify(method, params);
  }

  bool batches_allowed() const {
    std::lock_guard lock(mutex);
    return init_done && allows_batches(version);
  }

  // ---- dispatch -------------------------------------------------------------------------------------

  // ---- execution: one lane per client ----------------------------------------------------------------
  //
  // ping, initialize and notifications (cancellation) are answered on the receiving thread, never behind
  // a slow call. Every other request goes into the client's lane and takes effect in arrival order: a
  // read sees every write the client sent before it. Lanes of different clients run in parallel. What a
  // lane finds queued when it runs is one group: its writes share one transaction (Engine::WriteGroup),
  // and its answers are held until that commit, so nothing is acknowledged before it is durable.

  // The group being run on this thread, for flush_group().
  struct Group {
    Group(Engine& engine, jsonrpc::Endpoint& endpoint) : writes(engine), replies(endpoint) {}
    Engine::WriteGroup writes;
    jsonrpc::HeldReplies replies;

    // Commits what the group wrote so far, then sends its answers (errors in their place if the commit
    // failed: then nothing of theirs was stored).
    void settle() {
      auto committed = writes.commit();
      if (committed) return replies.release();
      spdlog::error("a group of calls could not be committed: {}", committed.error().message);
      replies.fail({jsonrpc::kInternalError,
                    "Internal error: the store could not commit this call (" + committed.error().message +
                        "); nothing of it was stored, it is safe to retry",
                    nullptr});
    }
  };
  static inline thread_local Group* t_group = nullptr;

  void run_group(std::vector<SerialLane::Task>& tasks) {
    Group group(server.engine(), endpoint);
    Group* outer = std::exchange(t_group, &group);
    for (auto& task : tasks) task();
    group.settle();
    t_group = outer;
    // Sending the answers may have waited for a client that reads slowly: that wait is not the next
    // call's to pay either.
    previous_call_done = std::chrono::steady_clock::now();
  }

  // Before a call waits on something outside the store (the client's answer to a server request), the
  // group's writes are committed and answered, so that no other client waits on our transaction.
  static void flush_group() {
    if (t_group) t_group->settle();
  }

  using Handler = void (Impl::*)(const Json&, Reply);

  void on_request(Request request, Reply reply) {
    const std::string& m = request.method;
    if (m == "initialize") return initialize(request.params, std::move(reply));
    if (m == "ping") return reply.result(Json::object());

    static const std::unordered_map<std::string, Handler> kMethods = {
        {"tools/list", &Impl::tools_list},
        {"tools/call", &Impl::tools_call},
        {"logging/setLevel", &Impl::logging_set_level},
        {"resources/list", &Impl::resources_list},
        {"resources/templates/list", &Impl::resources_templates_list},
        {"resources/read", &Impl::resources_read},
        {"resources/subscribe", &Impl::resources_subscribe},
        {"resources/unsubscribe", &Impl::resources_unsubscribe},
        {"prompts/list", &Impl::prompts_list},
        {"prompts/get", &Impl::prompts_get},
        {"completion/complete", &Impl::completion_complete},
    };
    auto it = kMethods.find(m);
    if (it == kMethods.end()) {
      // Also how a modern client's server/discover probe learns that this server speaks the legacy era.
      return reply.error(jsonrpc::kMethodNotFound, "Method not found: " + m);
    }
    {
      std::lock_guard lock(mutex);
      if (!init_done) {
        return reply.error(jsonrpc::kInvalidRequest,
                           "Invalid Request: the server is not initialized; send initialize first");
      }
    }
    // std::function needs a copyable task; the Reply is move-only, so the task shares ownership of it.
    auto pending = std::make_shared<Reply>(std::move(reply));
    // The store bounds a call from the moment it could run (core/call_arrival.h): its wait for a worker
    // or a connection counts; its wait behind this client's own earlier calls does not, or a client
    // that pipelines would see its later calls time out behind healthy earlier ones.
    lane->push(
        [self = shared_from_this(), handler = it->second, params = std::move(request.params), pending,
         arrived = std::chrono::steady_clock::now()] {
          CallArrival arrival(std::max(arrived, self->previous_call_done));
          self->run_handler(handler, params, std::move(*pending));
          self->previous_call_done = std::chrono::steady_clock::now();
        },
        receiving_bytes + kCallOverheadBytes);
  }

  void run_handler(Handler handler, const Json& params, Reply reply) {
    if (reply.cancelled()) return;  // the Reply drops its answer; nothing to do
    const Id id = reply.id();
    const std::string method = reply.method();
    try {
      (this->*handler)(params, std::move(reply));
    } catch (const std::exception& e) {
      // A handler bug must not take the server down: the Reply, destroyed unanswered while unwinding,
      // answers -32603; the log gets the details.
      spdlog::error("{} (request {}) threw: {}", method, id.to_string(), e.what());
    }
  }

  void on_notification(Notification n) {
    if (n.method == "notifications/cancelled") {
      if (n.params.is_object() && n.params.contains("requestId")) {
        if (auto id = Id::from_json(n.params["requestId"])) endpoint.cancel(*id);
      }
    }
    // notifications/initialized, roots/list_changed and unknown notifications need nothing from us.
  }

  // ---- lifecycle -----------------------------------------------------------------------------------

  void initialize(const Json& params, Reply reply) {
    if (!params.is_object() || !params.contains("protocolVersion") ||
        !params["protocolVersion"].is_string()) {
      return reply.error(jsonrpc::kInvalidParams,
                         "Invalid params: initialize needs a protocolVersion string");
    }
    ProtocolVersion negotiated = negotiate(params["protocolVersion"].get<std::string>());
    std::string agent = server.options().agent;
    if (agent.empty()) {
      const Json& info = params.contains("clientInfo") ? params["clientInfo"] : Json::object();
      if (info.is_object() && info.contains("name") && info["name"].is_string()) agent = info["name"];
      if (agent.empty()) agent = "agent";
    }
    Caller who;
    {
      std::lock_guard lock(mutex);
      if (init_done) return reply.error(jsonrpc::kInvalidRequest, "Invalid Request: already initialized");
      init_done = true;
      version = negotiated;
      caller.agent_id = agent;
      who = caller;
    }
    spdlog::info("client initialized: protocol {}, agent \"{}\", session {}", to_string(negotiated), agent,
                 caller.session_id);

    Json server_info = {{"name", server.options().name}, {"version", server.options().version}};
    if (has_titles(negotiated)) server_info["title"] = "memtrace: shared memory for agents";
    Json capabilities = {{"tools", {{"listChanged", false}}},
                         {"logging", Json::object()},
                         {"resources", {{"subscribe", true}, {"listChanged", true}}},
                         {"prompts", {{"listChanged", false}}},
                         {"completions", Json::object()}};
    reply.result({{"protocolVersion", to_string(negotiated)},
                  {"capabilities", std::move(capabilities)},
                  {"serverInfo", std::move(server_info)},
                  {"instructions", server.instructions_for(who)}});
  }

  void logging_set_level(const Json& params, Reply reply) {
    LogLevel level;
    if (!params.is_object() || !params.contains("level") || !params["level"].is_string() ||
        !parse_log_level(params["level"].get<std::string>(), level)) {
      return reply.error(
          jsonrpc::kInvalidParams,
          "Invalid params: level must be one of debug, info, notice, warning, error, critical, "
          "alert, emergency");
    }
    log_level = level;
    reply.result(Json::object());
  }

  // ---- resources, prompts, completion ----------------------------------------------------------------

  Caller current_caller() const {
    std::lock_guard lock(mutex);
    return caller;
  }

  void answer_now(Reply reply, RpcResult result) {
    if (result) return reply.result(std::move(*result));
    reply.error(std::move(result.error()));
  }

  // Server extensions (extensions.h) go first, on the first page only.
  static RpcResult with_extensions(RpcResult result, const char* key, const std::function<Json()>& extra,
                                   const Json& params) {
    bool first_page = !params.is_object() || !params.contains("cursor") || params["cursor"].is_null();
    if (!result || !extra || !first_page) return result;
    Json merged = extra();
    for (auto& entry : (*result)[key]) merged.push_back(std::move(entry));
    (*result)[key] = std::move(merged);
    return result;
  }

  void resources_list(const Json& params, Reply reply) {
    answer_now(std::move(reply),
               with_extensions(list_resources(server.engine(), current_caller(), current_version(), params),
                               "resources", server.extensions().resources, params));
  }

  void resources_templates_list(const Json& params, Reply reply) {
    answer_now(std::move(reply),
               with_extensions(list_resource_templates(current_version(), params), "resourceTemplates",
                               server.extensions().resource_templates, params));
  }

  void resources_read(const Json& params, Reply reply) {
    if (const auto& hook = server.extensions().read_resource) {
      if (auto uri = uri_param(params)) {
        if (auto answer = hook(*uri)) return answer_now(std::move(reply), std::move(*answer));
      }
    }
    answer_now(std::move(reply), read_resource(server.engine(), current_caller(), params));
  }

  void resources_subscribe(const Json& params, Reply reply) {
    if (auto uri = uri_param(params);
        uri && server.extensions().subscribable && server.extensions().subscribable(*uri)) {
      return reply.result(Json::object());
    }
    const Caller who = current_caller();
    auto target = resolve_subscription(server.engine(), who, params);
    if (!target) return reply.error(std::move(target.error()));
    server.subscriptions().subscribe(shared_from_this(), target->uri, who.ns, target->session_id,
                                     target->follows_current);
    reply.result(Json::object());
  }

  void resources_unsubscribe(const Json& params, Reply reply) {
    auto uri = uri_param(params);
    if (!uri) return reply.error(std::move(uri.error()));
    server.subscriptions().unsubscribe(this, *uri);  // unsubscribing from nothing is not an error
    reply.result(Json::object());
  }

  void prompts_list(const Json& params, Reply reply) {
    answer_now(std::move(reply), with_extensions(list_prompts(current_version(), params), "prompts",
                                                 server.extensions().prompts, params));
  }

  void prompts_get(const Json& params, Reply reply) {
    if (const auto& hook = server.extensions().get_prompt) {
      if (auto answer = hook(params)) return answer_now(std::move(reply), std::move(*answer));
    }
    answer_now(std::move(reply), get_prompt(server.engine(), current_caller(), params));
  }

  void completion_complete(const Json& params, Reply reply) {
    if (const auto& hook = server.extensions().complete) {
      if (auto answer = hook(params)) return answer_now(std::move(reply), std::move(*answer));
    }
    answer_now(std::move(reply), complete(server.engine(), current_caller(), params));
  }

  // ---- tools ---------------------------------------------------------------------------------------

  ProtocolVersion current_version() const {
    std::lock_guard lock(mutex);
    return version;
  }

  void tools_list(const Json& params, Reply reply) {
    if (params.is_object() && params.contains("cursor") && !params["cursor"].is_null()) {
      // Every tool fits on one page, so no cursor of ours exists.
      return reply.error(jsonrpc::kInvalidParams, "Invalid params: unknown cursor");
    }
    reply.result({{"tools", server.tools().list(current_version())}});
  }

  void tools_call(const Json& params, Reply reply) {
    if (!params.is_object() || !params.contains("name") || !params["name"].is_string()) {
      return reply.error(jsonrpc::kInvalidParams, "Invalid params: tools/call needs a tool name");
    }
    std::string name = params["name"];
    if (!server.tools().contains(name)) {
      return reply.error(jsonrpc::kInvalidParams, "Unknown tool: " + name, Json{{"name", name}});
    }
    if (read_only && !server.tools().read_only(name)) {
      return reply.result(call_result(ToolResult::error("This API key is read-only, so " + name +
                                                        " was refused; only tools that change nothing run "
                                                        "with it. Use a key created without --read-only."),
                                      current_version()),
                          true);
    }
    Json arguments = params.contains("arguments") ? params["arguments"] : Json::object();
    if (!arguments.is_object() && !arguments.is_null()) {
      return reply.error(jsonrpc::kInvalidParams, "Invalid params: arguments must be an object");
    }
    Json progress_token;
    if (params.contains("_meta") && params["_meta"].is_object() &&
        params["_meta"].contains("progressToken")) {
      progress_token = params["_meta"]["progressToken"];
    }
    run_tool(name, std::move(arguments), progress_token, std::move(reply));
  }

  void run_tool(const std::string& name, Json arguments, const Json& progress_token, Reply reply) {
    ToolContext context = tool_context(reply.id(), progress_token, reply);
    ToolResult result;
    try {
      result = server.tools().call(name, std::move(arguments), context);
    } catch (const std::exception& e) {
      // A handler bug must not take the server down: the client gets -32603, the log gets details.
      spdlog::error("tool {} (request {}) threw: {}", name, reply.id().to_string(), e.what());
      return reply.error(jsonrpc::kInternalError, "Internal error while running " + name);
    }
    const bool failed = result.is_error;
    reply.result(call_result(std::move(result), current_version()), failed);
  }

  ToolContext tool_context(const Id& request_id, const Json& progress_token, const Reply& reply) {
    ToolContext context;
    {
      std::lock_guard lock(mutex);
      context.caller = caller;
    }
    auto self = shared_from_this();
    context.log = [self, request_id](LogLevel level, const std::string& message) {
      if (level < self->log_level.load()) return;
      self->endpoint.notify("notifications/message",
                            {{"level", to_string(level)}, {"logger", "memtrace"}, {"data", message}},
                            request_id);
    };
    if (!progress_token.is_null()) {
      context.progress = [self, request_id, progress_token](double progress, std::optional<double> total,
                                                            const std::string& message) {
        Json params = {{"progressToken", progress_token}, {"progress", progress}};
        if (total) params["total"] = *total;
        if (!message.empty()) params["message"] = message;
        self->endpoint.notify("notifications/progress", params, request_id);
      };
    }
    context.cancelled = [&reply] { return reply.cancelled(); };
    context.close_stream = [self, request_id] { self->endpoint.close_stream(request_id); };
    context.request = [self, request_id](const std::string& method, const Json& params,
                                         std::chrono::milliseconds timeout) -> Result<Json> {
      flush_group();
      auto answer = std::make_shared<std::promise<Result<Json>>>();
      auto future = answer->get_future();
      jsonrpc::Id id = self->endpoint.call(
          method, params, request_id, [answer](const Json& result, const std::optional<ErrorObject>& error) {
            if (error) {
              answer->set_value(tl::unexpected(Error{ErrorCode::kInvalidArgument, error->message}));
            } else {
              answer->set_value(result);
            }
          });
      if (future.wait_for(timeout) != std::future_status::ready) {
        self->endpoint.forget_call(id);
        return tl::unexpected(Error{ErrorCode::kTimeout, "the client did not answer " + method + " in time"});
      }
      return future.get();
    };
    context.switch_session = [self](const std::string& session_id) {
      {
        std::lock_guard lock(self->mutex);
        self->caller.session_id = session_id;
      }
      // Subscriptions to memtrace://sessions/current/... now watch the new session.
      self->server.subscriptions().switch_current(self.get(), session_id);
    };
    return context;
  }

  static Json call_result(ToolResult result, ProtocolVersion v) {
    Json out;
    if (!result.content.is_null()) {
      out["content"] = std::move(result.content);
    } else {
      out["content"] = Json::array({{{"type", "text"}, {"text", std::move(result.text)}}});
    }
    if (has_structured_output(v) && !result.structured.is_null() && !result.is_error) {
      out["structuredContent"] = std::move(result.structured);
    }
    if (result.is_error) out["isError"] = true;
    return out;
  }
};

bool Connection::backlogged() const {
  return impl_->lane->backlog() >= impl_->max_backlog;
}

Connection::Connection(Server& server, jsonrpc::Outbound& outbound, ConnectionOptions options)
    : impl_(std::make_shared<Impl>(server, outbound, std::move(options))) {
  server.subscriptions().add_connection(impl_, impl_->caller.ns);
}

Connection::~Connection() {
  impl_->server.subscriptions().remove_connection(impl_.get());
  std::lock_guard lock(impl_->close_mutex);  // waits out a notification being sent right now
  impl_->closed = true;
}

void Connection::receive(std::string_view text) {
  impl_->receiving_bytes = text.size();
  impl_->endpoint.receive(text);
}

void Connection::receive(jsonrpc::Parsed parsed, std::size_t bytes) {
  impl_->receiving_bytes = bytes;
  impl_->endpoint.receive(std::move(parsed));
}

void Connection::reject(const std::optional<jsonrpc::Id>& id, jsonrpc::ErrorObject error) {
  impl_->endpoint.reject(id, std::move(error));
}

bool Connection::drain(std::chrono::milliseconds timeout) {
  return impl_->endpoint.wait_idle(timeout);
}

bool Connection::initialized() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->init_done;
}

std::optional<ProtocolVersion> Connection::protocol_version() const {
  std::lock_guard lock(impl_->mutex);
  if (!impl_->init_done) return std::nullopt;
  return impl_->version;
}

Caller Connection::caller() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->caller;
}

}  // namespace memtrace::mcp
