// The deferred indexer's thread: gather the pending writes, then run the steps until none is left.
#include "store/deferred_indexer.h"

#include <utility>

#include <spdlog/spdlog.h>

#include "core/thread_name.h"

namespace memtrace {

DeferredIndexer::DeferredIndexer(std::string what, Step step, std::chrono::milliseconds gather,
                                 std::size_t wake_at)
    : what_(std::move(what)), step_(std::move(step)), gather_(gather), wake_at_(wake_at == 0 ? 1 : wake_at) {}

DeferredIndexer::~DeferredIndexer() {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  if (auto drained = drain(); !drained) {
    spdlog::warn("{}: at close: {} (searches still find the pending memories; the next start goes on)", what_,
                 drained.error().message);
  }
}

void DeferredIndexer::wrote(const std::string& key, std::size_t rows) {
  if (rows == 0) return;
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    const bool idle = pending_.empty();
    if (idle || pending_.count(key) == 0) pending_.insert(key);
    const std::size_t before = rows_;
    rows_ += rows;
    wake = idle || (before < wake_at_ && rows_ >= wake_at_);
    // Started by the first pending write, not at construction: a store that is only read (an export, a
    // process that forks right after opening) has no extra thread.
    if (!thread_.joinable() && !closing_) thread_ = std::thread([this] { run(); });
  }
  if (wake) wake_.notify_one();
}

Result<void> DeferredIndexer::drain_key(const std::string& key) {
  std::lock_guard one_at_a_time(step_mutex_);
  for (;;) {
    auto more = step_(key);
    if (!more) return tl::unexpected(more.error());
    if (!*more) return {};
  }
}

Result<void> DeferredIndexer::drain() {
  std::set<std::string> keys;
  {
    std::lock_guard lock(mutex_);
    keys.swap(pending_);
    rows_ = 0;
  }
  Result<void> outcome;
  for (const auto& key : keys) {
    if (auto drained = drain_key(key); !drained) {
      std::lock_guard lock(mutex_);
      pending_.insert(key);
      outcome = drained;
    }
  }
  return outcome;
}

void DeferredIndexer::run() {
  name_this_thread("mt-indexer");
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return closing_ || !pending_.empty(); });
    if (closing_) return;
    wake_.wait_for(lock, gather_, [&] { return closing_ || rows_ >= wake_at_; });
    if (closing_) return;
    lock.unlock();
    auto drained = drain();
    lock.lock();
    if (!drained) {
      spdlog::warn("{}: {} (searches still find the pending memories; retrying in a second)", what_,
                   drained.error().message);
      wake_.wait_for(lock, std::chrono::seconds(1), [&] { return closing_; });
    }
  }
}

}  // namespace memtrace
