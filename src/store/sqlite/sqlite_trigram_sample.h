// How common each trigram of the stored content is, from a sample of the memories: what a content search
// asks the trigram index for.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace memtrace::sqlite {

class Connection;

// Why: a content search asked memories_fts for its needle as a phrase, so FTS5 walked the doclist of
// every trigram of the needle, and a common trigram's doclist is long: at 100k memories "clo" and "oul"
// each name about a sixth of the store. A search for "clourhoul" that had to go deep into the index (a
// high min_importance) read its 166 matches in 2.7 ms; its two rarest trigrams named 262 candidates in
// 0.6 ms. The search checks every candidate's content for the needle anyway (instr), so asking the
// index for fewer trigrams of the needle changes what is read, never what is found: any content that
// holds the needle holds each of its trigrams.
//
// Rarity comes from a sample: the content of the newest kSampleSize memories, counted once per memory (byte
// trigrams, ASCII letters folded as lower() folds them). The newest, because a search walks the index
// newest first and most stop within its newest part; and they are contiguous in the table and mostly in
// the page cache, so a sample reads in 1-2 ms at 1M memories, where 1,024 memories at random places
// took 15-80 ms. It is taken by the first content search and again once kResampleRows memories (or a quarter
// of the table, if fewer) have been added since; that one search pays for it. Asking FTS5 instead (a
// count per trigram of the needle) cost ~0.1 ms a trigram, as much as it saved.
//
// Thread-safety: rarest_query() from any thread, each with its own connection. One of them takes a new
// sample while the others go on with the one before (or the phrase, if there is none yet).
class TrigramSample {
 public:
  static constexpr std::int64_t kSampleSize = 2048;
  static constexpr std::int64_t kResampleRows = 16384;

  // The FTS5 query for memories_fts naming the two rarest distinct trigrams of `needle`, or nullopt when
  // the phrase is the better query: a needle with under three distinct trigrams (the phrase names no
  // more), or one that is not ASCII (FTS5's trigrams are of characters, the sample's of bytes).
  std::optional<std::string> rarest_query(Connection& connection, std::string_view needle);

 private:
  // Takes a new sample if there is none or the table has outgrown the last one; errors leave the last.
  void refresh_if_stale(Connection& connection);

  std::mutex mutex_;
  std::unordered_map<std::uint32_t, std::uint32_t> counts_;  // folded trigram -> sampled memories with it
  std::int64_t sampled_max_pk_ = -1;                         // the table's largest pk then; -1: none yet
  bool refreshing_ = false;
};

}  // namespace memtrace::sqlite
