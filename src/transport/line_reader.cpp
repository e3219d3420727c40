#include "transport/line_reader.h"

#include <algorithm>

namespace memtrace::transport {

LineReader::LineReader(std::size_t max_line_bytes, Handlers handlers)
    : max_line_bytes_(max_line_bytes), handlers_(std::move(handlers)) {}

void LineReader::emit(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  // Blank lines between messages are tolerated, not errors.
  if (std::all_of(line.begin(), line.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r'; }))
    return;
  handlers_.on_line(line);
}

void LineReader::feed(std::string_view bytes) {
  while (!bytes.empty()) {
    auto newline = bytes.find('\n');
    std::string_view chunk = bytes.substr(0, newline);  // up to, not including, the newline
    bool complete = newline != std::string_view::npos;
    bytes = complete ? bytes.substr(newline + 1) : std::string_view();

    if (discarding_) {
      discarded_bytes_ += chunk.size();
      if (complete) {
        handlers_.on_oversized(oversized_prefix_, discarded_bytes_);
        discarding_ = false;
        oversized_prefix_.clear();
      }
      continue;
    }
    if (buffer_.size() + chunk.size() > max_line_bytes_) {
      // Too long: keep a prefix for the id, drop the rest as it streams by, never buffer it all.
      discarding_ = true;
      discarded_bytes_ = buffer_.size() + chunk.size();
      buffer_.append(chunk.substr(0, kPrefixBytes > buffer_.size() ? kPrefixBytes - buffer_.size() : 0));
      oversized_prefix_ = buffer_.substr(0, kPrefixBytes);
      buffer_.clear();
      if (complete) {
        handlers_.on_oversized(oversized_prefix_, discarded_bytes_);
        discarding_ = false;
        oversized_prefix_.clear();
      }
      continue;
    }
    if (!complete) {
      buffer_.append(chunk);
      continue;
    }
    if (buffer_.empty()) {
      emit(chunk);
    } else {
      buffer_.append(chunk);
      emit(buffer_);
      buffer_.clear();
    }
  }
}

void LineReader::finish() {
  if (discarding_) {
    handlers_.on_oversized(oversized_prefix_, discarded_bytes_);
    discarding_ = false;
  } else if (!buffer_.empty()) {
    emit(buffer_);
  }
  buffer_.clear();
}

}  // namespace memtrace::transport
