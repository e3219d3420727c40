// Opens the Redis store: memory shared live by agents on many processes and hosts.
#pragma once

#include <memory>

#include "core/error.h"
#include "store/redis/redis_options.h"
#include "store/store.h"

namespace memtrace {

// A Store on a Redis server (layout and slot reasoning: redis/redis_keys.h; scripts: redis_scripts.cpp).
//
// Every write is one Lua script (EVALSHA), so a memory and its index entries appear together or not
// at all, and publishes a change event (SPUBLISH on the namespace's shard channel, so Redis 7.0 or
// newer) that every watch() of that namespace in any process receives. Reads walk sorted
// sets newest first (O(log n + k) when the driving index is selective); nothing on a request path
// uses KEYS or SCAN. Memories with a TTL get PEXPIREAT; results are also filtered by query.now, and
// the index entries of expired memories are removed by purge_expired and, lazily, by any lookup that
// finds the memory hash gone. API keys of the HTTP transport are kept too, in a slot of their own.
//
// Faults: opening never fails because Redis is unreachable (a warning is logged); every call then
// fails with kUnavailable naming the store and what to check, and a later call succeeds once Redis is
// back (connections are re-established after a short backoff). A call never waits longer than the
// connect or command timeout (kTimeout); a wrong password fails with "authentication failed: ...".
// Errors: options that cannot work (zero timeouts or pool size) → kInvalidArgument.
//
// Thread-safety: every method may be called concurrently from any thread (calls share one pipelined
// socket per node).
// Opening it sets SIGPIPE to ignored unless the program set a disposition of its own (hiredis writes
// to sockets with write(2); a Redis that went away must not end the process).
Result<std::unique_ptr<Store>> open_redis_store(const RedisOptions& options);

}  // namespace memtrace
