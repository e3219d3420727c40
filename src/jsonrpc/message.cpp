#include "jsonrpc/message.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "core/utf8.h"

namespace memtrace::jsonrpc {
namespace {

Invalid invalid(std::optional<Id> id, int code, std::string message) {
  return Invalid{std::move(id), ErrorObject{code, std::move(message), nullptr}};
}

// True if arrays and objects in `text` nest deeper than `limit`. One pass without recursion that counts
// brackets outside strings; a string is skipped with memchr to its closing quote (a quote preceded by an
// odd run of backslashes is escaped). It does not validate: malformed text is left to the parser, this
// only keeps text that is too deep from ever being parsed (about 0.1 ms per MiB; see the unit test).
bool nests_deeper_than(std::string_view text, std::size_t limit) {
  const char* p = text.data();
  const char* const end = p + text.size();
  std::size_t depth = 0;
  while (p < end) {
    char c = *p++;
    if (c == '"') {
      for (;;) {
        const void* quote = std::memchr(p, '"', static_cast<std::size_t>(end - p));
        if (!quote) return false;  // unterminated string: a parse error, not a depth problem
        const char* q = static_cast<const char*>(quote);
        std::size_t backslashes = 0;
        for (const char* b = q; b > p && b[-1] == '\\'; --b) ++backslashes;
        p = q + 1;
        if (backslashes % 2 == 0) break;
      }
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return true;
    } else if (c == ']' || c == '}') {
      if (depth > 0) --depth;
    }
  }
  return false;
}

// classify() of a const value copies params, result and error data; of a value parse() owns, moves them.
template <typename JsonT>
Message classify_value(JsonT& value) {
  if (!value.is_object())
    return invalid(std::nullopt, kInvalidRequest, "Invalid Request: expected a JSON object");

  std::optional<Id> id;
  bool has_id = value.contains("id");
  if (has_id) id = Id::from_json(value["id"]);

  auto version = value.find("jsonrpc");
  if (version == value.end() || *version != "2.0") {
    return invalid(id, kInvalidRequest, "Invalid Request: \"jsonrpc\" must be \"2.0\"");
  }

  auto take = [](JsonT& v) -> Json {
    if constexpr (std::is_const_v<JsonT>) {
      return v;
    } else {
      return std::move(v);
    }
  };

  auto method = value.find("method");
  if (method == value.end()) {
    // A response to a request we sent.
    if (has_id && id && (value.contains("result") || value.contains("error"))) {
      Response response{*id, value.contains("result") ? take(value["result"]) : Json(), std::nullopt};
      if (value.contains("error")) {
        JsonT& e = value["error"];
        ErrorObject error;
        error.code = e.is_object() && e.contains("code") && e["code"].is_number_integer()
                         ? e["code"].template get<int>()
                         : kInternalError;
        error.message =
            e.is_object() && e.contains("message") && e["message"].is_string() ? e["message"] : "";
        if (e.is_object() && e.contains("data")) error.data = take(e["data"]);
        response.error = std::move(error);
      }
      return response;
    }
    return invalid(id, kInvalidRequest, "Invalid Request: missing \"method\"");
  }
  if (!method->is_string())
    return invalid(id, kInvalidRequest, "Invalid Request: \"method\" must be a string");

  Json params = nullptr;
  if (auto p = value.find("params"); p != value.end()) {
    if (!p->is_object() && !p->is_array()) {
      return invalid(id, kInvalidRequest, "Invalid Request: \"params\" must be an object or an array");
    }
    params = take(*p);
  }

  if (!has_id) return Notification{method->template get<std::string>(), std::move(params)};
  if (!id) {
    // "id": null, true, 1.5, {} ... MCP requires a string or an integer.
    return invalid(std::nullopt, kInvalidRequest, "Invalid Request: \"id\" must be a string or an integer");
  }
  return Request{*id, method->template get<std::string>(), std::move(params)};
}

}  // namespace

std::optional<Id> Id::from_json(const Json& value) {
  if (value.is_number_integer()) {
    if (value.is_number_unsigned() && value.get<std::uint64_t>() > std::numeric_limits<std::int64_t>::max()) {
      return std::nullopt;
    }
    return Id(value.get<std::int64_t>());
  }
  if (value.is_number_float()) {
    // Some clients serialize integer ids as 1.0; accept whole numbers, reject 1.5.
    double d = value.get<double>();
    if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9.007199254740992e15) {
      return Id(static_cast<std::int64_t>(d));
    }
    return std::nullopt;
  }
  if (value.is_string()) return Id(value.get<std::string>());
  return std::nullopt;
}

Json Id::to_json() const {
  if (const auto* n = std::get_if<std::int64_t>(&value_)) return *n;
  return std::get<std::string>(value_);
}

std::string Id::to_string() const {
  return dump(to_json());
}

Message classify(const Json& value) {
  return classify_value(value);
}

Parsed parse(std::string_view text) {
  if (nests_deeper_than(text, kMaxNestingDepth)) {
    return Parsed{
        {invalid(sniff_id(text), kInvalidRequest,
                 "Invalid Request: nesting deeper than " + std::to_string(kMaxNestingDepth) + " levels")},
        false};
  }
  Json value = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    return Parsed{{invalid(std::nullopt, kParseError, "Parse error: the message is not valid JSON (UTF-8)")},
                  false};
  }
  if (!value.is_array()) return Parsed{{classify_value(value)}, false};
  if (value.empty()) {
    return Parsed{{invalid(std::nullopt, kInvalidRequest, "Invalid Request: empty batch")}, false};
  }
  Parsed parsed{{}, true};
  parsed.messages.reserve(value.size());
  for (auto& item : value) parsed.messages.push_back(classify_value(item));
  return parsed;
}

std::optional<Id> sniff_id(std::string_view text) {
  // Walk the top-level object's keys; skip nested values and strings without parsing them.
  std::size_t i = 0;
  auto skip_ws = [&] {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n')) ++i;
  };
  auto read_string = [&]() -> std::optional<std::string> {
    if (i >= text.size() || text[i] != '"') return std::nullopt;
    std::size_t start = ++i;
    while (i < text.size() && text[i] != '"') i += (text[i] == '\\') ? 2 : 1;
    if (i >= text.size()) return std::nullopt;
    return std::string(text.substr(start, i++ - start));
  };
  auto skip_value = [&]() -> bool {
    int depth = 0;
    while (i < text.size()) {
      char c = text[i];
      if (c == '"') {
        if (!read_string()) return false;
        if (depth == 0) return true;
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') {
        if (depth == 0) return true;  // end of the enclosing object
        --depth;
      }
      if (depth == 0 && c == ',') return true;
      ++i;
    }
    return false;
  };
  skip_ws();
  if (i >= text.size() || text[i] != '{') return std::nullopt;
  ++i;
  while (i < text.size()) {
    skip_ws();
    auto key = read_string();
    if (!key) return std::nullopt;
    skip_ws();
    if (i >= text.size() || text[i] != ':') return std::nullopt;
    ++i;
    skip_ws();
    if (*key == "id") {
      if (i < text.size() && (text[i] == '{' || text[i] == '[')) return std::nullopt;  // never an id
      std::size_t start = i;
      if (!skip_value()) return std::nullopt;
      Json value = Json::parse(text.substr(start, i - start), nullptr, false);
      if (value.is_discarded()) return std::nullopt;
      return Id::from_json(value);
    }
    if (!skip_value()) return std::nullopt;
    skip_ws();
    if (i < text.size() && text[i] == ',') ++i;
  }
  return std::nullopt;
}

namespace {

// Whether any of the eight bytes packed in `word` needs an escape in a JSON string: a control character
// (below 0x20), a quote or a backslash. Exact, with no carry from one byte into the next: each test adds
// to the low seven bits of a byte only, and reads the byte's own high bit apart.
bool needs_escape(std::uint64_t word) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kLow7 = 0x7F7F7F7F7F7F7F7FULL;
  constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
  // The high bit of every byte that is zero.
  auto zero_bytes = [](std::uint64_t w) { return ~(((w & kLow7) + kLow7) | w) & kHigh; };
  const std::uint64_t control = ~(((word & kLow7) + kOnes * 0x60) | word) & kHigh;
  return (control | zero_bytes(word ^ (kOnes * '"')) | zero_bytes(word ^ (kOnes * '\\'))) != 0;
}

// A JSON string, escaped as nlohmann's serializer escapes it (so the output is the same bytes), but
// copying the runs that need no escape whole instead of decoding every byte: a page of memories or a
// session digest is tens of KiB of such text. The runs are found eight bytes at a time (a recall of 50
// memories spent a tenth of its time here a byte at a time). Ill-formed UTF-8 goes to nlohmann's,
// which replaces it.
void append_string(std::string& out, std::string_view text) {
  if (!is_well_formed_utf8(text)) {
    out += Json(std::string(text)).dump(-1, ' ', false, Json::error_handler_t::replace);
    return;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  const char* const data = text.data();
  const std::size_t size = text.size();
  std::size_t run = 0;  // start of the bytes not written yet
  std::size_t i = 0;
  while (i < size) {
    if (size - i >= 8) {
      std::uint64_t word;
      std::memcpy(&word, data + i, sizeof word);
      if (!needs_escape(word)) {
        i += 8;
        continue;
      }
    }
    // A block with a byte to escape, or the last few bytes: one at a time up to the block's end.
    for (const std::size_t stop = std::min(size, i + 8); i < stop; ++i) {
      const auto c = static_cast<unsigned char>(data[i]);
      if (c >= 0x20 && c != '"' && c != '\\') continue;
      out.append(data + run, i - run);
      run = i + 1;
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0x0f];
      }
    }
  }
  out.append(data + run, size - run);
  out += '"';
}

// raw_json()'s mark: a binary value of this subtype holds JSON text.
constexpr std::uint64_t kRawJsonSubtype = 0x4a53;  // "JS"

bool is_raw(const Json& value) {
  const auto& bytes = value.get_binary();
  return bytes.has_subtype() && bytes.subtype() == kRawJsonSubtype;
}

void append_value(std::string& out, const Json& value) {
  switch (value.type()) {
    case Json::value_t::object: {
      out += '{';
      bool first = true;
      for (auto it = value.begin(); it != value.end(); ++it) {
        if (!first) out += ',';
        first = false;
        append_string(out, it.key());
        out += ':';
        append_value(out, it.value());
      }
      out += '}';
      return;
    }
    case Json::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& item : value) {
        if (!first) out += ',';
        first = false;
        append_value(out, item);
      }
      out += ']';
      return;
    }
    case Json::value_t::string:
      append_string(out, value.get_ref<const std::string&>());
      return;
    case Json::value_t::boolean:
      out += value.get<bool>() ? "true" : "false";
      return;
    case Json::value_t::null:
      out += "null";
      return;
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: {
      char digits[24];
      const auto written = value.is_number_unsigned()
                               ? std::to_chars(digits, digits + sizeof digits, value.get<std::uint64_t>())
                               : std::to_chars(digits, digits + sizeof digits, value.get<std::int64_t>());
      out.append(digits, written.ptr);
      return;
    }
    case Json::value_t::binary:
      if (is_raw(value)) {
        const auto& bytes = value.get_binary();
        out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
        return;
      }
      out += value.dump(-1, ' ', false, Json::error_handler_t::replace);
      return;
    default:  // floating point (nlohmann's shortest round-trip form), discarded
      out += value.dump(-1, ' ', false, Json::error_handler_t::replace);
  }
}

}  // namespace

std::string dump(const Json& value) {
  std::string out;
  append_value(out, value);
  return out;
}

Json raw_json(std::string text) {
  return Json::binary(Json::binary_t::container_type(text.begin(), text.end()), kRawJsonSubtype);
}

void JsonWriter::separate() {
  if (comma_) out_ += ',';
  comma_ = true;
}

JsonWriter& JsonWriter::open(char bracket) {
  separate();
  out_ += bracket;
  comma_ = false;
  return *this;
}

JsonWriter& JsonWriter::close(char bracket) {
  out_ += bracket;
  comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::key(std::string_view name) {
  separate();
  append_string(out_, name);
  out_ += ':';
  comma_ = false;
  return *this;
}

JsonWriter& JsonWriter::value(std::string_view text) {
  separate();
  append_string(out_, text);
  return *this;
}

JsonWriter& JsonWriter::value(double number) {
  separate();
  if (!std::isfinite(number)) {
    out_ += "null";
    return *this;
  }
  char digits[32];
  const auto written = std::to_chars(digits, digits + sizeof digits, number);
  const std::string_view text(digits, static_cast<std::size_t>(written.ptr - digits));
  out_ += text;
  if (text.find_first_of(".e") == std::string_view::npos) out_ += ".0";
  return *this;
}

JsonWriter& JsonWriter::value(std::int64_t number) {
  separate();
  char digits[24];
  const auto written = std::to_chars(digits, digits + sizeof digits, number);
  out_.append(digits, written.ptr);
  return *this;
}

JsonWriter& JsonWriter::value(bool flag) {
  separate();
  out_ += flag ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::json(const Json& value) {
  separate();
  append_value(out_, value);
  return *this;
}

JsonWriter& JsonWriter::null() {
  separate();
  out_ += "null";
  return *this;
}

std::string serialize_result(const Id& id, const Json& result) {
  // Written around the result rather than copying it into an envelope object: a page of memories is
  // the largest thing the server sends, and it is serialized once, straight into the line.
  std::string out = R"({"jsonrpc":"2.0","id":)";
  out += dump(id.to_json());
  out += R"(,"result":)";
  out += dump(result);
  out += '}';
  return out;
}

std::string serialize_error(const std::optional<Id>& id, const ErrorObject& error) {
  Json body = {{"code", error.code}, {"message", error.message}};
  if (!error.data.is_null()) body["data"] = error.data;
  Json message = {{"jsonrpc", "2.0"}};
  // MCP's schema makes the id optional on errors and rejects null: omit it when it could not be read.
  if (id) message["id"] = id->to_json();
  message["error"] = std::move(body);
  return dump(message);
}

std::string serialize_notification(std::string_view method, const Json& params) {
  Json message = {{"jsonrpc", "2.0"}, {"method", method}};
  if (!params.is_null()) message["params"] = params;
  return dump(message);
}

}  // namespace memtrace::jsonrpc
