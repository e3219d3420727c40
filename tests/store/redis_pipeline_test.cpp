// The shared pipeline to a Redis node: concurrent calls on one socket each get their own reply; a reply
// that comes after its caller gave up is dropped; a broken socket fails every call on it at once; WAIT
// writes keep connections of their own.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/call_arrival.h"
#include "store/redis/redis_pool.h"
#include "store/redis_test_helpers.h"
#include "support/redis_server.h"

namespace memtrace::testing {
namespace {

using redis::Pool;
using std::chrono::milliseconds;
using ::testing::HasSubstr;
using SteadyClock = std::chrono::steady_clock;

Pool pool_for(const RedisServer& server, milliseconds command_timeout = milliseconds(5000)) {
  auto options = parse_redis_url(server.url());
  EXPECT_TRUE(options) << options.error().message;
  options->command_timeout = command_timeout;
  return Pool(*options, redis::Endpoint{server.url(), command_timeout});
}

// One command on a turn of the pool's shared pipeline.
Result<std::string> shared_command(Pool& pool, const std::vector<std::string_view>& args) {
  auto lease = pool.share();
  if (!lease) return tl::unexpected(lease.error());
  auto reply = (*lease)->command(args);
  if (!reply) return tl::unexpected(reply.error());
  if ((*reply)->type == REDIS_REPLY_INTEGER) return std::to_string((*reply)->integer);
  return std::string(redis::reply_string(reply->get()));
}

// A pipeline of its own to `server`, whose calls time out after `command_timeout`; null if it cannot connect.
std::shared_ptr<redis::Pipeline> pipeline_to(const RedisServer& server, milliseconds command_timeout) {
  auto options = parse_redis_url(server.url());
  EXPECT_TRUE(options) << options.error().message;
  if (!options) return nullptr;
  auto connection = redis::DirectConnection::open(*options, redis::Endpoint{server.url(), command_timeout});
  EXPECT_TRUE(connection) << connection.error().message;
  if (!connection) return nullptr;
  return redis::Pipeline::create(std::move(*connection));
}

long long connections_received(const RedisServer& server) {
  const std::string info = server.command({"INFO", "stats"}).text;
  const std::string field = "total_connections_received:";
  const auto at = info.find(field);
  EXPECT_NE(at, std::string::npos) << info;
  return std::stoll(info.substr(at + field.size()));
}

TEST(RedisPipeline, ConcurrentCallsShareOneSocketAndEachGetsItsOwnReply) {
  RedisServer server;
  Pool pool = pool_for(server);
  const long long connections_before = connections_received(server);
  constexpr int kThreads = 8;
  constexpr int kRounds = 300;
  std::atomic<int> mismatches{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        const std::string key = "k:" + std::to_string(t) + ":" + std::to_string(i);
        const std::string value = "thread " + std::to_string(t) + " round " + std::to_string(i);
        auto set = shared_command(pool, {"SET", key, value});
        auto got = shared_command(pool, {"GET", key});
        auto counted = shared_command(pool, {"INCR", "counter"});
        if (!set || !got || !counted) {
          ++failures;
          continue;
        }
        if (*set != "OK" || *got != value) ++mismatches;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(mismatches.load(), 0) << "a call received another call's reply";
  EXPECT_EQ(server.command({"GET", "counter"}).text, std::to_string(kThreads * kRounds));
  // 2,400 calls from 8 threads at once went over one socket; the GET above and the INFO that counts
  // are this test's own connections.
  EXPECT_EQ(connections_received(server) - connections_before, 1 + 2);
}

TEST(RedisPipeline, AReplyThatComesAfterItsCallerGaveUpIsDroppedAndTheNextCallsGetTheirOwn) {
  RedisServer server;
  auto pipeline = pipeline_to(server, milliseconds(1000));
  ASSERT_NE(pipeline, nullptr);

  // The first call gives up after 300 ms, while Redis sleeps for 600.
  std::thread early([&] {
    auto start = SteadyClock::now();
    auto slept = pipeline->call({"DEBUG", "SLEEP", "0.6"}, false, start + milliseconds(300));
    ASSERT_FALSE(slept);
    EXPECT_EQ(slept.error().code, ErrorCode::kTimeout) << slept.error().message;
    EXPECT_THAT(slept.error().message, HasSubstr("did not answer within the call's 1000 ms"));
    EXPECT_LT(elapsed_since(start), milliseconds(600));
  });
  ASSERT_TRUE(eventually([&] { return pipeline->waiting() == 1; }));
  // The second call follows it on the socket and may wait a second: it gets its own reply once Redis
  // wakes, not the DEBUG's "OK" that nobody waits for any more.
  auto echoed = pipeline->call({"ECHO", "mine"}, false, SteadyClock::now() + milliseconds(1000));
  early.join();
  ASSERT_TRUE(echoed) << echoed.error().message;
  EXPECT_EQ(redis::reply_string(echoed->get()), std::string_view("mine"));
  EXPECT_EQ(pipeline->waiting(), 0u);
  // A call gave up, so the pool gives new calls a new socket (this one might never answer again).
  EXPECT_FALSE(pipeline->check_idle());
}

// send() puts a command in the line without waiting; its caller takes the reply later. Meanwhile calls
// behind it on the socket are answered as they come: the one reading does not wait for the sender.
TEST(RedisPipeline, ACommandSentAndNotYetWaitedForHoldsUpNoCallBehindIt) {
  RedisServer server;
  auto pipeline = pipeline_to(server, milliseconds(10000));
  ASSERT_NE(pipeline, nullptr);

  // In the line: a call that is reading (Redis sleeps 300 ms), a command sent by this thread (Redis
  // sleeps 300 ms more) and another thread's call. When the first reply comes, the reading passes to the
  // call waiting, not to the sender, who is not waiting yet and would leave it to the deadline (10 s).
  const auto start = SteadyClock::now();
  std::thread reading([&] {
    auto slept = pipeline->call({"DEBUG", "SLEEP", "0.3"}, false, start + milliseconds(10000));
    EXPECT_TRUE(slept) << slept.error().message;
  });
  ASSERT_TRUE(eventually([&] { return pipeline->waiting() == 1; }));
  auto sent = pipeline->send_all({{"DEBUG", "SLEEP", "0.3"}});
  ASSERT_TRUE(sent) << sent.error().message;
  ASSERT_TRUE(eventually([&] { return pipeline->waiting() == 2; }));
  Result<redis::ReplyPtr> behind = tl::unexpected(Error{});
  std::thread other([&] { behind = pipeline->call({"ECHO", "behind"}, false, start + milliseconds(10000)); });
  other.join();
  reading.join();
  EXPECT_LT(elapsed_since(start), milliseconds(3000)) << "the call behind waited for the sender";
  ASSERT_TRUE(behind) << behind.error().message;
  EXPECT_EQ(redis::reply_string(behind->get()), std::string_view("behind"));
  // The sender takes its own reply later, from where the reader left it.
  auto mine = pipeline->wait(sent->front(), SteadyClock::now() + milliseconds(1000));
  ASSERT_TRUE(mine) << mine.error().message;
  EXPECT_EQ(redis::reply_string(mine->get()), std::string_view("OK"));

  // Several sent in a row, then waited for in order, each get their own.
  std::vector<redis::Pipeline::Ticket> tickets;
  for (int i = 0; i < 20; ++i) {
    auto ticket = pipeline->send_all({{"INCR", "sent:counter"}});
    ASSERT_TRUE(ticket) << ticket.error().message;
    tickets.push_back(std::move(ticket->front()));
  }
  for (int i = 0; i < 20; ++i) {
    auto reply = pipeline->wait(tickets[i], SteadyClock::now() + milliseconds(1000));
    ASSERT_TRUE(reply) << reply.error().message;
    EXPECT_EQ((*reply)->integer, i + 1);
  }
  EXPECT_EQ(pipeline->waiting(), 0u);
  EXPECT_TRUE(pipeline->check_idle());
}

TEST(RedisPipeline, ABrokenSocketFailsEveryCallOnItAtOnceAndTheNextCallReconnects) {
  RedisServer server;
  Pool pool = pool_for(server, milliseconds(5000));
  ASSERT_TRUE(shared_command(pool, {"PING"}));
  ASSERT_EQ(::kill(server.pid(), SIGSTOP), 0);  // the calls below wait on the socket
  constexpr int kThreads = 4;
  std::atomic<int> started{0};
  std::vector<Result<std::string>> results(kThreads, std::string());
  std::vector<milliseconds> took(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ++started;
      auto start = SteadyClock::now();
      results[t] = shared_command(pool, {"ECHO", "lost"});
      took[t] = elapsed_since(start);
    });
  }
  ASSERT_TRUE(eventually([&] { return started.load() == kThreads; }));
  server.kill(SIGKILL);  // the socket ends while they wait
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_FALSE(results[t]) << "call " << t;
    EXPECT_EQ(results[t].error().code, ErrorCode::kUnavailable) << results[t].error().message;
    EXPECT_LT(took[t], milliseconds(2500)) << "call " << t << " waited for its timeout instead";
  }
  server.start();
  ASSERT_TRUE(eventually([&] { return shared_command(pool, {"PING"}).has_value(); }));
  auto echoed = shared_command(pool, {"ECHO", "back"});
  ASSERT_TRUE(echoed) << echoed.error().message;
  EXPECT_EQ(*echoed, "back");
}

// A call that gives up retires the shared pipeline: the next call goes to a new socket, and the old one,
// with no call left on it, is closed, so calls that time out leave no sockets behind.
TEST(RedisPipeline, ARetiredPipelineIsReplacedAndItsSocketClosedOnceNoCallIsLeftOnIt) {
  RedisServer server;
  Pool pool = pool_for(server, milliseconds(300));
  auto old_id = shared_command(pool, {"CLIENT", "ID"});
  ASSERT_TRUE(old_id) << old_id.error().message;
  auto client_listed = [&](const std::string& id) {
    return server.command({"CLIENT", "LIST", "ID", id}).text.find("id=" + id + " ") != std::string::npos;
  };
  ASSERT_TRUE(client_listed(*old_id));

  auto slept = shared_command(pool, {"DEBUG", "SLEEP", "0.6"});  // its caller gives up at 300 ms
  ASSERT_FALSE(slept);
  EXPECT_EQ(slept.error().code, ErrorCode::kTimeout) << slept.error().message;
  ASSERT_EQ(server.command({"PING"}).text, "PONG");  // Redis is awake again
  auto new_id = shared_command(pool, {"CLIENT", "ID"});
  ASSERT_TRUE(new_id) << new_id.error().message;
  EXPECT_NE(*new_id, *old_id) << "a new socket";
  EXPECT_TRUE(eventually([&] { return !client_listed(*old_id); })) << "the retired socket was closed";
  EXPECT_TRUE(client_listed(*new_id));
  auto again = shared_command(pool, {"CLIENT", "ID"});
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(*again, *new_id) << "and the new one is shared as the old one was";
}

TEST(RedisPipeline, ALeasedConnectionIsNotThePipelinesSocket) {
  RedisServer server;
  Pool pool = pool_for(server);
  auto shared = pool.share();
  ASSERT_TRUE(shared) << shared.error().message;
  auto own = pool.lease();
  ASSERT_TRUE(own) << own.error().message;
  auto shared_id = (*shared)->command({"CLIENT", "ID"});
  auto own_id = (*own)->command({"CLIENT", "ID"});
  ASSERT_TRUE(shared_id && own_id);
  // WAIT on the leased connection holds up only that connection, never the calls on the pipeline.
  EXPECT_NE((*shared_id)->integer, (*own_id)->integer);
  auto second_turn = pool.share();
  ASSERT_TRUE(second_turn) << second_turn.error().message;
  auto second_id = (*second_turn)->command({"CLIENT", "ID"});
  ASSERT_TRUE(second_id);
  EXPECT_EQ((*second_id)->integer, (*shared_id)->integer) << "every share() is a turn on one socket";
}

}  // namespace
}  // namespace memtrace::testing
