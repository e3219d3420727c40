// watch() for the SQLite store: a poller thread that reads the change log and calls the subscribers.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite/sqlite_database.h"
#include "store/store.h"

namespace memtrace::sqlite {

// changes.kind values.
inline constexpr int kChangeMemory = 0;   // ChangeEvent::Kind::kMemoryWritten
inline constexpr int kChangeSession = 1;  // ChangeEvent::Kind::kSessionChanged
inline constexpr int kChangeTask = 2;     // in the durable feed only; wakes no watcher

// Delivers ChangeEvents from the `changes` table, which every write appends to in its own transaction.
// One code path serves local and remote writes: a poller thread reads rows with seq > the last one
// seen, when this store signals a local write (notify_local_write) or when `PRAGMA data_version` on the
// poller's own connection says another connection (this process or another) committed something; it
// checks every change_poll_interval. A local write is read at once, and the local writes that follow
// within 5 ms are read together after it (one wake-up and one read of the log for a burst, not one per
// commit). The thread starts with the first subscription and stops when the last one goes (or at
// shutdown()); each start opens its own connection.
//
// Thread-safety: all public methods may be called from any thread, including from inside a callback
// (a callback may destroy its own or another subscription, or subscribe). Callbacks run one at a time
// on the poller thread. Once a subscription's destructor has returned its callback is not called again
// (unless the destructor ran inside a callback on the poller thread, which is then the caller); so do
// not destroy a subscription while holding a lock its callback takes.
//
// Lifetime: subscriptions hold the feed (and through it the database's connections) but no thread; a
// subscription that outlives the store delivers nothing and only delays closing the file until it goes.
class ChangeFeed : public std::enable_shared_from_this<ChangeFeed> {
 public:
  explicit ChangeFeed(std::shared_ptr<Database> database) : database_(std::move(database)) {}
  ~ChangeFeed();
  ChangeFeed(const ChangeFeed&) = delete;
  ChangeFeed& operator=(const ChangeFeed&) = delete;

  // Events of namespace `ns` only, from now on.
  std::unique_ptr<ChangeSubscription> subscribe(std::string ns, ChangeCallback callback);
  // Cheap when nobody watches. Call after a write has committed (and no database lock is held).
  void notify_local_write();
  // Stops delivery for good and joins the poller threads (except the calling one, if it is one).
  void shutdown();

 private:
  class Subscription;
  struct Poller;  // one run of the poller thread

  void unsubscribe(std::uint64_t id);
  void run(std::shared_ptr<Poller> poller);
  // Reads and delivers the changes after poller->last_seq. False if the poller was stopped meanwhile.
  void poll_once(Poller& poller, bool local_write);
  // The newest seq in the log (0 if empty); for files also records the poller's data_version first.
  Result<std::int64_t> read_end(Poller& poller);
  // Rows after poller->last_seq; nullopt events (task changes) only advance the position.
  Result<std::vector<std::pair<std::int64_t, std::optional<ChangeEvent>>>> read_changes(Poller& poller);
  // Logs a poller failure, once per distinct message.
  static void report(Poller& poller, const Error& error);
  // Joins retired poller threads other than the calling one. Call without holding mutex_.
  void join_retired();

  const std::shared_ptr<Database> database_;

  std::mutex mutex_;  // guards everything below except what Poller documents
  std::condition_variable wake_;
  struct Subscriber {
    std::string ns;
    std::shared_ptr<ChangeCallback> callback;
  };
  std::map<std::uint64_t, Subscriber> subscribers_;
  std::uint64_t next_id_ = 1;
  std::shared_ptr<Poller> active_;    // the running poller, if anyone subscribes
  std::vector<std::thread> retired_;  // stopped pollers' threads, not joined yet
  bool shut_down_ = false;

  // Held while callbacks run, so that unsubscribe() can wait out a callback in flight.
  std::mutex delivery_mutex_;
};

}  // namespace memtrace::sqlite
