// The stdio transport's threads: they take turns reading stdin and running the client's calls.
#pragma once

#include <chrono>
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
// itself, once it has given up reading; so a call goes from stdin to stdout on one thread, with no
// hand-off on its way (each costs tens of µs on a small VM).
//
// Meanwhile the input must still be read, so that ping or cancellation is never stuck behind a call.
// The thread that starts running calls does not wake the other one to read on: it arms a timer
// (kFollowerDelay), and the other thread becomes the reader only if the calls are still running when
// it fires. Waking it at once for every call cost 60–140 µs of each call's latency at one call in
// flight (a futex wake, and a thread scheduled onto the core the store needed at that moment); arming
// and disarming the timer costs a few µs. So a ping that comes during a slow call is answered within
// about a millisecond, not after the call. Input that comes during a short call waits for it to end;
// the thread then reads it all at once, and the lane gets the pipelined calls as one group.
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

  // How long calls run before the other thread becomes the reader.
  static constexpr std::chrono::microseconds kFollowerDelay{1000};

  explicit StdioRelay(Hooks hooks);
  ~StdioRelay() override;  // joins the threads start() made

  void post(std::function<void()> task) override;

  // Starts the serving threads.
  void start(std::size_t threads);
  // Waits until the input has ended (calls may still be running: see Connection::drain).
  void wait_input_ended();

 private:
  Hooks hooks_;
  // An idle thread waits in poll() on these: posted work (an eventfd) and the follower's timer (a
  // timerfd). Without them (the process is out of descriptors), it waits on wake_, and the reader
  // wakes it at once, as before the timer.
  int wake_fd_ = -1;
  int timer_fd_ = -1;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable ended_cv_;  // wait_input_ended() here, so it never takes a wake-up meant for them
  std::deque<std::function<void()>> tasks_;
  bool reading_ = false;  // a thread is the reader now
  bool ended_ = false;    // input ended
  std::vector<std::thread> threads_;

  void run();
  bool timed() const { return wake_fd_ >= 0 && timer_fd_ >= 0; }
  // Waits, with the mutex released, for posted work, the follower's timer, or the end of input.
  void idle(std::unique_lock<std::mutex>& lock);
  void wake_one();
  void set_timer(bool armed);
};

}  // namespace memtrace::transport
