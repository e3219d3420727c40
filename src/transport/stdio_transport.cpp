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

  void send(std::string message, const std::optional<jsonrpc::Id>&) override {
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

}  // namespace

int serve_stdio(mcp::Server& server, const StdioOptions& options) {
  FdWriter writer(options.output_fd);
  std::unique_ptr<mcp::Connection> connection;
  std::string chunk(64 * 1024, '\0');
  std::optional<LineReader> reader;

  // One chunk from stdin, handed to the connection line by line. Only the relay's reader calls it.
  auto read_once = [&]() -> bool {
    for (;;) {
      ssize_t n = ::read(options.input_fd, chunk.data(), chunk.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) spdlog::error("reading stdin failed: {}", std::strerror(errno));
      if (n <= 0) {
        reader->finish();
        return false;
      }
      reader->feed(std::string_view(chunk.data(), static_cast<std::size_t>(n)));
      return true;
    }
  };
  StdioRelay relay({read_once, [&] { return !connection->backlogged(); }});

  mcp::ConnectionOptions connection_options;
  connection_options.executor = &relay;
  connection = std::make_unique<mcp::Connection>(server, writer, connection_options);
  reader.emplace(options.max_line_bytes,
                 LineReader::Handlers{
                     [&](std::string_view line) { connection->receive(line); },
                     [&](std::string_view prefix, std::size_t total) {
                       spdlog::warn("dropped a {}-byte message: over the {}-byte line limit", total,
                                    options.max_line_bytes);
                       connection->reject(
                           jsonrpc::sniff_id(prefix),
                           {jsonrpc::kInvalidRequest,
                            "Invalid Request: message of " + std::to_string(total) + " bytes exceeds the " +
                                std::to_string(options.max_line_bytes) + "-byte limit (--max-line-bytes)",
                            nullptr});
                     },
                 });

  // Two threads are enough for one client: its calls run one at a time, and while one thread runs a
  // call the other reads (a blocking read works for pipes, files and terminals alike).
  relay.start(1);
  relay.run();

  spdlog::debug("end of input; waiting up to {} ms for in-flight requests", options.drain_timeout.count());
  if (!connection->drain(options.drain_timeout)) {
    // Unwinding now would wait on calls that are stuck (and whose replies nobody reads any more).
    spdlog::warn("in-flight requests did not finish within {} ms; exiting anyway",
                 options.drain_timeout.count());
    spdlog::default_logger()->flush();
    ::_exit(0);
  }
  return 0;
}

}  // namespace memtrace::transport
