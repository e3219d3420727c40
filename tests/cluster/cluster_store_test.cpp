// The store behaviour suite on a real Redis Cluster (3 masters, 3 replicas), and what only a cluster
// has: namespaces spread over masters, slot-routed API keys, WAIT for replicas.
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "store/redis/redis_keys.h"
#include "store/redis/redis_options.h"
#include "store/redis/redis_slots.h"
#include "store/redis/redis_store.h"
#include "store/store_behaviour.h"
#include "support/redis_cluster.h"

namespace memtrace::testing {
namespace {

using ::testing::HasSubstr;

constexpr UnixMillis kT0 = 1'700'000'000'000;

std::unique_ptr<Store> open_cluster_store(const std::function<void(RedisOptions&)>& tweak = {}) {
  RedisCluster& cluster = shared_redis_cluster();
  cluster.flush_all();
  auto options = parse_redis_url(cluster.url());
  if (!options) {
    ADD_FAILURE() << options.error().message;
    return nullptr;
  }
  if (tweak) tweak(*options);
  auto store = open_redis_store(*options);
  if (!store) {
    ADD_FAILURE() << store.error().message;
    return nullptr;
  }
  return std::move(*store);
}

StoreBackend cluster_backend(std::string name, const std::function<void(RedisOptions&)>& tweak) {
  return {std::move(name), [tweak](std::size_t max_memories_per_session) -> std::unique_ptr<Store> {
            try {
              return open_cluster_store([&](RedisOptions& options) {
                if (tweak) tweak(options);
                options.max_memories_per_session = max_memories_per_session;
              });
            } catch (const std::exception& e) {
              ADD_FAILURE() << "cannot start the Redis Cluster for the behaviour suite: " << e.what();
              return nullptr;
            }
          }};
}

INSTANTIATE_TEST_SUITE_P(RedisCluster, StoreBehaviour,
                         ::testing::Values(cluster_backend("RedisCluster", {}),
                                           cluster_backend("RedisClusterTinySlices",
                                                           [](RedisOptions& options) {
                                                             options.scan_batch = 2;
                                                             options.candidate_list_max = 0;
                                                             options.pool_size = 2;
                                                           })),
                         backend_name);

Session session_in(const std::string& ns, const std::string& id) {
  Session session;
  session.ns = ns;
  session.id = id;
  session.created_by = "agent";
  session.created_at = kT0;
  session.updated_at = kT0;
  return session;
}

Memory memory_in(const std::string& ns, const std::string& session, const std::string& id) {
  Memory memory;
  memory.ns = ns;
  memory.id = id;
  memory.session_id = session;
  memory.agent_id = "agent";
  memory.type = "observation";
  memory.content = "content of " + id;
  memory.created_at = kT0;
  memory.metadata_json = "{}";
  return memory;
}

TEST(ClusterStore, NamespacesSpreadOverTheMastersAndEachStaysInOneSlot) {
  auto store = open_cluster_store();
  ASSERT_TRUE(store);
  RedisCluster& cluster = shared_redis_cluster();
  std::set<std::size_t> masters;
  for (int n = 0; n < 12; ++n) {
    const std::string ns = "tenant-" + std::to_string(n);
    ok(store->create_session(session_in(ns, "s1")));
    ok(store->insert_memory(memory_in(ns, "s1", "m1")));
    const int slot = redis::hash_slot(redis::namespace_prefix(ns));
    const std::size_t master = cluster.master_of_slot(slot);
    masters.insert(master);
    // Every key of the namespace is in its one slot, on that master.
    RespValue count = cluster.node(master).command({"CLUSTER", "COUNTKEYSINSLOT", std::to_string(slot)});
    EXPECT_GE(count.integer, 5) << ns;
    MemoryQuery query;
    query.ns = ns;
    query.now = kT0;
    auto found = ok(store->query_memories(query));
    ASSERT_EQ(found.size(), 1u) << ns;
    EXPECT_EQ(found[0].content, "content of m1");
  }
  EXPECT_EQ(masters.size(), 3u) << "12 namespaces should land on all 3 masters";
}

// The shard-channel subscribers (ssub > 0) connected to `node`, as CLIENT LIST reports them.
std::vector<long> shard_subscribers(RedisServer& node) {
  std::vector<long> counts;
  RespValue list = node.command({"CLIENT", "LIST", "TYPE", "pubsub"});
  std::istringstream lines(list.text);
  for (std::string line; std::getline(lines, line);) {
    auto at = line.find(" ssub=");
    if (at == std::string::npos) continue;
    long ssub = std::stol(line.substr(at + 6));
    if (ssub > 0) counts.push_back(ssub);
  }
  return counts;
}

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling interval, bounded by the deadline
  }
  return true;
}

TEST(ClusterStore, OneSubscriberConnectionPerMasterCarriesEveryWatchedNamespace) {
  auto store = open_cluster_store();
  ASSERT_TRUE(store);
  RedisCluster& cluster = shared_redis_cluster();
  constexpr int kNamespaces = 12;
  std::vector<std::unique_ptr<EventRecorder>> recorders;
  std::vector<std::unique_ptr<ChangeSubscription>> subscriptions;
  std::map<std::size_t, long> per_master;
  for (int n = 0; n < kNamespaces; ++n) {
    const std::string ns = "watched-" + std::to_string(n);
    recorders.push_back(std::make_unique<EventRecorder>());
    subscriptions.push_back(store->watch(ns, recorders.back()->callback()));
    ++per_master[cluster.master_of_slot(redis::hash_slot(redis::events_channel(ns)))];
  }
  ASSERT_EQ(per_master.size(), 3u) << "12 namespaces should land on all 3 masters";
  // Each master has one subscriber connection (stores of earlier tests may still be closing theirs)
  // carrying the channels of the namespaces it serves.
  for (const auto& [master, channels] : per_master) {
    EXPECT_TRUE(eventually([&, master = master, channels = channels] {
      return shard_subscribers(cluster.node(master)) == std::vector<long>{channels};
    }, std::chrono::seconds(5))) << "master " << master << " should have one connection with " << channels
                                 << " shard channels";
  }
  for (int n = 0; n < kNamespaces; ++n) {
    const std::string ns = "watched-" + std::to_string(n);
    ok(store->create_session(session_in(ns, "s1")));
  }
  for (int n = 0; n < kNamespaces; ++n) {
    const std::string ns = "watched-" + std::to_string(n);
    EXPECT_TRUE(recorders[n]->wait_for_event(ChangeEvent::Kind::kSessionChanged, ns, "s1")) << ns;
  }
  // When the last watch goes, so do the subscriber connections.
  subscriptions.clear();
  for (const auto& [master, channels] : per_master) {
    EXPECT_TRUE(eventually([&, master = master] { return shard_subscribers(cluster.node(master)).empty(); },
                           std::chrono::seconds(5)))
        << "master " << master << " still has a subscriber";
  }
}

TEST(ClusterStore, ApiKeysAreFoundByHashFromAnyNamespace) {
  auto store = open_cluster_store();
  ASSERT_TRUE(store);
  for (int n = 0; n < 6; ++n) {
    ApiKey key;
    key.id = "key-" + std::to_string(n);
    key.ns = "tenant-" + std::to_string(n);
    key.hash = std::string(64, static_cast<char>('a' + n));
    key.label = "label";
    key.created_at = kT0 + n;
    ok(store->put_api_key(key));
  }
  for (int n = 0; n < 6; ++n) {
    auto found = ok(store->find_api_key_by_hash(std::string(64, static_cast<char>('a' + n))));
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->ns, "tenant-" + std::to_string(n));
  }
  EXPECT_EQ(ok(store->list_api_keys(std::nullopt)).size(), 6u);
  EXPECT_EQ(ok(store->list_api_keys(std::string("tenant-3"))).size(), 1u);
}

TEST(ClusterStore, AWriteNotConfirmedByEnoughReplicasFailsSayingItMayBeStored) {
  // Each master has one replica: asking for two can never be met.
  auto store = open_cluster_store([](RedisOptions& options) {
    options.min_replicas = 2;
    options.command_timeout = std::chrono::milliseconds(400);
  });
  ASSERT_TRUE(store);
  auto created = store->create_session(session_in("ns", "s1"));
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(created.error().message, HasSubstr("1 of 2 replicas confirmed it"));
  EXPECT_THAT(created.error().message, HasSubstr("it may or may not have been stored"));
  EXPECT_THAT(created.error().message, HasSubstr("Before retrying, look it up"));
  // It was in fact written on the master: looking it up first is what makes a retry safe.
  EXPECT_TRUE(ok(store->get_session("ns", "s1")).has_value());
}

TEST(ClusterStore, WritesAreAcknowledgedByOneReplicaByDefault) {
  auto store = open_cluster_store();
  ASSERT_TRUE(store);
  ok(store->create_session(session_in("ns", "s1")));
  ok(store->insert_memory(memory_in("ns", "s1", "m1")));
  // The replica of the namespace's master has it already: WAIT returned only once it did.
  RedisCluster& cluster = shared_redis_cluster();
  const std::size_t master = cluster.master_of_slot(redis::hash_slot(redis::namespace_prefix("ns")));
  const std::size_t replica = cluster.replica_of(master);
  auto client = cluster.node(replica).client();
  client->command({"READONLY"});
  RespValue exists = client->command({"EXISTS", redis::namespace_prefix("ns") + redis::memory_key("m1")});
  EXPECT_EQ(exists.integer, 1);
}

// A namespace whose (empty) slot is served by master `from`, and another master `to`.
struct SlotMove {
  std::string ns;
  int slot = 0;
  std::size_t from = 0;
  std::size_t to = 0;
};

SlotMove pick_slot_move(const std::string& base) {
  RedisCluster& cluster = shared_redis_cluster();
  SlotMove move;
  move.ns = base;
  move.slot = redis::hash_slot(redis::namespace_prefix(move.ns));
  move.from = cluster.master_of_slot(move.slot);
  for (int other = 0;; ++other) {
    move.to = cluster.master_of_slot(redis::hash_slot(redis::namespace_prefix(base + std::to_string(other))));
    if (move.to != move.from) break;
  }
  return move;
}

std::string node_id(std::size_t index) {
  return shared_redis_cluster().node(index).command({"CLUSTER", "MYID"}).text;
}

TEST(ClusterStore, AMovedSlotIsFollowedAndTheMapRefreshed) {
  auto store = open_cluster_store();  // reads the slot map now
  ASSERT_TRUE(store);
  RedisCluster& cluster = shared_redis_cluster();
  SlotMove move = pick_slot_move("moving");
  const std::string slot = std::to_string(move.slot);
  const std::string owner = node_id(move.to);
  // Reassign the empty slot: the new owner first, then the old one, then everyone else.
  ASSERT_FALSE(cluster.node(move.to).command({"CLUSTER", "SETSLOT", slot, "NODE", owner}).is_error());
  ASSERT_FALSE(cluster.node(move.from).command({"CLUSTER", "SETSLOT", slot, "NODE", owner}).is_error());
  for (std::size_t i = 0; i < cluster.size(); ++i) {
    if (i != move.to && i != move.from && cluster.is_master(i))
      cluster.node(i).command({"CLUSTER", "SETSLOT", slot, "NODE", owner});
  }
  // The store still thinks the old master serves it: MOVED, then the write lands on the new one.
  ok(store->create_session(session_in(move.ns, "s1")));
  EXPECT_GT(cluster.node(move.to).command({"CLUSTER", "COUNTKEYSINSLOT", slot}).integer, 0);
  EXPECT_TRUE(ok(store->get_session(move.ns, "s1")).has_value());
  cluster.wait_until_healthy(std::chrono::seconds(30));
}

TEST(ClusterStore, AnAskRedirectionIsFollowedOnceWithAsking) {
  auto store = open_cluster_store();
  ASSERT_TRUE(store);
  RedisCluster& cluster = shared_redis_cluster();
  SlotMove move = pick_slot_move("asking");
  const std::string slot = std::to_string(move.slot);
  // A migration in progress: keys the old master does not have are asked of the new one.
  ASSERT_FALSE(cluster.node(move.to)
                   .command({"CLUSTER", "SETSLOT", slot, "IMPORTING", node_id(move.from)})
                   .is_error());
  ASSERT_FALSE(cluster.node(move.from)
                   .command({"CLUSTER", "SETSLOT", slot, "MIGRATING", node_id(move.to)})
                   .is_error());
  auto created = store->create_session(session_in(move.ns, "s1"));
  EXPECT_TRUE(created) << created.error().message;
  EXPECT_GT(cluster.node(move.to).command({"CLUSTER", "COUNTKEYSINSLOT", slot}).integer, 0)
      << "the script ran on the importing node";
  // A read goes through the node's shared pipeline (the write above had a connection of its own, for
  // WAIT): ASKING is written right before the script there too, so the importing node serves it.
  auto read = store->get_session(move.ns, "s1");
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_TRUE(read->has_value());
  // End the migration where it started (the keys written there are dropped by the next FLUSHALL).
  cluster.node(move.to).command({"CLUSTER", "SETSLOT", slot, "STABLE"});
  cluster.node(move.from).command({"CLUSTER", "SETSLOT", slot, "STABLE"});
  cluster.node(move.to).command({"FLUSHALL"});
  cluster.wait_until_healthy(std::chrono::seconds(30));
}

TEST(ClusterStore, UnreachableSeedsFailWithUnavailable) {
  auto options = parse_redis_url("redis+cluster://127.0.0.1:1,127.0.0.1:2");
  ASSERT_TRUE(options);
  options->connect_timeout = std::chrono::milliseconds(200);
  auto store = open_redis_store(*options);
  ASSERT_TRUE(store);
  auto created = (*store)->create_session(session_in("ns", "s1"));
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(created.error().message, HasSubstr("no node answered CLUSTER SLOTS"));
}

}  // namespace
}  // namespace memtrace::testing
