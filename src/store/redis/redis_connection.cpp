// hiredis connections: connect with timeouts, AUTH, SELECT, one command at a time; failure mapping.
#include "store/redis/redis_connection.h"

#include <poll.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include <sys/time.h>

#include "core/call_arrival.h"

namespace memtrace::redis {
namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

constexpr std::string_view kWhereToLook =
    "check that redis-server is running and reachable at that address, or fix --store / REDIS_URL";

}  // namespace

Error map_redis_error(const Endpoint& endpoint, Phase phase, const redisContext* context, int saved_errno,
                      const redisReply* reply) {
  const std::string store = "redis store " + endpoint.description;
  if (reply && reply->type == REDIS_REPLY_ERROR) {
    std::string text(reply->str, reply->len);
    if (text.starts_with("MT_NOT_FOUND ")) return {ErrorCode::kNotFound, text.substr(13)};
    if (text.starts_with("MT_CONFLICT ")) return {ErrorCode::kConflict, text.substr(12)};
    if (text.starts_with("MT_INVALID ")) return {ErrorCode::kInvalidArgument, text.substr(11)};
    if (text.starts_with("WRONGPASS") || text.starts_with("NOAUTH") || text.starts_with("ERR AUTH") ||
        text.starts_with("ERR invalid password")) {
      return {ErrorCode::kUnavailable, "authentication failed: " + text + " (" + store +
                                           "); check the user and password in --store or REDIS_URL"};
    }
    if (text.starts_with("NOPERM")) {
      return {ErrorCode::kUnavailable,
              "permission denied: " + text + " (" + store +
                  "); the Redis ACL user needs +@all on keys mt:* and channels mt:*"};
    }
    for (std::string_view transient :
         {"LOADING", "BUSY", "MASTERDOWN", "READONLY", "OOM", "TRYAGAIN", "CLUSTERDOWN"}) {
      if (text.starts_with(transient)) {
        std::string message = store;
        message.append(" cannot serve the request right now: ").append(text);
        return {ErrorCode::kUnavailable, message};
      }
    }
    if (text.find("Unknown Redis command called from") != std::string::npos) {
      // Redis before 7.0 has no SPUBLISH, which every write script ends with.
      return {ErrorCode::kUnavailable, store + " is too old: memtrace needs Redis 7.0 or newer (" + text + ")"};
    }
    if (text.starts_with("ERR") && text.find("DB index") != std::string::npos) {
      return {ErrorCode::kUnavailable,
              store + " refused the database number: " + text + "; fix the /db in --store"};
    }
    return {ErrorCode::kInternal, store + " answered with an error: " + text};
  }
  if (!context) return {ErrorCode::kInternal, store + ": out of memory creating a connection"};
  return map_transport_error(endpoint, phase, context->err, context->errstr, saved_errno);
}

Error map_transport_error(const Endpoint& endpoint, Phase phase, int hiredis_err, const std::string& detail,
                          int saved_errno) {
  const std::string store = "redis store " + endpoint.description;
  if (phase == Phase::kConnect) {
    return {ErrorCode::kUnavailable,
            store + " is unavailable: cannot connect (" + detail + "); " + std::string(kWhereToLook)};
  }
  switch (hiredis_err) {
    case REDIS_ERR_IO:
      if (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK || saved_errno == ETIMEDOUT ||
          detail.find("temporarily unavailable") != std::string::npos) {
        return {ErrorCode::kTimeout,
                store + " did not answer within the call's " +
                    std::to_string(endpoint.command_timeout.count()) +
                    " ms (--redis-command-timeout-ms, counted from the call's arrival); it may be "
                    "overloaded, blocked by a slow command, or unreachable"};
      }
      return {ErrorCode::kUnavailable,
              store + " is unavailable: " + detail + "; " + std::string(kWhereToLook)};
    case REDIS_ERR_EOF:
      return {ErrorCode::kUnavailable, store + " closed the connection (" + detail +
                                           "): it was stopped, restarted or killed the client; " +
                                           std::string(kWhereToLook)};
    case REDIS_ERR_PROTOCOL:
      return {ErrorCode::kInternal, store + ": protocol error: " + detail};
    default:
      return {ErrorCode::kInternal,
              store + ": " + (detail.empty() ? std::string("unknown hiredis error") : detail)};
  }
}

Error not_sent_in_time(const Endpoint& endpoint) {
  return {ErrorCode::kTimeout, "redis store " + endpoint.description +
                                   " was not asked: the call had waited in line for its whole " +
                                   std::to_string(endpoint.command_timeout.count()) +
                                   " ms (--redis-command-timeout-ms) for a worker or a "
                                   "connection; it was not sent"};
}

Result<std::unique_ptr<DirectConnection>> DirectConnection::open(const RedisOptions& options,
                                                                 const Endpoint& endpoint) {
  const timeval connect_timeout = to_timeval(options.connect_timeout);
  errno = 0;
  redisContext* raw = options.unix_path.empty()
                          ? redisConnectWithTimeout(options.host.c_str(), options.port, connect_timeout)
                          : redisConnectUnixWithTimeout(options.unix_path.c_str(), connect_timeout);
  const int saved_errno = errno;
  ContextPtr context(raw);
  if (!context || context->err) {
    return tl::unexpected(map_redis_error(endpoint, Phase::kConnect, context.get(), saved_errno, nullptr));
  }
  if (redisSetTimeout(context.get(), to_timeval(options.command_timeout)) != REDIS_OK) {
    return tl::unexpected(map_redis_error(endpoint, Phase::kConnect, context.get(), errno, nullptr));
  }
  // TCP keepalive notices a peer that vanished without closing (a host gone, a cable pulled).
  if (options.unix_path.empty()) redisEnableKeepAlive(context.get());

  std::unique_ptr<DirectConnection> connection(new DirectConnection(std::move(context), endpoint));
  connection->applied_timeout_ = options.command_timeout;
  if (!options.password.empty()) {
    std::vector<std::string_view> auth = {"AUTH"};
    if (!options.user.empty()) auth.push_back(options.user);
    auth.push_back(options.password);
    if (auto reply = connection->send(auth); !reply) return tl::unexpected(reply.error());
  }
  if (options.db != 0) {
    const std::string db = std::to_string(options.db);
    if (auto reply = connection->send({"SELECT", db}); !reply) return tl::unexpected(reply.error());
  }
  return connection;
}

std::chrono::steady_clock::time_point call_deadline(std::chrono::milliseconds command_timeout) {
  const auto now = std::chrono::steady_clock::now();
  const auto arrived = CallArrival::current();
  return (arrived && *arrived < now ? *arrived : now) + command_timeout;
}

bool DirectConnection::fit_timeout_to_call() {
  using std::chrono::milliseconds;
  constexpr milliseconds kSlack{50};
  const auto left = std::chrono::duration_cast<milliseconds>(call_deadline(endpoint_.command_timeout) -
                                                             std::chrono::steady_clock::now());
  if (left.count() <= 0) return false;
  const milliseconds wanted = left + kSlack >= endpoint_.command_timeout ? endpoint_.command_timeout : left;
  if (wanted != applied_timeout_ && redisSetTimeout(context_.get(), to_timeval(wanted)) == REDIS_OK) {
    applied_timeout_ = wanted;
  }
  return true;
}

Result<ReplyPtr> DirectConnection::command(const std::vector<std::string_view>& args,
                                           std::string* raw_error) {
  if (!fit_timeout_to_call()) {
    last_error_reply_.clear();
    return tl::unexpected(not_sent_in_time(endpoint_));
  }
  return send(args, raw_error);
}

Result<ReplyPtr> DirectConnection::send(const std::vector<std::string_view>& args, std::string* raw_error) {
  last_error_reply_.clear();
  if (asking_) {
    errno = 0;
    ReplyPtr asked(static_cast<redisReply*>(redisCommand(context_.get(), "ASKING")));
    if (!asked) {
      broken_ = true;
      return tl::unexpected(map_redis_error(endpoint_, Phase::kCommand, context_.get(), errno, nullptr));
    }
  }
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (auto arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  errno = 0;
  void* raw = redisCommandArgv(context_.get(), static_cast<int>(argv.size()), argv.data(), lengths.data());
  const int saved_errno = errno;
  if (!raw) {
    broken_ = true;
    return tl::unexpected(map_redis_error(endpoint_, Phase::kCommand, context_.get(), saved_errno, nullptr));
  }
  return answer(endpoint_, ReplyPtr(static_cast<redisReply*>(raw)), raw_error);
}

Result<ReplyPtr> Connection::answer(const Endpoint& endpoint, ReplyPtr reply, std::string* raw_error) {
  if (reply->type != REDIS_REPLY_ERROR) return reply;
  last_error_reply_.assign(reply->str, reply->len);
  if (raw_error) raw_error->assign(reply->str, reply->len);
  return tl::unexpected(map_redis_error(endpoint, Phase::kCommand, nullptr, 0, reply.get()));
}

bool DirectConnection::closed_while_idle() const {
  pollfd pfd{};
  pfd.fd = context_->fd;
  pfd.events = POLLIN;
  int ready = ::poll(&pfd, 1, 0);
  return ready != 0;  // an idle connection has nothing to read: data, EOF, an error all mean "drop it"
}

std::string_view reply_string(const redisReply* reply) {
  if (!reply) return {};
  if (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS) return {reply->str, reply->len};
  return {};
}

long long reply_integer(const redisReply* reply) {
  if (!reply) return 0;
  if (reply->type == REDIS_REPLY_INTEGER) return reply->integer;
  long long value = 0;
  if (reply->type == REDIS_REPLY_STRING) std::from_chars(reply->str, reply->str + reply->len, value);
  return value;
}

std::int64_t parse_int64(std::string_view text) {
  std::int64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

}  // namespace memtrace::redis
