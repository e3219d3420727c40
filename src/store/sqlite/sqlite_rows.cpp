// Row encoding and decoding for the SQLite store: tags as JSON, memory, session and API key rows.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "store/sqlite/sqlite_store_internal.h"

namespace memtrace::sqlite {

namespace {

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (byte < 0x20) {
      out += "\\u00";
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 15]);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

}  // namespace

std::string encode_tags(const std::vector<std::string>& tags) {
  std::string out = "[";
  for (std::size_t i = 0; i < tags.size(); ++i) {
    if (i != 0) out.push_back(',');
    append_json_string(out, tags[i]);
  }
  out.push_back(']');
  return out;
}

namespace {

void append_utf8(std::string& out, std::uint32_t code_point) {
  if (code_point < 0x80) {
    out.push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else if (code_point < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (code_point >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (code_point >> 18)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
}

}  // namespace

// Decodes what encode_tags wrote (and any JSON array of strings); stops quietly at malformed input.
std::vector<std::string> decode_tags(std::string_view json) {
  std::vector<std::string> tags;
  std::size_t i = 0;
  auto hex4 = [&](std::size_t at, std::uint32_t& value) {
    if (at + 4 > json.size()) return false;
    value = 0;
    for (std::size_t k = at; k < at + 4; ++k) {
      const char c = json[k];
      value <<= 4;
      if (c >= '0' && c <= '9')
        value |= static_cast<std::uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        value |= static_cast<std::uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        value |= static_cast<std::uint32_t>(c - 'A' + 10);
      else
        return false;
    }
    return true;
  };
  while (i < json.size()) {
    while (i < json.size() && json[i] != '"') ++i;
    if (i >= json.size()) break;
    ++i;
    std::string tag;
    bool closed = false;
    while (i < json.size()) {
      const char c = json[i++];
      if (c == '"') {
        closed = true;
        break;
      }
      if (c != '\\' || i >= json.size()) {
        tag.push_back(c);
        continue;
      }
      const char escape = json[i++];
      switch (escape) {
        case 'n':
          tag.push_back('\n');
          break;
        case 't':
          tag.push_back('\t');
          break;
        case 'r':
          tag.push_back('\r');
          break;
        case 'b':
          tag.push_back('\b');
          break;
        case 'f':
          tag.push_back('\f');
          break;
        case 'u': {
          std::uint32_t unit = 0;
          if (!hex4(i, unit)) return tags;
          i += 4;
          std::uint32_t low = 0;
          if (unit >= 0xD800 && unit < 0xDC00 && i + 6 <= json.size() && json[i] == '\\' &&
              json[i + 1] == 'u' && hex4(i + 2, low) && low >= 0xDC00 && low < 0xE000) {
            unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
            i += 6;
          }
          append_utf8(tag, unit);
          break;
        }
        default:
          tag.push_back(escape);
          break;  // \" \\ \/
      }
    }
    if (!closed) break;
    tags.push_back(std::move(tag));
  }
  return tags;
}

// ---- content search helpers ----

std::size_t utf8_length(std::string_view text) {
  std::size_t count = 0;
  for (char c : text) count += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  return count;
}

// An FTS5 query matching `needle` as one phrase: in double quotes, inner quotes doubled, so that no
// character of the needle (* : ^ - ( ) AND OR NEAR ...) is read as query syntax. With the trigram
// tokenizer a phrase matches wherever the needle occurs as a substring.
std::string fts_phrase(std::string_view needle) {
  std::string out = "\"";
  for (char c : needle) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

Memory read_memory(const Statement& row, const std::string& ns) {
  Memory memory;
  memory.ns = ns;
  memory.id = row.text(0);
  memory.session_id = row.text(1);
  memory.agent_id = row.text(2);
  memory.type = row.text(3);
  memory.content = row.text(4);
  memory.tags = decode_tags(row.text(5));
  memory.importance = row.real(6);
  memory.created_at = row.int64(7);
  memory.expires_at = row.optional_int64(8);
  memory.metadata_json = row.text(9);
  memory.reasoning = row.optional_text(10);
  memory.superseded_by = row.optional_text(11);
  memory.valid_until = row.optional_int64(12);
  return memory;
}

Session read_session(const Statement& row, const std::string& ns) {
  Session session;
  session.ns = ns;
  session.id = row.text(0);
  session.created_by = row.text(1);
  session.status = row.text(2) == "closed" ? SessionStatus::kClosed : SessionStatus::kActive;
  session.created_at = row.int64(3);
  session.updated_at = row.int64(4);
  session.closed_at = row.optional_int64(5);
  return session;
}

ApiKey read_api_key(const Statement& statement) {
  ApiKey key;
  key.id = statement.text(0);
  key.ns = statement.text(1);
  key.hash = statement.text(2);
  key.label = statement.text(3);
  key.created_at = statement.int64(4);
  key.revoked_at = statement.optional_int64(5);
  return key;
}

}  // namespace memtrace::sqlite
