// What the in-process server harnesses (mcp_dispatch_fuzz, http_request_fuzz) share: one MCP server on
// an in-memory SQLite store and a manual clock, built once and reused for many inputs.
//
// Building the server (compiling every tool's input schema) costs far more than running an input, so
// building it per input held these harnesses to a few executions a second. Each input instead starts
// at the same instant and gets a namespace of its own (inputs do not see each other's memories), and
// the whole server is built afresh every kInputsPerServer inputs, which bounds what accumulates in it.
// A crash therefore replays from its input file alone, as before, unless it depended on state another
// input left in the server's own tables; libFuzzer's -runs=0 replay of the corpus covers both.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "core/clock.h"
#include "fuzz_check.h"
#include "mcp/server.h"
#include "store/sqlite/sqlite_store.h"

namespace memtrace::fuzz {

class ServerFixture {
 public:
  static constexpr std::size_t kInputsPerServer = 256;
  static constexpr UnixMillis kStart = 1795000000000;  // 2026-11-20

  // The fixture for the next input: the clock set back to kStart, and next_namespace() fresh.
  static ServerFixture& for_next_input(const mcp::ServerOptions& options) {
    static std::unique_ptr<ServerFixture> fixture;
    static std::size_t inputs = 0;
    if (!fixture || inputs % kInputsPerServer == 0) {
      fixture.reset();  // one server at a time
      fixture.reset(new ServerFixture(options));
    }
    fixture->clock.set_ms(kStart);
    fixture->ns = "fuzz-" + std::to_string(inputs++);
    return *fixture;
  }

  // In the order each needs the one before (members are destroyed in reverse).
  ManualClock clock{kStart};
  std::unique_ptr<Store> store;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<mcp::Server> server;
  std::string ns;  // this input's namespace

 private:
  explicit ServerFixture(const mcp::ServerOptions& options) {
    auto opened = open_sqlite_store({":memory:"});
    FUZZ_CHECK(opened.has_value(), "the in-memory store did not open");
    store = std::move(*opened);
    engine = std::make_unique<Engine>(*store, clock);
    server = std::make_unique<mcp::Server>(*engine, options);
  }
};

}  // namespace memtrace::fuzz
