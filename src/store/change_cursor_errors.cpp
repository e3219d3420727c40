// The change feed's cursor errors, worded once for every store.
#include "store/change_cursor_errors.h"

namespace memtrace {
namespace {

constexpr const char* kRestart = "omit the cursor to read from the oldest change kept";

std::string shown(const std::string& cursor) {
  return cursor.size() > 64 ? cursor.substr(0, 64) + "..." : cursor;
}

// 7d, 12h, 30m, 45s or 1500ms: the largest unit that divides it.
std::string duration_text(std::chrono::milliseconds duration) {
  const auto ms = duration.count();
  if (ms > 0 && ms % 86'400'000 == 0) return std::to_string(ms / 86'400'000) + "d";
  if (ms > 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms > 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms > 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace

Error malformed_change_cursor(const std::string& cursor) {
  return Error{ErrorCode::kInvalidArgument, "cursor \"" + shown(cursor) +
                                                "\" is not a change feed cursor of this store; pass a next_cursor "
                                                "it returned, or " +
                                                kRestart};
}

Error foreign_change_cursor(const std::string& cursor, const std::string& newest) {
  return Error{ErrorCode::kInvalidArgument, "cursor " + shown(cursor) +
                                                " is ahead of this store's change feed (its newest is " + newest +
                                                "): it comes from another store; " + kRestart};
}

Error expired_change_cursor(const std::string& cursor, std::chrono::milliseconds retention,
                            const std::string& oldest) {
  return Error{ErrorCode::kInvalidArgument,
               "cursor " + shown(cursor) + " is older than the change retention (" + duration_text(retention) +
                   "): changes after it were trimmed; restart from cursor " + oldest +
                   ", the oldest available, or " + kRestart};
}

}  // namespace memtrace
