#include "jsonrpc/endpoint.h"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <iterator>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include <spdlog/spdlog.h>

namespace memtrace::jsonrpc {

// Collects the answers of one batch and sends them as one array when the last one arrives.
struct BatchCollector {
  std::mutex mutex;
  std::vector<std::string> answers;
  bool any_error = false;
  std::size_t outstanding = 0;
  std::optional<Id> first_id;
};

namespace detail {

struct EndpointState {
  explicit EndpointState(Outbound& out) : outbound(out) {}

  Outbound& outbound;
  mutable std::mutex mutex;
  mutable std::condition_variable idle;
  std::unordered_map<std::string, std::weak_ptr<PendingRequest>> in_flight;  // key: Id::to_string()
  std::size_t delivering = 0;  // answers released from in_flight and on their way out
  // Our requests to the peer awaiting its answer (Endpoint::call), by id, with the peer's request each
  // one serves (withdrawn when that request is cancelled).
  struct Outgoing {
    Id id;
    std::optional<std::string> related;  // Id::to_string()
    Endpoint::AnswerCallback on_answer;
  };
  std::unordered_map<std::string, Outgoing> outgoing;
  std::int64_t next_outgoing = 1;

  // `message` is nullopt for a cancelled request: nothing to send, but a batch still counts it.
  void deliver(std::optional<OutboundMessage> message, const std::shared_ptr<BatchCollector>& batch) {
    if (!batch) {
      if (message) outbound.send(std::move(*message));
      return;
    }
    OutboundMessage joined;
    {
      std::lock_guard lock(batch->mutex);
      if (message) {
        batch->any_error = batch->any_error || message->is_error;
        batch->answers.push_back(std::move(message->text));
      }
      if (--batch->outstanding > 0 || batch->answers.empty()) return;
      joined.kind = OutboundMessage::Kind::kBatch;
      joined.related = batch->first_id;
      joined.is_error = batch->any_error;
      joined.text = "[";
      for (std::size_t i = 0; i < batch->answers.size(); ++i) {
        if (i) joined.text += ',';
        joined.text += batch->answers[i];
      }
      joined.text += ']';
    }
    outbound.send(std::move(joined));
  }

  // An answer leaves in three steps. Its id is released first: the client may send a request with the
  // same id the moment it reads the answer, and that request is a new one, not a duplicate. The
  // endpoint counts as busy until the answer has been handed to the transport (finish).
  void release(const Id& id) {
    std::lock_guard lock(mutex);
    in_flight.erase(id.to_string());
    ++delivering;
  }
  void finish() {
    std::lock_guard lock(mutex);
    --delivering;
    if (in_flight.empty() && delivering == 0) idle.notify_all();
  }
  bool busy() const { return !in_flight.empty() || delivering > 0; }
};

// An answer kept back by a HeldReplies; `message` is nullopt for a cancelled request.
struct HeldAnswer {
  std::optional<OutboundMessage> message;
  Id id;
  std::shared_ptr<BatchCollector> batch;
  bool reserved = false;  // a place kept for an answer not given yet (HeldReplies::reserve)
};

OutboundMessage response(std::string text, const std::optional<Id>& id, bool is_error,
                         bool is_tool_error = false);

OutboundMessage error_response(const std::optional<Id>& id, const ErrorObject& error) {
  OutboundMessage message = response(serialize_error(id, error), id, true);
  message.error_code = error.code;
  return message;
}

OutboundMessage response(std::string text, const std::optional<Id>& id, bool is_error,
                         bool is_tool_error) {
  OutboundMessage message;
  message.kind = OutboundMessage::Kind::kResponse;
  message.text = std::move(text);
  message.related = id;
  message.is_error = is_error;
  message.is_tool_error = is_tool_error;
  return message;
}

// The innermost HeldReplies of this thread (they nest through HeldReplies::outer_).
thread_local HeldReplies* t_held = nullptr;

struct PendingRequest {
  std::shared_ptr<EndpointState> state;
  std::shared_ptr<BatchCollector> batch;
  Id id;
  std::string method;
  std::atomic<bool> cancelled{false};
  std::atomic<bool> answered{false};
  Reply::Finisher finisher;  // set before the Reply is answered, by its one owner
  // The receiving thread while it runs the handler: a Reply that this thread destroys while an exception
  // escapes the handler leaves the answer to the dispatcher's catch, which knows what was thrown.
  std::atomic<std::thread::id> dispatcher{};

  void answer(OutboundMessage message) {
    if (answered.exchange(true)) {
      spdlog::error("bug: request {} ({}) answered twice; second answer dropped", id.to_string(), method);
      return;
    }
    // A cancelled request gets no reply (MCP cancellation).
    std::optional<OutboundMessage> text =
        cancelled.load() ? std::nullopt : std::optional<OutboundMessage>(std::move(message));
    for (HeldReplies* hold = t_held; hold; hold = hold->outer_) {
      if (hold->state_ == state) {
        for (auto& place : hold->held_) {
          if (place.reserved && place.batch == batch && place.id == id) {
            place.message = std::move(text);
            place.reserved = false;
            return;
          }
        }
        hold->held_.push_back(HeldAnswer{std::move(text), id, batch});
        return;
      }
    }
    state->release(id);
    state->deliver(std::move(text), batch);
    state->finish();
  }
};

}  // namespace detail

HeldReplies::HeldReplies(Endpoint& endpoint) : state_(endpoint.state_), outer_(detail::t_held) {
  detail::t_held = this;
}

HeldReplies::~HeldReplies() {
  release();
  // Holds end in the reverse order of their start on one thread.
  detail::t_held = outer_;
}

void HeldReplies::reserve(const Reply& reply) {
  if (!reply.pending_) return;
  held_.push_back(detail::HeldAnswer{std::nullopt, reply.pending_->id, reply.pending_->batch, true});
}

void HeldReplies::release() {
  std::vector<detail::HeldAnswer> held;
  // A place still reserved stays held until its answer comes (sent in order with those after it).
  auto first_reserved = std::find_if(held_.begin(), held_.end(), [](const auto& a) { return a.reserved; });
  held.assign(std::make_move_iterator(held_.begin()), std::make_move_iterator(first_reserved));
  held_.erase(held_.begin(), first_reserved);
  for (auto& answer : held) {
    state_->release(answer.id);
    state_->deliver(std::move(answer.message), answer.batch);
    state_->finish();
  }
}

void HeldReplies::fail(const ErrorObject& error) {
  for (auto& answer : held_) {
    if (answer.message) answer.message = detail::response(serialize_error(answer.id, error), answer.id, true);
  }
  release();
}

Reply::Reply(std::shared_ptr<detail::PendingRequest> pending) : pending_(std::move(pending)) {}

Reply::~Reply() {
  if (pending_ && !pending_->answered.load()) {
    if (std::uncaught_exceptions() > 0 && pending_->dispatcher.load() == std::this_thread::get_id()) {
      return;  // the exception is on its way to receive_one's catch, which answers
    }
    spdlog::error("bug: request {} ({}) finished without an answer; replying -32603",
                  pending_->id.to_string(), pending_->method);
    pending_->answer(detail::response(
        serialize_error(pending_->id, ErrorObject{kInternalError, "Internal error: no result", nullptr}),
        pending_->id, true));
  }
}

void Reply::result(Json result, bool failed) {
  if (pending_->finisher.on_result) pending_->finisher.on_result(result);
  pending_->answer(detail::response(serialize_result(pending_->id, result), pending_->id, false, failed));
}

void Reply::error(ErrorObject error) {
  if (pending_->finisher.on_error) pending_->finisher.on_error(error);
  pending_->answer(detail::error_response(pending_->id, error));
}

void Reply::set_finisher(Finisher finisher) {
  pending_->finisher = std::move(finisher);
}

bool Reply::cancelled() const {
  return pending_->cancelled.load();
}

const Id& Reply::id() const {
  return pending_->id;
}

const std::string& Reply::method() const {
  return pending_->method;
}

Endpoint::Endpoint(Outbound& outbound, Handlers handlers)
    : state_(std::make_shared<detail::EndpointState>(outbound)), handlers_(std::move(handlers)) {}

Endpoint::~Endpoint() = default;

void Endpoint::receive(std::string_view text) {
  receive(parse(text));
}

void Endpoint::receive(Parsed parsed) {
  if (!parsed.is_batch) {
    receive_one(std::move(parsed.messages.front()), nullptr);
    return;
  }
  if (!handlers_.batch_allowed || !handlers_.batch_allowed()) {
    reject(
        std::nullopt,
        ErrorObject{kInvalidRequest,
                    "Invalid Request: batches are only accepted under protocol version 2025-03-26", nullptr});
    return;
  }
  auto batch = std::make_shared<BatchCollector>();
  for (const auto& message : parsed.messages) {
    if (std::holds_alternative<Request>(message) || std::holds_alternative<Invalid>(message)) {
      ++batch->outstanding;
      if (!batch->first_id) {
        if (const auto* r = std::get_if<Request>(&message)) batch->first_id = r->id;
      }
    }
  }
  if (batch->outstanding == 0) batch.reset();  // only notifications/responses: nothing to send
  for (auto& message : parsed.messages) receive_one(std::move(message), batch);
}

void Endpoint::receive_one(Message message, const std::shared_ptr<BatchCollector>& batch) {
  if (auto* invalid = std::get_if<Invalid>(&message)) {
    state_->deliver(detail::error_response(invalid->id, invalid->error), batch);
    return;
  }
  if (auto* notification = std::get_if<Notification>(&message)) {
    if (!handlers_.on_notification) return;
    std::string method = notification->method;
    try {
      handlers_.on_notification(std::move(*notification));
    } catch (const std::exception& e) {
      spdlog::error("notification {} failed: {}", method, e.what());
    } catch (...) {
      spdlog::error("notification {} failed with an unknown exception", method);
    }
    return;
  }
  if (auto* response = std::get_if<Response>(&message)) {
    AnswerCallback callback;
    {
      std::lock_guard lock(state_->mutex);
      auto it = state_->outgoing.find(response->id.to_string());
      if (it == state_->outgoing.end()) return;  // an answer nobody waits for any more
      callback = std::move(it->second.on_answer);
      state_->outgoing.erase(it);
    }
    callback(response->result, response->error);
    return;
  }

  auto& request = std::get<Request>(message);
  auto pending = std::make_shared<detail::PendingRequest>();
  pending->state = state_;
  pending->batch = batch;
  pending->id = request.id;
  pending->method = request.method;
  {
    std::lock_guard lock(state_->mutex);
    auto [it, inserted] = state_->in_flight.try_emplace(request.id.to_string(), pending);
    if (!inserted && !it->second.expired()) {
      pending->answered = true;  // never entered the table; answer directly
      state_->deliver(
          detail::response(
              serialize_error(request.id, ErrorObject{kInvalidRequest,
                                                      "Invalid Request: id " + request.id.to_string() +
                                                          " is already used by a request in flight",
                                                      nullptr}),
              request.id, true),
          batch);
      return;
    }
    it->second = pending;
  }
  // Anything a synchronous handler throws is answered here (-32603) and logged; the server lives on.
  auto guard = pending;
  guard->dispatcher = std::this_thread::get_id();
  try {
    handlers_.on_request(std::move(request), Reply(std::move(pending)));
    guard->dispatcher = std::thread::id();
  } catch (const std::exception& e) {
    guard->dispatcher = std::thread::id();
    spdlog::error("request {} ({}) failed: {}", guard->id.to_string(), guard->method, e.what());
    if (!guard->answered.load())
      guard->answer(
          detail::response(serialize_error(guard->id, ErrorObject{kInternalError, "Internal error", nullptr}),
                           guard->id, true));
  } catch (...) {
    guard->dispatcher = std::thread::id();
    spdlog::error("request {} ({}) failed with an unknown exception", guard->id.to_string(), guard->method);
    if (!guard->answered.load())
      guard->answer(
          detail::response(serialize_error(guard->id, ErrorObject{kInternalError, "Internal error", nullptr}),
                           guard->id, true));
  }
}

void Endpoint::reject(const std::optional<Id>& id, ErrorObject error) {
  state_->deliver(detail::error_response(id, error), nullptr);
}

void Endpoint::notify(std::string_view method, const Json& params, const std::optional<Id>& related) {
  state_->outbound.send(
      OutboundMessage{OutboundMessage::Kind::kNotification, serialize_notification(method, params), related});
}

Id Endpoint::call(std::string_view method, const Json& params, const std::optional<Id>& related,
                  AnswerCallback on_answer) {
  Id id;
  {
    std::lock_guard lock(state_->mutex);
    // Our own id space ("s1", "s2", ...): the peer's ids and ours never meet in one table.
    id = Id("s" + std::to_string(state_->next_outgoing++));
    state_->outgoing[id.to_string()] = detail::EndpointState::Outgoing{
        id, related ? std::optional<std::string>(related->to_string()) : std::nullopt, std::move(on_answer)};
  }
  Json message = {{"jsonrpc", "2.0"}, {"id", id.to_json()}, {"method", method}};
  if (!params.is_null()) message["params"] = params;
  state_->outbound.send(OutboundMessage{OutboundMessage::Kind::kRequest, dump(message), related});
  return id;
}

void Endpoint::close_stream(const Id& related) {
  state_->outbound.close_stream(related);
}

void Endpoint::forget_call(const Id& id) {
  std::lock_guard lock(state_->mutex);
  state_->outgoing.erase(id.to_string());
}

void Endpoint::cancel(const Id& id) {
  const std::string key = id.to_string();
  std::vector<detail::EndpointState::Outgoing> withdrawn;
  {
    std::lock_guard lock(state_->mutex);
    auto it = state_->in_flight.find(key);
    if (it == state_->in_flight.end()) return;
    if (auto pending = it->second.lock()) pending->cancelled = true;
    for (auto call = state_->outgoing.begin(); call != state_->outgoing.end();) {
      if (call->second.related == key) {
        withdrawn.push_back(std::move(call->second));
        call = state_->outgoing.erase(call);
      } else {
        ++call;
      }
    }
  }
  // What the cancelled request asked of the peer is withdrawn too (MCP cancellation works both ways): the
  // peer is told, unrelated to the request (its stream is over), and whoever waits is woken now.
  for (auto& call : withdrawn) {
    notify("notifications/cancelled",
           {{"requestId", call.id.to_json()}, {"reason", "the request it served was cancelled"}});
    call.on_answer(Json(), ErrorObject{kRequestCancelled, "the request it served was cancelled", nullptr});
  }
}

std::size_t Endpoint::in_flight() const {
  std::lock_guard lock(state_->mutex);
  return state_->in_flight.size() + state_->delivering;
}

bool Endpoint::wait_idle(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(state_->mutex);
  return state_->idle.wait_for(lock, timeout, [&] { return !state_->busy(); });
}

}  // namespace memtrace::jsonrpc
