// Redis Cluster's hash slots: CRC16 of a key's hash tag, the slot map (CLUSTER SLOTS), and the
// MOVED / ASK redirections. Pure functions: no socket, tested without a server.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <hiredis/hiredis.h>

#include "core/error.h"

namespace memtrace::redis {

inline constexpr int kSlotCount = 16384;

// CRC16-CCITT (XModem), the checksum Redis Cluster hashes keys with.
std::uint16_t crc16(std::string_view data);

// The slot of `key`: CRC16 of its hash tag (the bytes between the first '{' and the next '}', when
// that is not empty), else of the whole key, modulo 16384.
int hash_slot(std::string_view key);

struct NodeAddress {
  std::string host;
  int port = 0;
  std::string text() const;  // "host:port"
  bool operator==(const NodeAddress&) const = default;
};

// One contiguous range of slots and the master that serves it (replicas are not used for routing).
struct SlotRange {
  int first = 0;
  int last = 0;  // inclusive
  NodeAddress master;
  std::vector<NodeAddress> replicas;
};

// Parses a CLUSTER SLOTS reply. An empty host (a node that does not know its own address) becomes
// `fallback_host`, the address we asked. Errors (not an array, malformed ranges) are kInternal.
Result<std::vector<SlotRange>> parse_cluster_slots(const redisReply* reply, const std::string& fallback_host);

// "MOVED 3999 127.0.0.1:6381" or "ASK 3999 127.0.0.1:6381".
struct Redirect {
  enum class Kind { kMoved, kAsk };
  Kind kind = Kind::kMoved;
  int slot = 0;
  NodeAddress to;
};
std::optional<Redirect> parse_redirect(std::string_view error_text);

}  // namespace memtrace::redis
