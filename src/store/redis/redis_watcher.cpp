// The pub/sub subscriber thread: connect, PSUBSCRIBE, poll, deliver, reconnect with backoff.
#include "store/redis/redis_watcher.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>

#include <spdlog/spdlog.h>
#include <sys/eventfd.h>

#include "store/redis/redis_keys.h"

namespace memtrace::redis {

Watcher::Watcher(RedisOptions options, Endpoint endpoint, ChangeCallback callback)
    : options_(std::move(options)), endpoint_(std::move(endpoint)), callback_(std::move(callback)) {
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  thread_ = std::thread([this] { run(); });
}

Watcher::~Watcher() {
  stopping_ = true;
  if (stop_fd_ >= 0) {
    std::uint64_t one = 1;
    [[maybe_unused]] auto written = ::write(stop_fd_, &one, sizeof one);
  }
  if (thread_.joinable()) thread_.join();
  if (stop_fd_ >= 0) ::close(stop_fd_);
}

bool Watcher::wait_subscribed(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  subscribed_changed_.wait_for(lock, timeout, [this] { return subscribed_ || first_attempt_done_; });
  return subscribed_;
}

void Watcher::wait_for(std::chrono::milliseconds delay) {
  pollfd pfd{};
  pfd.fd = stop_fd_;
  pfd.events = POLLIN;
  ::poll(&pfd, 1, static_cast<int>(delay.count()));
}

void Watcher::run() {
  auto backoff = options_.reconnect_backoff_min;
  bool warned = false;
  std::size_t attempt = 0;
  while (!stopping_) {
    // On a cluster, PUBLISH reaches every node: subscribe on any, the next seed after a failure.
    RedisOptions target = options_;
    if (!options_.cluster_seeds.empty()) {
      const auto& [host, port] = options_.cluster_seeds[attempt++ % options_.cluster_seeds.size()];
      target.host = host;
      target.port = port;
    }
    auto connection = Connection::open(target, endpoint_);
    Result<ReplyPtr> subscribed = connection ? (*connection)->command({"PSUBSCRIBE", kEventsPattern})
                                             : Result<ReplyPtr>(tl::unexpected(connection.error()));
    if (!subscribed) {
      {
        std::lock_guard lock(mutex_);
        first_attempt_done_ = true;
      }
      subscribed_changed_.notify_all();
      if (!warned) spdlog::warn("change feed: {}; retrying in the background", subscribed.error().message);
      warned = true;
      wait_for(backoff);
      backoff =
          std::min(backoff * 2, std::max(options_.reconnect_backoff_max, options_.reconnect_backoff_min));
      continue;
    }
    if (warned) spdlog::info("change feed: subscribed to redis store {} again", endpoint_.description);
    warned = false;
    backoff = options_.reconnect_backoff_min;
    {
      std::lock_guard lock(mutex_);
      subscribed_ = true;
      first_attempt_done_ = true;
    }
    subscribed_changed_.notify_all();
    listen(**connection);
    {
      std::lock_guard lock(mutex_);
      subscribed_ = false;
    }
    if (!stopping_) {
      spdlog::warn("change feed: lost the connection to redis store {}; resubscribing",
                   endpoint_.description);
      warned = true;
    }
  }
}

void Watcher::listen(Connection& connection) {
  redisContext* context = connection.context();
  bool ping_pending = false;
  const int interval_ms =
      static_cast<int>(std::max<long long>(options_.subscriber_health_interval.count(), 10));
  while (!stopping_) {
    for (;;) {  // replies already read into hiredis's buffer
      void* raw = nullptr;
      if (redisGetReplyFromReader(context, &raw) != REDIS_OK) return;
      if (!raw) break;
      ReplyPtr reply(static_cast<redisReply*>(raw));
      ping_pending = false;  // any traffic proves the server is alive
      deliver(*reply);
    }
    pollfd fds[2] = {};
    fds[0].fd = stop_fd_;
    fds[0].events = POLLIN;
    fds[1].fd = context->fd;
    fds[1].events = POLLIN;
    int ready = ::poll(fds, 2, interval_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[0].revents) return;
    if (ready == 0) {
      if (ping_pending) return;  // no answer for a whole interval: the server or the path is gone
      redisAppendCommand(context, "PING");
      int done = 0;
      while (!done) {
        if (redisBufferWrite(context, &done) != REDIS_OK) return;
      }
      ping_pending = true;
      continue;
    }
    if (redisBufferRead(context) != REDIS_OK) return;  // EOF, reset, error
  }
}

void Watcher::deliver(const redisReply& reply) {
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements != 4) return;
  if (reply_string(reply.element[0]) != "pmessage") return;
  auto ns = namespace_from_channel(reply_string(reply.element[2]));
  std::string_view payload = reply_string(reply.element[3]);
  if (!ns || payload.size() < 2 || payload[1] != ':') return;
  ChangeEvent event;
  event.kind = payload[0] == 's' ? ChangeEvent::Kind::kSessionChanged : ChangeEvent::Kind::kMemoryWritten;
  event.ns = std::move(*ns);
  event.session_id = std::string(payload.substr(2));
  try {
    callback_(event);
  } catch (const std::exception& e) {
    spdlog::error("change feed: a change callback threw: {}", e.what());
  } catch (...) {
    spdlog::error("change feed: a change callback threw");
  }
}

}  // namespace memtrace::redis
