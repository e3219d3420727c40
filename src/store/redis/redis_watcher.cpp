// The sharded pub/sub subscriber: one thread, one connection per node, SSUBSCRIBE per watched
// namespace, following the slot map on failures, -MOVED and server-sent sunsubscribe.
#include "store/redis/redis_watcher.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <deque>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>
#include <sys/eventfd.h>

#include "core/thread_name.h"
#include "store/redis/redis_keys.h"
#include "store/redis/redis_slots.h"

namespace memtrace::redis {
namespace {

using Clock = std::chrono::steady_clock;

// The subscriber whose thread this is, if any: that thread must not wait for itself.
thread_local const Subscriber* t_subscriber = nullptr;

std::string node_key(const RedisOptions& options) {
  return options.unix_path.empty() ? options.host + ":" + std::to_string(options.port) : options.unix_path;
}

}  // namespace

class Subscriber::Handle final : public ChangeSubscription {
 public:
  Handle(std::weak_ptr<Subscriber> owner, std::uint64_t id) : owner_(std::move(owner)), id_(id) {}
  ~Handle() override {
    if (auto owner = owner_.lock()) owner->unwatch(id_);
  }

 private:
  std::weak_ptr<Subscriber> owner_;
  std::uint64_t id_;
};

// One subscriber connection and what it has been asked. Replies to our commands come back in the order
// they were sent, interleaved with pushes (smessage, and sunsubscribe when the server drops a channel).
struct Subscriber::Node {
  enum class State { kSubscribing, kSubscribed, kUnsubscribing };
  struct Expected {
    enum class Kind { kSubscribe, kUnsubscribe, kPing };
    Kind kind;
    std::string channel;
  };
  std::string key;
  std::unique_ptr<DirectConnection> connection;
  std::map<std::string, State> channels;
  std::deque<Expected> expected;
  Clock::time_point last_traffic = Clock::now();
  bool ping_pending = false;
};

Subscriber::Subscriber(RedisOptions options, std::string description, LocateSlot locate)
    : options_(std::move(options)), description_(std::move(description)), locate_(std::move(locate)) {
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

Subscriber::~Subscriber() {
  stop();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

std::chrono::milliseconds Subscriber::wait_budget() const {
  return options_.connect_timeout + options_.command_timeout;
}

void Subscriber::wake() {
  std::uint64_t one = 1;
  [[maybe_unused]] auto written = ::write(wake_fd_, &one, sizeof one);
}

void Subscriber::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    watchers_.clear();
    channels_.clear();
  }
  settled_.notify_all();
  wake();
  if (thread_.joinable()) {
    if (thread_.get_id() == std::this_thread::get_id()) {
      thread_.detach();  // stopped from a callback: the loop ends when it returns
    } else {
      thread_.join();
    }
  }
}

std::unique_ptr<ChangeSubscription> Subscriber::watch(const std::string& ns, ChangeCallback callback) {
  const std::string channel = events_channel(ns);
  std::uint64_t id = 0;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return std::make_unique<Handle>(std::weak_ptr<Subscriber>(), 0);
    id = next_id_++;
    watchers_.emplace(id, Watcher{channel, std::make_shared<ChangeCallback>(std::move(callback))});
    ++channels_[channel].watchers;
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  }
  wake();
  if (t_subscriber != this) {
    std::unique_lock lock(mutex_);
    settled_.wait_for(lock, wait_budget(), [&] {
      auto it = channels_.find(channel);
      return stopping_ || it == channels_.end() || it->second.status != Status::kPending;
    });
  }
  return std::make_unique<Handle>(weak_from_this(), id);
}

void Subscriber::unwatch(std::uint64_t id) {
  {
    std::lock_guard lock(mutex_);
    auto it = watchers_.find(id);
    if (it == watchers_.end()) return;
    auto channel = channels_.find(it->second.channel);
    if (channel != channels_.end() && --channel->second.watchers == 0) channels_.erase(channel);
    watchers_.erase(it);
  }
  wake();  // the thread unsubscribes the channel if nobody watches it any more
  if (t_subscriber == this) return;  // inside a callback: deliver() checks membership before each call
  std::lock_guard wait(delivery_mutex_);  // waits out a callback in flight
}

void Subscriber::set_status(const std::string& channel, Status status) {
  {
    std::lock_guard lock(mutex_);
    auto it = channels_.find(channel);
    if (it == channels_.end() || it->second.status == status) return;
    it->second.status = status;
  }
  settled_.notify_all();
}

void Subscriber::retry_later(bool refresh_map) {
  const auto floor = std::max(options_.reconnect_backoff_min, std::chrono::milliseconds(1));
  backoff_ = backoff_.count() == 0 ? floor : std::min(backoff_ * 2, std::max(options_.reconnect_backoff_max, floor));
  retry_at_ = Clock::now() + backoff_;
  refresh_map_ = refresh_map_ || refresh_map;
}

bool Subscriber::send(Node& node, const std::vector<std::string_view>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  for (auto arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  redisContext* context = node.connection->context();
  if (redisAppendCommandArgv(context, static_cast<int>(argv.size()), argv.data(), lengths.data()) != REDIS_OK)
    return false;
  int done = 0;
  while (!done) {
    if (redisBufferWrite(context, &done) != REDIS_OK) return false;
  }
  return true;
}

void Subscriber::lose(const std::string& key, const std::string& why) {
  auto it = nodes_.find(key);
  if (it == nodes_.end()) return;
  for (const auto& [channel, state] : it->second->channels) set_status(channel, Status::kPending);
  const bool had_channels = !it->second->channels.empty();
  nodes_.erase(it);
  refresh_map_ = true;  // a failover may have moved its slots: ask the map before resubscribing
  if (had_channels && !warned_) {
    spdlog::warn("change feed: {} (node {}); subscribing again", why, key);
    warned_ = true;
  }
}

void Subscriber::reconcile() {
  std::set<std::string> wanted;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [channel, state] : channels_) wanted.insert(channel);
  }
  std::vector<std::string> broken;
  for (auto& [key, node] : nodes_) {
    for (auto& [channel, state] : node->channels) {
      if (state != Node::State::kSubscribed) continue;
      if (wanted.count(channel)) {
        // Wanted again before its unsubscription was sent: still subscribed, so a watch() waiting
        // on a fresh entry for it can return.
        set_status(channel, Status::kSubscribed);
        continue;
      }
      if (!send(*node, {"SUNSUBSCRIBE", channel})) {
        broken.push_back(key);
        break;
      }
      state = Node::State::kUnsubscribing;
      node->expected.push_back({Node::Expected::Kind::kUnsubscribe, channel});
    }
  }
  for (const auto& key : broken) lose(key, "the subscriber connection failed");
  place(wanted);
  // A connection with nothing subscribed and nothing outstanding is closed.
  std::erase_if(nodes_, [](const auto& entry) {
    return entry.second->channels.empty() && entry.second->expected.empty();
  });
}

void Subscriber::place(const std::set<std::string>& wanted) {
  // A channel on a node in any state is in hand (one being unsubscribed is subscribed again once the
  // server has confirmed that, so that the two answers cannot be confused).
  std::set<std::string> placed;
  for (const auto& [key, node] : nodes_) {
    for (const auto& [channel, state] : node->channels) placed.insert(channel);
  }
  std::vector<std::string> unplaced;
  for (const auto& channel : wanted) {
    if (!placed.count(channel)) unplaced.push_back(channel);
  }
  if (unplaced.empty() || Clock::now() < retry_at_) return;

  bool refresh = std::exchange(refresh_map_, false);
  std::optional<Error> failure;
  std::set<std::string> unreachable;  // nodes that failed this round: not tried again for each channel
  for (const auto& channel : unplaced) {
    auto target = locate_(hash_slot(channel), refresh);
    refresh = false;  // once per round
    if (!target) {
      failure = target.error();
      set_status(channel, Status::kFailed);
      continue;
    }
    const std::string key = node_key(*target);
    if (unreachable.count(key)) {
      set_status(channel, Status::kFailed);
      continue;
    }
    auto& node = nodes_[key];
    if (!node) {
      auto connection = DirectConnection::open(
          *target, Endpoint{description_ + " (node " + key + ")", options_.command_timeout});
      if (!connection) {
        nodes_.erase(key);
        unreachable.insert(key);
        failure = connection.error();
        set_status(channel, Status::kFailed);
        continue;
      }
      node = std::make_unique<Node>();
      node->key = key;
      node->connection = std::move(*connection);
    }
    if (!send(*node, {"SSUBSCRIBE", channel})) {
      nodes_.erase(key);
      unreachable.insert(key);
      failure = Error{ErrorCode::kUnavailable, "the subscriber connection to node " + key + " failed"};
      set_status(channel, Status::kFailed);
      refresh_map_ = true;
      continue;
    }
    node->channels[channel] = Node::State::kSubscribing;
    node->expected.push_back({Node::Expected::Kind::kSubscribe, channel});
    node->last_traffic = Clock::now();
  }
  if (failure) {
    if (!warned_) spdlog::warn("change feed: {}; retrying in the background", failure->message);
    warned_ = true;
    retry_later(true);
  }
}

bool Subscriber::handle_reply(Node& node, const redisReply& reply) {
  using Kind = Node::Expected::Kind;
  const auto expecting = [&](Kind kind, std::string_view channel) {
    return !node.expected.empty() && node.expected.front().kind == kind &&
           (kind == Kind::kPing || node.expected.front().channel == channel);
  };
  if (reply.type == REDIS_REPLY_ERROR) {
    const std::string text(reply.str, reply.len);
    if (node.expected.empty()) return false;  // an answer to nothing we asked: start over
    const auto asked = node.expected.front();
    node.expected.pop_front();
    if (asked.kind != Kind::kSubscribe) return true;
    node.channels.erase(asked.channel);
    if (text.starts_with("MOVED") || text.starts_with("ASK")) {
      // The slot is served elsewhere now: ask the map again, subscribe there.
      spdlog::debug("change feed: {} for {}", text, asked.channel);
      set_status(asked.channel, Status::kPending);
      retry_later(true);
      return true;
    }
    if (!warned_) {
      spdlog::warn("change feed: node {} refused SSUBSCRIBE: {}{}; retrying in the background", node.key, text,
                   text.find("unknown command") != std::string::npos
                       ? " (live updates need Redis 7.0 or newer: sharded pub/sub)"
                       : "");
    }
    warned_ = true;
    set_status(asked.channel, Status::kFailed);
    retry_later(true);
    return true;
  }
  if (reply.type == REDIS_REPLY_STATUS) {  // +PONG outside subscribed mode
    if (expecting(Kind::kPing, {})) node.expected.pop_front();
    return true;
  }
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements < 2) return true;
  const std::string_view kind = reply_string(reply.element[0]);
  const std::string channel(reply_string(reply.element[1]));
  if (kind == "smessage" && reply.elements >= 3) {
    deliver(channel, reply_string(reply.element[2]));
  } else if (kind == "ssubscribe") {
    if (expecting(Kind::kSubscribe, channel)) node.expected.pop_front();
    node.channels[channel] = Node::State::kSubscribed;
    set_status(channel, Status::kSubscribed);
    backoff_ = std::chrono::milliseconds(0);
    if (warned_) spdlog::info("change feed: subscribed to redis store {} again", description_);
    warned_ = false;
  } else if (kind == "sunsubscribe") {
    node.channels.erase(channel);
    if (expecting(Kind::kUnsubscribe, channel)) {
      node.expected.pop_front();
    } else {
      // Unasked: the slot left this node (failover, migration). Subscribe where the map says now.
      spdlog::info("change feed: node {} dropped {} (its slot moved); subscribing again", node.key, channel);
      set_status(channel, Status::kPending);
      refresh_map_ = true;
    }
  } else if (kind == "pong") {
    if (expecting(Kind::kPing, {})) node.expected.pop_front();
  }
  return true;
}

bool Subscriber::read_from(Node& node) {
  redisContext* context = node.connection->context();
  if (redisBufferRead(context) != REDIS_OK) return false;  // EOF, reset, error
  for (;;) {
    void* raw = nullptr;
    if (redisGetReplyFromReader(context, &raw) != REDIS_OK) return false;
    if (!raw) return true;
    ReplyPtr reply(static_cast<redisReply*>(raw));
    node.last_traffic = Clock::now();
    node.ping_pending = false;  // any traffic proves the server is alive
    if (!handle_reply(node, *reply)) return false;
  }
}

void Subscriber::deliver(const std::string& channel, std::string_view payload) {
  auto ns = namespace_from_channel(channel);
  if (!ns || payload.size() < 2 || payload[1] != ':') return;
  ChangeEvent event;
  event.kind = payload[0] == 's' ? ChangeEvent::Kind::kSessionChanged : ChangeEvent::Kind::kMemoryWritten;
  event.ns = std::move(*ns);
  event.session_id = std::string(payload.substr(2));
  std::vector<std::pair<std::uint64_t, std::shared_ptr<ChangeCallback>>> targets;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, watcher] : watchers_) {
      if (watcher.channel == channel) targets.emplace_back(id, watcher.callback);
    }
  }
  std::lock_guard delivering(delivery_mutex_);
  for (const auto& [id, callback] : targets) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_ || watchers_.count(id) == 0) continue;  // unwatched by an earlier callback
    }
    try {
      (*callback)(event);
    } catch (const std::exception& e) {
      spdlog::error("change feed: a change callback threw: {}", e.what());
    } catch (...) {
      spdlog::error("change feed: a change callback threw");
    }
  }
}

void Subscriber::run() {
  name_this_thread("mt-redis-events");
  t_subscriber = this;
  const auto interval = std::max(options_.subscriber_health_interval, std::chrono::milliseconds(10));
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) break;
    }
    reconcile();

    std::vector<pollfd> fds(1);
    fds[0].fd = wake_fd_;
    fds[0].events = POLLIN;
    std::vector<std::string> keys;
    auto now = Clock::now();
    auto next = now + interval;
    for (const auto& [key, node] : nodes_) {
      pollfd pfd{};
      pfd.fd = node->connection->fd();
      pfd.events = POLLIN;
      fds.push_back(pfd);
      keys.push_back(key);
      next = std::min(next, node->last_traffic + interval);
    }
    {
      std::lock_guard lock(mutex_);
      bool all_placed = true;
      for (const auto& watched : channels_) {
        const auto& channel = watched.first;  // a named reference: clang 14 cannot capture a binding
        all_placed = all_placed && std::any_of(nodes_.begin(), nodes_.end(), [&](const auto& entry) {
                       return entry.second->channels.count(channel) > 0;
                     });
      }
      if (!all_placed) next = std::min(next, std::max(retry_at_, now));
    }
    const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count();
    const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(std::max<long long>(timeout, 0) + 1));
    if (ready < 0 && errno != EINTR) break;
    if (ready > 0 && fds[0].revents) {
      std::uint64_t count = 0;
      [[maybe_unused]] auto got = ::read(wake_fd_, &count, sizeof count);
    }
    std::vector<std::pair<std::string, std::string>> failed;
    for (std::size_t i = 1; ready > 0 && i < fds.size(); ++i) {
      if (!fds[i].revents) continue;
      auto it = nodes_.find(keys[i - 1]);
      if (it != nodes_.end() && !read_from(*it->second)) {
        failed.emplace_back(keys[i - 1], "lost the subscriber connection to redis store " + description_);
      }
    }
    now = Clock::now();
    for (auto& [key, node] : nodes_) {
      if (now - node->last_traffic < interval) continue;
      if (node->ping_pending) {  // no answer for a whole interval: the server or the path is gone
        failed.emplace_back(key, "redis store " + description_ + " did not answer the subscriber's PING");
        continue;
      }
      if (!send(*node, {"PING"})) {
        failed.emplace_back(key, "lost the subscriber connection to redis store " + description_);
        continue;
      }
      node->expected.push_back({Node::Expected::Kind::kPing, {}});
      node->ping_pending = true;
      node->last_traffic = now;
    }
    for (const auto& [key, why] : failed) lose(key, why);
  }
  nodes_.clear();
}

}  // namespace memtrace::redis
