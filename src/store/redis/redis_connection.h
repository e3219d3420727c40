// Owning wrappers around hiredis handles, the one mapping of hiredis failures to ErrorCode, and a
// connection of its own with connect/command timeouts, AUTH and SELECT.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <hiredis/hiredis.h>

#include "core/error.h"
#include "store/redis/redis_options.h"

namespace memtrace::redis {

struct ContextDeleter {
  void operator()(redisContext* context) const noexcept { redisFree(context); }
};
using ContextPtr = std::unique_ptr<redisContext, ContextDeleter>;

struct ReplyDeleter {
  void operator()(redisReply* reply) const noexcept { freeReplyObject(reply); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

// What a failure message names: the store ("redis store redis://host:6379/0") and the command timeout.
struct Endpoint {
  std::string description;
  std::chrono::milliseconds command_timeout{0};
};

enum class Phase { kConnect, kCommand };

// The one place hiredis failures become Errors. Either `context` carries an error (I/O, EOF, protocol,
// timeout; `saved_errno` is errno as it was right after the failing call), or `reply` is an error reply.
//   cannot connect (refused, unreachable, connect timeout), EOF, reset → kUnavailable naming the store
//   LOADING, BUSY, MASTERDOWN, READONLY, OOM, TRYAGAIN, CLUSTERDOWN   → kUnavailable
//   a script calling a command the server lacks (Redis < 7.0: SPUBLISH) → kUnavailable naming 7.0
//   WRONGPASS, NOAUTH, AUTH errors → kUnavailable "authentication failed: ..."; NOPERM → kUnavailable
//   no reply within the command timeout                             → kTimeout
//   MT_NOT_FOUND / MT_CONFLICT / MT_INVALID (raised by our scripts)  → kNotFound / kConflict /
//   kInvalidArgument anything else (protocol errors, unexpected error replies)         → kInternal
Error map_redis_error(const Endpoint& endpoint, Phase phase, const redisContext* context, int saved_errno,
                      const redisReply* reply);
// The same mapping for a transport failure described by a hiredis error code (REDIS_ERR_IO, _EOF,
// _PROTOCOL, ...) and text, for sockets read and written outside a redisContext (redis_pipeline.h).
Error map_transport_error(const Endpoint& endpoint, Phase phase, int hiredis_err, const std::string& detail,
                          int saved_errno);

// The moment the running call must be done with Redis: the command timeout counted from the call's
// arrival at the server (CallArrival), so that its time in line (behind the client's earlier calls, or
// for a connection of its own) counts too; counted from now outside a call.
std::chrono::steady_clock::time_point call_deadline(std::chrono::milliseconds command_timeout);

// A connection as the store's work sees it: commands sent one after another, each waiting for its
// reply until the call's deadline (call_deadline()); a call whose deadline has passed is not sent at all
// (kTimeout). Transport failures and error replies are both Errors; `raw_error` (if given) receives an
// error reply's text verbatim. Two kinds: a DirectConnection (a socket of its own, lent to one call at a
// time) and a PipelinedConnection (redis_pipeline.h: one call's turn on a socket shared by pipelining).
// Thread-safety: none; one call uses it at a time.
class PipelinedConnection;

class Connection {
 public:
  virtual ~Connection() = default;

  // This connection as a turn on a shared pipeline, which can also send a command and take its reply
  // later (PipelinedConnection::send); null for a connection of its own.
  virtual PipelinedConnection* pipelined() { return nullptr; }

  virtual Result<ReplyPtr> command(const std::vector<std::string_view>& args,
                                   std::string* raw_error = nullptr) = 0;

  // The text of the last error reply (empty if the last command had none): the cluster store reads
  // MOVED / ASK redirections from it.
  const std::string& last_error_reply() const { return last_error_reply_; }
  // While set, every command is preceded by ASKING, sent right before it on the same socket (the
  // cluster store's retry after an ASK redirect).
  void set_asking(bool asking) { asking_ = asking; }

  // After a transport failure the connection's state is unknown: it is not used again.
  virtual bool broken() const = 0;

 protected:
  // A reply as command() returns it: an error reply becomes an Error, its text kept for
  // last_error_reply() and `raw_error`.
  Result<ReplyPtr> answer(const Endpoint& endpoint, ReplyPtr reply, std::string* raw_error);

  std::string last_error_reply_;
  bool asking_ = false;
};

// The message of a call that was not sent because its time ran out before it could be.
Error not_sent_in_time(const Endpoint& endpoint);

// A connection of its own. Thread-safety: none; the pool lends it to one thread at a time.
class DirectConnection final : public Connection {
 public:
  // Connects (within options.connect_timeout), sets the command timeout, AUTHs and SELECTs.
  static Result<std::unique_ptr<DirectConnection>> open(const RedisOptions& options,
                                                        const Endpoint& endpoint);

  Result<ReplyPtr> command(const std::vector<std::string_view>& args,
                           std::string* raw_error = nullptr) override;
  bool broken() const override { return broken_; }
  // True if the server closed this idle connection (or sent something unasked): checked with a
  // zero-timeout poll before the pool lends it out, so that a restarted or CLIENT KILLed server
  // costs no failed call.
  bool closed_while_idle() const;

  redisContext* context() { return context_.get(); }
  int fd() const { return context_->fd; }
  const Endpoint& endpoint() const { return endpoint_; }

 private:
  DirectConnection(ContextPtr context, Endpoint endpoint)
      : context_(std::move(context)), endpoint_(std::move(endpoint)) {}

  // command() without the deadline check: the handshake (AUTH, SELECT) of a connection being opened,
  // which is bounded by the full command timeout whatever call opens it.
  Result<ReplyPtr> send(const std::vector<std::string_view>& args, std::string* raw_error = nullptr);
  // Sets the socket's timeout to what is left of the call's time, unless that is within kSlack of
  // the full command timeout (the usual case: no system call). False if no time is left.
  bool fit_timeout_to_call();

  ContextPtr context_;
  Endpoint endpoint_;
  std::chrono::milliseconds applied_timeout_{0};  // the socket's timeout now
  bool broken_ = false;
};

// Reply helpers (a nil or missing element reads as empty).
std::string_view reply_string(const redisReply* reply);
long long reply_integer(const redisReply* reply);
// A decimal integer that came as text (a hash field, a stream entry's field); 0 if it is not one.
std::int64_t parse_int64(std::string_view text);

}  // namespace memtrace::redis
