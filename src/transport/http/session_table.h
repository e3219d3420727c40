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
  // max_sessions_per_key: sessions one API key may hold (the anonymous clients share one quota), so that
  // one tenant cannot fill the table and lock every other tenant out.
  SessionTable(std::size_t max_sessions, std::size_t max_sessions_per_key,
               std::chrono::milliseconds idle_timeout, Metrics& metrics);
  ~SessionTable();

  enum class Added {
    kOk,
    kTableFull,  // max_sessions reached, even after expiring idle sessions
    kKeyFull,    // the key holds max_sessions_per_key sessions and none of them is idle
  };
  // A key at its quota gives up its least recently used idle session (no stream open, no call running)
  // to the new one: a client that forgets to DELETE its sessions keeps working, and only its own
  // sessions are ever evicted.
  Added add(const std::shared_ptr<McpSession>& session);
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
  const std::size_t max_sessions_per_key_;
  const std::chrono::milliseconds idle_timeout_;
  Metrics& metrics_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<McpSession>> sessions_;
  std::unordered_map<std::string, std::size_t> per_key_;  // live sessions by Principal::key_id
  std::vector<std::shared_ptr<McpSession>> ended_;        // kept until their in-flight requests finish
};

}  // namespace memtrace::transport::http
