#include "store/redis/redis_memory_string.h"

#include <cstdint>
#include <cstring>

#include "store/redis/redis_keys.h"

namespace memtrace::redis {
namespace {

class Reader {
 public:
  explicit Reader(std::string_view text) : text_(text) {}

  bool u8(std::uint8_t& out) {
    if (text_.size() - pos_ < 1) return false;
    out = static_cast<std::uint8_t>(text_[pos_++]);
    return true;
  }
  bool u32(std::uint32_t& out) {
    std::uint64_t v = 0;
    if (!big_endian(4, v)) return false;
    out = static_cast<std::uint32_t>(v);
    return true;
  }
  bool f64(double& out) {
    std::uint64_t bits = 0;
    if (!big_endian(8, bits)) return false;
    std::memcpy(&out, &bits, sizeof out);
    return true;
  }
  // A string after its length: 4 bytes, or 1 in the short form.
  bool str(std::string_view& out, bool short_length) {
    std::uint32_t n = 0;
    if (short_length) {
      std::uint8_t n8 = 0;
      if (!u8(n8)) return false;
      n = n8;
    } else if (!u32(n)) {
      return false;
    }
    if (text_.size() - pos_ < n) return false;
    out = text_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool at_end() const { return pos_ == text_.size(); }

 private:
  bool big_endian(std::size_t bytes, std::uint64_t& out) {
    if (text_.size() - pos_ < bytes) return false;
    out = 0;
    for (std::size_t i = 0; i < bytes; ++i) out = (out << 8) | static_cast<unsigned char>(text_[pos_ + i]);
    pos_ += bytes;
    return true;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

constexpr std::uint8_t kHasExpiry = 1, kHasReasoning = 2, kSuperseded = 4, kNumbered = 8, kShort = 16;

}  // namespace

bool decode_memory_string(std::string_view text, Memory& memory) {
  Reader in(text);
  std::uint8_t flags = 0;
  double created_at = 0, importance = 0, expires_at = 0, valid_until = 0;
  std::string_view superseded_by, type, agent, content, session, id, tags, metadata, reasoning;
  if (!in.u8(flags) || flags > (kHasExpiry | kHasReasoning | kSuperseded | kNumbered | kShort)) return false;
  const bool short_form = (flags & kShort) != 0;
  if (!in.f64(created_at) || !in.f64(importance)) return false;
  // The long form has both times always; the short one expires_at only with its flag, here, and
  // valid_until only with its flag, after the strings.
  if ((!short_form || (flags & kHasExpiry)) && !in.f64(expires_at)) return false;
  if (!short_form && !in.f64(valid_until)) return false;
  for (std::string_view* field :
       {&superseded_by, &type, &agent, &content, &session, &id, &tags, &metadata, &reasoning}) {
    if (!in.str(*field, short_form)) return false;
  }
  if (short_form && (flags & kSuperseded) && !in.f64(valid_until)) return false;
  std::uint32_t number = 0;
  if ((flags & kNumbered) && !in.u32(number)) return false;
  if (!in.at_end()) return false;
  memory.id = id;
  memory.session_id = session;
  memory.agent_id = agent;
  memory.type = type;
  memory.content = content;
  memory.tags = decode_list(tags);
  memory.importance = importance;
  memory.created_at = static_cast<UnixMillis>(created_at);
  memory.expires_at.reset();
  if (flags & kHasExpiry) memory.expires_at = static_cast<UnixMillis>(expires_at);
  memory.metadata_json = metadata;
  memory.reasoning.reset();
  if (flags & kHasReasoning) memory.reasoning = std::string(reasoning);
  memory.superseded_by.reset();
  memory.valid_until.reset();
  if (flags & kSuperseded) {
    memory.superseded_by = std::string(superseded_by);
    memory.valid_until = static_cast<UnixMillis>(valid_until);
  }
  return true;
}

}  // namespace memtrace::redis
