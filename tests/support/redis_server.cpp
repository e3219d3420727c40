// Starts and stops a private redis-server for tests; a minimal RESP client with deadlines.
#include "support/redis_server.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

namespace memtrace::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::runtime_error io_error(const std::string& what) {
  return std::runtime_error(what + ": " + std::strerror(errno));
}

int pick_free_tcp_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw io_error("socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    throw io_error("bind 127.0.0.1:0");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Waits for the child to exit, up to `deadline`; true if it was reaped.
bool reap(pid_t pid, std::chrono::milliseconds deadline) {
  const auto until = Clock::now() + deadline;
  for (;;) {
    int status = 0;
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid || (done < 0 && errno == ECHILD)) return true;
    if (Clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // polling interval, bounded by the deadline
  }
}

}  // namespace

bool find_redis_server(std::string* where) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = (dir.empty() ? "." : dir) + "/redis-server";
    if (::access(candidate.c_str(), X_OK) == 0) {
      if (where) *where = candidate;
      return true;
    }
  }
  return false;
}

// ---- RedisClient ----

RedisClient::RedisClient(const std::string& socket_path, const std::string& password,
                         std::chrono::milliseconds timeout)
    : timeout_(timeout) {
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw io_error("socket");
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof address.sun_path)
    throw std::runtime_error("socket path too long: " + socket_path);
  std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    auto error = io_error("connect " + socket_path);
    ::close(fd_);
    fd_ = -1;
    throw error;
  }
  if (!password.empty()) {
    auto reply = command({"AUTH", password});
    if (reply.is_error()) throw std::runtime_error("AUTH: " + reply.text);
  }
}

RedisClient::~RedisClient() {
  if (fd_ >= 0) ::close(fd_);
}

void RedisClient::send(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& arg : args) out += "$" + std::to_string(arg.size()) + "\r\n" + arg + "\r\n";
  std::size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::send(fd_, out.data() + done, out.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw io_error("send to redis");
    done += static_cast<std::size_t>(n);
  }
}

char RedisClient::next_byte() {
  if (offset_ == buffer_.size()) {
    buffer_.clear();
    offset_ = 0;
    pollfd pfd{};
    pfd.fd = fd_;
    pfd.events = POLLIN;
    int ready = 0;
    do {
      ready = ::poll(&pfd, 1, static_cast<int>(timeout_.count()));
    } while (ready < 0 && errno == EINTR);
    if (ready == 0)
      throw std::runtime_error("redis did not answer within " + std::to_string(timeout_.count()) + " ms");
    if (ready < 0) throw io_error("poll");
    char chunk[16384];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n == 0) throw std::runtime_error("redis closed the connection");
    if (n < 0) throw io_error("recv from redis");
    buffer_.assign(chunk, static_cast<std::size_t>(n));
  }
  return buffer_[offset_++];
}

std::string RedisClient::read_line() {
  std::string line;
  for (;;) {
    char c = next_byte();
    if (c == '\r') {
      next_byte();  // '\n'
      return line;
    }
    line += c;
  }
}

RespValue RedisClient::read_reply() {
  RespValue value;
  char kind = next_byte();
  std::string line = read_line();
  switch (kind) {
    case '+':
      value.type = RespValue::Type::kStatus;
      value.text = line;
      break;
    case '-':
      value.type = RespValue::Type::kError;
      value.text = line;
      break;
    case ':':
      value.type = RespValue::Type::kInteger;
      value.integer = std::stoll(line);
      value.text = line;
      break;
    case '$': {
      long long length = std::stoll(line);
      if (length < 0) {
        value.type = RespValue::Type::kNil;
        break;
      }
      value.type = RespValue::Type::kString;
      for (long long i = 0; i < length; ++i) value.text += next_byte();
      next_byte();
      next_byte();
      break;
    }
    case '*': {
      long long count = std::stoll(line);
      if (count < 0) {
        value.type = RespValue::Type::kNil;
        break;
      }
      value.type = RespValue::Type::kArray;
      for (long long i = 0; i < count; ++i) value.elements.push_back(read_reply());
      break;
    }
    default:
      throw std::runtime_error(std::string("unexpected RESP type byte '") + kind + "'");
  }
  return value;
}

RespValue RedisClient::command(const std::vector<std::string>& args) {
  send(args);
  return read_reply();
}

// ---- RedisServer ----

RedisServer::RedisServer(RedisServerOptions options) : options_(std::move(options)) {
  if (!find_redis_server()) {
    throw std::runtime_error(
        "redis-server is not on PATH: the Redis store tests start their own server and cannot run without "
        "it. "
        "Install it (Debian: apt-get install redis-server) and run the tests again");
  }
  dir_ = std::make_unique<TempDir>("mt-redis");
  socket_path_ = dir_->file("redis.sock");
  if (socket_path_.size() >= sizeof(sockaddr_un::sun_path)) {
    throw std::runtime_error("the unix socket path " + socket_path_ +
                             " is too long; set TMPDIR to a shorter folder");
  }
  config_path_ = dir_->file("redis.conf");
  if (options_.tcp) port_ = options_.port != 0 ? options_.port : pick_free_tcp_port();
  write_config();
  start();
}

RedisServer::~RedisServer() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    if (!reap(pid_, std::chrono::seconds(10))) {
      ::kill(pid_, SIGKILL);
      reap(pid_, std::chrono::seconds(10));
    }
    pid_ = -1;
  }
}

void RedisServer::write_config() {
  std::ofstream config(config_path_);
  config << "port " << port_ << "\n";
  if (options_.tcp) config << "bind 127.0.0.1\n";
  config << "unixsocket " << socket_path_ << "\n"
         << "unixsocketperm 700\n"
         << "dir " << dir_->path().string() << "\n"
         << "daemonize no\n"
         << "logfile " << dir_->file("redis.log") << "\n"
         << "save \"\"\n"
         << "enable-debug-command local\n";
  if (options_.append_only) {
    config << "appendonly yes\nappendfsync always\n";
  } else {
    config << "appendonly no\n";
  }
  if (!options_.password.empty()) config << "requirepass " << options_.password << "\n";
  for (const auto& line : options_.extra_config) config << line << "\n";
  if (!config) throw std::runtime_error("cannot write " + config_path_);
}

void RedisServer::start() {
  if (pid_ > 0) throw std::runtime_error("redis-server is running already");
  const std::string output = dir_->file("redis.out");
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) throw io_error("fork");
  if (pid_ == 0) {
    // Dies with the thread that started it (a crashed test leaves no server behind).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);
    int null_fd = ::open("/dev/null", O_RDONLY);
    int out_fd = ::open(output.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (null_fd >= 0) ::dup2(null_fd, 0);
    if (out_fd >= 0) {
      ::dup2(out_fd, 1);
      ::dup2(out_fd, 2);
    }
    ::execlp("redis-server", "redis-server", config_path_.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  wait_until_ready();
}

void RedisServer::wait_until_ready() {
  const auto deadline = Clock::now() + options_.start_deadline;
  std::string last_problem = "no answer yet";
  for (;;) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("redis-server exited during startup (status " + std::to_string(status) +
                               "); its output:\n" + read_file(dir_->file("redis.out")) + "\nits log:\n" +
                               log_text());
    }
    try {
      RedisClient probe(socket_path_, "", std::chrono::milliseconds(500));
      RespValue pong = probe.command({"PING"});
      // NOAUTH still proves the server is up and serving.
      if (!pong.is_error() || pong.text.rfind("NOAUTH", 0) == 0) return;
      last_problem = pong.text;  // LOADING while it reads its AOF
    } catch (const std::exception& e) {
      last_problem = e.what();
    }
    if (Clock::now() >= deadline) {
      throw std::runtime_error("redis-server did not answer PING on " + socket_path_ + " within " +
                               std::to_string(options_.start_deadline.count()) + " ms (" + last_problem +
                               "); its log:\n" + log_text());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling interval, bounded by the deadline
  }
}

void RedisServer::kill(int signal) {
  if (pid_ <= 0) return;
  ::kill(pid_, signal);
  if (!reap(pid_, std::chrono::seconds(10))) {
    ::kill(pid_, SIGKILL);
    reap(pid_, std::chrono::seconds(10));
  }
  pid_ = -1;
  ::unlink(socket_path_.c_str());  // SIGKILL leaves the socket file behind
}

std::string RedisServer::url(int db) const {
  std::string auth = options_.password.empty() ? "" : ":" + options_.password + "@";
  return "redis+unix://" + auth + socket_path_ + "?db=" + std::to_string(db);
}

std::unique_ptr<RedisClient> RedisServer::client(std::chrono::milliseconds timeout) const {
  return std::make_unique<RedisClient>(socket_path_, options_.password, timeout);
}

RespValue RedisServer::command(const std::vector<std::string>& args) const {
  return client()->command(args);
}

std::string RedisServer::log_text() const {
  return read_file(dir_->file("redis.log"));
}

}  // namespace memtrace::testing
