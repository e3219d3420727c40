// One JSON-RPC peer connection: classifies incoming text, hands requests and notifications to the
// layer above, and guarantees that every request is answered exactly once (or, if cancelled, never).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jsonrpc/message.h"

namespace memtrace::jsonrpc {

// A message on its way to the peer: its text, serialized once (compact, one line), and what it is, so
// that a transport routes and counts it without parsing it again.
struct OutboundMessage {
  enum class Kind { kResponse, kNotification, kRequest, kBatch };
  Kind kind = Kind::kResponse;
  std::string text;
  // The request it belongs to (its response, or progress/log notifications and server requests sent
  // while serving it), so that an HTTP transport routes it to that request's stream; nullopt for
  // unrelated notifications. A batch's answer names the batch's first request.
  std::optional<Id> related;
  bool is_error = false;       // a JSON-RPC error response (in a batch: any of them)
  int error_code = 0;          // its code (0 if not an error or a batch), for a transport's status code
  bool is_tool_error = false;  // a result the layer above flagged as a failure (MCP: isError)
};

// Where messages go (a stdout line, an HTTP response, an SSE stream).
// Thread-safety: send() is called from any thread and must serialize writes itself.
class Outbound {
 public:
  virtual ~Outbound() = default;
  virtual void send(OutboundMessage message) = 0;
  // Closes the connection that carries `related`'s stream but keeps the stream, so that the client
  // resumes it later (HTTP SSE polling, SEP-1699). Transports without such streams ignore it.
  virtual void close_stream(const Id& related) {}
};

namespace detail {
struct EndpointState;
struct PendingRequest;
struct HeldAnswer;
}  // namespace detail

class Endpoint;
class Reply;

// Holds back the answers that this thread gives to one endpoint's requests until release(): a group of
// calls whose writes are committed together is answered only after that commit, so that nothing is
// acknowledged before it is durable; if the commit fails, fail() answers each held request with an error
// instead. Notifications are never held. Requests still count as in flight until their answer is sent.
//
// Thread-safety: lives on one thread (the one answering); holds of different endpoints may nest.
class HeldReplies {
 public:
  explicit HeldReplies(Endpoint& endpoint);
  ~HeldReplies();  // sends what is still held, as release()
  HeldReplies(const HeldReplies&) = delete;
  HeldReplies& operator=(const HeldReplies&) = delete;

  // Keeps this request's place among the held answers, for an answer given later (after the commit
  // that decides it): the answer then goes there rather than after the answers given meanwhile.
  void reserve(const Reply& reply);
  // Sends the held answers in the order they were given; later answers are held again.
  void release();
  // Answers every held request that was not cancelled with `error` instead of what it said.
  void fail(const ErrorObject& error);
  bool empty() const { return held_.empty(); }

 private:
  friend struct detail::PendingRequest;
  std::shared_ptr<detail::EndpointState> state_;
  std::vector<detail::HeldAnswer> held_;
  HeldReplies* outer_;
};

// The answer to one request. Move-only; answering twice is ignored (and logged as a bug); a Reply
// destroyed unanswered sends -32603 and logs the method, so a handler that forgets cannot hang a client.
// Thread-safety: a Reply belongs to one thread at a time; cancelled() may be polled from any thread.
class Reply {
 public:
  Reply(Reply&&) noexcept = default;
  Reply& operator=(Reply&&) noexcept = default;
  Reply(const Reply&) = delete;
  Reply& operator=(const Reply&) = delete;
  ~Reply();

  // `failed`: the result reports a failure of its own (MCP's isError), for the transport's metrics.
  void result(Json result, bool failed = false);
  void error(ErrorObject error);
  void error(int code, std::string message, Json data = nullptr) {
    error(ErrorObject{code, std::move(message), std::move(data)});
  }

  // Applied to the result or error just before it is sent: how the layer above finishes every answer
  // of a request in one place (e.g. fields its protocol era adds to each result).
  struct Finisher {
    std::function<void(Json& result)> on_result;
    std::function<void(ErrorObject& error)> on_error;
  };
  void set_finisher(Finisher finisher);

  // True once the client sent notifications/cancelled for this request; the answer will be dropped.
  bool cancelled() const;
  const Id& id() const;
  const std::string& method() const;

 private:
  friend class Endpoint;
  friend class HeldReplies;
  explicit Reply(std::shared_ptr<detail::PendingRequest> pending);
  std::shared_ptr<detail::PendingRequest> pending_;
};

// Thread-safety: receive() is called by one reader at a time; notify(), cancel(), in_flight() and
// wait_idle() from any thread. Replies may outlive the Endpoint safely (they share its state).
class Endpoint {
 public:
  struct Handlers {
    // Called on the receiving thread; the handler answers now or moves the Reply to a worker.
    std::function<void(Request request, Reply reply)> on_request;
    // Notifications are never answered.
    std::function<void(Notification notification)> on_notification;
    // Whether a JSON array (batch) is acceptable right now (MCP allows it under 2025-03-26 only).
    std::function<bool()> batch_allowed;
  };

  Endpoint(Outbound& outbound, Handlers handlers);
  ~Endpoint();

  // One complete message text (a stdio line, an HTTP body).
  void receive(std::string_view text);
  // The same, already parsed (a transport that had to look inside it first): nothing is parsed twice.
  void receive(Parsed parsed);
  // For text the transport could not take whole (over the size limit): answers with `error`.
  void reject(const std::optional<Id>& id, ErrorObject error);

  void notify(std::string_view method, const Json& params, const std::optional<Id>& related = std::nullopt);

  // A request to the peer (e.g. sampling/createMessage while serving `related`); returns its id.
  // `on_answer` runs once, on the thread that receives the peer's response, with its result or error.
  using AnswerCallback = std::function<void(const Json& result, const std::optional<ErrorObject>& error)>;
  Id call(std::string_view method, const Json& params, const std::optional<Id>& related,
          AnswerCallback on_answer);
  // Forgets a call whose answer is no longer wanted (timed out); a late answer is then ignored.
  void forget_call(const Id& id);
  // See Outbound::close_stream.
  void close_stream(const Id& related);

  // The in-flight request with this id will not be answered, and the calls made while serving it are
  // withdrawn: the peer gets notifications/cancelled for each, and each callback runs at once with
  // kRequestCancelled. Unknown or finished ids are ignored.
  void cancel(const Id& id);

  std::size_t in_flight() const;
  // Waits until no request is in flight, up to `timeout`; true if idle.
  bool wait_idle(std::chrono::milliseconds timeout) const;

 private:
  friend class HeldReplies;
  void receive_one(Message message, const std::shared_ptr<struct BatchCollector>& batch);

  std::shared_ptr<detail::EndpointState> state_;
  Handlers handlers_;
};

}  // namespace memtrace::jsonrpc
