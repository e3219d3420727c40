// Something that runs tasks: a thread pool, or a transport's own threads (the stdio relay).
#pragma once

#include <functional>

namespace memtrace {

// Thread-safety: post() from any thread. A task runs exactly once, on a thread of the executor's
// choosing, unless the executor is destroyed first (see the implementation's contract).
class Executor {
 public:
  virtual ~Executor() = default;
  virtual void post(std::function<void()> task) = 0;
};

}  // namespace memtrace
