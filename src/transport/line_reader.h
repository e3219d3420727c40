// Splits a byte stream into newline-delimited messages with a size cap. Pure logic, no I/O: the caller
// feeds bytes as they arrive, so the framing is testable without pipes.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace memtrace::transport {

// Thread-safety: one thread at a time.
class LineReader {
 public:
  struct Handlers {
    std::function<void(std::string_view line)> on_line;  // without "\n" or "\r\n"; never blank
    // A line longer than the limit: `prefix` holds its first bytes (to recover the request id),
    // `total_bytes` its full length. The rest of the line is skipped; the next line is read normally.
    std::function<void(std::string_view prefix, std::size_t total_bytes)> on_oversized;
  };

  LineReader(std::size_t max_line_bytes, Handlers handlers);

  void feed(std::string_view bytes);
  // End of input: a last line without a trailing newline is still delivered.
  void finish();

 private:
  void emit(std::string_view line);

  static constexpr std::size_t kPrefixBytes = 64 * 1024;
  std::size_t max_line_bytes_;
  Handlers handlers_;
  std::string buffer_;
  bool discarding_ = false;  // inside an oversized line, skipping to its newline
  std::size_t discarded_bytes_ = 0;
  std::string oversized_prefix_;
};

}  // namespace memtrace::transport
