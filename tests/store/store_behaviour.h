// The store behaviour suite: what every Store backend must do, written against the Store interface only.
// A backend instantiates it with INSTANTIATE_TEST_SUITE_P(<Backend>, StoreBehaviour, Values(...),
// backend_name).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "core/ids.h"
#include "store/store.h"

namespace memtrace::testing {

// A backend under test. `make` returns a new store over an EMPTY data set, so that every test starts
// from nothing, keeping at most `max_memories_per_session` memories per session (0: all). A backend
// that cannot start must make the test fail (ADD_FAILURE and return nullptr), never skip it.
struct StoreBackend {
  std::string name;  // used in test names: letters, digits and underscores only
  std::function<std::unique_ptr<Store>(std::size_t max_memories_per_session)> make;
};

// gtest prints the parameter in failure messages; the name says it all.
inline void PrintTo(const StoreBackend& backend, std::ostream* out) {
  *out << backend.name;
}

inline std::string backend_name(const ::testing::TestParamInfo<StoreBackend>& info) {
  return info.param.name;
}

// Unwraps a Result, recording a test failure (with the store's message) if it holds an error.
template <class T>
T ok(Result<T> result, const std::string& what = "store call") {
  if (!result) {
    ADD_FAILURE() << what << " failed: [" << to_string(result.error().code) << "] " << result.error().message;
    return T{};
  }
  return std::move(*result);
}

inline void ok(Result<void> result, const std::string& what = "store call") {
  if (!result)
    ADD_FAILURE() << what << " failed: [" << to_string(result.error().code) << "] " << result.error().message;
}

// WriteOptions that supersede `ids`.
inline WriteOptions superseding(std::vector<std::string> ids) {
  WriteOptions options;
  options.supersedes = std::move(ids);
  return options;
}

// `length` lower-case letters, the same ones for the same seed: content with about as many distinct
// trigrams as letters (up to a few thousand), i.e. a large substring index for one memory.
inline std::string letter_soup(std::size_t length, std::uint32_t seed) {
  std::string text;
  std::uint32_t x = seed;
  for (std::size_t i = 0; i < length; ++i) {
    x = x * 1664525u + 1013904223u;
    text.push_back(static_cast<char>('a' + (x >> 24) % 26));
  }
  return text;
}

// Every id `query` matches, largest first, read page by page: query.limit per page, each page after
// the last id of the one before. Records a failure if a page holds more than the limit.
inline std::vector<std::string> ids_page_by_page(Store& store, MemoryQuery query) {
  std::vector<std::string> ids;
  query.before_id.reset();
  while (query.limit > 0) {
    auto page = ok(store.query_memories(query), "query_memories");
    EXPECT_LE(page.size(), query.limit);
    for (const auto& memory : page) ids.push_back(memory.id);
    if (page.size() < query.limit) break;
    query.before_id = page.back().id;
  }
  return ids;
}

// Collects change events from a watch() callback; tests wait on it with a deadline, never with sleeps.
// Thread-safety: callback() may be invoked from any thread; the other methods from any thread.
class EventRecorder {
 public:
  ChangeCallback callback() {
    return [this](const ChangeEvent& event) {
      std::lock_guard lock(mutex_);
      events_.push_back(event);
      changed_.notify_all();
    };
  }

  // Waits until `done(events)` holds or `timeout` passes; returns whether it held.
  bool wait_for(const std::function<bool(const std::vector<ChangeEvent>&)>& done,
                std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return done(events_); });
  }

  // Waits for an event of `kind` in `session_id`.
  bool wait_for_event(ChangeEvent::Kind kind, const std::string& ns, const std::string& session_id,
                      std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    return wait_for(
        [&](const std::vector<ChangeEvent>& events) {
          for (const auto& event : events) {
            if (event.kind == kind && event.ns == ns && event.session_id == session_id) return true;
          }
          return false;
        },
        timeout);
  }

  std::vector<ChangeEvent> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<ChangeEvent> events_;
};

// What store tests share: sessions and memories made on a fixed time base, written with the failure
// recorded, and the ids a query answers. A fixture derives from it and says which store it tests.
class StoreHelpers {
 protected:
  // A fixed, realistic time base: 2023-11-14T22:13:20Z.
  static constexpr UnixMillis kT0 = 1'700'000'000'000;
  // "now" for queries unless a test says otherwise: a day later, before any expiry a test sets.
  static constexpr UnixMillis kNow = kT0 + 86'400'000;

  virtual ~StoreHelpers() = default;
  virtual Store& store() = 0;

  // A time-sortable id for something created at `at` (ids made here increase with each call).
  std::string new_id(UnixMillis at) { return ids_.next(at); }

  Session make_session(const std::string& id, const std::string& created_by = "agent-a",
                       Metadata metadata = {}, const std::string& ns = kDefaultNamespace,
                       UnixMillis at = kT0) {
    Session session;
    session.ns = ns;
    session.id = id;
    session.created_by = created_by;
    session.metadata = std::move(metadata);
    session.created_at = at;
    session.updated_at = at;
    return session;
  }

  // Creates a session (recording a failure if the store refuses).
  Session add_session(const std::string& id, const std::string& created_by = "agent-a",
                      Metadata metadata = {}, const std::string& ns = kDefaultNamespace,
                      UnixMillis at = kT0) {
    Session session = make_session(id, created_by, std::move(metadata), ns, at);
    ok(store().create_session(session), "create_session " + id);
    return session;
  }

  Memory make_memory(const std::string& session_id, const std::string& content, UnixMillis at,
                     const std::string& agent_id = "agent-a", const std::string& ns = kDefaultNamespace) {
    Memory memory;
    memory.ns = ns;
    memory.id = new_id(at);
    memory.session_id = session_id;
    memory.agent_id = agent_id;
    memory.content = content;
    memory.created_at = at;
    return memory;
  }

  // Inserts and returns the memory (recording a failure if the store refuses).
  Memory add(Memory memory) {
    ok(store().insert_memory(memory), "insert_memory " + memory.id);
    return memory;
  }

  MemoryQuery query(const std::string& ns = kDefaultNamespace) {
    MemoryQuery q;
    q.ns = ns;
    q.now = kNow;
    q.limit = 1000;
    return q;
  }

  // The ids that query_memories returns, in order.
  std::vector<std::string> recall(const MemoryQuery& q) {
    std::vector<std::string> ids;
    for (const auto& memory : ok(store().query_memories(q), "query_memories")) ids.push_back(memory.id);
    return ids;
  }

  SessionQuery session_query(const std::string& ns = kDefaultNamespace) {
    SessionQuery q;
    q.ns = ns;
    q.now = kNow;
    q.limit = 1000;
    return q;
  }

  // A ranking of session `session_id`'s memories (namespace default) at kNow.
  RankQuery rank_query(const std::string& session_id, std::size_t limit, std::size_t count_limit = 1000) {
    RankQuery q;
    q.session_id = session_id;
    q.now = kNow;
    q.limit = limit;
    q.count_limit = count_limit;
    return q;
  }

  std::vector<std::string> find(const SessionQuery& q) {
    std::vector<std::string> ids;
    for (const auto& summary : ok(store().find_sessions(q), "find_sessions"))
      ids.push_back(summary.session.id);
    return ids;
  }

  IdGenerator ids_;
};

class StoreBehaviour : public ::testing::TestWithParam<StoreBackend>, protected StoreHelpers {
 protected:
  void SetUp() override {
    store_ = GetParam().make(0);
    ASSERT_NE(store_, nullptr) << "backend " << GetParam().name << " did not start";
  }

  // Starts the test over on an empty store with a sliding window of `max` memories per session.
  void use_window(std::size_t max) {
    store_.reset();
    store_ = GetParam().make(max);
    ASSERT_NE(store_, nullptr) << "backend " << GetParam().name << " did not start";
  }

  void TearDown() override { store_.reset(); }

  Store& store() override { return *store_; }

  std::unique_ptr<Store> store_;
};

}  // namespace memtrace::testing
