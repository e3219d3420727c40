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
#include "mcp/modern_era.h"
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
        stateless(options.stateless),
        read_only(options.read_only) {
    caller.ns = options.ns.empty() ? server.options().ns : options.ns;
    if (stateless) {
      caller.session_id = server.stateless_session_id();
    } else {
      caller.session_id =
          server.options().session_id.empty() ? server.engine().new_id() : server.options().session_id;
    }
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
  const bool stateless;

  // A stateless (2026-07-28) request as it runs: who it acts for and what its client declared. Set on
  // the thread that runs its handler, for as long as the handler runs (current_caller() and friends).
  struct ModernScope {
    Caller caller;
    modern::RequestMeta meta;
  };
  static inline thread_local const ModernScope* t_scope = nullptr;

  // Open subscriptions/listen streams of this client, by the listen request's id.
  struct Listener {
    Id id;
    bool resources_list_changed = false;
    std::vector<std::string> resource_uris;
    std::shared_ptr<Reply> reply;  // answered when the subscription ends
  };
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

  std::vector<Listener> listeners;  // guarded by mutex

  void send_notification(std::string_view method, const Json& params) override {
    std::vector<std::pair<Id, Json>> to_listeners;
    {
      std::lock_guard lock(mutex);
      if (!init_done) {
        // Modern clients get change notifications only on the listen streams that asked for them.
        for (const auto& listener : listeners) {
          bool wanted = false;
          if (method == "notifications/resources/list_changed") wanted = listener.resources_list_changed;
          if (method == "notifications/resources/updated" && params.contains("uri")) {
            wanted = std::find(listener.resource_uris.begin(), listener.resource_uris.end(),
                               params["uri"]) != listener.resource_uris.end();
          }
          if (!wanted) continue;
          Json tagged = params.is_object() ? params : Json::object();
          tagged["_meta"][modern::kSubscriptionIdKey] = listener.id.to_json();
          to_listeners.emplace_back(listener.id, std::move(tagged));
        }
        if (to_listeners.empty()) return;
      }
    }
    std::lock_guard lock(close_mutex);
    if (closed) return;
    if (to_listeners.empty()) return endpoint.notify(method, params);
    for (const auto& [id, tagged] : to_listeners) endpoint.notify(method, tagged, id);
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
    // Calls whose result is known only after the commit (ToolResult::settle), in their places.
    struct Unsettled {
      Reply reply;
      std::function<ToolResult()> settle;
      ProtocolVersion version;
    };
    std::vector<Unsettled> unsettled;

    void defer(Reply reply, std::function<ToolResult()> settle, ProtocolVersion version) {
      replies.reserve(reply);
      unsettled.push_back({std::move(reply), std::move(settle), version});
    }

    // Commits what the group wrote so far, then sends its answers (errors in their place if the commit
    // failed: then nothing of theirs was stored).
    void settle() {
      auto committed = writes.commit();
      auto calls = std::move(unsettled);
      unsettled.clear();
      for (auto& call : calls) {
        ToolResult result = call.settle();
        const bool failed = result.is_error;
        call.reply.result(call_result(std::move(result), call.version), failed);
      }
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

  bool is_modern(const Request& request) const {
    if (stateless) return true;
    if (request.method == "initialize") return false;
    {
      std::lock_guard lock(mutex);
      if (init_done) return false;  // a legacy session stays legacy
    }
    return request.method == "server/discover" || modern::requested_version(request.params).has_value();
  }

  void on_request(Request request, Reply reply) {
    if (is_modern(request)) return serve_modern(std::move(request), std::move(reply));
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
    if (it == kMethods.end()) return reply.error(jsonrpc::kMethodNotFound, "Method not found: " + m);
    {
      std::lock_guard lock(mutex);
      if (!init_done) {
        return reply.error(jsonrpc::kInvalidRequest,
                           "Invalid Request: the server is not initialized; send initialize first");
      }
    }
    queue(it->second, std::move(request.params), std::move(reply), nullptr);
  }

  // Runs a handler in the client's lane (see above); `scope` for a stateless request.
  void queue(Handler handler, Json params, Reply reply, std::shared_ptr<const ModernScope> scope) {
    // std::function needs a copyable task; the Reply is move-only, so the task shares ownership of it.
    auto pending = std::make_shared<Reply>(std::move(reply));
    // The store bounds a call from the moment it could run (core/call_arrival.h): its wait for a worker
    // or a connection counts; its wait behind this client's own earlier calls does not, or a client
    // that pipelines would see its later calls time out behind healthy earlier ones.
    lane->push(
        [self = shared_from_this(), handler, params = std::move(params), pending, scope = std::move(scope),
         arrived = std::chrono::steady_clock::now()] {
          CallArrival arrival(std::max(arrived, self->previous_call_done));
          const ModernScope* outer = std::exchange(t_scope, scope.get());
          self->run_handler(handler, params, std::move(*pending));
          t_scope = outer;
          self->previous_call_done = std::chrono::steady_clock::now();
        },
        receiving_bytes + kCallOverheadBytes);
  }

  // ---- the stateless era (2026-07-28) ----------------------------------------------------------------

  Json server_info() const {
    return {{"name", server.options().name}, {"version", server.options().version}};
  }

  Json capabilities(bool modern_era) const {
    Json resources = {{"listChanged", true}};
    if (!modern_era) resources["subscribe"] = true;  // modern clients subscribe with subscriptions/listen
    Json out = {{"tools", {{"listChanged", false}}},
                {"resources", std::move(resources)},
                {"prompts", {{"listChanged", false}}},
                {"completions", Json::object()}};
    if (!modern_era) out["logging"] = Json::object();  // modern: per request, _meta logLevel
    return out;
  }

  void serve_modern(Request request, Reply reply) {
    const std::string method = request.method;
    reply.set_finisher(
        {[method, info = server_info()](Json& result) { modern::finish_result(method, result, info); },
         [](ErrorObject& error) { modern::finish_error(error); }});
    auto meta = modern::read_meta(request.params);
    if (!meta) return reply.error(std::move(meta.error()));
    if (modern::removed_method(method)) {
      return reply.error(jsonrpc::kMethodNotFound,
                         "Method not found: " + method + " (not part of protocol version 2026-07-28)");
    }
    if (method == "server/discover") {
      return reply.result({{"supportedVersions", modern::versions()},
                           {"capabilities", capabilities(true)},
                           {"instructions", server.instructions()}});
    }
    static const std::unordered_map<std::string, Handler> kMethods = {
        {"tools/list", &Impl::tools_list},
        {"tools/call", &Impl::tools_call},
        {"resources/list", &Impl::resources_list},
        {"resources/templates/list", &Impl::resources_templates_list},
        {"resources/read", &Impl::resources_read},
        {"prompts/list", &Impl::prompts_list},
        {"prompts/get", &Impl::prompts_get},
        {"completion/complete", &Impl::completion_complete},
    };
    auto scope = std::make_shared<ModernScope>();
    {
      std::lock_guard lock(mutex);
      scope->caller = caller;
    }
    // Who the request acts for: the API key's namespace (the connection's), the configured agent or
    // else the client's name, and the session its _meta names or else the server's stateless one.
    scope->caller.agent_id = server.options().agent;
    if (scope->caller.agent_id.empty()) scope->caller.agent_id = meta->client_name;
    if (scope->caller.agent_id.empty()) scope->caller.agent_id = "agent";
    if (!meta->session_id.empty()) scope->caller.session_id = meta->session_id;
    scope->meta = std::move(*meta);
    if (method == "subscriptions/listen") return listen(request.params, std::move(reply), *scope);
    auto it = kMethods.find(method);
    if (it == kMethods.end()) return reply.error(jsonrpc::kMethodNotFound, "Method not found: " + method);
    queue(it->second, std::move(request.params), std::move(reply), std::move(scope));
  }

  // subscriptions/listen: acknowledges what it will deliver, then keeps the request open; change
  // notifications of this client's namespace reach it through send_notification.
  void listen(const Json& params, Reply reply, const ModernScope& scope) {
    const Json filter =
        params.is_object() && params.contains("notifications") && params["notifications"].is_object()
            ? params["notifications"]
            : Json::object();
    Listener listener;
    listener.id = reply.id();
    listener.resources_list_changed = filter.value("resourcesListChanged", false) == true;
    Json acknowledged = Json::object();
    if (listener.resources_list_changed) acknowledged["resourcesListChanged"] = true;
    if (filter.contains("resourceSubscriptions")) {
      if (!filter["resourceSubscriptions"].is_array()) {
        return reply.error(jsonrpc::kInvalidParams,
                           "Invalid params: resourceSubscriptions must be an array of URIs");
      }
      for (const auto& uri : filter["resourceSubscriptions"]) {
        if (!uri.is_string()) {
          return reply.error(jsonrpc::kInvalidParams,
                             "Invalid params: resourceSubscriptions must be an array of URIs");
        }
        std::string text = uri.get<std::string>();
        if (server.extensions().subscribable && server.extensions().subscribable(text)) {
          listener.resource_uris.push_back(text);
          continue;
        }
        auto target = resolve_subscription(server.engine(), scope.caller, Json{{"uri", text}});
        if (!target) return reply.error(std::move(target.error()));
        server.subscriptions().subscribe(shared_from_this(), target->uri, scope.caller.ns, target->session_id,
                                         target->follows_current);
        listener.resource_uris.push_back(target->uri);
      }
      acknowledged["resourceSubscriptions"] = listener.resource_uris;
    }
    const Id id = reply.id();
    listener.reply = std::make_shared<Reply>(std::move(reply));
    {
      std::lock_guard lock(mutex);
      listeners.push_back(std::move(listener));
    }
    endpoint.notify(
        "notifications/subscriptions/acknowledged",
        {{"notifications", std::move(acknowledged)}, {"_meta", {{modern::kSubscriptionIdKey, id.to_json()}}}},
        id);
  }

  // Ends every listen stream gracefully (the client closed, or the connection goes away).
  void end_listeners() {
    std::vector<Listener> ended;
    {
      std::lock_guard lock(mutex);
      ended.swap(listeners);
    }
    for (auto& listener : ended) {
      listener.reply->result({{"_meta", {{modern::kSubscriptionIdKey, listener.id.to_json()}}}});
    }
  }

  // A cancelled listen request: its answer is dropped by the endpoint, but it is given, so that the
  // request leaves the in-flight set.
  void forget_listener(const Id& id) {
    std::shared_ptr<Reply> reply;
    {
      std::lock_guard lock(mutex);
      auto it =
          std::find_if(listeners.begin(), listeners.end(), [&id](const Listener& l) { return l.id == id; });
      if (it == listeners.end()) return;
      reply = std::move(it->reply);
      listeners.erase(it);
    }
    reply->result(Json::object());
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
        if (auto id = Id::from_json(n.params["requestId"])) {
          endpoint.cancel(*id);
          forget_listener(*id);  // a cancelled subscriptions/listen ends (its answer is dropped)
        }
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
    reply.result({{"protocolVersion", to_string(negotiated)},
                  {"capabilities", capabilities(false)},
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
    if (t_scope) return t_scope->caller;
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

  // A stateless request knows every field the latest legacy version knows.
  ProtocolVersion current_version() const {
    if (t_scope) return kLatestVersion;
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
    run_tool(name, std::move(arguments), progress_token, params, std::move(reply));
  }

  void run_tool(const std::string& name, Json arguments, const Json& progress_token, const Json& params,
                Reply reply) {
    ToolContext context = tool_context(reply.id(), progress_token, reply);
    if (context.stateless) {
      if (params.contains("inputResponses")) context.input_responses = params["inputResponses"];
      if (params.contains("requestState")) context.request_state = params["requestState"];
    }
    ToolResult result;
    try {
      result = server.tools().call(name, std::move(arguments), context);
    } catch (const std::exception& e) {
      // A handler bug must not take the server down: the client gets -32603, the log gets details.
      spdlog::error("tool {} (request {}) threw: {}", name, reply.id().to_string(), e.what());
      return reply.error(jsonrpc::kInternalError, "Internal error while running " + name);
    }
    if (result.protocol_error) return reply.error(std::move(*result.protocol_error));
    if (t_scope && result.input_required.is_object()) {
      Json answer = std::move(result.input_required);
      answer["resultType"] = "input_required";
      return reply.result(answer);
    }
    if (result.settle) {
      if (t_group) return t_group->defer(std::move(reply), std::move(result.settle), current_version());
      result = result.settle();
    }
    const bool failed = result.is_error;
    reply.result(call_result(std::move(result), current_version()), failed);
  }

  ToolContext tool_context(const Id& request_id, const Json& progress_token, const Reply& reply) {
    ToolContext context;
    context.caller = current_caller();
    auto self = shared_from_this();
    // A stateless request gets log messages only if its _meta asked for them, from that level on.
    std::optional<std::optional<LogLevel>> request_level;
    if (t_scope) request_level = t_scope->meta.log_level;
    context.log = [self, request_id, request_level](LogLevel level, const std::string& message) {
      if (request_level) {
        if (!*request_level || level < **request_level) return;
      } else if (level < self->log_level.load()) {
        return;
      }
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
    if (t_scope) {
      context.stateless = true;
      context.client_capabilities = t_scope->meta.client_capabilities;
    }
    context.close_stream = [self, request_id] { self->endpoint.close_stream(request_id); };
    // A stateless request never sends requests to its client (2026-07-28 has input-required results
    // instead), so its tools keep the default that says the client cannot be asked.
    if (!t_scope) context.request = [self, request_id](const std::string& method, const Json& params,
                                         std::chrono::milliseconds timeout) -> Result<Json> {
      flush_group();
      auto answer = std::make_shared<std::promise<Result<Json>>>();
      auto future = answer->get_future();
      jsonrpc::Id id = self->endpoint.call(
          method, params, request_id, [answer](const Json& result, const std::optional<ErrorObject>& error) {
            if (error && error->code == jsonrpc::kRequestCancelled) {
              answer->set_value(tl::unexpected(Error{ErrorCode::kUnavailable, "the call was cancelled"}));
            } else if (error) {
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
  impl_->end_listeners();
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

void Connection::cancel(const jsonrpc::Id& id) {
  impl_->endpoint.cancel(id);
  impl_->forget_listener(id);
}

void Connection::end_subscriptions() {
  impl_->end_listeners();
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
