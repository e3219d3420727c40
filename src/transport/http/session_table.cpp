// Session bookkeeping; the open-session gauges are kept here, where sessions come and go.
#include "transport/http/session_table.h"

#include <thread>

#include <spdlog/spdlog.h>

namespace memtrace::transport::http {
namespace {

std::atomic<std::int64_t>& gauge(Metrics& metrics, const McpSession& session) {
  // A stateless request counts as a streamable session while it runs.
  return session.kind() == SessionKind::kLegacySse ? metrics.open_sessions_legacy
                                                   : metrics.open_sessions_streamable;
}

}  // namespace

SessionTable::SessionTable(std::size_t max_sessions, std::size_t max_sessions_per_key,
                           std::chrono::milliseconds idle_timeout, Metrics& metrics)
    : max_sessions_(max_sessions),
      max_sessions_per_key_(max_sessions_per_key),
      idle_timeout_(idle_timeout),
      metrics_(metrics) {}

SessionTable::~SessionTable() {
  close_all(EndReason::kShutdown);
  std::lock_guard lock(mutex_);
  ended_.clear();
}

SessionTable::Added SessionTable::add(const std::shared_ptr<McpSession>& session) {
  if (size() >= max_sessions_) sweep();
  const std::string& key = session->principal().key_id;
  std::shared_ptr<McpSession> evicted;  // destroyed outside the lock
  std::lock_guard lock(mutex_);
  if (auto count = per_key_.find(key); count != per_key_.end() && count->second >= max_sessions_per_key_) {
    auto now = McpSession::Clock::now();
    auto victim = sessions_.end();
    for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
      const McpSession& candidate = *it->second;
      if (candidate.principal().key_id != key ||
          !candidate.idle_for(McpSession::Clock::duration::zero(), now) || !it->second->drained())
        continue;
      if (victim == sessions_.end() || candidate.last_activity() < victim->second->last_activity())
        victim = it;
    }
    if (victim == sessions_.end()) return Added::kKeyFull;
    spdlog::info(
        "session {} ended: its key{} reached its quota of {} sessions (--max-sessions-per-key) and "
        "it was the least recently used idle one",
        victim->first, key.empty() ? std::string() : " " + key, max_sessions_per_key_);
    evicted = victim->second;
    sessions_.erase(victim);
    forget(evicted, EndReason::kSessionClosed);
  }
  if (sessions_.size() >= max_sessions_) return Added::kTableFull;
  sessions_[session->id()] = session;
  ++per_key_[key];
  ++gauge(metrics_, *session);
  return Added::kOk;
}

std::shared_ptr<McpSession> SessionTable::find(const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second;
}

void SessionTable::forget(const std::shared_ptr<McpSession>& session, EndReason reason) {
  session->close(reason);
  if (auto count = per_key_.find(session->principal().key_id);
      count != per_key_.end() && --count->second == 0) {
    per_key_.erase(count);
  }
  --gauge(metrics_, *session);
  ended_.push_back(session);
}

bool SessionTable::remove(const std::string& id, EndReason reason) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return false;
  auto session = it->second;
  sessions_.erase(it);
  forget(session, reason);
  return true;
}

void SessionTable::sweep() {
  auto now = McpSession::Clock::now();
  std::vector<std::shared_ptr<McpSession>> freed;  // destroyed outside the lock
  std::lock_guard lock(mutex_);
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (it->second->idle_for(idle_timeout_, now)) {
      spdlog::info("session {} expired after {} s idle", it->first, idle_timeout_.count() / 1000);
      forget(it->second, EndReason::kSessionClosed);
      it = sessions_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = ended_.begin(); it != ended_.end();) {
    if ((*it)->drained()) {
      freed.push_back(std::move(*it));
      it = ended_.erase(it);
    } else {
      ++it;
    }
  }
}

void SessionTable::close_all(EndReason reason) {
  std::lock_guard lock(mutex_);
  for (auto& [id, session] : sessions_) forget(session, reason);
  sessions_.clear();
}

bool SessionTable::drain(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<std::shared_ptr<McpSession>> all;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, session] : sessions_) all.push_back(session);
    all.insert(all.end(), ended_.begin(), ended_.end());
  }
  bool drained = true;
  for (auto& session : all) {
    // A subscriptions/listen request is not a call that finishes: it ends now, with its final answer.
    session->connection().end_subscriptions();
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (!session->connection().drain(std::max(left, std::chrono::milliseconds(0)))) drained = false;
  }
  return drained;
}

std::size_t SessionTable::size() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

}  // namespace memtrace::transport::http
