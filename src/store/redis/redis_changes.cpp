// The change feed of the Redis store as pages: arguments for the read_changes script, and its answer
// turned into records or into a sentence saying where to restart.
#include "store/redis/redis_changes.h"

#include <algorithm>
#include <charconv>

#include "store/redis/redis_keys.h"

namespace memtrace::redis {
namespace {

std::string retention_text(std::chrono::milliseconds retention) {
  const auto ms = retention.count();
  if (ms % 86'400'000 == 0) return std::to_string(ms / 86'400'000) + "d";
  if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::int64_t to_int64(std::string_view text) {
  std::int64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

}  // namespace

std::vector<std::string> read_changes_args(const ChangeQuery& query, std::chrono::milliseconds retention) {
  const std::int64_t cutoff = std::max<std::int64_t>(query.now - retention.count(), 0);
  return {query.cursor.value_or(""),
          query.session_id.value_or(""),
          query.kinds.empty() ? std::string() : encode_list(query.kinds),
          std::to_string(query.limit),
          std::to_string(cutoff),
          std::to_string(std::max(kChangeScanBudget, query.limit))};
}

Result<ChangePage> parse_change_page(const redisReply* reply, const ChangeQuery& query,
                                     std::chrono::milliseconds retention) {
  if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 1) {
    return fail(ErrorCode::kInternal, "the read_changes script answered something unexpected");
  }
  const std::string status(reply_string(reply->element[0]));
  const std::string cursor = query.cursor.value_or("").substr(0, 64);
  if (status == "malformed") {
    return fail(ErrorCode::kInvalidArgument,
                "cursor \"" + cursor +
                    "\" is not a change feed cursor of this store; pass a next_cursor it returned, or omit the "
                    "cursor to read from the oldest change kept");
  }
  const std::string where = reply->elements > 1 ? std::string(reply_string(reply->element[1])) : "";
  if (status == "ahead") {
    return fail(ErrorCode::kInvalidArgument,
                "cursor " + cursor + " is ahead of this store's change feed (its newest is " + where +
                    "): it comes from another store; omit the cursor to read from the oldest change kept");
  }
  if (status == "expired") {
    return fail(ErrorCode::kInvalidArgument,
                "cursor " + cursor + " is older than the change retention (" + retention_text(retention) +
                    "): changes after it were trimmed; restart from cursor " + where +
                    ", the oldest available, or omit the cursor to read from the oldest change kept");
  }
  if (status != "ok" || reply->elements < 3) {
    return fail(ErrorCode::kInternal, "the read_changes script answered \"" + status + "\"");
  }
  ChangePage page;
  page.next_cursor = where;
  page.more = reply_integer(reply->element[2]) != 0;
  for (std::size_t i = 3; i < reply->elements; ++i) {
    const redisReply* row = reply->element[i];
    if (!row || row->type != REDIS_REPLY_ARRAY || row->elements < 6) {
      return fail(ErrorCode::kInternal, "the read_changes script answered a malformed change");
    }
    FeedChange change;
    change.cursor = reply_string(row->element[0]);
    change.kind = reply_string(row->element[1]);
    change.at = to_int64(reply_string(row->element[2]));
    change.agent = reply_string(row->element[3]);
    change.session_id = reply_string(row->element[4]);
    change.subject = reply_string(row->element[5]);
    page.changes.push_back(std::move(change));
  }
  return page;
}

}  // namespace memtrace::redis
