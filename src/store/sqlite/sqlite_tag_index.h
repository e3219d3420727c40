// The SQLite store's tag-keyed trigram index (memories_tag_fts), for searches that name content and tags.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace memtrace::sqlite {

class Connection;

// Why it exists: a search for a word among the memories of one tag walked the word's matches in the
// trigram index and dropped those without the tag. At 1M memories a common word has thousands of
// matches and a tag holds one memory in sixteen, so a page of 20 read ~330 matches, and the trigram
// index's doclists were long (15-20 ms p99). This index keys each trigram by the tag beside it, so the
// walk reads only that tag's memories.
//
// A memory's document here: for each of its tags, some trigrams of its content, each as one token
// "<tag key><trigram>" in hex (8 + 6 characters). The tag key is a 32-bit hash of the namespace and the
// tag; the trigrams are of bytes, after ASCII letters are folded as SQLite's lower() folds them.
//
// Which trigrams: the content's minimizers. Of every three consecutive trigrams the one with the
// smallest hash (kMinimizerWindow) is taken, about one in two in all. Keeping every trigram made the
// index seven times as costly to fill as memories_fts (100k memories: 17 s against 2.5 s; FTS5 pays per
// distinct term, and tag x trigram terms are many and sparse). A needle of five bytes or more holds at
// least one whole window of three trigrams, and a window's minimizer depends on the window alone, so
// every minimizer of the needle is in the document of each memory (of that tag) whose content
// contains the needle. Shorter needles are searched in memories_fts. Windows of four would keep two
// trigrams in five, but leave a word of eight letters one or two minimizers to search by, too few to
// be selective: at 1M memories p99 went from 2-5 ms to 7-21 ms.
//
// So the index finds a superset of the matches (two tags may share a key, the trigrams need not be
// adjacent), and the search still checks the content and the tags exactly. A document is empty when
// the memory has no tags or its content is too short to hold a window; no row is written for it then.
std::string tag_trigram_document(std::string_view ns, const std::vector<std::string>& tags,
                                 std::string_view content);

// The FTS5 query (an AND of tokens) that every memory holding all of `tags` (at least one) and
// containing `needle` matches in memories_tag_fts, or nullopt if the needle is too short for this
// index (under five bytes). It names at most four tags and eight of the needle's minimizers, spread
// over it: a few tokens already leave few candidates, and each further one costs a seek per candidate.
std::optional<std::string> tag_trigram_query(std::string_view ns, const std::vector<std::string>& tags,
                                             std::string_view needle);

// Registers the SQL function memtrace_tag_trigrams(ns, tags, content) on `connection`: the document
// above (tags as memories.tags holds them), or NULL where it is empty. The SQL that fills the index
// uses it (the content indexer and the schema migration).
Result<void> register_tag_trigram_function(Connection& connection);

}  // namespace memtrace::sqlite
