// An in-process client's inbox: collects what an MCP connection sends, as JSON, and lets a test take
// messages out with a deadline (no sleeps). Thread-safety: send() from any thread, the rest likewise.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "jsonrpc/endpoint.h"

namespace memtrace::testing {

class Inbox : public jsonrpc::Outbound {
 public:
  void send(jsonrpc::OutboundMessage outbound) override {
    std::string& message = outbound.text;
    std::lock_guard lock(mutex_);
    messages_.push_back(nlohmann::json::parse(message));
    arrived_.notify_all();
  }
  // The first not-yet-taken message matching `predicate`, waiting up to `timeout`.
  std::optional<nlohmann::json> take(const std::function<bool(const nlohmann::json&)>& predicate,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::unique_lock lock(mutex_);
    std::optional<nlohmann::json> found;
    arrived_.wait_for(lock, timeout, [&] {
      for (auto it = messages_.begin(); it != messages_.end(); ++it) {
        if (predicate(*it)) {
          found = std::move(*it);
          messages_.erase(it);
          return true;
        }
      }
      return false;
    });
    return found;
  }
  std::optional<nlohmann::json> reply_to(const nlohmann::json& id,
                                         std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    return take(
        [&](const nlohmann::json& m) { return m.contains("id") && m["id"] == id && !m.contains("method"); },
        timeout);
  }
  std::optional<nlohmann::json> notification(const std::string& method,
                                             std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    return take([&](const nlohmann::json& m) { return m.value("method", "") == method; }, timeout);
  }
  // Drops every message that arrived so far.
  void clear() {
    std::lock_guard lock(mutex_);
    messages_.clear();
  }

 private:
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::vector<nlohmann::json> messages_;
};

}  // namespace memtrace::testing
