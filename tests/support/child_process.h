// A child process with pipes on stdin, stdout and stderr, read with deadlines; for end-to-end tests
// that drive the real memtrace-mcp binary. The destructor kills and reaps a child still running.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace memtrace::testing {

class ChildProcess {
 public:
  // argv[0] is the program path. `env` entries are added to (or override) the current environment.
  ChildProcess(std::vector<std::string> argv, std::map<std::string, std::string> env = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  void write(const std::string& bytes);  // raw bytes to stdin
  void write_line(const std::string& line) { write(line + "\n"); }
  void close_stdin();

  // The next stdout line (without "\n"), or nullopt if none arrives before the deadline / at EOF.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Everything written to stderr so far (drained without blocking).
  std::string stderr_text();

  // Waits for exit; the exit code, or nullopt on timeout. -signal if killed by a signal.
  std::optional<int> wait(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  void kill(int signal);
  pid_t pid() const { return pid_; }

 private:
  void drain_stderr();

  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
  std::string stdout_buffer_;
  std::string stderr_buffer_;
  bool stdout_eof_ = false;
  std::optional<int> exit_code_;
};

}  // namespace memtrace::testing
