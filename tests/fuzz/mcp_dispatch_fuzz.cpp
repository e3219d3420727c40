// Fuzz harness: the MCP dispatcher in process, with the real tool registry and schemas, on an in-memory
// SQLite store; each input in a namespace of its own, from the same instant (server_fixture.h).
//
// A connection is initialized as a client would (initialize, notifications/initialized); then every
// line of the input is one message to it: tools/call with arguments the schema validator and the tools
// must judge, resources, prompts, completions, batches, notifications, garbage. Calls run inline (no
// worker threads), on a manual clock.
//
// Properties: nothing crashes, leaks or throws out of the connection; every message the server sends is
// one line of valid JSON-RPC; every answer has exactly one of result and error, and a result has an id; no request is left
// in flight.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/executor.h"
#include "fuzz_check.h"
#include "server_fixture.h"

namespace {

using Json = nlohmann::json;

// Runs each call where it is posted: the outcome depends on the input alone.
class InlineExecutor : public memtrace::Executor {
 public:
  void post(std::function<void()> task) override { task(); }
};

class CheckedOutbound : public memtrace::jsonrpc::Outbound {
 public:
  void send(memtrace::jsonrpc::OutboundMessage message) override {
    FUZZ_CHECK(message.text.find('\n') == std::string::npos, "an outbound message spans lines");
    Json parsed = Json::parse(message.text, nullptr, false);
    FUZZ_CHECK(!parsed.is_discarded(), "an outbound message is not valid JSON");
    auto check = [&](const Json& m) {
      FUZZ_CHECK(m.is_object() && m.value("jsonrpc", "") == "2.0", "an outbound message is not JSON-RPC 2.0");
      if (m.contains("method")) return;  // a notification or a request of the server's
      FUZZ_CHECK(m.contains("result") != m.contains("error"),
                 "a response without exactly one of result/error");
      // An error may lack the id (when the request's could not be read: MCP forbids a null id).
      FUZZ_CHECK(m.contains("id") || m.contains("error"), "a result without an id");
    };
    if (parsed.is_array()) {
      for (const auto& m : parsed) check(m);
    } else {
      check(parsed);
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace memtrace;
  std::string_view input(reinterpret_cast<const char*>(data), size);

  mcp::ServerOptions options;
  options.agent = "fuzzer";
  options.session_id = "fuzz-session";
  options.worker_threads = 1;
  auto& fixture = fuzz::ServerFixture::for_next_input(options);
  InlineExecutor executor;
  CheckedOutbound outbound;
  {
    mcp::ConnectionOptions connection_options;
    connection_options.executor = &executor;
    connection_options.ns = fixture.ns;
    mcp::Connection connection(*fixture.server, outbound, connection_options);
    connection.receive(
        R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25",)"
        R"("capabilities":{},"clientInfo":{"name":"fuzzer","version":"1"}}})");
    connection.receive(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
    FUZZ_CHECK(connection.initialized(), "initialize failed");

    std::size_t start = 0;
    while (start <= input.size()) {
      std::size_t end = input.find('\n', start);
      if (end == std::string_view::npos) end = input.size();
      std::string_view line = input.substr(start, end - start);
      if (!line.empty()) {
        connection.receive(line);
        fixture.clock.advance_ms(1000);  // time moves between messages, as leases and TTLs expect
      }
      start = end + 1;
    }
    FUZZ_CHECK(connection.drain(std::chrono::seconds(10)), "a request was left in flight");
  }
  return 0;
}
