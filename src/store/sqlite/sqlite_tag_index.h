// The SQLite store's tag-keyed trigram index (memories_tag_fts), for searches that name content and tags.
#pragma once

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
// A memory's document here: for each of its tags, each distinct trigram of its content as one token,
// "<tag key><trigram>" in hex (8 + 6 characters). The tag key is a 32-bit hash of the namespace and
// the tag; the trigrams are of bytes, after ASCII letters are folded as SQLite's lower() folds them.
// So any memory whose lower(content) contains lower(needle) holds every token of the needle for each
// of its tags: the index finds a superset of the matches (two tags may share a key), and the search
// still checks the content and the tags exactly. Empty when the memory has no tags or fewer than three
// bytes of content; no row is written for it then.
std::string tag_trigram_document(std::string_view ns, const std::vector<std::string>& tags,
                                 std::string_view content);

// The FTS5 query (an AND of tokens) that every memory holding all of `tags` (at least one) and
// containing `needle` (at least three bytes) matches in memories_tag_fts. It names at most four tags
// and eight trigrams of the needle, spread over it: a few tokens already leave few candidates, and
// each further one costs a seek per candidate.
std::string tag_trigram_query(std::string_view ns, const std::vector<std::string>& tags,
                              std::string_view needle);

// Registers the SQL function memtrace_tag_trigrams(ns, tags, content) on `connection`: the document
// above (tags as memories.tags holds them), or NULL where it is empty. The SQL that fills the index
// uses it (the content indexer and the schema migration).
Result<void> register_tag_trigram_function(Connection& connection);

}  // namespace memtrace::sqlite
