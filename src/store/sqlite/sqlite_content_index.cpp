// The deferred substring indexing: batches of fts_pending into the content indexes, and their merges.
#include "store/sqlite/sqlite_content_index.h"

#include <cstdint>

#include <sqlite3.h>

#include "store/sqlite/sqlite_handle.h"

namespace memtrace::sqlite {

Result<bool> index_pending_content(Database& database, std::size_t batch, std::size_t max_characters) {
  return database.write([batch, max_characters](Connection& connection) -> Result<bool> {
    auto transaction = Transaction::begin(connection, Transaction::Kind::kWrite, "index memory content");
    if (!transaction) return tl::unexpected(transaction.error());
    std::int64_t last = 0;
    std::size_t rows = 0;
    std::size_t characters = 0;
    bool more = false;  // pending rows are left after this batch
    {
      // The oldest pending rows, as many as the batch and the characters allow, and at least one. A
      // pending row whose memory is gone (no content) is dropped with the rest.
      auto statement = connection.prepare(
          "SELECT p.pk, coalesce(length(m.content), 0) FROM fts_pending AS p "
          "LEFT JOIN memories AS m ON m.pk = p.pk ORDER BY p.pk LIMIT ?1",
          "find memories to index");
      if (!statement) return tl::unexpected(statement.error());
      statement->bind(static_cast<std::int64_t>(batch) + 1);  // one more: whether any is left
      for (;;) {
        auto row = statement->step();
        if (!row) return tl::unexpected(row.error());
        if (!*row) break;
        const auto length = static_cast<std::size_t>(statement->int64(1));
        if (rows == batch || (rows > 0 && characters + length > max_characters)) {
          more = true;
          break;
        }
        last = statement->int64(0);
        characters += length;
        ++rows;
      }
    }
    if (rows == 0) return false;
    // Into the trigram index, then once per tag into the index keyed by tag (sqlite_tag_index.h; a
    // memory without tags has no row there), then out of the queue: the pending rows up to `last`.
    static constexpr const char* kSteps[] = {
        "INSERT INTO memories_fts (rowid, content) SELECT m.pk, m.content FROM fts_pending AS p "
        "CROSS JOIN memories AS m ON m.pk = p.pk WHERE p.pk <= ?1",
        "INSERT INTO memories_tag_fts (rowid, tokens) SELECT pk, document FROM ("
        "SELECT m.pk AS pk, memtrace_tag_trigrams(m.ns, m.tags, m.content) AS document "
        "FROM fts_pending AS p CROSS JOIN memories AS m ON m.pk = p.pk WHERE p.pk <= ?1) "
        "WHERE document IS NOT NULL",
        "DELETE FROM fts_pending WHERE pk <= ?1",
    };
    for (const char* sql : kSteps) {
      auto statement = connection.prepare(sql, "index memory content");
      if (!statement) return tl::unexpected(statement.error());
      statement->bind(last);
      if (auto done = statement->run(); !done) return tl::unexpected(done.error());
    }
    if (auto committed = transaction->commit(); !committed) return tl::unexpected(committed.error());
    return more;
  });
}

namespace {

// One FTS5 'merge' of up to `pages` pages on the table `merge` names, in a write transaction of its own:
// whether it did any work (FTS5's documented check: a merge that did nothing changes fewer than two rows).
Result<bool> merge_step(Database& database, const char* merge, int pages) {
  return database.write([merge, pages](Connection& connection) -> Result<bool> {
    auto statement = connection.prepare(merge, "merge the content index");
    if (!statement) return tl::unexpected(statement.error());
    statement->bind(pages);
    const auto before = sqlite3_total_changes64(connection.handle());
    if (auto done = statement->run(); !done) return tl::unexpected(done.error());
    return sqlite3_total_changes64(connection.handle()) - before >= 2;
  });
}

}  // namespace

Result<void> merge_content_indexes(Database& database, int pages, int steps) {
  static constexpr const char* kMerges[] = {
      "INSERT INTO memories_fts (memories_fts, rank) VALUES ('merge', ?1)",
      "INSERT INTO memories_tag_fts (memories_tag_fts, rank) VALUES ('merge', ?1)",
  };
  // One step of each index in turn, so that a long merge of one does not hold back the other's.
  bool done[] = {false, false};
  for (std::size_t i = 0; steps > 0 && !(done[0] && done[1]); i = 1 - i) {
    if (done[i]) continue;
    --steps;
    auto merged = merge_step(database, kMerges[i], pages);
    if (!merged) return tl::unexpected(merged.error());
    done[i] = !*merged;
  }
  return {};
}

Result<bool> content_pending(Database& database) {
  return database.read([](Connection& connection) -> Result<bool> {
    auto statement =
        connection.prepare("SELECT EXISTS (SELECT 1 FROM fts_pending)", "find memories to index");
    if (!statement) return tl::unexpected(statement.error());
    auto row = statement->step();
    if (!row) return tl::unexpected(row.error());
    return *row && statement->int64(0) != 0;
  });
}

}  // namespace memtrace::sqlite
