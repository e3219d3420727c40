// The benchmarks' side of a memtrace-mcp process on stdio pipes: spawning it, JSON-RPC lines both ways,
// reply checks and latency percentiles. Shared by stdio_bench (the aims table) and scaling_bench (the
// scaling table).
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>
#include <sys/wait.h>

namespace memtrace::bench {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

[[noreturn]] inline void die(const std::string& message) {
  std::fprintf(stderr, "%s: %s\n", program_invocation_short_name, message.c_str());
  std::exit(1);
}

inline double micros(Clock::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

// ---- a server process on pipes ------------------------------------------------------------------------

class Server {
 public:
  Server(const std::vector<std::string>& argv, const fs::path& log_path) : log_path_(log_path) {
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC)) die(std::string("pipe: ") + std::strerror(errno));
    int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (log_fd < 0) die("cannot create " + log_path.string());
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ < 0) die(std::string("fork: ") + std::strerror(errno));
    if (pid_ == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::dup2(log_fd, 2);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    ::close(log_fd);
    to_server_ = in[1];
    from_server_ = out[0];
    ::fcntl(to_server_, F_SETFL, ::fcntl(to_server_, F_GETFL) | O_NONBLOCK);
    ::fcntl(from_server_, F_SETFL, ::fcntl(from_server_, F_GETFL) | O_NONBLOCK);
  }

  ~Server() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (to_server_ >= 0) ::close(to_server_);
    if (from_server_ >= 0) ::close(from_server_);
  }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  pid_t pid() const { return pid_; }

  void send(const std::string& message) {
    outbox_ += message;
    outbox_ += '\n';
    pump(0);
  }

  // The next line, waiting up to `timeout`; dies on end of output or timeout.
  std::string next_line(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    auto line = try_line(timeout);
    if (!line) die("no reply within the deadline; server log: " + log_tail());
    return *line;
  }

  // The next line if one arrives within `timeout`, else nullopt (end of output still dies).
  std::optional<std::string> try_line(std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
      if (auto nl = inbox_.find('\n', scanned_); nl != std::string::npos) {
        std::string line = inbox_.substr(0, nl);
        inbox_.erase(0, nl + 1);
        scanned_ = 0;
        return line;
      }
      scanned_ = inbox_.size();
      if (eof_) die("the server closed stdout; its log: " + log_tail());
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return std::nullopt;
      pump(static_cast<int>(left));
    }
  }

  // The next reply, skipping notifications the server sends on its own (e.g. resources/list_changed).
  std::string next_reply() {
    for (;;) {
      std::string line = next_line();
      if (line.rfind("{\"id\":", 0) == 0 || line.rfind("{\"error\":", 0) == 0) return line;
      json message = json::parse(line, nullptr, false);
      if (message.is_object() && !message.contains("id") && message.contains("method")) {
        ++notifications_;
        continue;
      }
      return line;
    }
  }
  long notifications() const { return notifications_; }

  // Peak resident set size (VmHWM) and current RSS, in KiB, from /proc/<pid>/status.
  std::pair<long, long> memory_kib() const {
    std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
    std::string key;
    long hwm = -1, rss = -1;
    while (status >> key) {
      if (key == "VmHWM:")
        status >> hwm;
      else if (key == "VmRSS:")
        status >> rss;
    }
    return {hwm, rss};
  }

  // Closes stdin and waits for the exit status; dies if the server does not exit in time.
  int finish(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    while (!outbox_.empty()) pump(100);
    ::close(to_server_);
    to_server_ = -1;
    auto deadline = Clock::now() + timeout;
    for (;;) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
      }
      if (Clock::now() > deadline) die("the server did not exit after stdin closed");
      char sink[65536];
      while (::read(from_server_, sink, sizeof sink) > 0) {
      }
      ::usleep(1000);
    }
  }

  std::string log_tail() const {
    std::ifstream in(log_path_);
    std::stringstream text;
    text << in.rdbuf();
    std::string s = text.str();
    return s.size() > 2000 ? s.substr(s.size() - 2000) : s;
  }

 private:
  void pump(int timeout_ms) {
    pollfd fds[2] = {{from_server_, POLLIN, 0},
                     {to_server_, static_cast<short>(outbox_.empty() ? 0 : POLLOUT), 0}};
    int n = ::poll(fds, outbox_.empty() || to_server_ < 0 ? 1 : 2, timeout_ms);
    if (n < 0 && errno != EINTR) die(std::string("poll: ") + std::strerror(errno));
    if (!outbox_.empty() && to_server_ >= 0) {
      ssize_t w = ::write(to_server_, outbox_.data(), outbox_.size());
      if (w > 0)
        outbox_.erase(0, static_cast<std::size_t>(w));
      else if (w < 0 && errno != EAGAIN && errno != EINTR)
        die(std::string("write: ") + std::strerror(errno));
    }
    char buffer[65536];
    for (;;) {
      ssize_t r = ::read(from_server_, buffer, sizeof buffer);
      if (r > 0) {
        inbox_.append(buffer, static_cast<std::size_t>(r));
        continue;
      }
      if (r == 0) eof_ = true;
      break;
    }
  }

  fs::path log_path_;
  pid_t pid_ = -1;
  bool exited_ = false;
  int to_server_ = -1;
  int from_server_ = -1;
  std::string outbox_;
  std::string inbox_;
  std::size_t scanned_ = 0;
  bool eof_ = false;
  long notifications_ = 0;
};

// ---- requests and replies -----------------------------------------------------------------------------

inline std::string initialize_request(long id) {
  return json{{"jsonrpc", "2.0"},
              {"id", id},
              {"method", "initialize"},
              {"params",
               {{"protocolVersion", "2025-11-25"},
                {"capabilities", json::object()},
                {"clientInfo", {{"name", "stdio-bench"}, {"version", "1.0.0"}}}}}}
      .dump();
}

inline std::string tool_call(long id, const char* tool, const json& arguments) {
  return json{{"jsonrpc", "2.0"},
              {"id", id},
              {"method", "tools/call"},
              {"params", {{"name", tool}, {"arguments", arguments}}}}
      .dump();
}

// The id of a successful reply. The server writes keys in sorted order ({"id":N,"jsonrpc":…,"result":…}),
// so the fast path reads the id from the prefix; anything else gets a full parse. Dies on an error reply,
// so no failed call is ever counted as a fast one.
inline long check_reply(const std::string& line) {
  static const std::string kPrefix = "{\"id\":";
  long id = -1;
  if (line.compare(0, kPrefix.size(), kPrefix) == 0) {
    char* end = nullptr;
    id = std::strtol(line.c_str() + kPrefix.size(), &end, 10);
    if (*end != ',' ||
        line.find("\"result\":", static_cast<std::size_t>(end - line.c_str())) == std::string::npos) {
      id = -1;
    }
  }
  if (id < 0) {
    json reply = json::parse(line, nullptr, false);
    if (reply.is_discarded() || !reply.contains("id") || !reply.contains("result")) die("bad reply: " + line);
    id = reply["id"].get<long>();
  }
  if (line.find("\"isError\":true") != std::string::npos) die("a tool call failed: " + line.substr(0, 600));
  return id;
}

struct Stats {
  std::vector<double> us;
  double percentile(double q) {
    if (us.empty()) return NAN;
    std::sort(us.begin(), us.end());
    std::size_t rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(us.size())));
    return us[std::min(us.size() - 1, rank == 0 ? 0 : rank - 1)];
  }
  double mean() const {
    double sum = 0;
    for (double v : us) sum += v;
    return us.empty() ? NAN : sum / static_cast<double>(us.size());
  }
};

// Keeps `window` requests in flight on `server` until `total` are answered. Each request is `make(id)`,
// ids counting up from `id` (the caller's own counter, so that threads driving different servers share
// nothing). Each answer's round trip, from writing the request to reading its reply, goes into
// `latencies` if given. Dies on a reply to an id not in flight.
inline void drive(Server& server, long total, int window, long& id,
                  const std::function<std::string(long)>& make, Stats* latencies = nullptr) {
  std::unordered_map<long, Clock::time_point> in_flight;
  long sent = 0, answered = 0;
  while (answered < total) {
    while (sent < total && static_cast<long>(in_flight.size()) < window) {
      std::string request = make(++id);
      in_flight.emplace(id, Clock::now());
      server.send(request);
      ++sent;
    }
    std::string reply = server.next_reply();
    auto at = Clock::now();
    auto it = in_flight.find(check_reply(reply));
    if (it == in_flight.end()) die("a reply to an unknown id: " + reply.substr(0, 200));
    if (latencies) latencies->us.push_back(micros(at - it->second));
    in_flight.erase(it);
    ++answered;
  }
}

}  // namespace memtrace::bench
