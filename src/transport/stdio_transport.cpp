#include "transport/stdio_transport.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>

#include <spdlog/spdlog.h>

#include "transport/line_reader.h"
#include "transport/stdio_relay.h"

namespace memtrace::transport {
namespace {

// Writes each message as one line with a single locked write, so concurrent replies never interleave.
class FdWriter final : public jsonrpc::Outbound {
 public:
  explicit FdWriter(int fd) : fd_(fd) {}

  void send(jsonrpc::OutboundMessage outbound) override {
    std::string& message = outbound.text;
    message.push_back('\n');
    std::lock_guard lock(mutex_);
    if (broken_) return;
    const char* data = message.data();
    std::size_t left = message.size();
    while (left > 0) {
      ssize_t n = ::write(fd_, data, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        // The client closed our stdout: nobody can read answers any more; stop trying.
        spdlog::warn("stdout closed by the client ({}); further messages are dropped", std::strerror(errno));
        broken_ = true;
        return;
      }
      data += n;
      left -= static_cast<std::size_t>(n);
    }
  }

 private:
  int fd_;
  std::mutex mutex_;
  bool broken_ = false;
};

// Everything a served client's calls use, on the heap: calls still running after the drain keep using
// it (see ServeEnd::kAbandoned), so then it is left alive rather than destroyed under them.
struct StdioSession {
  explicit StdioSession(const StdioOptions& options) : writer(options.output_fd) {}
  FdWriter writer;
  std::string chunk = std::string(64 * 1024, '\0');
  std::optional<LineReader> reader;
  std::unique_ptr<mcp::Connection> connection;
  std::unique_ptr<StdioRelay> relay;  // last: joined first, while the rest still exists
};

}  // namespace

ServeEnd serve_stdio(mcp::Server& server, const StdioOptions& options) {
  auto session = std::make_unique<StdioSession>(options);
  StdioSession& s = *session;

  // One chunk from stdin, handed to the connection line by line. Only the relay's reader calls it.
  auto read_once = [&s, &options]() -> bool {
    for (;;) {
      ssize_t n = ::read(options.input_fd, s.chunk.data(), s.chunk.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) spdlog::error("reading stdin failed: {}", std::strerror(errno));
      if (n <= 0) {
        s.reader->finish();
        return false;
      }
      s.reader->feed(std::string_view(s.chunk.data(), static_cast<std::size_t>(n)));
      return true;
    }
  };
  s.relay = std::make_unique<StdioRelay>(
      StdioRelay::Hooks{read_once, [&s] { return !s.connection->backlogged(); }});

  mcp::ConnectionOptions connection_options;
  connection_options.executor = s.relay.get();
  s.connection = std::make_unique<mcp::Connection>(server, s.writer, connection_options);
  s.reader.emplace(options.max_line_bytes,
                   LineReader::Handlers{
                       [&s](std::string_view line) { s.connection->receive(line); },
                       [&s, &options](std::string_view prefix, std::size_t total) {
                         spdlog::warn("dropped a {}-byte message: over the {}-byte line limit", total,
                                      options.max_line_bytes);
                         s.connection->reject(
                             jsonrpc::sniff_id(prefix),
                             {jsonrpc::kInvalidRequest,
                              "Invalid Request: message of " + std::to_string(total) + " bytes exceeds the " +
                                  std::to_string(options.max_line_bytes) + "-byte limit (--max-line-bytes)",
                              nullptr});
                       },
                   });

  // Two threads are enough for one client: its calls run one at a time, and while one thread runs a
  // long call the other reads (a blocking read works for pipes, files and terminals alike). This thread only
  // waits for the end of input, so it is free to decide what to do about calls still running then.
  s.relay->start(2);
  s.relay->wait_input_ended();

  spdlog::debug("end of input; waiting up to {} ms for in-flight requests", options.drain_timeout.count());
  s.connection->end_subscriptions();  // a listening client has stopped listening
  if (!s.connection->drain(options.drain_timeout)) {
    // The stuck calls still answer through the connection and the writer, on the relay's thread:
    // leave all of it alive.
    (void)session.release();
    return ServeEnd::kAbandoned;
  }
  return ServeEnd::kDrained;
}

}  // namespace memtrace::transport
