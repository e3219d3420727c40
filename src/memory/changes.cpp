// Reading the durable change feed: validation and defaults in front of Store::read_changes.
#include "memory/changes.h"

#include <algorithm>

#include "memory/engine_internals.h"

namespace memtrace {
namespace {

std::string joined_kinds() {
  std::string text;
  for (const auto& kind : all_change_kinds()) text += (text.empty() ? "" : ", ") + kind;
  return text;
}

}  // namespace

Result<ChangePage> read_changes(Engine& engine, const Caller& caller, const ChangesInput& input) {
  ChangeQuery query;
  query.ns = caller.ns;
  query.cursor = input.cursor;
  query.session_id = input.session_id;
  if (input.limit && (*input.limit < 1 || *input.limit > static_cast<std::int64_t>(kMaxChangesLimit))) {
    return fail(ErrorCode::kInvalidArgument, "limit must be between 1 and " + std::to_string(kMaxChangesLimit) +
                                                 ", got " + std::to_string(*input.limit));
  }
  query.limit = input.limit ? static_cast<std::size_t>(*input.limit) : kDefaultChangesLimit;
  const auto& known = all_change_kinds();
  for (const auto& kind : input.kinds) {
    if (std::find(known.begin(), known.end(), kind) == known.end()) {
      return fail(ErrorCode::kInvalidArgument,
                  "unknown change kind \"" + kind.substr(0, 64) + "\"; the kinds are " + joined_kinds());
    }
    if (std::find(query.kinds.begin(), query.kinds.end(), kind) == query.kinds.end()) query.kinds.push_back(kind);
  }
  query.now = engine.clock().now_ms();
  return EngineInternals::store(engine).read_changes(query);
}

}  // namespace memtrace
