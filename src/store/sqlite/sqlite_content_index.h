// The SQLite store's deferred substring indexing: batches of fts_pending into the content indexes.
#pragma once

#include <cstddef>

#include "core/error.h"
#include "store/sqlite/sqlite_database.h"

namespace memtrace::sqlite {

// A memory's write puts its pk in fts_pending (one small b-tree append) instead of indexing its
// trigrams in memories_fts (a new FTS5 segment and its merges: about half the pages a write touched).
// This indexes up to `batch` pending memories in one write transaction, which writes each segment
// once for the whole batch, and returns whether more are pending. The batch also stops before its
// content passes `max_characters` (it always takes one memory): the transaction holds the write lock,
// which every other write waits for, and its cost grows with the content. A DeferredIndexer runs it shortly
// after the writes; searches read memories_fts and fts_pending together meanwhile. Several processes
// may share the file: each indexes whatever is pending, whoever wrote it.
Result<bool> index_pending_content(Database& database, std::size_t batch, std::size_t max_characters);

// Merges the segments of both content indexes (memories_fts, memories_tag_fts), `pages` pages per write
// transaction and at most `steps` transactions, towards no level of either holding enough segments to
// merge ('usermerge'); a merge left unfinished goes on at the next call. FTS5 would otherwise merge
// inside whichever transaction wrote a segment, holding the write lock for tens of milliseconds at a
// time (both indexes have 'automerge' off: schema step 15). Each transaction takes the write lock on its
// own, so writes waiting for it go between them. Called after each batch of indexing, merging keeps
// pace with the writes, as FTS5's own did, instead of running in bursts beside the searches. If it
// falls behind, FTS5's 'crisismerge' still bounds the segments of a level.
Result<void> merge_content_indexes(Database& database, int pages, int steps);

// Whether any memory waits for indexing (what a process that was killed left pending).
Result<bool> content_pending(Database& database);

}  // namespace memtrace::sqlite
