// One socket to a Redis node shared by every concurrent call, by pipelining: each call writes its
// command and waits for its own reply, which Redis sends back in the order the commands arrived.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "store/redis/redis_connection.h"

namespace memtrace::redis {

// How it works, in the manner of a leader/follower reactor with no thread of its own:
// - Writing: a call appends its command to the outgoing buffer together with its place in the line
//   of replies, under one lock, so the order of the bytes on the socket is the order of the line. The
//   call that finds nobody writing writes everything buffered, its own command and whatever others
//   appended meanwhile, so concurrent calls share system calls.
// - Reading: one waiting call at a time reads the socket and hands every complete reply to the call
//   it belongs to, then, once its own has come, passes the reading on to the next call still waiting.
// - Deadlines: each call waits only until its own deadline (call_deadline()). A call that gives up
//   leaves its place in the line; its reply, when it comes, is dropped. The pipeline is then retired:
//   the calls already on it keep waiting until their own deadlines, but new calls go to a new
//   pipeline, so that a socket to a node that vanished without closing is not used again.
// - Failure: if the socket breaks (reset, EOF, a write error) every call on it fails with the reason;
//   a call that had been written may or may not have been executed, as with a connection of its own.
// - ASKING (Redis Cluster) is written right before its command, in the same append.
// - Commands that change the state of the connection for later commands (WATCH/MULTI, SUBSCRIBE,
//   WAIT for replicas, blocking reads) must not be sent through a pipeline: they would apply to, or
//   hold up, the other calls on it. WAIT and subscriptions use connections of their own.
//
// Thread-safety: every method may be called from any thread. It owns the DirectConnection it was
// made from and uses only its socket; the connection's hiredis reader parses the replies.
class Pipeline : public std::enable_shared_from_this<Pipeline> {
 public:
  static std::shared_ptr<Pipeline> create(std::unique_ptr<DirectConnection> connection);
  ~Pipeline();

  // One command (preceded by ASKING if `asking`) and its reply, waiting until `deadline`.
  // An error reply is returned as a reply (the caller maps it); transport failures and the deadline
  // are Errors.
  Result<ReplyPtr> call(const std::vector<std::string_view>& args, bool asking,
                        std::chrono::steady_clock::time_point deadline);

  // call() in two halves, for a caller that has more to do before it needs the replies: send_all() puts
  // the commands in the line together and writes them in one system call (unless another call is
  // writing), so that Redis reads them in one go and answers them together; wait() takes a reply.
  // Commands are executed in the order they were sent, whoever waits for them, so what one thread
  // sends next on the same pipeline sees the effects of what it sent before. A ticket must be waited
  // for once; one dropped unwaited gives up its place as a call past its deadline does.
  class Ticket;
  Result<std::vector<Ticket>> send_all(const std::vector<std::vector<std::string_view>>& commands);
  Result<ReplyPtr> wait(Ticket& ticket, std::chrono::steady_clock::time_point deadline);

  // How many replies it is waiting for (calls that gave up included, until their replies come).
  std::size_t waiting() const;
  // Whether new calls may use it: false once it broke or was retired. An idle one the server has closed
  // (restart, CLIENT KILL, timeout) is retired here first, so that the next call goes to a new one
  // rather than failing.
  bool check_idle();
  const Endpoint& endpoint() const { return connection_->endpoint(); }

 private:
  struct Slot;
  explicit Pipeline(std::unique_ptr<DirectConnection> connection);

  // Under mutex_: puts the command in the line (preceded by ASKING if `asking`), to be written by the
  // caller's write_locked() unless another call is writing.
  std::shared_ptr<Slot> line_up_locked(const std::vector<std::string_view>& args, bool asking);
  // Under mutex_: waits for `mine` (reading in turn) until `deadline`; then gives it up.
  Result<ReplyPtr> wait_locked(std::unique_lock<std::mutex>& lock, const std::shared_ptr<Slot>& mine,
                               std::chrono::steady_clock::time_point deadline);
  // Under mutex_: `slot` will not be waited for; its reply is dropped when it comes.
  void abandon_locked(const std::shared_ptr<Slot>& slot);

  // Under mutex_: writes the buffered commands until none are left (the writer's turn).
  void write_locked(std::unique_lock<std::mutex>& lock);
  // Under mutex_: reads until `mine` is answered, the socket breaks or `deadline` passes.
  void read_locked(std::unique_lock<std::mutex>& lock, const std::shared_ptr<Slot>& mine,
                   std::chrono::steady_clock::time_point deadline);
  // Under mutex_: every call still waiting fails with `error`; the pipeline is not used again.
  void break_locked(const Error& error);
  // Under mutex_: wakes the first call still waiting for its reply, to take its turn at reading.
  void pass_reading_locked();

  // How close to the full command timeout a reader's time left may be for it to read without poll().
  static constexpr std::chrono::milliseconds kSlack{50};
  // The outgoing buffers keep their capacity between writes up to this size.
  static constexpr std::size_t kKeptBufferBytes = 64 * 1024;

  std::unique_ptr<DirectConnection> connection_;
  const int fd_;
  const std::chrono::milliseconds command_timeout_;  // the socket's send and receive timeout
  mutable std::mutex mutex_;
  std::string outgoing_;                    // commands appended and not yet written
  std::string writing_buffer_;              // what the writer is writing now (outside the lock)
  std::deque<std::shared_ptr<Slot>> line_;  // calls whose replies have not come, in sending order
  bool writer_busy_ = false;
  bool reader_busy_ = false;
  bool retired_ = false;         // no new calls
  std::optional<Error> broken_;  // why the socket is not used any more
};

class Pipeline::Ticket {
 public:
  Ticket(Ticket&&) noexcept = default;
  Ticket& operator=(Ticket&&) noexcept = default;
  ~Ticket();

 private:
  friend class Pipeline;
  Ticket(std::shared_ptr<Pipeline> pipeline, std::shared_ptr<Slot> slot)
      : pipeline_(std::move(pipeline)), slot_(std::move(slot)) {}
  std::shared_ptr<Pipeline> pipeline_;
  std::shared_ptr<Slot> slot_;
};

// A command sent on a pipeline whose reply is taken later, within the deadline of the call that sent it.
class SentCommand {
 public:
  // The reply as Connection::command returns it: an error reply is an Error, its text in `raw_error`.
  Result<ReplyPtr> get(std::string* raw_error = nullptr);
  // Whether it went on the pipeline that `connection` is a turn of: then Redis executes what the
  // connection sends next after it.
  bool sent_on(const PipelinedConnection& connection) const;

 private:
  friend class PipelinedConnection;
  SentCommand(std::shared_ptr<Pipeline> pipeline, Pipeline::Ticket ticket,
              std::chrono::steady_clock::time_point deadline)
      : pipeline_(std::move(pipeline)), ticket_(std::move(ticket)), deadline_(deadline) {}
  std::shared_ptr<Pipeline> pipeline_;
  Pipeline::Ticket ticket_;
  std::chrono::steady_clock::time_point deadline_;
};

// One call's use of a shared Pipeline, as the store's work sees a connection.
class PipelinedConnection final : public Connection {
 public:
  explicit PipelinedConnection(std::shared_ptr<Pipeline> pipeline) : pipeline_(std::move(pipeline)) {}
  Result<ReplyPtr> command(const std::vector<std::string_view>& args,
                           std::string* raw_error = nullptr) override;
  bool broken() const override { return broken_; }
  PipelinedConnection* pipelined() override { return this; }
  const Pipeline* pipeline() const { return pipeline_.get(); }
  // The command, sent now (without ASKING); its reply is taken with SentCommand::get.
  Result<SentCommand> send(const std::vector<std::string_view>& args);
  // The commands, sent now in one write (Pipeline::send_all), in this order.
  Result<std::vector<SentCommand>> send_all(const std::vector<std::vector<std::string_view>>& commands);

 private:
  std::shared_ptr<Pipeline> pipeline_;
  bool broken_ = false;
};

}  // namespace memtrace::redis
