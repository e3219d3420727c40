// The change feed of the Redis store as pages: arguments for the read_changes script, and its answer
// turned into records or into a sentence saying where to restart.
#include "store/redis/redis_changes.h"

#include <algorithm>

#include "store/change_cursor_errors.h"
#include "store/redis/redis_keys.h"

namespace memtrace::redis {

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
  const std::string cursor = query.cursor.value_or("");
  if (status == "malformed") return tl::unexpected(malformed_change_cursor(cursor));
  const std::string where = reply->elements > 1 ? std::string(reply_string(reply->element[1])) : "";
  if (status == "ahead") return tl::unexpected(foreign_change_cursor(cursor, where));
  if (status == "expired") return tl::unexpected(expired_change_cursor(cursor, retention, where));
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
    change.at = parse_int64(reply_string(row->element[2]));
    change.agent = reply_string(row->element[3]);
    change.session_id = reply_string(row->element[4]);
    change.subject = reply_string(row->element[5]);
    page.changes.push_back(std::move(change));
  }
  return page;
}

}  // namespace memtrace::redis
