// The tag-keyed trigram index's documents and queries, and the SQL function that fills it.
#include "store/sqlite/sqlite_tag_index.h"

#include <algorithm>
#include <cstdint>

#include "store/sqlite/sqlite_handle.h"
#include "store/sqlite/sqlite_store_internal.h"

namespace memtrace::sqlite {

namespace {

constexpr std::size_t kMaxQueryTags = 4;
constexpr std::size_t kMaxQueryTrigrams = 8;
// Trigrams per window of which one, the minimizer, is indexed. Stored in files: never change it.
constexpr std::size_t kMinimizerWindow = 3;

// FNV-1a over the namespace, a zero byte and the tag, folded to 32 bits. Stored in files: never change it.
std::uint32_t tag_key(std::string_view ns, std::string_view tag) {
  std::uint64_t hash = 14695981039346656037ULL;
  auto mix = [&hash](unsigned char byte) {
    hash ^= byte;
    hash *= 1099511628211ULL;
  };
  for (char c : ns) mix(static_cast<unsigned char>(c));
  mix(0);
  for (char c : tag) mix(static_cast<unsigned char>(c));
  return static_cast<std::uint32_t>(hash ^ (hash >> 32));
}

// The distinct tag keys of `tags`, in their first order, at most `limit`.
std::vector<std::uint32_t> tag_keys(std::string_view ns, const std::vector<std::string>& tags,
                                    std::size_t limit) {
  std::vector<std::uint32_t> keys;
  for (const auto& tag : tags) {
    if (keys.size() == limit) break;
    const std::uint32_t key = tag_key(ns, tag);
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
  }
  return keys;
}

// A trigram's rank among its window's: a fixed multiplicative hash, then the trigram itself (so that
// the choice depends on the window's trigrams alone). Stored in files: never change it.
std::uint64_t rank(std::uint32_t trigram) {
  return static_cast<std::uint64_t>(trigram * 0x9E3779B1U) << 24 | trigram;
}

// The distinct minimizers of `grams` (each window of kMinimizerWindow consecutive ones gives its
// lowest-ranked), sorted; none if there is no whole window.
std::vector<std::uint32_t> minimizers(const std::vector<std::uint32_t>& grams) {
  std::vector<std::uint32_t> out;
  if (grams.size() < kMinimizerWindow) return out;
  for (std::size_t start = 0; start + kMinimizerWindow <= grams.size(); ++start) {
    std::uint32_t best = grams[start];
    for (std::size_t i = start + 1; i < start + kMinimizerWindow; ++i) {
      if (rank(grams[i]) < rank(best)) best = grams[i];
    }
    if (out.empty() || out.back() != best) out.push_back(best);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void append_hex(std::string& out, std::uint32_t value, int digits) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (int shift = 4 * (digits - 1); shift >= 0; shift -= 4) out.push_back(kDigits[(value >> shift) & 0xF]);
}

void append_token(std::string& out, std::uint32_t key, std::uint32_t trigram) {
  append_hex(out, key, 8);
  append_hex(out, trigram, 6);
}

void tag_trigrams_sql(sqlite3_context* context, int, sqlite3_value** args) {
  auto text = [&](int i) {
    const auto* bytes = reinterpret_cast<const char*>(sqlite3_value_text(args[i]));
    return bytes == nullptr ? std::string_view()
                            : std::string_view(bytes, static_cast<std::size_t>(sqlite3_value_bytes(args[i])));
  };
  const std::string document = tag_trigram_document(text(0), decode_tags(text(1)), text(2));
  if (document.empty()) {
    sqlite3_result_null(context);
  } else {
    sqlite3_result_text64(context, document.data(), document.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  }
}

}  // namespace

std::string tag_trigram_document(std::string_view ns, const std::vector<std::string>& tags,
                                 std::string_view content) {
  std::string out;
  const auto grams = minimizers(folded_trigrams(content));
  if (grams.empty()) return out;
  const auto keys = tag_keys(ns, tags, tags.size());
  out.reserve(keys.size() * grams.size() * 15);
  for (std::uint32_t key : keys) {
    for (std::uint32_t gram : grams) {
      if (!out.empty()) out.push_back(' ');
      append_token(out, key, gram);
    }
  }
  return out;
}

std::optional<std::string> tag_trigram_query(std::string_view ns, const std::vector<std::string>& tags,
                                             std::string_view needle) {
  const auto all = minimizers(folded_trigrams(needle));
  const auto keys = tag_keys(ns, tags, kMaxQueryTags);
  if (all.empty() || keys.empty()) return std::nullopt;
  std::vector<std::uint32_t> grams;
  if (all.size() <= kMaxQueryTrigrams) {
    grams = all;
  } else {  // spread over them: the first and the last and evenly between
    for (std::size_t i = 0; i < kMaxQueryTrigrams; ++i) {
      grams.push_back(all[i * (all.size() - 1) / (kMaxQueryTrigrams - 1)]);
    }
  }
  std::string out;
  for (std::uint32_t key : keys) {
    for (std::uint32_t gram : grams) {
      if (!out.empty()) out += " AND ";
      append_token(out, key, gram);
    }
  }
  return out;
}

Result<void> register_tag_trigram_function(Connection& connection) {
  const int rc = sqlite3_create_function_v2(connection.handle(), "memtrace_tag_trigrams", 3,
                                            SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, nullptr,
                                            tag_trigrams_sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK)
    return tl::unexpected(to_error(rc, connection.handle(), "register memtrace_tag_trigrams"));
  return {};
}

}  // namespace memtrace::sqlite
