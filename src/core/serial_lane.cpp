#include "core/serial_lane.h"

#include <algorithm>

namespace memtrace {

std::shared_ptr<SerialLane> SerialLane::create(Executor& executor, Runner runner, std::size_t max_group) {
  return std::shared_ptr<SerialLane>(new SerialLane(executor, std::move(runner), max_group));
}

void SerialLane::push(Task task, std::size_t weight) {
  {
    std::lock_guard lock(mutex_);
    queue_.emplace_back(std::move(task), weight);
    queued_weight_ += weight;
    if (scheduled_) return;  // the run under way picks it up
    scheduled_ = true;
  }
  executor_.post([self = shared_from_this()] { self->run(); });
}

std::size_t SerialLane::backlog() const {
  std::lock_guard lock(mutex_);
  return queued_weight_ + running_weight_;
}

void SerialLane::run() {
  std::vector<Task> group;
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      running_weight_ = 0;
      if (queue_.empty()) {
        scheduled_ = false;
        return;
      }
      const std::size_t n = std::min(queue_.size(), max_group_);
      group.reserve(n);
      for (std::size_t i = 0; i < n; ++i) {
        group.push_back(std::move(queue_.front().first));
        running_weight_ += queue_.front().second;
        queued_weight_ -= queue_.front().second;
        queue_.pop_front();
      }
    }
    if (runner_) {
      runner_(group);
    } else {
      for (auto& task : group) task();
    }
    group.clear();  // outside the lock: a task's captures may be the last owners of what pushes here
  }
}

}  // namespace memtrace
