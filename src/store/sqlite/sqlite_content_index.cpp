// The content indexer: fts_pending into memories_fts, a batch per transaction, on its own thread.
#include "store/sqlite/sqlite_content_index.h"

#include <cstdint>
#include <utility>

#include <spdlog/spdlog.h>

#include "store/sqlite/sqlite_handle.h"

namespace memtrace::sqlite {

ContentIndexer::ContentIndexer(std::shared_ptr<Database> database) : database_(std::move(database)) {
  // A backlog left by a process that was killed is indexed as soon as this one has started.
  pending_ = 1;
  thread_ = std::thread([this] { run(); });
}

ContentIndexer::~ContentIndexer() {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  wake_.notify_one();
  thread_.join();
  if (auto indexed = index_pending(); !indexed) {
    spdlog::warn("sqlite: indexing the last memories' content at close: {} (the next start does it)",
                 indexed.error().message);
  }
}

void ContentIndexer::wrote(std::size_t rows) {
  if (rows == 0) return;
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    const std::size_t before = pending_;
    pending_ += rows;
    wake = before == 0 || (before < kBatch && pending_ >= kBatch);
  }
  if (wake) wake_.notify_one();
}

void ContentIndexer::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return closing_ || pending_ > 0; });
    if (closing_) return;
    // Gather: one transaction for the rows of the next few milliseconds instead of one per write.
    wake_.wait_for(lock, kGather, [&] { return closing_ || pending_ >= kBatch; });
    if (closing_) return;
    pending_ = 0;
    lock.unlock();
    if (auto indexed = index_pending(); !indexed) {
      spdlog::warn("sqlite: indexing memory content: {} (searches still find it; will retry)",
                   indexed.error().message);
      lock.lock();
      if (pending_ == 0) pending_ = 1;  // try again after the next gather
      if (!closing_) wake_.wait_for(lock, std::chrono::seconds(1), [&] { return closing_; });
      continue;
    }
    lock.lock();
  }
}

Result<std::size_t> ContentIndexer::index_pending() {
  std::size_t total = 0;
  for (;;) {
    auto indexed = index_batch();
    if (!indexed) return indexed;
    total += *indexed;
    if (*indexed < kBatch) return total;
  }
}

Result<std::size_t> ContentIndexer::index_batch() {
  return database_->write([](Connection& connection) -> Result<std::size_t> {
    auto transaction = Transaction::begin(connection, Transaction::Kind::kWrite, "index memory content");
    if (!transaction) return tl::unexpected(transaction.error());
    std::int64_t last = 0;
    std::size_t rows = 0;
    {
      auto statement =
          connection.prepare("SELECT pk FROM fts_pending ORDER BY pk LIMIT ?1", "find memories to index");
      if (!statement) return tl::unexpected(statement.error());
      statement->bind(static_cast<std::int64_t>(kBatch));
      for (;;) {
        auto row = statement->step();
        if (!row) return tl::unexpected(row.error());
        if (!*row) break;
        last = statement->int64(0);
        ++rows;
      }
    }
    if (rows == 0) return std::size_t{0};
    {
      auto statement = connection.prepare(
          "INSERT INTO memories_fts (rowid, content) SELECT m.pk, m.content FROM fts_pending AS p "
          "CROSS JOIN memories AS m ON m.pk = p.pk WHERE p.pk <= ?1",
          "index memory content");
      if (!statement) return tl::unexpected(statement.error());
      statement->bind(last);
      if (auto done = statement->run(); !done) return tl::unexpected(done.error());
    }
    {
      auto statement = connection.prepare("DELETE FROM fts_pending WHERE pk <= ?1", "index memory content");
      if (!statement) return tl::unexpected(statement.error());
      statement->bind(last);
      if (auto done = statement->run(); !done) return tl::unexpected(done.error());
    }
    if (auto committed = transaction->commit(); !committed) return tl::unexpected(committed.error());
    return rows;
  });
}

}  // namespace memtrace::sqlite
