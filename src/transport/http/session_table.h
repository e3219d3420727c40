// The HTTP transport's live MCP sessions by id, with a cap, idle expiry, and a holding area for ended
// sessions whose requests are still running (their replies need the session's routing to stay alive).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "transport/http/mcp_session.h"

namespace memtrace::transport::http {

// Thread-safety: all methods may be called from any thread.
class SessionTable {
 public:
  SessionTable(std::size_t max_sessions, std::chrono::milliseconds idle_timeout, Metrics& metrics);
  ~SessionTable();

  // False when the table is full (after expiring idle sessions).
  bool add(const std::shared_ptr<McpSession>& session);
  std::shared_ptr<McpSession> find(const std::string& id) const;
  // Ends the session (its streams close) and forgets its id; false if there was none.
  bool remove(const std::string& id, EndReason reason);
  // Expires sessions idle for longer than the idle timeout and frees ended sessions that are drained.
  void sweep();
  // Ends every session (server shutdown).
  void close_all(EndReason reason);
  // Waits up to `timeout` for all in-flight requests of all sessions, live or ended; true if drained.
  bool drain(std::chrono::milliseconds timeout);
  std::size_t size() const;

 private:
  void forget(const std::shared_ptr<McpSession>& session, EndReason reason);  // mutex_ held

  const std::size_t max_sessions_;
  const std::chrono::milliseconds idle_timeout_;
  Metrics& metrics_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<McpSession>> sessions_;
  std::vector<std::shared_ptr<McpSession>> ended_;  // kept until their in-flight requests finish
};

}  // namespace memtrace::transport::http
