// Memtrace's REST API (/api/v1/..., /health, /ready) on the memory engine, so that programs written
// for Memtrace's SDKs run against memtrace-mcp. Knows no socket: a request comes in as method, path,
// query and body; the answer is a status and a JSON body. Authentication happens before, in the
// transport, exactly as for /mcp; the caller's namespace is passed in.
#pragma once

#include <chrono>
#include <map>
#include <string>

#include "memory/engine.h"

namespace memtrace::rest {

struct Request {
  std::string method;                        // "GET", "POST", ...
  std::string path;                          // percent-decoded, without the query
  std::map<std::string, std::string> query;  // decoded query parameters
  std::string body;
};

struct Response {
  int status = 200;
  std::string body;  // JSON; empty for 204
};

// Thread-safety: handle() may be called concurrently (the engine is thread-safe; Api keeps no state
// besides its start time).
class Api {
 public:
  explicit Api(Engine& engine);

  // True for the paths this API answers.
  static bool serves(const std::string& path);
  // True for the paths that need no API key (/health, /ready).
  static bool is_public(const std::string& path);
  // True for the calls that change nothing (GET, search, a session's context): all a read-only key may do.
  static bool reads_only(const std::string& method, const std::string& path);

  Response handle(const Request& request, const std::string& ns);

 private:
  Engine& engine_;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace memtrace::rest
