// The stdio transport's threads: they take turns reading stdin and running the client's calls.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "core/executor.h"

namespace memtrace::transport {

// A leader/follower executor for one input stream. One thread at a time is the reader: it reads a
// chunk and hands each message to the connection, which answers ping and the like at once and pushes
// calls into its lane, whose run is posted here. A task posted by the reader is run by the reader
// itself, after it has passed the reading on to another thread; so a call goes from stdin to stdout on
// one thread, with no hand-off on its way (each costs tens of µs on a small VM), while the next reader
// is already waiting for the next message, and ping or cancellation is never stuck behind a call.
//
// The reader reads only while may_read() says so (the client's lane is not backlogged): a client that
// never reads its answers stops being read, and memory stays bounded.
//
// Thread-safety: post() from any thread. The serving threads are the ones start() makes; each returns
// once input has ended and no task is left.
class StdioRelay final : public Executor {
 public:
  struct Hooks {
    // Reads and dispatches one chunk of input; false at end of input (or a read error).
    std::function<bool()> read_once;
    // Whether reading more is allowed now.
    std::function<bool()> may_read;
  };

  explicit StdioRelay(Hooks hooks) : hooks_(std::move(hooks)) {}
  ~StdioRelay() override;  // joins the threads start() made

  void post(std::function<void()> task) override;

  // Starts the serving threads.
  void start(std::size_t threads);
  // Waits until the input has ended (calls may still be running: see Connection::drain).
  void wait_input_ended();

 private:
  Hooks hooks_;
  std::mutex mutex_;
  std::condition_variable wake_;      // the serving threads wait here
  std::condition_variable ended_cv_;  // wait_input_ended() here, so it never takes a wake-up meant for them
  std::deque<std::function<void()>> tasks_;
  bool reading_ = false;  // a thread is the reader now
  bool ended_ = false;    // input ended
  std::vector<std::thread> threads_;

  void run();
};

}  // namespace memtrace::transport
