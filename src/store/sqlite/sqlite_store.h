// Opens the embedded SQLite store: the default backend, one file shared safely by several processes.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "core/error.h"
#include "store/store.h"

namespace memtrace {

struct SqliteOptions {
  std::string path;            // file path, or ":memory:" for a throwaway in-process database
  int busy_timeout_ms = 5000;  // how long a writer waits for another process's lock
  // Cross-process change detection (see below): PRAGMA data_version, a shared-memory read, only while
  // something is subscribed; 25 ms keeps a notice from another process well inside 100 ms.
  std::chrono::milliseconds change_poll_interval{25};
  // Sliding window: past this many memories in a session, a write drops the session's expired
  // memories, then the least important (ties: the oldest), never itself. 0 keeps all.
  std::size_t max_memories_per_session = 0;
  // The change feed (Store::read_changes) keeps changes this long; older ones are trimmed (on writes
  // and by purge_expired) and a cursor before them is refused. Default 7 days.
  std::chrono::milliseconds change_retention{std::chrono::hours(24 * 7)};
  // Page cache of the write connection, in MiB. It serves most reads as well as the writes (a read
  // runs there whenever it is idle) and survives commits, so a larger one saves re-reading pages (one
  // pread each for pages still in the write-ahead log) at the price of resident memory: on the shared
  // benchmark's mix at 10k memories, 4 MiB was about 20% faster at 16 calls in flight and 3 MiB more
  // resident. Read connections keep 1 MiB (theirs is dropped whenever anyone commits).
  std::size_t write_cache_mib = 1;
};

// Opens (creating if needed) the database at options.path and brings its schema up to date.
//
// A file path gets its missing parent folders (mode 0700) and, if new, a file readable by the owner
// only (0600). The file is used in WAL mode, so readers never wait for writers; several processes may
// share it: writes queue on the busy timeout, none is lost. watch() reports writes made through any
// store on the file, noticing other processes' writes by polling every change_poll_interval.
// ":memory:" gives a private database shared by all threads of this store.
//
// Errors: a path that cannot be opened → kUnavailable naming the path and the OS error; a file written
// by a newer memtrace-mcp (unknown schema version) → kUnavailable saying so; an empty or URI path →
// kInvalidArgument.
Result<std::unique_ptr<Store>> open_sqlite_store(const SqliteOptions& options);

}  // namespace memtrace
