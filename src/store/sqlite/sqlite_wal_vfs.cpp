#include "store/sqlite/sqlite_wal_vfs.h"

#include <array>
#include <cstddef>
#include <cstring>
#include <mutex>
#include <new>
#include <string>

namespace memtrace::sqlite {
namespace {

// The log's layout (https://sqlite.org/fileformat2.html#walformat): a 32-byte header, then frames of
// a 24-byte header and a page. Bytes 4..7 of a frame header hold, big-endian, the database size after
// a commit frame and zero in any other frame.
constexpr int kFrameHeaderBytes = 24;
// At most this much is gathered (30 frames of 4 KiB pages; a remember writes about 13): a larger
// transaction, an import or a migration, is passed on in pieces. The unix VFS cannot take much more in
// one call: it masks a write's length to 17 bits (128 KiB) and reports the rest as a full disk.
constexpr std::size_t kMaxGatheredBytes = 124 * 1024;

sqlite3_vfs* base_of(sqlite3_vfs* vfs) {
  return static_cast<sqlite3_vfs*>(vfs->pAppData);
}

// Our part of an open file; the base VFS's file follows it in the same block (szOsFile covers both).
struct File {
  sqlite3_file head;         // head.pMethods: ours, so SQLite calls us
  bool is_log = false;       // a write-ahead log, whose writes are gathered
  File* log = nullptr;       // on a database file: its open log, flushed at the shared-memory barrier
  File* database = nullptr;  // on a log: its database file
  bool commit_frame_started = false;  // the last write was a commit frame's header: its page ends it
  sqlite3_int64 gathered_at = 0;      // file offset of gathered[0]
  std::string gathered;               // writes not yet passed on, contiguous from gathered_at

  sqlite3_file* base() { return reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(this) + offset()); }
  static constexpr std::size_t offset() {
    return (sizeof(File) + alignof(std::max_align_t) - 1) / alignof(std::max_align_t) *
           alignof(std::max_align_t);
  }
};

File* self(sqlite3_file* file) {
  return reinterpret_cast<File*>(file);
}

int flush(File* file) {
  if (file->gathered.empty()) return SQLITE_OK;
  sqlite3_file* base = file->base();
  const int rc = base->pMethods->xWrite(base, file->gathered.data(), static_cast<int>(file->gathered.size()),
                                        file->gathered_at);
  file->gathered.clear();
  return rc;
}

bool is_commit_frame_header(const void* data, int amount) {
  if (amount != kFrameHeaderBytes) return false;
  const auto* bytes = static_cast<const unsigned char*>(data);
  return (bytes[4] | bytes[5] | bytes[6] | bytes[7]) != 0;
}

int log_write(File* file, const void* data, int amount, sqlite3_int64 offset) {
  if (!file->gathered.empty() &&
      (offset != file->gathered_at + static_cast<sqlite3_int64>(file->gathered.size()) ||
       file->gathered.size() + static_cast<std::size_t>(amount) > kMaxGatheredBytes)) {
    // Not a continuation (SQLite rewrites a frame of this transaction in place), or no room: what came
    // before is written first, so the file sees the writes in SQLite's order.
    if (const int rc = flush(file); rc != SQLITE_OK) return rc;
  }
  if (static_cast<std::size_t>(amount) > kMaxGatheredBytes) {
    file->commit_frame_started = false;
    return file->base()->pMethods->xWrite(file->base(), data, amount, offset);
  }
  if (file->gathered.empty()) {
    file->gathered.reserve(kMaxGatheredBytes);  // once per file: no growth by doubling past the cap
    file->gathered_at = offset;
  }
  file->gathered.append(static_cast<const char*>(data), static_cast<std::size_t>(amount));
  const bool ends_commit = file->commit_frame_started;
  file->commit_frame_started = is_commit_frame_header(data, amount);
  if (ends_commit) return flush(file);
  return SQLITE_OK;
}

// --- the file methods: a log flushes before anything that could observe it; the rest pass through ---

int x_close(sqlite3_file* handle) {
  File* file = self(handle);
  int rc = flush(file);
  if (file->is_log && file->database != nullptr && file->database->log == file) file->database->log = nullptr;
  if (file->log != nullptr) file->log->database = nullptr;
  sqlite3_file* base = file->base();
  const int closed = base->pMethods->xClose(base);
  file->~File();
  return rc != SQLITE_OK ? rc : closed;
}

int x_read(sqlite3_file* handle, void* data, int amount, sqlite3_int64 offset) {
  File* file = self(handle);
  if (const int rc = flush(file); rc != SQLITE_OK) return rc;
  return file->base()->pMethods->xRead(file->base(), data, amount, offset);
}

int x_write(sqlite3_file* handle, const void* data, int amount, sqlite3_int64 offset) {
  File* file = self(handle);
  if (file->is_log) return log_write(file, data, amount, offset);
  return file->base()->pMethods->xWrite(file->base(), data, amount, offset);
}

int x_truncate(sqlite3_file* handle, sqlite3_int64 size) {
  File* file = self(handle);
  if (const int rc = flush(file); rc != SQLITE_OK) return rc;
  return file->base()->pMethods->xTruncate(file->base(), size);
}

int x_sync(sqlite3_file* handle, int flags) {
  File* file = self(handle);
  if (const int rc = flush(file); rc != SQLITE_OK) return rc;
  return file->base()->pMethods->xSync(file->base(), flags);
}

int x_file_size(sqlite3_file* handle, sqlite3_int64* size) {
  File* file = self(handle);
  if (const int rc = flush(file); rc != SQLITE_OK) return rc;
  return file->base()->pMethods->xFileSize(file->base(), size);
}

int x_lock(sqlite3_file* handle, int level) {
  return self(handle)->base()->pMethods->xLock(self(handle)->base(), level);
}
int x_unlock(sqlite3_file* handle, int level) {
  return self(handle)->base()->pMethods->xUnlock(self(handle)->base(), level);
}
int x_check_reserved_lock(sqlite3_file* handle, int* out) {
  return self(handle)->base()->pMethods->xCheckReservedLock(self(handle)->base(), out);
}

int x_file_control(sqlite3_file* handle, int op, void* arg) {
  File* file = self(handle);
  if (const int rc = flush(file); rc != SQLITE_OK) return rc;
  return file->base()->pMethods->xFileControl(file->base(), op, arg);
}

int x_sector_size(sqlite3_file* handle) {
  return self(handle)->base()->pMethods->xSectorSize(self(handle)->base());
}
int x_device_characteristics(sqlite3_file* handle) {
  return self(handle)->base()->pMethods->xDeviceCharacteristics(self(handle)->base());
}

int x_shm_map(sqlite3_file* handle, int region, int size, int extend, void volatile** out) {
  return self(handle)->base()->pMethods->xShmMap(self(handle)->base(), region, size, extend, out);
}
int x_shm_lock(sqlite3_file* handle, int offset, int n, int flags) {
  return self(handle)->base()->pMethods->xShmLock(self(handle)->base(), offset, n, flags);
}

// SQLite puts this barrier between writing a commit's new WAL-index header and making it valid for
// readers. The commit's frames were flushed at its last frame already; this is the backstop that
// keeps a frame from ever being published before it is in the file.
void x_shm_barrier(sqlite3_file* handle) {
  File* file = self(handle);
  if (file->log != nullptr) {
    if (const int rc = flush(file->log); rc != SQLITE_OK) sqlite3_log(rc, "batched WAL: late flush failed");
  }
  file->base()->pMethods->xShmBarrier(file->base());
}

int x_shm_unmap(sqlite3_file* handle, int delete_flag) {
  return self(handle)->base()->pMethods->xShmUnmap(self(handle)->base(), delete_flag);
}
int x_fetch(sqlite3_file* handle, sqlite3_int64 offset, int amount, void** out) {
  return self(handle)->base()->pMethods->xFetch(self(handle)->base(), offset, amount, out);
}
int x_unfetch(sqlite3_file* handle, sqlite3_int64 offset, void* page) {
  return self(handle)->base()->pMethods->xUnfetch(self(handle)->base(), offset, page);
}

// The method table for a base file of the given version (1 to 3), so that SQLite never calls a method
// the base file lacks.
const sqlite3_io_methods* methods_for(int version) {
  static const std::array<sqlite3_io_methods, 3> tables = [] {
    const sqlite3_io_methods all = {3,
                                    x_close,
                                    x_read,
                                    x_write,
                                    x_truncate,
                                    x_sync,
                                    x_file_size,
                                    x_lock,
                                    x_unlock,
                                    x_check_reserved_lock,
                                    x_file_control,
                                    x_sector_size,
                                    x_device_characteristics,
                                    x_shm_map,
                                    x_shm_lock,
                                    x_shm_barrier,
                                    x_shm_unmap,
                                    x_fetch,
                                    x_unfetch};
    sqlite3_io_methods v1 = all, v2 = all;
    v1.iVersion = 1;
    v1.xShmMap = nullptr, v1.xShmLock = nullptr, v1.xShmBarrier = nullptr, v1.xShmUnmap = nullptr;
    v1.xFetch = nullptr, v1.xUnfetch = nullptr;
    v2.iVersion = 2;
    v2.xFetch = nullptr, v2.xUnfetch = nullptr;
    return std::array{v1, v2, all};
  }();
  return &tables[version <= 1 ? 0 : version == 2 ? 1 : 2];
}

// --- the VFS: opening wraps the base file; everything else is the base VFS's ---

int x_open(sqlite3_vfs* vfs, const char* name, sqlite3_file* handle, int flags, int* out_flags) {
  File* file = new (handle) File();
  const int rc = base_of(vfs)->xOpen(base_of(vfs), name, file->base(), flags, out_flags);
  if (file->base()->pMethods == nullptr) {
    file->~File();
    handle->pMethods = nullptr;  // SQLite does not close a file whose open failed
    return rc;
  }
  file->head.pMethods = methods_for(file->base()->pMethods->iVersion);
  if (rc == SQLITE_OK && (flags & SQLITE_OPEN_WAL) != 0 && name != nullptr) {
    file->is_log = true;
    // The database file this log belongs to, so that its shared-memory barrier can flush the log.
    sqlite3_file* database = sqlite3_database_file_object(name);
    if (database != nullptr && database->pMethods == file->head.pMethods) {
      file->database = self(database);
      self(database)->log = file;
    }
  }
  return rc;
}

int x_delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  return base_of(vfs)->xDelete(base_of(vfs), name, sync_dir);
}
int x_access(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  return base_of(vfs)->xAccess(base_of(vfs), name, flags, out);
}
int x_full_pathname(sqlite3_vfs* vfs, const char* name, int size, char* out) {
  return base_of(vfs)->xFullPathname(base_of(vfs), name, size, out);
}
void* x_dl_open(sqlite3_vfs* vfs, const char* name) {
  return base_of(vfs)->xDlOpen(base_of(vfs), name);
}
void x_dl_error(sqlite3_vfs* vfs, int size, char* out) {
  base_of(vfs)->xDlError(base_of(vfs), size, out);
}
void (*x_dl_sym(sqlite3_vfs* vfs, void* library, const char* symbol))(void) {
  return base_of(vfs)->xDlSym(base_of(vfs), library, symbol);
}
void x_dl_close(sqlite3_vfs* vfs, void* library) {
  base_of(vfs)->xDlClose(base_of(vfs), library);
}
int x_randomness(sqlite3_vfs* vfs, int size, char* out) {
  return base_of(vfs)->xRandomness(base_of(vfs), size, out);
}
int x_sleep(sqlite3_vfs* vfs, int microseconds) {
  return base_of(vfs)->xSleep(base_of(vfs), microseconds);
}
int x_current_time(sqlite3_vfs* vfs, double* out) {
  return base_of(vfs)->xCurrentTime(base_of(vfs), out);
}
int x_get_last_error(sqlite3_vfs* vfs, int size, char* out) {
  return base_of(vfs)->xGetLastError != nullptr ? base_of(vfs)->xGetLastError(base_of(vfs), size, out) : 0;
}
int x_current_time_int64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  return base_of(vfs)->xCurrentTimeInt64(base_of(vfs), out);
}
int x_set_system_call(sqlite3_vfs* vfs, const char* name, sqlite3_syscall_ptr call) {
  return base_of(vfs)->xSetSystemCall(base_of(vfs), name, call);
}
sqlite3_syscall_ptr x_get_system_call(sqlite3_vfs* vfs, const char* name) {
  return base_of(vfs)->xGetSystemCall(base_of(vfs), name);
}
const char* x_next_system_call(sqlite3_vfs* vfs, const char* name) {
  return base_of(vfs)->xNextSystemCall(base_of(vfs), name);
}

}  // namespace

sqlite3_vfs* register_batched_wal_vfs(const char* name, sqlite3_vfs* base) {
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  if (sqlite3_vfs* existing = sqlite3_vfs_find(name); existing != nullptr) return existing;
  if (base == nullptr || base->iVersion < 2) return nullptr;
  // Registered VFSes live as long as the process: SQLite keeps the pointer.
  auto* vfs = new sqlite3_vfs{};
  vfs->iVersion = base->iVersion >= 3 ? 3 : 2;
  vfs->szOsFile = static_cast<int>(File::offset()) + base->szOsFile;
  vfs->mxPathname = base->mxPathname;
  vfs->zName = name;
  vfs->pAppData = base;
  vfs->xOpen = x_open;
  vfs->xDelete = x_delete;
  vfs->xAccess = x_access;
  vfs->xFullPathname = x_full_pathname;
  vfs->xDlOpen = x_dl_open;
  vfs->xDlError = x_dl_error;
  vfs->xDlSym = x_dl_sym;
  vfs->xDlClose = x_dl_close;
  vfs->xRandomness = x_randomness;
  vfs->xSleep = x_sleep;
  vfs->xCurrentTime = x_current_time;
  vfs->xGetLastError = x_get_last_error;
  vfs->xCurrentTimeInt64 = x_current_time_int64;
  if (vfs->iVersion >= 3) {
    vfs->xSetSystemCall = x_set_system_call;
    vfs->xGetSystemCall = x_get_system_call;
    vfs->xNextSystemCall = x_next_system_call;
  }
  if (sqlite3_vfs_register(vfs, 0) != SQLITE_OK) {
    delete vfs;
    return nullptr;
  }
  return vfs;
}

const char* batched_wal_vfs_name() {
  static const char* const name = [] {
    constexpr const char* kName = "memtrace-batched-wal";
    return register_batched_wal_vfs(kName, sqlite3_vfs_find(nullptr)) != nullptr ? kName : nullptr;
  }();
  return name;
}

}  // namespace memtrace::sqlite
