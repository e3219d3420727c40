#include "transport/stdio_transport.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>

#include <spdlog/spdlog.h>

#include "transport/line_reader.h"

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

ServeEnd serve_stdio(mcp::Server& server, const StdioOptions& options) {
  // On the heap so that calls still running after the drain can keep using them (see kAbandoned).
  auto writer_owner = std::make_unique<FdWriter>(options.output_fd);
  auto connection_owner = std::make_unique<mcp::Connection>(server, *writer_owner);
  mcp::Connection& connection = *connection_owner;

  LineReader reader(
      options.max_line_bytes,
      LineReader::Handlers{
          [&](std::string_view line) { connection.receive(line); },
          [&](std::string_view prefix, std::size_t total) {
            spdlog::warn("dropped a {}-byte message: over the {}-byte line limit", total,
                         options.max_line_bytes);
            connection.reject(
                jsonrpc::sniff_id(prefix),
                {jsonrpc::kInvalidRequest,
                 "Invalid Request: message of " + std::to_string(total) + " bytes exceeds the " +
                     std::to_string(options.max_line_bytes) + "-byte limit (--max-line-bytes)",
                 nullptr});
          },
      });

  // A blocking read works for pipes, files and terminals alike.
  std::string chunk(64 * 1024, '\0');
  for (;;) {
    ssize_t n = ::read(options.input_fd, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      spdlog::error("reading stdin failed: {}", std::strerror(errno));
      break;
    }
    if (n == 0) break;
    reader.feed(std::string_view(chunk.data(), static_cast<std::size_t>(n)));
  }
  reader.finish();

  spdlog::debug("end of input; waiting up to {} ms for in-flight requests", options.drain_timeout.count());
  if (!connection.drain(options.drain_timeout)) {
    // The stuck calls still answer through the connection and the writer: leave both alive.
    (void)connection_owner.release();
    (void)writer_owner.release();
    return ServeEnd::kAbandoned;
  }
  return ServeEnd::kDrained;
}

}  // namespace memtrace::transport
