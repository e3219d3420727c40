// The content indexer: moves memories from fts_pending into the trigram index, in batches, off the
// write path.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "store/sqlite/sqlite_database.h"

namespace memtrace::sqlite {

// A memory's write puts its pk in fts_pending (one small b-tree append) instead of indexing its
// trigrams in memories_fts (a new FTS5 segment and its merges: about half the pages a write touched).
// This thread indexes the pending rows later, many per transaction, which writes each segment once
// for the whole batch. Searches read memories_fts and fts_pending together, so nothing written is
// ever missing from a search in between; only the time a substring search spends grows with the
// backlog, which stays small because the thread starts as soon as kBatch rows wait, or kGather after
// the first one.
//
// Several processes may share the file: each drains whatever is pending, whoever wrote it. The
// destructor indexes what is left, so a clean shutdown leaves nothing pending; after a crash the next
// open picks the backlog up.
//
// Thread-safety: wrote() from any thread; index_pending() from any thread (it takes the write lock).
class ContentIndexer {
 public:
  static constexpr std::size_t kBatch = 256;               // rows indexed per transaction
  static constexpr std::chrono::milliseconds kGather{20};  // wait for more rows after the first one

  explicit ContentIndexer(std::shared_ptr<Database> database);
  ~ContentIndexer();
  ContentIndexer(const ContentIndexer&) = delete;
  ContentIndexer& operator=(const ContentIndexer&) = delete;

  // `rows` more memories are pending (their write has committed). Cheap: wakes the thread only on the
  // first row after it went idle and when a batch is full.
  void wrote(std::size_t rows);
  // Indexes everything pending now, on the calling thread. Returns how many rows it indexed.
  Result<std::size_t> index_pending();

 private:
  void run();
  // One transaction: up to kBatch pending rows into memories_fts. Returns how many.
  Result<std::size_t> index_batch();

  const std::shared_ptr<Database> database_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::size_t pending_ = 0;  // rows written since the thread last looked (an estimate: others may index)
  bool closing_ = false;
  std::thread thread_;
};

}  // namespace memtrace::sqlite
