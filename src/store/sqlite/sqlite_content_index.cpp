// One batch of the deferred substring indexing: fts_pending into memories_fts, in one transaction.
#include "store/sqlite/sqlite_content_index.h"

#include <cstdint>

#include "store/sqlite/sqlite_handle.h"

namespace memtrace::sqlite {

Result<bool> index_pending_content(Database& database, std::size_t batch) {
  return database.write([batch](Connection& connection) -> Result<bool> {
    auto transaction = Transaction::begin(connection, Transaction::Kind::kWrite, "index memory content");
    if (!transaction) return tl::unexpected(transaction.error());
    std::int64_t last = 0;
    std::size_t rows = 0;
    {
      auto statement =
          connection.prepare("SELECT pk FROM fts_pending ORDER BY pk LIMIT ?1", "find memories to index");
      if (!statement) return tl::unexpected(statement.error());
      statement->bind(static_cast<std::int64_t>(batch));
      for (;;) {
        auto row = statement->step();
        if (!row) return tl::unexpected(row.error());
        if (!*row) break;
        last = statement->int64(0);
        ++rows;
      }
    }
    if (rows == 0) return false;
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
    return rows == batch;
  });
}

Result<bool> content_pending(Database& database) {
  return database.read([](Connection& connection) -> Result<bool> {
    auto statement = connection.prepare("SELECT EXISTS (SELECT 1 FROM fts_pending)", "find memories to index");
    if (!statement) return tl::unexpected(statement.error());
    auto row = statement->step();
    if (!row) return tl::unexpected(row.error());
    return *row && statement->int64(0) != 0;
  });
}

}  // namespace memtrace::sqlite
