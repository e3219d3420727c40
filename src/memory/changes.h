// The durable change feed as callers read it: validation and defaults for reading a namespace's
// changes after a cursor (store/store.h read_changes). Domain rules only; no JSON-RPC, no JSON.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "memory/engine.h"
#include "store/records.h"

namespace memtrace {

inline constexpr std::size_t kDefaultChangesLimit = 100;
inline constexpr std::size_t kMaxChangesLimit = 1000;

struct ChangesInput {
  std::optional<std::string> cursor;      // after this change; omitted: from the oldest change kept
  std::optional<std::string> session_id;  // only this session's changes
  std::vector<std::string> kinds;         // only these kinds (all_change_kinds()); empty: every kind
  std::optional<std::int64_t> limit;      // default kDefaultChangesLimit, at most kMaxChangesLimit
};

// The caller's namespace's changes after the cursor, oldest first, and the cursor to read on from
// (the same cursor when nothing has changed since, so a client can poll with it). kInvalidArgument,
// in a sentence saying how to go on, for an unknown kind, a limit out of range, a malformed cursor or
// one older than the store's change retention.
Result<ChangePage> read_changes(Engine& engine, const Caller& caller, const ChangesInput& input);

}  // namespace memtrace
