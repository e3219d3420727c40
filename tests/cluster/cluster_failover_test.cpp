// Failover without loss: a client writes continuously, the master of its namespace is SIGKILLed, the
// cluster promotes its replica, writes resume, and every acknowledged memory is there afterwards.
#include <atomic>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "store/redis/redis_keys.h"
#include "store/redis/redis_options.h"
#include "store/redis/redis_slots.h"
#include "store/redis/redis_store.h"
#include "store/store_behaviour.h"
#include "support/redis_cluster.h"

namespace memtrace::testing {
namespace {

using Clock = std::chrono::steady_clock;
constexpr UnixMillis kT0 = 1'700'000'000'000;

// Polls `done` until it holds or `timeout` passes.
bool poll_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling interval, bounded by the deadline
  }
  return true;
}

TEST(ClusterFailover, EveryAcknowledgedMemorySurvivesTheLossOfItsMaster) {
  RedisCluster& cluster = shared_redis_cluster();
  cluster.flush_all();
  auto options = parse_redis_url(cluster.url());
  ASSERT_TRUE(options);
  options->command_timeout = std::chrono::milliseconds(1000);
  options->connect_timeout = std::chrono::milliseconds(500);
  ASSERT_EQ(options->min_replicas, -1);  // the cluster default: one replica confirms every write
  auto opened = open_redis_store(*options);
  ASSERT_TRUE(opened);
  Store& store = **opened;

  const std::string ns = "failover";
  Session session;
  session.ns = ns;
  session.id = "s1";
  session.created_by = "writer";
  session.created_at = kT0;
  session.updated_at = kT0;
  ok(store.create_session(session));

  std::mutex mutex;
  std::set<std::string> acknowledged;
  std::atomic<bool> stop{false};
  std::atomic<long> failures{0};
  std::atomic<Clock::rep> last_ack{0};
  std::thread writer([&] {
    for (long n = 0; !stop; ++n) {
      Memory memory;
      memory.ns = ns;
      memory.id = "m" + std::to_string(1'000'000 + n);
      memory.session_id = "s1";
      memory.agent_id = "writer";
      memory.type = "observation";
      memory.content = "write " + std::to_string(n);
      memory.created_at = kT0 + n;
      memory.metadata_json = "{}";
      if (store.insert_memory(memory)) {
        std::lock_guard lock(mutex);
        acknowledged.insert(memory.id);
        last_ack = Clock::now().time_since_epoch().count();
      } else {
        ++failures;
      }
    }
  });
  auto acked = [&] {
    std::lock_guard lock(mutex);
    return acknowledged.size();
  };
  ASSERT_TRUE(poll_until([&] { return acked() >= 50; }, std::chrono::seconds(20)));

  const std::size_t master = cluster.master_of_slot(redis::hash_slot(redis::namespace_prefix(ns)));
  const std::size_t replica = cluster.replica_of(master);
  cluster.node(master).kill(SIGKILL);  // returns once the process is reaped: nothing more is served
  const auto killed_at = Clock::now();
  const bool promoted = poll_until([&] { return cluster.is_master(replica); }, std::chrono::seconds(30));
  EXPECT_TRUE(promoted) << "the replica was not promoted";
  // The old master comes back as the new master's replica, so that writes can be confirmed again.
  cluster.node(master).start();
  const bool resumed = poll_until([&] { return last_ack.load() > killed_at.time_since_epoch().count(); },
                                  std::chrono::seconds(30));
  const auto resumed_after = std::chrono::duration_cast<std::chrono::milliseconds>(
      Clock::duration(last_ack.load()) - killed_at.time_since_epoch());
  const std::size_t before_stop = acked();
  poll_until([&] { return acked() >= before_stop + 50; }, std::chrono::seconds(10));
  stop = true;
  writer.join();
  ASSERT_TRUE(resumed) << "no write succeeded within 30 s of the kill";
  std::cout << "failover: writes resumed " << resumed_after.count() << " ms after the kill; " << acked()
            << " acknowledged, " << failures << " failed\n";
  EXPECT_LT(resumed_after, std::chrono::seconds(15));

  // Every acknowledged memory is there (page through the whole session).
  std::set<std::string> present;
  MemoryQuery query;
  query.ns = ns;
  query.session_id = "s1";
  query.now = kT0;
  query.limit = 500;
  for (;;) {
    auto page = store.query_memories(query);
    ASSERT_TRUE(page) << page.error().message;
    for (const auto& memory : *page) present.insert(memory.id);
    if (page->size() < query.limit) break;
    query.before_id = page->back().id;
  }
  std::size_t missing = 0;
  for (const auto& id : acknowledged) {
    if (!present.count(id)) ++missing;
  }
  EXPECT_EQ(missing, 0u) << "of " << acknowledged.size() << " acknowledged memories";
  EXPECT_GE(present.size(), acknowledged.size());
  cluster.wait_until_healthy(std::chrono::seconds(30));
}

// How many connections subscribe to `channel` on `node` (0 if the node does not answer).
long shard_subscribers_of(RedisCluster& cluster, std::size_t node, const std::string& channel) {
  try {
    RespValue reply = cluster.node(node).command({"PUBSUB", "SHARDNUMSUB", channel});
    return reply.elements.size() == 2 ? reply.elements[1].integer : 0;
  } catch (const std::exception&) {
    return 0;
  }
}

// Live updates of a namespace come from its master (sharded pub/sub). The master is SIGKILLed, its
// replica promoted: the subscriber follows to the new master and a write there is heard.
TEST(ClusterFailover, LiveUpdatesFollowTheLossOfTheSubscribedNode) {
  RedisCluster& cluster = shared_redis_cluster();
  cluster.wait_until_healthy(std::chrono::seconds(30));
  cluster.flush_all();
  auto options = parse_redis_url(cluster.url());
  ASSERT_TRUE(options);
  options->command_timeout = std::chrono::milliseconds(1000);
  options->connect_timeout = std::chrono::milliseconds(500);
  // Until the old master is back as a replica, the shard has none to confirm writes (WAIT): this test
  // is about live updates, so writes do not wait for replicas.
  options->min_replicas = 0;
  auto opened = open_redis_store(*options);
  ASSERT_TRUE(opened);
  Store& store = **opened;

  const std::string ns = "live";
  const std::string channel = redis::events_channel(ns);
  const std::size_t master = cluster.master_of_slot(redis::hash_slot(channel));
  const std::size_t replica = cluster.replica_of(master);
  EventRecorder events;
  auto subscription = store.watch(ns, events.callback());

  Session session;
  session.ns = ns;
  session.id = "before";
  session.created_by = "agent";
  session.created_at = kT0;
  session.updated_at = kT0;
  ok(store.create_session(session));
  ASSERT_TRUE(events.wait_for_event(ChangeEvent::Kind::kSessionChanged, ns, "before"));

  cluster.node(master).kill(SIGKILL);  // returns once the process is reaped
  ASSERT_TRUE(poll_until([&] { return cluster.is_master(replica); }, std::chrono::seconds(30)))
      << "the replica was not promoted";
  // Pub/sub is at-most-once: a write the new master takes before the subscriber has moved there is
  // not heard. Each attempt is a new session; one of them must be heard, and soon.
  int attempt = 0;
  const auto promoted_at = Clock::now();
  const bool delivered = poll_until(
      [&] {
        session.id = "after-" + std::to_string(attempt++);
        if (!store.create_session(session)) return false;
        return events.wait_for_event(ChangeEvent::Kind::kSessionChanged, ns, session.id,
                                     std::chrono::milliseconds(200));
      },
      std::chrono::seconds(30));
  EXPECT_TRUE(delivered) << "no change event arrived after the namespace's master was killed";
  std::cout << "live updates: heard again " << std::chrono::duration_cast<std::chrono::milliseconds>(
                                                  Clock::now() - promoted_at).count()
            << " ms after the promotion (" << attempt << " writes)\n";
  // The old master is gone, so what was heard came through a subscription on the new one.
  EXPECT_GE(shard_subscribers_of(cluster, replica, channel), 1) << "subscribed on the new master";
  // From now on every write is heard.
  session.id = "later";
  ok(store.create_session(session));
  EXPECT_TRUE(events.wait_for_event(ChangeEvent::Kind::kSessionChanged, ns, "later"));
  for (const auto& event : events.events()) EXPECT_EQ(event.ns, ns);

  cluster.node(master).start();  // back as the new master's replica
  cluster.wait_until_healthy(std::chrono::seconds(60));
}

// A manual failover moves the slot without breaking any connection. Redis 7.0 keeps the old master's
// shard subscribers when it becomes a replica (shard messages reach every node of the shard), later
// versions unsubscribe them (an unasked sunsubscribe, and the subscriber moves to the new master):
// either way writes after the failover are heard.
TEST(ClusterFailover, LiveUpdatesFollowAManualFailover) {
  RedisCluster& cluster = shared_redis_cluster();
  cluster.wait_until_healthy(std::chrono::seconds(30));
  cluster.flush_all();
  auto options = parse_redis_url(cluster.url());
  ASSERT_TRUE(options);
  auto opened = open_redis_store(*options);
  ASSERT_TRUE(opened);
  Store& store = **opened;

  const std::string ns = "handover";
  const std::string channel = redis::events_channel(ns);
  const std::size_t master = cluster.master_of_slot(redis::hash_slot(channel));
  const std::size_t replica = cluster.replica_of(master);
  EventRecorder events;
  auto subscription = store.watch(ns, events.callback());
  EXPECT_EQ(shard_subscribers_of(cluster, master, channel), 1);

  RespValue answer = cluster.node(replica).command({"CLUSTER", "FAILOVER"});
  ASSERT_FALSE(answer.is_error()) << answer.text;
  ASSERT_TRUE(poll_until([&] { return cluster.is_master(replica) && !cluster.is_master(master); },
                         std::chrono::seconds(30)))
      << "the manual failover did not complete";
  Session session;
  session.ns = ns;
  session.created_by = "agent";
  session.created_at = kT0;
  session.updated_at = kT0;
  // At-most-once while the channel moves: each attempt is a new session, one of them must be heard.
  int attempt = 0;
  EXPECT_TRUE(poll_until(
      [&] {
        session.id = "after-" + std::to_string(attempt++);
        if (!store.create_session(session)) return false;
        return events.wait_for_event(ChangeEvent::Kind::kSessionChanged, ns, session.id,
                                     std::chrono::milliseconds(200));
      },
      std::chrono::seconds(30)))
      << "no change event arrived after the manual failover";
  cluster.wait_until_healthy(std::chrono::seconds(60));
}

}  // namespace
}  // namespace memtrace::testing
