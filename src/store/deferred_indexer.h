// Index work done shortly after the writes that made it, on a thread of its own (both stores' substring
// indexes).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "core/error.h"

namespace memtrace {

// A write records its memory as pending (in the store, in the write's own transaction or script) and
// tells the indexer which key (a namespace, or "" for a whole file) has work; the indexer's thread runs
// `step` for that key, one batch at a time, until it reports nothing left. Searches read the index and
// the pending records together, so a pending memory is never missing from a result; what deferring
// buys is a write whose cost no longer grows with its content, and a batch that indexes many memories
// for the fixed cost of one.
//
// The first pending write starts the thread (a store that is only read has none). It starts work
// `gather` after the first pending write (or at once when `wake_at` writes are pending), so a stream of
// writes is indexed in batches and a lone write within milliseconds. A failed
// step is logged and retried a second later; searches stay correct meanwhile. The destructor stops the
// thread and then drains what is left on the calling thread, so a clean shutdown leaves nothing
// pending.
//
// Thread-safety: wrote() and drain() from any thread; `step` runs on one thread at a time per indexer.
class DeferredIndexer {
 public:
  // One batch for `key`: true if more is pending there.
  using Step = std::function<Result<bool>(const std::string& key)>;

  // `what` names the index in log lines.
  DeferredIndexer(std::string what, Step step, std::chrono::milliseconds gather, std::size_t wake_at);
  ~DeferredIndexer();
  DeferredIndexer(const DeferredIndexer&) = delete;
  DeferredIndexer& operator=(const DeferredIndexer&) = delete;

  // `rows` more records are pending under `key`. Cheap: takes a mutex, and wakes the thread only on
  // the first pending write after it went idle and when `wake_at` are pending.
  void wrote(const std::string& key, std::size_t rows = 1);
  // Runs the steps of every key with pending work now, on the calling thread, until none is left.
  Result<void> drain();

 private:
  void run();
  Result<void> drain_key(const std::string& key);

  const std::string what_;
  const Step step_;
  const std::chrono::milliseconds gather_;
  const std::size_t wake_at_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::set<std::string> pending_;  // keys with work
  std::size_t rows_ = 0;           // pending rows since the thread last took the keys
  bool closing_ = false;
  std::mutex step_mutex_;  // one step at a time (the thread's and drain()'s)
  std::thread thread_;
};

}  // namespace memtrace
