// A VFS that writes each commit's write-ahead log in one system call.
//
// SQLite writes a commit to the log frame by frame, and each frame as two writes: its 24-byte header,
// then the page. A remember changes about a dozen pages, so its commit made about 24 pwrite calls,
// each a trip into the kernel (22% of the server's CPU on a remember-only run). This VFS is the
// platform's default one with one difference: writes to a log file that continue one another are
// gathered in memory and written together, at the latest when the commit's last frame is complete.
//
// What stays exactly as before:
// - Durability: the commit's frames reach the file before SQLite's commit returns, so a process killed
//   after a write was acknowledged has lost nothing (synchronous = NORMAL, as before: the OS has them).
// - Other connections and processes: they read log frames only once the commit has published them in
//   the shared WAL index, and the gathered writes are flushed before that (at the commit's last frame,
//   and again at the memory barrier SQLite puts before publishing, whichever comes first).
// - The connection's own reads of its log, syncs, truncation and file-size queries see every write:
//   each flushes first.
// Writes are applied in the order SQLite issued them; only their timing moves, within one commit.
#pragma once

#include <sqlite3.h>

namespace memtrace::sqlite {

// Registers, once per process, a VFS named `name` that wraps `base` as described above. Returns the
// registered VFS, or null if SQLite refused it. `base` must outlive the process's connections.
sqlite3_vfs* register_batched_wal_vfs(const char* name, sqlite3_vfs* base);

// The name of that VFS wrapped around the default VFS, registered on first use; null (use the default)
// if it could not be registered.
const char* batched_wal_vfs_name();

}  // namespace memtrace::sqlite
