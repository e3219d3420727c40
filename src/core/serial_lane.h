// A lane: tasks that run one at a time, in the order they were pushed, on a shared Executor.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "core/executor.h"

namespace memtrace {

// One client's calls in arrival order (per-client order), while different lanes run in parallel on the
// same executor, in the manner of an Asio strand. The lane never blocks its pusher: callers bound it by
// looking at backlog() before they push (a transport stops reading a client whose lane is full, an
// HTTP transport answers 503), so memory stays bounded without a reader ever waiting on a worker.
//
// Whatever is queued when a run starts is handed to the Runner as one group (up to max_group tasks),
// so that the group's writes can be committed together; the default runner runs the tasks in order.
//
// Thread-safety: push() and backlog() from any thread. Tasks of one lane never overlap.
// Lifetime: the lane keeps itself alive while it has work; the executor must outlive that work.
class SerialLane : public std::enable_shared_from_this<SerialLane> {
 public:
  using Task = std::function<void()>;
  using Runner = std::function<void(std::vector<Task>& group)>;

  static std::shared_ptr<SerialLane> create(Executor& executor, Runner runner = {},
                                            std::size_t max_group = 64);

  // `weight` is what the task counts for in backlog() (e.g. its message's bytes).
  void push(Task task, std::size_t weight = 1);
  // The weight of the tasks queued or running.
  std::size_t backlog() const;

 private:
  SerialLane(Executor& executor, Runner runner, std::size_t max_group)
      : executor_(executor), runner_(std::move(runner)), max_group_(max_group == 0 ? 1 : max_group) {}
  void run();

  Executor& executor_;
  const Runner runner_;
  const std::size_t max_group_;

  mutable std::mutex mutex_;
  std::deque<std::pair<Task, std::size_t>> queue_;  // with its weight
  std::size_t queued_weight_ = 0;
  std::size_t running_weight_ = 0;  // of the group the current run took and has not finished
  bool scheduled_ = false;          // a run is posted or under way
};

}  // namespace memtrace
