// Fuzz harness: the stdio framing (LineReader) and the JSON-RPC layer behind it (parse, classify, the
// Endpoint's answering and batching, serialization), i.e. everything a byte on stdin reaches before MCP.
//
// Properties: nothing crashes or throws; feeding the bytes in chunks frames the same lines as feeding
// them at once; every line that reaches the Endpoint gets at most one answer per request, and
// every answer is one line of valid JSON.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "fuzz_check.h"
#include "jsonrpc/endpoint.h"
#include "jsonrpc/message.h"
#include "transport/line_reader.h"

namespace {

using memtrace::transport::LineReader;
namespace jsonrpc = memtrace::jsonrpc;

// Small enough that the fuzzer reaches the oversized-line path, large enough for nesting far past
// jsonrpc::kMaxNestingDepth.
constexpr std::size_t kMaxLineBytes = 32 * 1024;

struct Event {
  bool oversized = false;
  std::string text;  // the line, or the oversized line's prefix
  std::size_t total = 0;
};

// The same framing: the same lines, and the same oversized lines by length. An oversized line's prefix is
// "its first bytes" (at most 64 KiB): how many depends on where the chunks fell once the line was
// over the limit, so one prefix need only start the other.
bool same_framing(const std::vector<Event>& a, const std::vector<Event>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].oversized != b[i].oversized || a[i].total != b[i].total) return false;
    if (!a[i].oversized && a[i].text != b[i].text) return false;
    const auto& shorter = a[i].text.size() < b[i].text.size() ? a[i].text : b[i].text;
    const auto& longer = a[i].text.size() < b[i].text.size() ? b[i].text : a[i].text;
    if (longer.compare(0, shorter.size(), shorter) != 0) return false;
  }
  return true;
}

std::vector<Event> frame(std::string_view input, std::size_t chunk) {
  std::vector<Event> events;
  LineReader reader(kMaxLineBytes, {[&](std::string_view line) {
                                      events.push_back({false, std::string(line), line.size()});
                                    },
                                    [&](std::string_view prefix, std::size_t total) {
                                      events.push_back({true, std::string(prefix), total});
                                    }});
  if (chunk == 0) {
    reader.feed(input);
  } else {
    for (std::size_t at = 0; at < input.size(); at += chunk) reader.feed(input.substr(at, chunk));
  }
  reader.finish();
  return events;
}

class CheckedOutbound : public jsonrpc::Outbound {
 public:
  void send(jsonrpc::OutboundMessage message) override {
    FUZZ_CHECK(message.text.find('\n') == std::string::npos, "an outbound message spans lines");
    auto parsed = nlohmann::json::parse(message.text, nullptr, false);
    FUZZ_CHECK(!parsed.is_discarded(), "an outbound message is not valid JSON");
    ++sent;
  }
  std::size_t sent = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);

  // The first byte picks a chunk size for the second framing: the two framings must agree.
  const std::size_t chunk = size ? (data[0] % 13) + 1 : 1;
  auto whole = frame(input, 0);
  auto chunked = frame(input, chunk);
  FUZZ_CHECK(same_framing(whole, chunked), "chunked feeding framed different lines");

  CheckedOutbound outbound;
  std::size_t requests = 0;
  jsonrpc::Endpoint endpoint(outbound, {[&](jsonrpc::Request request, jsonrpc::Reply reply) {
                                          ++requests;
                                          // Answer some requests with their params and some with an error,
                                          // like a real server.
                                          if (request.method.size() % 2) {
                                            reply.error(jsonrpc::kInvalidParams, request.method,
                                                        request.params);
                                          } else {
                                            reply.result(request.params);
                                          }
                                        },
                                        [](jsonrpc::Notification) {}, [&] { return size % 2 == 0; }});

  for (const auto& event : whole) {
    if (event.oversized) {
      FUZZ_CHECK(event.total > kMaxLineBytes, "a line within the limit was reported oversized");
      FUZZ_CHECK(event.text.size() <= 64 * 1024 && event.text.size() <= event.total,
                 "an oversized prefix too long");
      endpoint.reject(jsonrpc::sniff_id(event.text), {jsonrpc::kInvalidRequest, "too large", nullptr});
      continue;
    }
    FUZZ_CHECK(!event.text.empty(), "a blank line was delivered");
    FUZZ_CHECK(event.text.size() <= kMaxLineBytes, "a line over the limit was delivered");
    // The parser alone, then the classified messages serialized again.
    auto parsed = jsonrpc::parse(event.text);
    for (const auto& message : parsed.messages) {
      if (const auto* request = std::get_if<jsonrpc::Request>(&message)) {
        jsonrpc::serialize_result(request->id, request->params);
        jsonrpc::Id::from_json(request->id.to_json());
      } else if (const auto* invalid = std::get_if<jsonrpc::Invalid>(&message)) {
        jsonrpc::serialize_error(invalid->id, invalid->error);
      } else if (const auto* notification = std::get_if<jsonrpc::Notification>(&message)) {
        jsonrpc::serialize_notification(notification->method, notification->params);
      }
    }
    endpoint.receive(event.text);
  }
  FUZZ_CHECK(endpoint.in_flight() == 0, "a request was left unanswered");
  FUZZ_CHECK(outbound.sent >= (requests ? 1u : 0u), "requests were answered with nothing");
  return 0;
}
