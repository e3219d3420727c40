// Helpers shared by the Redis store tests: open a store on a test server, look at its keys, wait with
// deadlines.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "store/redis/redis_keys.h"
#include "store/redis/redis_options.h"
#include "store/redis/redis_store.h"
#include "support/eventually.h"
#include "support/redis_server.h"

namespace memtrace::testing {

// Opens a Redis store on `url`, letting `tweak` adjust the options; records a failure and returns
// nullptr if it cannot.
inline std::unique_ptr<Store> open_redis_for_test(const std::string& url,
                                                  const std::function<void(RedisOptions&)>& tweak = {}) {
  auto options = parse_redis_url(url);
  if (!options) {
    ADD_FAILURE() << "parse_redis_url(" << url << "): " << options.error().message;
    return nullptr;
  }
  if (tweak) tweak(*options);
  auto store = open_redis_store(*options);
  if (!store) {
    ADD_FAILURE() << "open_redis_store(" << url << "): " << store.error().message;
    return nullptr;
  }
  return std::move(*store);
}

// How long since `start`, in whole milliseconds.
inline std::chrono::milliseconds elapsed_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
}

// The texts of an array reply's elements, in order.
inline std::vector<std::string> texts(const RespValue& reply) {
  std::vector<std::string> out;
  for (const auto& element : reply.elements) out.push_back(element.text);
  return out;
}

// Every key of the server matching `pattern` (tests only: KEYS is fine on a private test server).
inline std::vector<std::string> server_keys(const RedisServer& server, const std::string& pattern) {
  std::vector<std::string> keys = texts(server.command({"KEYS", pattern}));
  std::sort(keys.begin(), keys.end());
  return keys;
}

// The full key of `suffix` in namespace `ns`.
inline std::string full_key(const std::string& ns, const std::string& suffix) {
  return redis::namespace_prefix(ns) + suffix;
}

}  // namespace memtrace::testing
