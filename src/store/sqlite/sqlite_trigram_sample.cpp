// The sample of the stored content's trigrams that a content search picks its needle's rarest ones by.
#include "store/sqlite/sqlite_trigram_sample.h"

#include <algorithm>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "store/sqlite/sqlite_handle.h"
#include "store/sqlite/sqlite_store_internal.h"

namespace memtrace::sqlite {
namespace {

// Trigrams of the needle named in the query: two of them already leave few candidates, and each one
// more costs a walk of its doclist.
constexpr std::size_t kQueryTrigrams = 2;

bool is_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// The table's largest pk, 0 when it is empty.
Result<std::int64_t> max_pk(Connection& connection) {
  auto statement = connection.prepare("SELECT coalesce(max(pk), 0) FROM memories", "sample memory content");
  if (!statement) return tl::unexpected(statement.error());
  auto row = statement->step();
  if (!row) return tl::unexpected(row.error());
  return *row ? statement->int64(0) : 0;
}

// The trigram counts of the memories with the kSampleSize largest pks up to `top` (fewer where some were
// deleted), each memory's distinct trigrams counted once.
Result<std::unordered_map<std::uint32_t, std::uint32_t>> take_sample(Connection& connection,
                                                                     std::int64_t top) {
  // A memory's first KiB only: a few very long memories must not make the sample slow.
  auto statement = connection.prepare(
      "SELECT substr(content, 1, 1024) FROM memories WHERE pk > ?1 AND pk <= ?2", "sample memory content");
  if (!statement) return tl::unexpected(statement.error());
  statement->bind(top - TrigramSample::kSampleSize).bind(top);
  std::unordered_map<std::uint32_t, std::uint32_t> counts;
  std::vector<std::uint32_t> grams;
  for (;;) {
    auto row = statement->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) break;
    grams = folded_trigrams(statement->text(0));
    std::sort(grams.begin(), grams.end());
    grams.erase(std::unique(grams.begin(), grams.end()), grams.end());
    for (std::uint32_t gram : grams) ++counts[gram];
  }
  return counts;
}

}  // namespace

void TrigramSample::refresh_if_stale(Connection& connection) {
  auto top = max_pk(connection);
  if (!top) return;
  {
    std::lock_guard lock(mutex_);
    const bool stale =
        sampled_max_pk_ < 0 || *top > sampled_max_pk_ + std::min(kResampleRows, sampled_max_pk_ / 4);
    if (!stale || refreshing_) return;
    refreshing_ = true;
  }
  auto counts = take_sample(connection, *top);
  std::lock_guard lock(mutex_);
  refreshing_ = false;
  if (!counts) {
    spdlog::warn("sqlite: sampling memory content for search planning: {}", counts.error().message);
    return;
  }
  counts_ = std::move(*counts);
  sampled_max_pk_ = *top;
}

std::optional<std::string> TrigramSample::rarest_query(Connection& connection, std::string_view needle) {
  if (needle.size() < 3 || !is_ascii(needle)) return std::nullopt;
  // Each distinct trigram once, at the offset where it first appears.
  std::vector<std::pair<std::uint32_t, std::size_t>> distinct;  // trigram, offset
  for (std::size_t i = 0; i + 2 < needle.size(); ++i) distinct.emplace_back(folded_trigram(needle, i), i);
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end(),
                             [](const auto& a, const auto& b) { return a.first == b.first; }),
                 distinct.end());
  if (distinct.size() <= kQueryTrigrams) return std::nullopt;
  refresh_if_stale(connection);
  std::vector<std::pair<std::uint32_t, std::size_t>> by_count;  // sampled count, offset
  {
    std::lock_guard lock(mutex_);
    if (sampled_max_pk_ < 0) return std::nullopt;
    for (const auto& [gram, offset] : distinct) {
      const auto found = counts_.find(gram);
      by_count.emplace_back(found == counts_.end() ? 0 : found->second, offset);
    }
  }
  // The rarest first; among equally rare ones, the first in the needle.
  std::sort(by_count.begin(), by_count.end());
  std::string query;
  for (std::size_t i = 0; i < kQueryTrigrams; ++i) {
    if (i > 0) query += " AND ";
    query += fts_phrase(needle.substr(by_count[i].second, 3));
  }
  return query;
}

}  // namespace memtrace::sqlite
