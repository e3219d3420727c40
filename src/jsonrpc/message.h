// JSON-RPC 2.0 messages as MCP uses them: parsing that never throws, classification into
// request / notification / response / invalid, and compact serialization.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace memtrace::jsonrpc {

using Json = nlohmann::json;

// Standard codes, plus the one MCP (≤ 2025-11-25) defines for an unknown resource.
enum ErrorCode : int {
  kParseError = -32700,
  kInvalidRequest = -32600,
  kMethodNotFound = -32601,
  kInvalidParams = -32602,
  kInternalError = -32603,
  kResourceNotFound = -32002,
  // Never sent: what Endpoint::call's callback gets when the request it served was cancelled and the
  // call was withdrawn (LSP's RequestCancelled code, so a log line reads the same).
  kRequestCancelled = -32800,
};

struct ErrorObject {
  int code = kInternalError;
  std::string message;
  Json data;  // omitted from the wire when null
};

// -32602 "Invalid params: <what>".
inline ErrorObject invalid_params(std::string what) {
  return ErrorObject{kInvalidParams, "Invalid params: " + std::move(what), nullptr};
}

// A request id: an integer or a string, never null (MCP forbids null ids).
class Id {
 public:
  Id() = default;
  explicit Id(std::int64_t n) : value_(n) {}
  explicit Id(std::string s) : value_(std::move(s)) {}
  // An id from JSON: integers (incl. whole-valued floats that fit) and strings only.
  static std::optional<Id> from_json(const Json& value);

  Json to_json() const;
  std::string to_string() const;  // for logs and map keys: 7 or "seven" (quoted)
  bool operator==(const Id& other) const = default;

 private:
  std::variant<std::int64_t, std::string> value_;
};

struct Request {
  Id id;
  std::string method;
  Json params;  // object, array or null (absent)
};

struct Notification {
  std::string method;
  Json params;
};

// A client's answer to a request the server sent (Endpoint::call): its result or its error.
struct Response {
  Id id;
  Json result;  // null when `error` is set
  std::optional<ErrorObject> error;
};

// Not a valid message: answered with `error`, echoing `id` when it could be read.
struct Invalid {
  std::optional<Id> id;
  ErrorObject error;
};

using Message = std::variant<Request, Notification, Response, Invalid>;

// The deepest nesting of arrays and objects a message may have (the message object itself is level 1).
// Deeper text is refused before it is parsed: nothing downstream (copies, schema validation, dumps)
// then recurses more than this many levels into client JSON.
inline constexpr std::size_t kMaxNestingDepth = 64;

// One line or HTTP body: a single message or a batch (a JSON array).
struct Parsed {
  std::vector<Message> messages;
  bool is_batch = false;
};

// Never throws. Text nested deeper than kMaxNestingDepth is one Invalid (-32600, id echoed if sniffed).
Parsed parse(std::string_view text);
Message classify(const Json& value);

// Best effort for text that will not be parsed whole (e.g. over the size limit): the top-level "id"
// if it appears in the first bytes of what looks like a JSON object. Never throws.
std::optional<Id> sniff_id(std::string_view prefix);

// Compact single-line JSON, safe for newline-delimited framing; invalid UTF-8 is replaced, not thrown.
std::string dump(const Json& value);

// A JSON value serialized already (by JsonWriter), carried inside a Json: dump() and the serialize_*()
// functions write its text as is. This is how the largest results, pages of memories, reach the wire
// without a DOM being built and walked for them. Nothing but those functions reads inside it (to
// nlohmann it is a binary value), so it is for values that only travel to the wire.
Json raw_json(std::string text);

// Writes JSON straight into a string, without a DOM: keys in the order written, commas placed for the
// caller. Strings are escaped as dump() escapes them; doubles are written in their shortest form that
// reads back the same, with ".0" on whole numbers as nlohmann writes them; NaN and infinities as null.
class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}
  JsonWriter& begin_object() { return open('{'); }
  JsonWriter& end_object() { return close('}'); }
  JsonWriter& begin_array() { return open('['); }
  JsonWriter& end_array() { return close(']'); }
  JsonWriter& key(std::string_view name);
  JsonWriter& value(std::string_view text);
  JsonWriter& value(const std::string& text) { return value(std::string_view(text)); }
  JsonWriter& value(const char* text) { return value(std::string_view(text)); }
  JsonWriter& value(double number);
  JsonWriter& value(std::int64_t number);
  JsonWriter& value(bool flag);
  JsonWriter& json(const Json& value);  // a DOM value (or a raw_json one), written as dump() writes it
  JsonWriter& null();

 private:
  void separate();
  JsonWriter& open(char bracket);
  JsonWriter& close(char bracket);
  std::string& out_;
  bool comma_ = false;  // a value was written at this level: the next one needs a comma
};
std::string serialize_result(const Id& id, const Json& result);
std::string serialize_error(const std::optional<Id>& id, const ErrorObject& error);
std::string serialize_notification(std::string_view method, const Json& params);

}  // namespace memtrace::jsonrpc
