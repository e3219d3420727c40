// The deduplication fingerprint of a memory: what two writes must share to be "the same memory" for
// WriteOptions::dedup_window_ms. Shared by every backend so that they agree on it.
#pragma once

#include <string>
#include <vector>

#include "store/records.h"

namespace memtrace {

// Two memories are the same for deduplication when their type, content, agent, session and set of tags
// (in any order) are equal.
bool same_for_dedup(const Memory& a, const Memory& b);
std::vector<std::string> sorted_tags(std::vector<std::string> tags);

// 16 lower-case hex digits (FNV-1a, 64 bits) over the type, content, tags (sorted), agent and
// session, each length-prefixed so that no two different field lists give the same input. It only
// narrows the search: a store compares the fields themselves before it treats a memory as a duplicate,
// so a collision can never merge two different memories. Stable across processes, builds and hosts.
std::string dedup_fingerprint(const Memory& memory);

}  // namespace memtrace
