// A memory as the Redis store keeps it: one string, m:<id> (redis_keys.h). The scripts write it
// (mem_encode in lua/prelude.lua) and return it as is; this reads it back into a Memory.
//
// Layout, big-endian: flags (1 byte: 1 expires_at, 2 reasoning, 4 superseded_by and valid_until,
// 8 number, 16 short), then one of two forms.
// - Long: created_at, importance, expires_at, valid_until (IEEE doubles, 8 bytes each; absent ones are
//   0), then nine strings, each a 4-byte length and its bytes: superseded_by type agent content session
//   id tags metadata reasoning (absent ones are empty; tags as redis_keys.h's encode_list).
// - Short (each string under 256 bytes): created_at, importance, expires_at only with flag 1, the nine
//   strings with a 1-byte length each, then valid_until only with flag 4.
// Then, with flag 8, the memory's number in the content index (4 bytes; the scripts' business, not read
// here).
#pragma once

#include <string>
#include <string_view>

#include "store/records.h"

namespace memtrace::redis {

// Fills `memory` (its namespace is left as it is) from a memory string. False if the string is not
// one: too short, an unknown flag, or a length that runs past its end.
bool decode_memory_string(std::string_view text, Memory& memory);

}  // namespace memtrace::redis
