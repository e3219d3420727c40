// A private redis-server for a test (unix socket in a temp dir, its own config), and a minimal RESP
// client for looking under a store's hood and provoking faults.
#pragma once

#include <chrono>
#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include <sys/types.h>

#include "support/temp_dir.h"

namespace memtrace::testing {

struct RedisServerOptions {
  // AOF persistence with appendfsync always, for durability tests. Default off: no persistence at all.
  bool append_only = false;
  std::string password;  // requirepass for the default user; default empty: none
  // Also listen on TCP 127.0.0.1 at a port the kernel picked as free; default off (unix socket only,
  // "port 0").
  bool tcp = false;
  int port = 0;                           // the TCP port when tcp; default 0: one the kernel picked as free
  std::vector<std::string> extra_config;  // more redis.conf lines, e.g. "user alice on >pw ~* &* +@all"
  std::chrono::milliseconds start_deadline{10000};  // until it answers PING
};

// A RESP reply, as far as tests care.
struct RespValue {
  enum class Type { kString, kStatus, kError, kInteger, kNil, kArray };
  Type type = Type::kNil;
  std::string text;  // string, status, error; the integer as text
  long long integer = 0;
  std::vector<RespValue> elements;

  bool is_error() const { return type == Type::kError; }
};

// A blocking RESP client on a unix socket with a deadline on every read. Throws std::runtime_error on
// I/O errors and timeouts (tests may throw; the code under test may not). Thread-safety: none.
class RedisClient {
 public:
  explicit RedisClient(const std::string& socket_path, const std::string& password = "",
                       std::chrono::milliseconds timeout = std::chrono::seconds(5));
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  RespValue command(const std::vector<std::string>& args);
  void send(const std::vector<std::string>& args);  // without waiting for the reply
  RespValue read_reply();

 private:
  char next_byte();
  std::string read_line();

  int fd_ = -1;
  std::chrono::milliseconds timeout_;
  std::string buffer_;
  std::size_t offset_ = 0;
};

// Starts `redis-server` with a config of its own in a fresh temp dir: unix socket <dir>/redis.sock,
// TCP off unless asked, no persistence unless asked, DEBUG allowed (for fault tests). The constructor
// returns once the server answers PING (bounded by start_deadline, polling the socket); it throws
// with a clear message if redis-server is missing or does not come up (the test then fails; it is
// never skipped). The destructor always stops the server (SIGTERM, then SIGKILL) and removes the dir;
// the child also dies with the test process (PR_SET_PDEATHSIG).
//
// Thread-safety: kill()/start() from one thread at a time; the accessors from any thread. Construct
// and start() it on a thread that outlives the server (the test's own): PR_SET_PDEATHSIG fires when
// the thread that forked it exits.
class RedisServer {
 public:
  explicit RedisServer(RedisServerOptions options = {});
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  const std::string& socket_path() const { return socket_path_; }
  int port() const { return port_; }  // 0 unless options.tcp
  std::string url(int db = 0) const;  // redis+unix:///...?db=N (with the password if one is set)
  std::string dir() const { return dir_->path().string(); }
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }

  // Sends `signal` and reaps the process (SIGKILL: no chance to write anything more).
  void kill(int signal = SIGKILL);
  // Starts it again in the same dir: same socket, same port, same data files.
  void start();
  void stop() { kill(SIGTERM); }

  // A fresh client (authenticated if a password is set).
  std::unique_ptr<RedisClient> client(std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;
  // One command on a fresh client.
  RespValue command(const std::vector<std::string>& args) const;
  std::string log_text() const;

 private:
  void write_config();
  void wait_until_ready();

  RedisServerOptions options_;
  std::unique_ptr<TempDir> dir_;
  std::string socket_path_;
  std::string config_path_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// True if `redis-server` is on PATH; `where` receives its path.
bool find_redis_server(std::string* where = nullptr);

}  // namespace memtrace::testing
