// The connections to one node: the shared pipeline, lending, giving back, dropping broken connections,
// reconnect backoff.
#include "store/redis/redis_pool.h"

#include <algorithm>
#include <utility>

namespace memtrace::redis {

Pool::Pool(RedisOptions options, Endpoint endpoint)
    : options_(std::move(options)), endpoint_(std::move(endpoint)) {}

Pool::Lease::~Lease() {
  if (direct_) pool_->give_back(std::move(direct_));
}

void Pool::give_back(std::unique_ptr<DirectConnection> connection) {
  std::unique_ptr<DirectConnection> dropped;
  {
    std::lock_guard lock(mutex_);
    if (connection->broken()) {
      dropped = std::move(connection);
      --open_;
    } else {
      idle_.push_back(std::move(connection));
    }
  }
  available_.notify_one();
}

Result<std::unique_ptr<DirectConnection>> Pool::open_locked(std::unique_lock<std::mutex>& lock) {
  using Clock = std::chrono::steady_clock;
  const auto now = Clock::now();
  if (last_connect_error_ && now < retry_at_) {
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(retry_at_ - now).count();
    return fail(last_connect_error_->code,
                last_connect_error_->message + " (next attempt in " + std::to_string(wait) + " ms)");
  }
  lock.unlock();
  auto opened = DirectConnection::open(options_, endpoint_);
  lock.lock();
  if (!opened) {
    backoff_ = backoff_.count() == 0 ? options_.reconnect_backoff_min
                                     : std::min(backoff_ * 2, options_.reconnect_backoff_max);
    retry_at_ = Clock::now() + backoff_;
    last_connect_error_ = opened.error();
    return opened;
  }
  backoff_ = std::chrono::milliseconds(0);
  last_connect_error_.reset();
  return opened;
}

Result<Pool::Lease> Pool::share() {
  const auto deadline = call_deadline(options_.command_timeout);
  std::shared_ptr<Pipeline> retired;  // released outside the lock
  std::unique_lock lock(mutex_);
  for (;;) {
    if (pipeline_) {
      if (pipeline_->check_idle()) return Lease(pipeline_);
      retired = std::move(pipeline_);  // the calls still on it keep it alive until they are done
    }
    if (!opening_pipeline_) break;
    // Another call is opening it (within the connect timeout): wait for that rather than open a second.
    if (pipeline_opened_.wait_until(lock, deadline) == std::cv_status::timeout && opening_pipeline_) {
      return tl::unexpected(not_sent_in_time(endpoint_));
    }
  }
  opening_pipeline_ = true;
  auto opened = open_locked(lock);
  opening_pipeline_ = false;
  if (opened) pipeline_ = Pipeline::create(std::move(*opened));
  auto pipeline = pipeline_;
  lock.unlock();
  pipeline_opened_.notify_all();  // the calls waiting for it (or, after a failure, to fail fast in turn)
  if (!opened) return tl::unexpected(opened.error());
  return Lease(std::move(pipeline));
}

Result<Pool::Lease> Pool::lease() {
  // The call's whole budget, counted from its arrival: a call that waited in line is not made to wait
  // a full command timeout more here.
  const auto deadline = call_deadline(options_.command_timeout);
  std::vector<std::unique_ptr<DirectConnection>> dropped;  // freed outside the lock
  std::unique_lock lock(mutex_);
  for (;;) {
    while (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      if (!connection->closed_while_idle()) return Lease(this, std::move(connection));
      dropped.push_back(std::move(connection));
      --open_;
    }
    if (open_ < std::max<std::size_t>(options_.pool_size, 1)) {
      ++open_;
      auto opened = open_locked(lock);
      if (!opened) {
        --open_;
        lock.unlock();
        available_.notify_all();  // a waiter may try (and fail fast) too
        return tl::unexpected(opened.error());
      }
      return Lease(this, std::move(*opened));
    }
    if (available_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
        open_ >= options_.pool_size) {
      return fail(ErrorCode::kTimeout, "all " + std::to_string(options_.pool_size) +
                                           " connections to redis store " + endpoint_.description +
                                           " stayed busy until the call's " +
                                           std::to_string(options_.command_timeout.count()) +
                                           " ms (--redis-command-timeout-ms, counted from the call's "
                                           "arrival) were up; it was not sent");
    }
  }
}

}  // namespace memtrace::redis
