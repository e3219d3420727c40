// Hash slots, CLUSTER SLOTS parsing and redirection parsing for the cluster store.
#include "store/redis/redis_slots.h"

#include <charconv>

namespace memtrace::redis {
namespace {

std::optional<int> parse_int(std::string_view text) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string_view text_of(const redisReply* reply) {
  if (!reply || (reply->type != REDIS_REPLY_STRING && reply->type != REDIS_REPLY_STATUS)) return {};
  return {reply->str, reply->len};
}

// "host:port" (host may be an IPv6 address: the port follows the last colon).
std::optional<NodeAddress> parse_address(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  auto port = parse_int(text.substr(colon + 1));
  if (!port || *port <= 0 || *port > 65535) return std::nullopt;
  return NodeAddress{std::string(text.substr(0, colon)), *port};
}

}  // namespace

std::uint16_t crc16(std::string_view data) {
  std::uint16_t crc = 0;
  for (unsigned char byte : data) {
    crc ^= static_cast<std::uint16_t>(byte) << 8;
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) ? static_cast<std::uint16_t>((crc << 1) ^ 0x1021)
                           : static_cast<std::uint16_t>(crc << 1);
    }
  }
  return crc;
}

int hash_slot(std::string_view key) {
  auto open = key.find('{');
  if (open != std::string_view::npos) {
    auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) key = key.substr(open + 1, close - open - 1);
  }
  return crc16(key) % kSlotCount;
}

std::string NodeAddress::text() const {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<std::vector<SlotRange>> parse_cluster_slots(const redisReply* reply,
                                                   const std::string& fallback_host) {
  auto malformed = [](const std::string& why) {
    return fail(ErrorCode::kInternal, "redis cluster: unexpected CLUSTER SLOTS reply: " + why);
  };
  if (!reply || reply->type != REDIS_REPLY_ARRAY) return malformed("not an array");
  std::vector<SlotRange> ranges;
  for (std::size_t i = 0; i < reply->elements; ++i) {
    const redisReply* range = reply->element[i];
    if (range->type != REDIS_REPLY_ARRAY || range->elements < 3) return malformed("a range is too short");
    if (range->element[0]->type != REDIS_REPLY_INTEGER || range->element[1]->type != REDIS_REPLY_INTEGER)
      return malformed("slot bounds are not integers");
    SlotRange parsed;
    parsed.first = static_cast<int>(range->element[0]->integer);
    parsed.last = static_cast<int>(range->element[1]->integer);
    if (parsed.first < 0 || parsed.last >= kSlotCount || parsed.first > parsed.last)
      return malformed("slot bounds out of range");
    for (std::size_t n = 2; n < range->elements; ++n) {
      const redisReply* node = range->element[n];
      if (node->type != REDIS_REPLY_ARRAY || node->elements < 2 ||
          node->element[1]->type != REDIS_REPLY_INTEGER)
        return malformed("a node is not [host, port, ...]");
      NodeAddress address{std::string(text_of(node->element[0])),
                          static_cast<int>(node->element[1]->integer)};
      if (address.host.empty() || address.host == "?") address.host = fallback_host;
      if (n == 2) {
        parsed.master = std::move(address);
      } else {
        parsed.replicas.push_back(std::move(address));
      }
    }
    ranges.push_back(std::move(parsed));
  }
  return ranges;
}

std::optional<Redirect> parse_redirect(std::string_view error_text) {
  Redirect redirect;
  if (error_text.rfind("MOVED ", 0) == 0) {
    redirect.kind = Redirect::Kind::kMoved;
    error_text.remove_prefix(6);
  } else if (error_text.rfind("ASK ", 0) == 0) {
    redirect.kind = Redirect::Kind::kAsk;
    error_text.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  auto space = error_text.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  auto slot = parse_int(error_text.substr(0, space));
  auto address = parse_address(error_text.substr(space + 1));
  if (!slot || *slot < 0 || *slot >= kSlotCount || !address) return std::nullopt;
  redirect.slot = *slot;
  redirect.to = std::move(*address);
  return redirect;
}

}  // namespace memtrace::redis
