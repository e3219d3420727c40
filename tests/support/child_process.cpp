#include "support/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <sys/wait.h>

extern char** environ;

namespace memtrace::testing {
namespace {

void set_nonblocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

}  // namespace

ChildProcess::ChildProcess(std::vector<std::string> argv, std::map<std::string, std::string> env) {
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC)) {
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  }
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string entry = *e;
    auto key = entry.substr(0, entry.find('='));
    if (!env.count(key)) env_strings.push_back(entry);
  }
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> argv_c, env_c;
  for (auto& a : argv) argv_c.push_back(a.data());
  argv_c.push_back(nullptr);
  for (auto& e : env_strings) env_c.push_back(e.data());
  env_c.push_back(nullptr);

  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid_ == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    ::execve(argv_c[0], argv_c.data(), env_c.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  stdin_fd_ = in[1];
  stdout_fd_ = out[0];
  stderr_fd_ = err[0];
  set_nonblocking(stdout_fd_);
  set_nonblocking(stderr_fd_);
  ::signal(SIGPIPE, SIG_IGN);
}

ChildProcess::~ChildProcess() {
  close_stdin();
  if (!exit_code_ && pid_ > 0) {
    if (!wait(std::chrono::milliseconds(2000))) {
      kill(SIGKILL);
      wait(std::chrono::milliseconds(5000));
    }
  }
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
  if (stderr_fd_ >= 0) ::close(stderr_fd_);
}

void ChildProcess::write(const std::string& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(stdin_fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error(std::string("write to child: ") + std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
}

void ChildProcess::close_stdin() {
  if (stdin_fd_ >= 0) ::close(stdin_fd_);
  stdin_fd_ = -1;
}

std::optional<std::string> ChildProcess::read_line(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (auto newline = stdout_buffer_.find('\n'); newline != std::string::npos) {
      std::string line = stdout_buffer_.substr(0, newline);
      stdout_buffer_.erase(0, newline + 1);
      return line;
    }
    if (stdout_eof_) return std::nullopt;
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd fds[2] = {{stdout_fd_, POLLIN, 0}, {stderr_fd_, POLLIN, 0}};
    ::poll(fds, 2, static_cast<int>(left.count()));
    drain_stderr();
    char buffer[65536];
    for (;;) {
      ssize_t n = ::read(stdout_fd_, buffer, sizeof buffer);
      if (n > 0) {
        stdout_buffer_.append(buffer, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0) stdout_eof_ = true;
      break;
    }
  }
}

void ChildProcess::drain_stderr() {
  char buffer[65536];
  for (;;) {
    ssize_t n = ::read(stderr_fd_, buffer, sizeof buffer);
    if (n <= 0) break;
    stderr_buffer_.append(buffer, static_cast<std::size_t>(n));
  }
}

std::string ChildProcess::stderr_text() {
  drain_stderr();
  return stderr_buffer_;
}

std::optional<int> ChildProcess::wait(std::chrono::milliseconds timeout) {
  if (exit_code_) return exit_code_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
      drain_stderr();
      return exit_code_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    // Keep the child's pipes drained while it exits, so a full stderr pipe cannot stall it.
    pollfd fds[1] = {{stderr_fd_, POLLIN, 0}};
    ::poll(fds, 1, 5);
    drain_stderr();
  }
}

void ChildProcess::kill(int signal) {
  if (pid_ > 0 && !exit_code_) ::kill(pid_, signal);
}

}  // namespace memtrace::testing
