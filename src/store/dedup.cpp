#include "store/dedup.h"

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

namespace memtrace {
namespace {

constexpr std::uint64_t kFnvOffset = 14695981039346656037ULL;
constexpr std::uint64_t kFnvPrime = 1099511628211ULL;

void mix(std::uint64_t& hash, std::string_view bytes) {
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= kFnvPrime;
  }
}

void mix_field(std::uint64_t& hash, std::string_view field) {
  mix(hash, std::to_string(field.size()));
  mix(hash, ":");
  mix(hash, field);
}

}  // namespace

std::vector<std::string> sorted_tags(std::vector<std::string> tags) {
  std::sort(tags.begin(), tags.end());
  return tags;
}

bool same_for_dedup(const Memory& a, const Memory& b) {
  return a.type == b.type && a.content == b.content && a.agent_id == b.agent_id &&
         a.session_id == b.session_id && sorted_tags(a.tags) == sorted_tags(b.tags);
}

std::string dedup_fingerprint(const Memory& memory) {
  std::uint64_t hash = kFnvOffset;
  mix_field(hash, memory.type);
  mix_field(hash, memory.content);
  mix(hash, std::to_string(memory.tags.size()));
  for (const auto& tag : sorted_tags(memory.tags)) mix_field(hash, tag);
  mix_field(hash, memory.agent_id);
  mix_field(hash, memory.session_id);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = kHex[hash & 15];
    hash >>= 4;
  }
  return out;
}

}  // namespace memtrace
