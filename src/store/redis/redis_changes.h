// The Redis store's change feed reads: the read_changes script's arguments and its answer as a page.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/error.h"
#include "store/records.h"
#include "store/redis/redis_connection.h"

namespace memtrace::redis {

// Stream entries one read_changes script examines at most, so no page blocks Redis for long (the page
// then ends early with more = true).
inline constexpr std::size_t kChangeScanBudget = 5000;

// ARGV of the read_changes script (redis_scripts.cpp) for `query`.
std::vector<std::string> read_changes_args(const ChangeQuery& query, std::chrono::milliseconds retention);

// The script's answer as a page, or the kInvalidArgument sentence for a malformed, foreign or expired
// cursor.
Result<ChangePage> parse_change_page(const redisReply* reply, const ChangeQuery& query,
                                     std::chrono::milliseconds retention);

}  // namespace memtrace::redis
