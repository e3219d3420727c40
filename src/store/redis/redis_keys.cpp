// Key names, list encoding and trigrams of the Redis store (layout in redis_keys.h).
#include "store/redis/redis_keys.h"

#include <algorithm>
#include <charconv>

namespace memtrace::redis {
namespace {

constexpr std::string_view kKeyPrefix = "mt:v1:{";
constexpr std::string_view kEventsSuffix = "}:events";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string namespace_prefix(std::string_view ns) {
  // '{' and '}' would end or confuse the hash tag; '%' is the escape itself.
  std::string out(kKeyPrefix);
  for (char c : ns) {
    if (c == '%') {
      out += "%25";
    } else if (c == '{') {
      out += "%7B";
    } else if (c == '}') {
      out += "%7D";
    } else {
      out += c;
    }
  }
  out += "}:";
  return out;
}

std::string events_channel(std::string_view ns) {
  return namespace_prefix(ns) + "events";
}

std::optional<std::string> namespace_from_channel(std::string_view channel) {
  if (channel.size() < kKeyPrefix.size() + kEventsSuffix.size() || channel.rfind(kKeyPrefix, 0) != 0 ||
      channel.substr(channel.size() - kEventsSuffix.size()) != kEventsSuffix) {
    return std::nullopt;
  }
  std::string_view encoded =
      channel.substr(kKeyPrefix.size(), channel.size() - kKeyPrefix.size() - kEventsSuffix.size());
  std::string ns;
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    if (encoded[i] == '%') {
      if (i + 2 >= encoded.size()) return std::nullopt;
      int hi = hex_value(encoded[i + 1]);
      int lo = hex_value(encoded[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      ns += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (encoded[i] == '{' || encoded[i] == '}' || encoded[i] == '%') {
      return std::nullopt;
    } else {
      ns += encoded[i];
    }
  }
  return ns;
}

std::string memory_key(std::string_view id) {
  return "m:" + std::string(id);
}
std::string session_key(std::string_view id) {
  return "s:" + std::string(id);
}
std::string agent_key(std::string_view id) {
  return "a:" + std::string(id);
}
std::string session_memories_index(std::string_view session_id) {
  return "mi:s:" + std::string(session_id);
}
std::string session_window_index(std::string_view session_id) {
  return "mi:sw:" + std::string(session_id);
}
std::string tag_index(std::string_view tag) {
  return "mi:g:" + std::string(tag);
}
std::string trigram_index(std::string_view trigram) {
  return "mi:4:" + std::string(trigram);
}
std::string session_status_index(std::string_view status) {
  return "si:st:" + std::string(status);
}
std::string agent_sessions_index(std::string_view agent_id) {
  return "si:a:" + std::string(agent_id);
}
std::string metadata_index(std::string_view key, std::string_view value) {
  return "si:md:" + std::to_string(key.size()) + ":" + std::string(key) + std::string(value);
}

std::string encode_list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    out += std::to_string(item.size());
    out += ':';
    out += item;
  }
  return out;
}

std::vector<std::string> decode_list(std::string_view encoded) {
  std::vector<std::string> out;
  while (!encoded.empty()) {
    auto colon = encoded.find(':');
    if (colon == std::string_view::npos) break;
    std::size_t length = 0;
    auto [end, ec] = std::from_chars(encoded.data(), encoded.data() + colon, length);
    if (ec != std::errc() || end != encoded.data() + colon || colon + 1 + length > encoded.size()) break;
    out.emplace_back(encoded.substr(colon + 1, length));
    encoded.remove_prefix(colon + 1 + length);
  }
  return out;
}

std::string fold_case(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::vector<std::string> needle_trigrams(std::string_view folded_needle, std::size_t max) {
  std::vector<std::string> all;
  for (std::size_t i = 0; i + 3 <= folded_needle.size(); ++i) all.emplace_back(folded_needle.substr(i, 3));
  std::vector<std::string> distinct = all;
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  if (distinct.size() <= max || max == 0) return distinct;
  // Spread the chosen ones over the needle; the script verifies the whole needle anyway.
  std::vector<std::string> chosen;
  for (std::size_t k = 0; k < max; ++k)
    chosen.push_back(all[k * (all.size() - 1) / (max - 1 == 0 ? 1 : max - 1)]);
  std::sort(chosen.begin(), chosen.end());
  chosen.erase(std::unique(chosen.begin(), chosen.end()), chosen.end());
  return chosen;
}

}  // namespace memtrace::redis
