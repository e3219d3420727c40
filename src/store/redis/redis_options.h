// Options of the Redis store, and the parser of the redis:// and redis+unix:// store specs.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"

namespace memtrace {

struct RedisOptions {
  // Where: a unix socket when unix_path is set, else TCP host:port.
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string unix_path;  // default: empty (TCP)
  std::string user;       // ACL user for AUTH; default empty: the default user
  std::string password;   // default empty: no AUTH
  int db = 0;             // SELECTed on every connection; default 0
  // Redis Cluster: the seed nodes (host, port) the slot map is first asked from. Empty (the default):
  // a single server at host:port or unix_path. With seeds, host and port name the node being connected.
  std::vector<std::pair<std::string, int>> cluster_seeds;
  // A write is acknowledged only once this many replicas have it (WAIT after the write, on the same
  // connection, within the command timeout). Default -1: 1 on a cluster, 0 on a single server.
  int min_replicas = -1;

  std::chrono::milliseconds connect_timeout{2000};  // per connection attempt; default 2 s
  std::chrono::milliseconds command_timeout{2000};  // per reply, and per query overall; default 2 s
  // Per node, connections of their own for writes that WAIT for replicas (other calls share one
  // pipelined connection); default 8.
  std::size_t pool_size = 8;
  // After a failed connect, calls fail at once for this long, doubling up to the maximum, so that a
  // dead Redis costs callers nothing while it is down. Defaults: 50 ms, doubling up to 1 s.
  std::chrono::milliseconds reconnect_backoff_min{50};
  std::chrono::milliseconds reconnect_backoff_max{1000};

  // A sliding window per session: past this many memories a remember evicts the least important
  // (ties: the oldest) other memory. Default 0: unlimited.
  std::size_t max_memories_per_session = 0;
  // The key layout a namespace gets with its first memory (redis_keys.h): 2 (the default) keeps each
  // memory's session, agent, type, tags and band of importance as 4-byte entries of postings, a third less
  // memory than 1, the layout of builds before 2, which keeps sorted sets of ids for them. A namespace keeps
  // its layout; one that has memories already is layout 1. Choose 1 while servers of a build before
  // layout 2 write into the same Redis: they know only the sorted sets.
  int new_namespace_layout = 2;
  // The change feed (Store::read_changes) keeps changes this long; purge_expired trims older ones, and
  // a cursor before them is refused. Default 7 days.
  std::chrono::milliseconds change_retention{std::chrono::hours(24 * 7)};
  // Candidates one query script examines before it hands back to the client (which then continues
  // from where it stopped), so that no single script blocks Redis for long. Default 500.
  std::size_t scan_batch = 500;
  // Substring needles shorter than 3 bytes have no trigram: the search then examines at most this
  // many candidates of the other indexes per page. Default 5000.
  std::size_t short_needle_scan_limit = 5000;
  // A candidate set of at most this many memories (the intersection of a needle's trigram sets, a
  // since/until or a min_importance window) may drive a query, listed whole and sorted, when that is
  // cheaper than walking an index in id order. Default 2000.
  std::size_t candidate_list_max = 2000;
  // A remember leaves its trigrams to a background indexer (DeferredIndexer), which starts this long
  // after the first write it has to index, to index what came meanwhile in one script. Searches read
  // the memories still pending as well. Default 20 ms.
  std::chrono::milliseconds content_index_delay{20};
  // The subscriber connection PINGs Redis after this long without traffic, to notice a dead peer.
  // Default 10 s.
  std::chrono::milliseconds subscriber_health_interval{10000};
};

// Parses
//   redis://[user:password@]host[:port][/db]        (host may be [IPv6]; port 6379, db 0 by default)
//   redis+unix://[user:password@]/path/redis.sock[?db=N]
//   redis+cluster://[user:password@]host:port[,host:port...]   (seed nodes of a Redis Cluster; db 0)
// User and password are percent-decoded; "redis://:secret@host" authenticates the default user.
// Timeouts and the other options keep their defaults. Errors are kInvalidArgument.
Result<RedisOptions> parse_redis_url(std::string_view url);

// "redis://alice@10.0.0.5:6379/2", "redis+unix:///run/redis.sock?db=1",
// "redis+cluster://alice@10.0.0.5:7000,10.0.0.6:7000": the address without the password.
std::string describe_redis(const RedisOptions& options);

}  // namespace memtrace
