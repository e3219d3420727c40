#include "support/e2e_store.h"

#include <cstdlib>
#include <stdexcept>

#include "support/redis_cluster.h"

namespace memtrace::testing {

E2eStore::E2eStore() {
  const char* chosen = std::getenv("MEMTRACE_E2E_STORE");
  const std::string store = chosen ? chosen : "sqlite";
  if (store == "redis") {
    RedisServerOptions options;
    options.tcp = true;  // the stdio suite on redis://host:port, as users write it
    redis_ = std::make_unique<RedisServer>(options);
  } else if (store == "cluster") {
    // One cluster for the whole test binary (started by the first test), flushed for each test.
    cluster_ = &shared_redis_cluster();
    cluster_->flush_all();
  } else if (store == "sqlite") {
    dir_ = std::make_unique<TempDir>("memtrace-e2e");
  } else {
    throw std::runtime_error("MEMTRACE_E2E_STORE must be sqlite, redis or cluster, not '" + store + "'");
  }
}

E2eStore::~E2eStore() = default;

std::string E2eStore::shared() const {
  if (redis_) return "redis://127.0.0.1:" + std::to_string(redis_->port());
  if (cluster_) return cluster_->url();
  return "sqlite:" + dir_->file("memory.db");
}

std::string E2eStore::single() const {
  return redis_ || cluster_ ? shared() : "memory";
}

namespace {
std::vector<std::string> with_store(const std::string& store, std::vector<std::string> extra) {
  std::vector<std::string> args = {"--store", store};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}
}  // namespace

std::vector<std::string> E2eStore::single_args(std::vector<std::string> extra) const {
  return with_store(single(), std::move(extra));
}

std::vector<std::string> E2eStore::shared_args(std::vector<std::string> extra) const {
  return with_store(shared(), std::move(extra));
}

}  // namespace memtrace::testing
