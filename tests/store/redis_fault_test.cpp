// The Redis store under faults: unreachable at start, killed mid-load, paused, CLIENT KILL, a command
// slower than the timeout, wrong credentials, ACL users over TCP, and no lost memory under SIGKILL.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/ids.h"
#include "store/redis_test_helpers.h"
#include "support/redis_server.h"

namespace memtrace::testing {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using SteadyClock = std::chrono::steady_clock;

constexpr UnixMillis kT0 = 1'700'000'000'000;

Session session_named(const std::string& id) {
  Session session;
  session.id = id;
  session.created_by = "agent-a";
  session.created_at = session.updated_at = kT0;
  return session;
}

Memory memory_in(const std::string& session_id, IdGenerator& ids, UnixMillis at, const std::string& content) {
  Memory memory;
  memory.id = ids.next(at);
  memory.session_id = session_id;
  memory.agent_id = "agent-a";
  memory.content = content;
  memory.created_at = at;
  return memory;
}

TEST(RedisFaults, UnreachableAtStartThenServesOnceRedisIsUp) {
  RedisServer server;
  server.stop();  // the address is known, nobody listens there
  auto store = open_redis_for_test(server.url());
  ASSERT_NE(store, nullptr) << "opening must succeed while Redis is down";

  for (int i = 0; i < 3; ++i) {
    auto start = SteadyClock::now();
    auto pinged = store->ping();
    ASSERT_FALSE(pinged);
    EXPECT_EQ(pinged.error().code, ErrorCode::kUnavailable);
    EXPECT_THAT(pinged.error().message, HasSubstr(store->describe()));
    EXPECT_THAT(pinged.error().message, HasSubstr("check that redis-server is running"));
    EXPECT_LT(elapsed_since(start), milliseconds(500));
  }
  auto created = store->create_session(session_named("s1"));
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().code, ErrorCode::kUnavailable);
  auto found = store->query_memories(MemoryQuery{});
  ASSERT_FALSE(found);
  EXPECT_EQ(found.error().code, ErrorCode::kUnavailable);

  server.start();
  ASSERT_TRUE(eventually([&] { return store->ping().has_value(); }, milliseconds(5000)))
      << "the store did not reconnect after Redis came up";
  ASSERT_TRUE(store->create_session(session_named("s1")));
  IdGenerator ids;
  ASSERT_TRUE(store->insert_memory(memory_in("s1", ids, kT0, "now it works")));
  auto rows = store->query_memories(MemoryQuery{});
  ASSERT_TRUE(rows);
  EXPECT_EQ(rows->size(), 1u);
}

TEST(RedisFaults, KilledMidLoadCallsFailFastAndRecoverAfterRestart) {
  RedisServer server;
  auto store = open_redis_for_test(server.url(), [](RedisOptions& options) {
    options.command_timeout = milliseconds(500);
    options.connect_timeout = milliseconds(500);
  });
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->create_session(session_named("s1")));

  // Four threads keep writing and reading while the server is killed; no call may hang.
  std::atomic<bool> running{true};
  std::atomic<long long> slowest_ms{0};
  std::atomic<int> successes{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      IdGenerator ids;
      for (int i = 0; running; ++i) {
        auto start = SteadyClock::now();
        bool ok = t % 2 ? store->query_memories(MemoryQuery{}).has_value()
                        : store->insert_memory(memory_in("s1", ids, kT0 + i, "load")).has_value();
        auto took = elapsed_since(start).count();
        long long seen = slowest_ms;
        while (took > seen && !slowest_ms.compare_exchange_weak(seen, took)) {
        }
        if (ok) {
          ++successes;
        } else {
          ++failures;
        }
      }
    });
  }
  ASSERT_TRUE(eventually([&] { return successes > 100; }));
  server.kill(SIGKILL);
  ASSERT_TRUE(eventually([&] { return failures > 50; })) << "calls kept succeeding with Redis dead?";
  {
    auto pinged = store->ping();
    ASSERT_FALSE(pinged);
    EXPECT_EQ(pinged.error().code, ErrorCode::kUnavailable) << pinged.error().message;
  }
  const int successes_before_restart = successes;
  server.start();
  ASSERT_TRUE(eventually([&] { return successes > successes_before_restart + 100; }))
      << "the store did not recover after the restart";
  running = false;
  for (auto& thread : threads) thread.join();
  // Every call ended within the command timeout (plus a connect timeout and scheduling slack).
  EXPECT_LT(slowest_ms.load(), 1500);
  ASSERT_TRUE(store->ping());
}

TEST(RedisFaults, PausedServerTimesOutWithinTheCommandTimeout) {
  RedisServer server;
  auto store = open_redis_for_test(
      server.url(), [](RedisOptions& options) { options.command_timeout = milliseconds(300); });
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->ping());
  ASSERT_EQ(::kill(server.pid(), SIGSTOP), 0);
  auto start = SteadyClock::now();
  auto pinged = store->ping();
  auto took = elapsed_since(start);
  ::kill(server.pid(), SIGCONT);
  ASSERT_FALSE(pinged);
  EXPECT_EQ(pinged.error().code, ErrorCode::kTimeout) << pinged.error().message;
  EXPECT_THAT(pinged.error().message, HasSubstr("did not answer within the call's 300 ms"));
  EXPECT_GE(took, milliseconds(250));
  EXPECT_LT(took, milliseconds(1000));
  ASSERT_TRUE(eventually([&] { return store->ping().has_value(); }));
}

TEST(RedisFaults, DebugSleepLongerThanTheTimeoutFailsTheCallNotTheStore) {
  RedisServer server;
  auto store = open_redis_for_test(
      server.url(), [](RedisOptions& options) { options.command_timeout = milliseconds(300); });
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->create_session(session_named("s1")));
  auto admin = server.client(milliseconds(5000));
  admin->send({"DEBUG", "SLEEP", "1.5"});
  // A call made before the server picked up the DEBUG may still succeed; the first failure must be a
  // timeout, and it must come within the command timeout.
  std::optional<Error> failure;
  milliseconds took{0};
  ASSERT_TRUE(eventually(
      [&] {
        auto start = SteadyClock::now();
        auto got = store->get_session(kDefaultNamespace, "s1");
        took = elapsed_since(start);
        if (!got) failure = got.error();
        return !got.has_value();
      },
      milliseconds(1000)));
  ASSERT_TRUE(failure.has_value());
  EXPECT_EQ(failure->code, ErrorCode::kTimeout) << failure->message;
  EXPECT_LT(took, milliseconds(900));
  EXPECT_EQ(admin->read_reply().text, "OK");  // the sleep is over
  auto got = store->get_session(kDefaultNamespace, "s1");
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_TRUE(got->has_value());
}

TEST(RedisFaults, ClientKillIsInvisibleToCallers) {
  RedisServer server;
  auto store = open_redis_for_test(server.url());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->create_session(session_named("s1")));
  // Several pooled connections, all idle now.
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] { ASSERT_TRUE(store->get_session(kDefaultNamespace, "s1")); });
  for (auto& thread : threads) thread.join();
  auto killed = server.command({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"});
  ASSERT_GE(killed.integer, 1);
  // The pool notices the closed connections before lending them: no call fails.
  for (int i = 0; i < 10; ++i) {
    auto got = store->get_session(kDefaultNamespace, "s1");
    ASSERT_TRUE(got) << got.error().message;
  }
}

TEST(RedisFaults, WrongPasswordIsAClearAuthenticationError) {
  RedisServerOptions options;
  options.password = "s3cret";
  RedisServer server(options);
  const std::string& path = server.socket_path();

  auto wrong = open_redis_for_test("redis+unix://:nope@" + path);
  ASSERT_NE(wrong, nullptr) << "opening succeeds; calls report the problem";
  auto pinged = wrong->ping();
  ASSERT_FALSE(pinged);
  EXPECT_EQ(pinged.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(pinged.error().message, StartsWith("authentication failed: WRONGPASS"));
  EXPECT_THAT(pinged.error().message, Not(HasSubstr("nope")));

  auto missing = open_redis_for_test("redis+unix://" + path);
  ASSERT_NE(missing, nullptr);
  auto unauthenticated = missing->ping();
  ASSERT_FALSE(unauthenticated);
  EXPECT_THAT(unauthenticated.error().message, StartsWith("authentication failed: NOAUTH"));

  auto right = open_redis_for_test(server.url());
  ASSERT_NE(right, nullptr);
  EXPECT_TRUE(right->ping());
}

TEST(RedisFaults, AclUserAndDatabaseOverTcp) {
  RedisServerOptions options;
  options.tcp = true;
  options.extra_config = {"user alice on >wonderland ~mt:* &mt:* +@all"};
  RedisServer server(options);
  const std::string base = "127.0.0.1:" + std::to_string(server.port());

  auto store = open_redis_for_test("redis://alice:wonderland@" + base + "/3");
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->describe(), "redis://alice@" + base + "/3");
  ASSERT_TRUE(store->ping());
  ASSERT_TRUE(store->create_session(session_named("s1")));
  auto admin = server.client();
  ASSERT_EQ(admin->command({"SELECT", "3"}).text, "OK");
  EXPECT_EQ(admin->command({"EXISTS", full_key(kDefaultNamespace, "s:s1")}).integer, 1)
      << "written into db 3";

  auto wrong = open_redis_for_test("redis://alice:queen@" + base + "/3");
  ASSERT_NE(wrong, nullptr);
  auto pinged = wrong->ping();
  ASSERT_FALSE(pinged);
  EXPECT_THAT(pinged.error().message, StartsWith("authentication failed:"));

  auto out_of_range = open_redis_for_test("redis://alice:wonderland@" + base + "/99");
  ASSERT_NE(out_of_range, nullptr);
  auto refused = out_of_range->ping();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(refused.error().message, HasSubstr("DB index"));
}

// appendonly yes + appendfsync always: a memory whose insert returned success survives SIGKILL.
TEST(RedisFaults, NoAcknowledgedMemoryIsLostWhenRedisIsKilled) {
  RedisServerOptions server_options;
  server_options.append_only = true;
  RedisServer server(server_options);
  auto store = open_redis_for_test(server.url(), [](RedisOptions& options) {
    options.command_timeout = milliseconds(1000);
    options.reconnect_backoff_max = milliseconds(100);
  });
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->create_session(session_named("s1")));

  constexpr int kRemembers = 1000;
  std::mutex mutex;
  std::condition_variable progress;
  std::vector<std::string> acknowledged;
  int attempts = 0;
  bool killed = false;
  std::thread writer([&] {
    IdGenerator ids;
    for (int i = 0; i < kRemembers; ++i) {
      if (i == 500) {
        // A fast disk can outrun the killer: hold here until the kill happened, so that it lands
        // between the 300th acknowledgement and this point, while remembers are in flight.
        std::unique_lock lock(mutex);
        progress.wait_for(lock, std::chrono::seconds(30), [&] { return killed; });
      }
      Memory memory = memory_in("s1", ids, kT0 + i, "durable memory " + std::to_string(i));
      memory.tags = {"durable"};
      // Like a real client: retry a failed remember for a while (the store fails fast while Redis is
      // down). A retry that meets kConflict found an earlier, unacknowledged attempt committed.
      const auto give_up = SteadyClock::now() + std::chrono::seconds(10);
      for (;;) {
        auto inserted = store->insert_memory(memory);
        {
          std::lock_guard lock(mutex);
          ++attempts;
          if (inserted) acknowledged.push_back(memory.id);
        }
        progress.notify_all();
        if (inserted || inserted.error().code == ErrorCode::kConflict || SteadyClock::now() > give_up) break;
        std::this_thread::sleep_for(milliseconds(2));  // retry pacing, not synchronisation
      }
    }
  });
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(
        progress.wait_for(lock, std::chrono::seconds(60), [&] { return acknowledged.size() >= 300; }));
  }
  server.kill(SIGKILL);  // mid-load, on this thread (the server's parent thread)
  {
    std::unique_lock lock(mutex);
    killed = true;
    progress.notify_all();
    const int attempts_at_kill = attempts;
    ASSERT_TRUE(
        progress.wait_for(lock, std::chrono::seconds(30), [&] { return attempts >= attempts_at_kill + 5; }));
  }
  server.start();  // loads the AOF
  writer.join();

  std::set<std::string> acknowledged_ids(acknowledged.begin(), acknowledged.end());
  ASSERT_GE(acknowledged_ids.size(), 300u);
  // Every acknowledged memory is there, in full and in its indexes.
  for (const auto& id : acknowledged_ids) {
    auto got = store->get_memory(kDefaultNamespace, id, kT0);
    ASSERT_TRUE(got) << got.error().message;
    ASSERT_TRUE(got->has_value()) << "acknowledged memory " << id << " was lost";
  }
  std::set<std::string> indexed;
  MemoryQuery q;
  q.session_id = "s1";
  q.tags = {"durable"};
  q.limit = 200;
  for (;;) {
    auto rows = store->query_memories(q);
    ASSERT_TRUE(rows) << rows.error().message;
    for (const auto& memory : *rows) indexed.insert(memory.id);
    if (rows->size() < q.limit) break;
    q.before_id = rows->back().id;
  }
  for (const auto& id : acknowledged_ids) EXPECT_TRUE(indexed.count(id)) << id << " missing from the indexes";
  // Writes after the restart succeeded too (the store recovered by itself).
  EXPECT_GT(acknowledged.size(), 900u);
}

}  // namespace
}  // namespace memtrace::testing
