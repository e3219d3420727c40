// The SQLite change feed: a poller thread turning rows of the `changes` log into ChangeEvents.
#include "store/sqlite/sqlite_change_feed.h"

#include <exception>
#include <string>

#include <spdlog/spdlog.h>

#include "core/thread_name.h"

namespace memtrace::sqlite {
namespace {

// Rows read per query; a burst of writes is delivered in several batches.
constexpr int kBatch = 256;
// After a poll that a local write asked for, the poller waits this long before the next one.
constexpr auto kRest = std::chrono::milliseconds(5);

}  // namespace

struct ChangeFeed::Poller {
  // Guarded by ChangeFeed::mutex_.
  bool stop = false;
  bool local_write = false;
  bool resting = false;  // between two polls for local writes (see run()): no wake-up needed
  std::thread thread;
  // Used only by the subscribe() call that creates the poller, then only by its thread.
  std::unique_ptr<Connection> connection;  // files: the poller's own connection, for data_version
  std::int64_t last_seq = -1;              // -1: not read yet (the first successful poll sets it)
  std::int64_t data_version = -1;
  std::string last_error;  // the last failure logged, so a lasting one is logged once, not every round
};

namespace {

// The feed whose poller thread this is, if any. A feed's poller thread must never join that feed's
// threads or wait for its deliveries (it could wait on itself).
thread_local const ChangeFeed* t_feed = nullptr;

}  // namespace

class ChangeFeed::Subscription final : public ChangeSubscription {
 public:
  Subscription(std::shared_ptr<ChangeFeed> feed, std::uint64_t id) : feed_(std::move(feed)), id_(id) {}
  ~Subscription() override {
    if (feed_) feed_->unsubscribe(id_);
  }

 private:
  std::shared_ptr<ChangeFeed> feed_;  // keeps the feed alive (not the store) while subscribed
  std::uint64_t id_;
};

ChangeFeed::~ChangeFeed() {
  shutdown();
  // Only reached once no poller thread holds the feed any more (each holds a shared_ptr), so the
  // threads left have finished or are finishing; the current thread may be one of them.
  for (auto& thread : retired_) {
    if (thread.get_id() == std::this_thread::get_id()) {
      thread.detach();
    } else if (thread.joinable()) {
      thread.join();
    }
  }
}

std::unique_ptr<ChangeSubscription> ChangeFeed::subscribe(std::string ns, ChangeCallback callback) {
  auto shared_callback = std::make_shared<ChangeCallback>(std::move(callback));
  std::uint64_t id = 0;
  {
    std::lock_guard lock(mutex_);
    if (shut_down_) return std::make_unique<Subscription>(nullptr, 0);
    id = next_id_++;
    subscribers_.emplace(id, Subscriber{std::move(ns), std::move(shared_callback)});
    if (!active_) {
      auto poller = std::make_shared<Poller>();
      // Find the log's end now, before returning, so that every write committed after watch()
      // returns is delivered. On failure the poller retries on its first round.
      if (auto end = read_end(*poller); end) {
        poller->last_seq = *end;
      } else {
        spdlog::warn("sqlite change feed: {}", end.error().message);
      }
      poller->thread = std::thread([self = shared_from_this(), poller] { self->run(poller); });
      active_ = std::move(poller);
    }
  }
  if (t_feed != this) join_retired();
  return std::make_unique<Subscription>(shared_from_this(), id);
}

void ChangeFeed::unsubscribe(std::uint64_t id) {
  {
    std::lock_guard lock(mutex_);
    subscribers_.erase(id);
    if (subscribers_.empty() && active_) {
      active_->stop = true;
      retired_.push_back(std::move(active_->thread));
      active_.reset();
      wake_.notify_all();
    }
  }
  if (t_feed == this) return;  // inside a callback: the poller checks membership before each call
  join_retired();
  // Wait out a callback in flight; later deliveries see the subscription gone.
  std::lock_guard wait(delivery_mutex_);
}

void ChangeFeed::notify_local_write() {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (!active_) return;
    active_->local_write = true;
    // While the poller rests after a poll it needs no wake-up: it polls again when the rest is over.
    wake = !active_->resting;
  }
  if (wake) wake_.notify_all();
}

void ChangeFeed::shutdown() {
  {
    std::lock_guard lock(mutex_);
    shut_down_ = true;
    subscribers_.clear();
    if (active_) {
      active_->stop = true;
      retired_.push_back(std::move(active_->thread));
      active_.reset();
      wake_.notify_all();
    }
  }
  if (t_feed != this) join_retired();
}

void ChangeFeed::join_retired() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    threads.swap(retired_);
  }
  for (auto& thread : threads) {
    if (thread.joinable()) thread.join();
  }
}

void ChangeFeed::run(std::shared_ptr<Poller> poller) {
  name_this_thread("mt-sqlite-watch");
  t_feed = this;
  const auto interval = database_->options().change_poll_interval;
  for (;;) {
    bool local_write = false;
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, interval, [&] { return poller->stop || poller->local_write; });
      if (poller->stop) break;
      local_write = poller->local_write;
      poller->local_write = false;
    }
    poll_once(*poller, local_write);
    if (!local_write) continue;
    // Under a stream of local writes, a wake-up and a read of the log per commit cost the writers
    // more than the deliveries are worth: the writes of the next few milliseconds are read together.
    std::unique_lock lock(mutex_);
    poller->resting = true;
    wake_.wait_for(lock, kRest, [&] { return poller->stop; });
    poller->resting = false;
  }
  poller->connection.reset();
}

Result<std::int64_t> ChangeFeed::read_end(Poller& poller) {
  auto body = [](Connection& connection) -> Result<std::int64_t> {
    auto statement = connection.prepare("SELECT coalesce(max(seq), 0) FROM changes", "read the change log");
    if (!statement) return tl::unexpected(statement.error());
    auto row = statement->step();
    if (!row) return tl::unexpected(row.error());
    return statement->int64(0);
  };
  if (database_->in_memory()) return database_->read(body);
  if (!poller.connection) {
    auto connection = database_->open_extra_connection();
    if (!connection) return tl::unexpected(connection.error());
    poller.connection = std::move(*connection);
  }
  // data_version first: a commit between the two reads then shows as a change on the next round.
  auto version = poller.connection->prepare("PRAGMA data_version", "read the data version");
  if (!version) return tl::unexpected(version.error());
  auto row = version->step();
  if (!row) return tl::unexpected(row.error());
  poller.data_version = version->int64(0);
  return body(*poller.connection);
}

void ChangeFeed::report(Poller& poller, const Error& error) {
  if (error.message == poller.last_error) return;
  poller.last_error = error.message;
  spdlog::warn("sqlite change feed: {} (will keep retrying)", error.message);
}

void ChangeFeed::poll_once(Poller& poller, bool local_write) {
  if (poller.last_seq < 0) {  // subscribe() could not read the log's end; try again
    if (auto end = read_end(poller); end) {
      poller.last_seq = *end;
    } else {
      report(poller, end.error());
    }
    return;
  }
  if (!database_->in_memory()) {
    // data_version changes when another connection (of any process) commits; checking it costs no
    // I/O beyond the WAL index, so idle polling is cheap.
    auto version = poller.connection->prepare("PRAGMA data_version", "read the data version");
    if (!version) {
      report(poller, version.error());
      return;
    }
    auto row = version->step();
    if (!row) {
      report(poller, row.error());
      return;
    }
    const std::int64_t current = version->int64(0);
    if (current == poller.data_version && !local_write) return;
    poller.data_version = current;
  }
  for (;;) {
    auto changes = read_changes(poller);
    if (!changes) {
      report(poller, changes.error());
      return;
    }
    poller.last_error.clear();
    std::lock_guard delivering(delivery_mutex_);
    for (const auto& [seq, event] : *changes) {
      if (!event) {
        poller.last_seq = seq;
        continue;
      }
      std::vector<std::pair<std::uint64_t, std::shared_ptr<ChangeCallback>>> targets;
      {
        std::lock_guard lock(mutex_);
        if (poller.stop) return;
        // One poller reads every namespace's rows; each subscriber hears its own namespace.
        for (const auto& [id, subscriber] : subscribers_) {
          if (subscriber.ns == event->ns) targets.emplace_back(id, subscriber.callback);
        }
      }
      for (const auto& [id, callback] : targets) {
        {
          std::lock_guard lock(mutex_);
          if (poller.stop) return;
          if (subscribers_.count(id) == 0) continue;  // unsubscribed by an earlier callback
        }
        try {
          (*callback)(*event);
        } catch (const std::exception& error) {
          spdlog::error("sqlite change feed: a watch callback threw: {}", error.what());
        } catch (...) {
          spdlog::error("sqlite change feed: a watch callback threw");
        }
      }
      poller.last_seq = seq;
    }
    if (changes->size() < static_cast<std::size_t>(kBatch)) return;
  }
}

Result<std::vector<std::pair<std::int64_t, std::optional<ChangeEvent>>>> ChangeFeed::read_changes(
    Poller& poller) {
  using Rows = std::vector<std::pair<std::int64_t, std::optional<ChangeEvent>>>;
  auto body = [&](Connection& connection) -> Result<Rows> {
    auto statement = connection.prepare(
        "SELECT seq, kind, ns, session_id FROM changes WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        "read the change log");
    if (!statement) return tl::unexpected(statement.error());
    statement->bind(poller.last_seq).bind(kBatch);
    Rows changes;
    for (;;) {
      auto row = statement->step();
      if (!row) return tl::unexpected(row.error());
      if (!*row) break;
      if (statement->int64(1) == kChangeTask) {
        changes.emplace_back(statement->int64(0), std::nullopt);
        continue;
      }
      ChangeEvent event;
      event.kind = statement->int64(1) == kChangeSession ? ChangeEvent::Kind::kSessionChanged
                                                         : ChangeEvent::Kind::kMemoryWritten;
      event.ns = statement->text(2);
      event.session_id = statement->text(3);
      changes.emplace_back(statement->int64(0), std::move(event));
    }
    return changes;
  };
  if (database_->in_memory()) return database_->read(body);
  return body(*poller.connection);
}

}  // namespace memtrace::sqlite
