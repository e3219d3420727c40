// Starts a private Redis Cluster (masters + replicas on loopback ports picked at run time) for tests.
#include "support/redis_cluster.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "support/child_process.h"

namespace memtrace::testing {
namespace {

using Clock = std::chrono::steady_clock;

// Binds 127.0.0.1:`port` (0: any) and releases it; the port bound, or 0 if it was taken.
int try_bind(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  socklen_t length = sizeof address;
  int bound = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    bound = ntohs(address.sin_port);
  }
  ::close(fd);
  return bound;
}

// A free port P whose cluster bus port P + 10000 is free too, not in `taken`.
int pick_cluster_port(const std::set<int>& taken) {
  for (int attempt = 0; attempt < 200; ++attempt) {
    int port = try_bind(0);
    if (port == 0 || port + 10000 > 65535 || taken.count(port) || taken.count(port + 10000) ||
        taken.count(port - 10000))
      continue;
    if (try_bind(port + 10000) != 0) return port;
  }
  throw std::runtime_error("found no free loopback port P with P + 10000 free for a cluster node");
}

std::string which(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  throw std::runtime_error(program +
                           " is not on PATH: the cluster tests start their own Redis Cluster and "
                           "cannot run without it. Install it (Debian: apt-get install redis-server "
                           "redis-tools) and run the tests again");
}

std::string field(const std::string& text, const std::string& name) {
  auto at = text.find(name + ":");
  if (at == std::string::npos) return {};
  auto end = text.find_first_of("\r\n", at);
  return text.substr(at + name.size() + 1,
                     end == std::string::npos ? std::string::npos : end - at - name.size() - 1);
}

}  // namespace

RedisCluster::RedisCluster(RedisClusterOptions options) : options_(options) {
  which("redis-server");
  const std::string redis_cli = which("redis-cli");
  const std::size_t count = options_.masters * (1 + options_.replicas_per_master);
  // Ports are free when picked but may be taken before redis-server binds them: start again on new ones.
  for (int attempt = 1;; ++attempt) {
    nodes_.clear();
    std::set<int> taken;
    try {
      for (std::size_t i = 0; i < count; ++i) {
        RedisServerOptions node;
        node.tcp = true;
        node.port = pick_cluster_port(taken);
        taken.insert(node.port);
        node.extra_config = {"cluster-enabled yes", "cluster-config-file nodes.conf",
                             "cluster-node-timeout " + std::to_string(options_.node_timeout.count()),
                             // Other shards keep serving while one fails over.
                             "cluster-require-full-coverage no",
                             // A replica may always take over, however long its link was down.
                             "cluster-replica-validity-factor 0", "repl-diskless-sync yes",
                             "repl-diskless-sync-delay 0", "repl-ping-replica-period 1"};
        nodes_.push_back(std::make_unique<RedisServer>(node));
      }
      break;
    } catch (const std::exception& e) {
      if (attempt >= 3) throw;
    }
  }

  std::vector<std::string> argv = {redis_cli, "--cluster", "create"};
  for (const auto& node : nodes_) argv.push_back("127.0.0.1:" + std::to_string(node->port()));
  argv.insert(argv.end(),
              {"--cluster-replicas", std::to_string(options_.replicas_per_master), "--cluster-yes"});
  ChildProcess create(argv);
  std::string output;
  const auto deadline = Clock::now() + options_.start_deadline;
  while (auto line = create.read_line(std::chrono::duration_cast<std::chrono::milliseconds>(
             std::max(deadline - Clock::now(), Clock::duration(std::chrono::milliseconds(1)))))) {
    output += *line + "\n";
  }
  auto status = create.wait(std::chrono::seconds(10));
  if (!status || *status != 0) {
    throw std::runtime_error("redis-cli --cluster create failed (status " +
                             (status ? std::to_string(*status) : std::string("timeout")) + "):\n" + output +
                             create.stderr_text());
  }
  wait_until_healthy(options_.start_deadline);
}

RedisCluster::~RedisCluster() = default;

std::string RedisCluster::url() const {
  std::string url = "redis+cluster://";
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (i) url += ",";
    url += "127.0.0.1:" + std::to_string(nodes_[i]->port());
  }
  return url;
}

std::size_t RedisCluster::index_of_port(int port) const {
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i]->port() == port) return i;
  }
  throw std::runtime_error("no cluster node on port " + std::to_string(port));
}

RespValue RedisCluster::command_on_any(const std::vector<std::string>& args) const {
  std::string problems;
  for (const auto& node : nodes_) {
    if (!node->running()) continue;
    try {
      RespValue reply = node->client(std::chrono::seconds(2))->command(args);
      if (!reply.is_error()) return reply;
      problems += reply.text + "; ";
    } catch (const std::exception& e) {
      problems += std::string(e.what()) + "; ";
    }
  }
  throw std::runtime_error("no cluster node answered " + args.front() + ": " + problems);
}

std::size_t RedisCluster::master_of_slot(int slot) const {
  RespValue slots = command_on_any({"CLUSTER", "SLOTS"});
  for (const auto& range : slots.elements) {
    if (range.elements.size() >= 3 && range.elements[0].integer <= slot &&
        slot <= range.elements[1].integer) {
      return index_of_port(static_cast<int>(range.elements[2].elements.at(1).integer));
    }
  }
  throw std::runtime_error("no cluster node serves slot " + std::to_string(slot));
}

bool RedisCluster::is_master(std::size_t index) const {
  if (!nodes_[index]->running()) return false;
  try {
    RespValue role = nodes_[index]->client(std::chrono::seconds(2))->command({"ROLE"});
    return !role.elements.empty() && role.elements[0].text == "master";
  } catch (const std::exception&) {
    return false;
  }
}

std::size_t RedisCluster::replica_of(std::size_t master_index) const {
  // CLUSTER NODES: "<id> <ip:port@bus> <flags> <master id|-> ..." one node per line.
  std::stringstream lines(command_on_any({"CLUSTER", "NODES"}).text);
  std::string line;
  std::map<std::string, int> port_of;
  std::map<std::string, std::string> master_of;
  while (std::getline(lines, line)) {
    std::stringstream words(line);
    std::string id, address, flags, master;
    words >> id >> address >> flags >> master;
    auto colon = address.find(':');
    auto at = address.find('@');
    if (colon == std::string::npos || at == std::string::npos) continue;
    port_of[id] = std::stoi(address.substr(colon + 1, at - colon - 1));
    if (flags.find("slave") != std::string::npos) master_of[id] = master;
  }
  const int master_port = nodes_[master_index]->port();
  for (const auto& [id, master] : master_of) {
    if (port_of.count(master) && port_of[master] == master_port) return index_of_port(port_of[id]);
  }
  throw std::runtime_error("node " + std::to_string(master_index) + " has no replica");
}

void RedisCluster::flush_all() {
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (!is_master(i)) continue;
    RespValue done = nodes_[i]->command({"FLUSHALL"});
    if (done.is_error()) throw std::runtime_error("FLUSHALL on a cluster master: " + done.text);
  }
}

void RedisCluster::wait_until_healthy(std::chrono::milliseconds deadline) {
  const auto until = Clock::now() + deadline;
  std::string problem;
  for (;;) {
    problem.clear();
    try {
      std::set<std::vector<long long>> maps;
      for (std::size_t i = 0; i < nodes_.size() && problem.empty(); ++i) {
        if (!nodes_[i]->running()) continue;
        auto client = nodes_[i]->client(std::chrono::seconds(2));
        RespValue info = client->command({"CLUSTER", "INFO"});
        if (field(info.text, "cluster_state") != "ok")
          problem = "node " + std::to_string(i) + " is not ok yet";
        std::vector<long long> map;
        for (const auto& range : client->command({"CLUSTER", "SLOTS"}).elements) {
          map.push_back(range.elements.at(0).integer);
          map.push_back(range.elements.at(2).elements.at(1).integer);
          if (range.elements.size() < 2 + 1 + options_.replicas_per_master) problem = "a replica is missing";
        }
        std::sort(map.begin(), map.end());
        maps.insert(map);
        if (is_master(i)) {
          RespValue replication = client->command({"INFO", "replication"});
          std::size_t online = 0;
          for (auto at = replication.text.find("state=online"); at != std::string::npos;
               at = replication.text.find("state=online", at + 1))
            ++online;
          if (online < options_.replicas_per_master)
            problem = "a replica of node " + std::to_string(i) + " is syncing";
        }
      }
      if (problem.empty() && maps.size() != 1) problem = "the nodes disagree on the slot map";
      if (problem.empty()) return;
    } catch (const std::exception& e) {
      problem = e.what();
    }
    if (Clock::now() >= until) {
      std::string logs;
      for (std::size_t i = 0; i < nodes_.size(); ++i) {
        std::string log = nodes_[i]->log_text();
        if (log.size() > 2000) log = log.substr(log.size() - 2000);
        logs +=
            "\n--- node " + std::to_string(i) + " (port " + std::to_string(nodes_[i]->port()) + ")\n" + log;
      }
      throw std::runtime_error("the Redis Cluster did not become healthy within " +
                               std::to_string(deadline.count()) + " ms: " + problem + logs);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling interval, bounded by the deadline
  }
}

RedisCluster& shared_redis_cluster() {
  static RedisCluster cluster;
  return cluster;
}

}  // namespace memtrace::testing
