// Live updates through Redis pub/sub: between two stores of one process, between two processes (this
// test binary re-executed as a writer or a watcher), and again after the subscriber is killed or Redis
// restarts.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/ids.h"
#include "store/redis/redis_keys.h"
#include "store/redis_test_helpers.h"
#include "store/store_behaviour.h"
#include "support/child_process.h"
#include "support/redis_server.h"

namespace memtrace::testing {
namespace {

using std::chrono::milliseconds;

constexpr UnixMillis kT0 = 1'700'000'000'000;
constexpr const char* kChildVariable = "MEMTRACE_REDIS_TEST_CHILD";

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, separator)) parts.push_back(part);
  return parts;
}

Session session_named(const std::string& id) {
  Session session;
  session.id = id;
  session.created_by = "agent-a";
  session.created_at = session.updated_at = kT0;
  return session;
}

Memory memory_in(const std::string& session_id, IdGenerator& ids, UnixMillis at, const std::string& content,
                 const std::string& agent = "agent-a") {
  Memory memory;
  memory.id = ids.next(at);
  memory.session_id = session_id;
  memory.agent_id = agent;
  memory.content = content;
  memory.created_at = at;
  return memory;
}

// ---- the child side: this binary started with MEMTRACE_REDIS_TEST_CHILD set ----

std::unique_ptr<Store> child_store(const std::string& url) {
  auto options = parse_redis_url(url);
  if (!options) return nullptr;
  auto store = open_redis_store(*options);
  return store ? std::move(*store) : nullptr;
}

// "writer|<url>|<session>|<count>": creates the session (if needed) and writes <count> memories.
int run_writer(const std::vector<std::string>& args) {
  auto store = child_store(args.at(1));
  if (!store) return 2;
  auto created = store->create_session(session_named(args.at(2)));
  if (!created && created.error().code != ErrorCode::kConflict) return 3;
  IdGenerator ids;
  const int count = std::stoi(args.at(3));
  for (int i = 0; i < count; ++i) {
    auto inserted =
        store->insert_memory(memory_in(args.at(2), ids, kT0 + i, "from the child", "child-writer"));
    if (!inserted) {
      std::fprintf(stderr, "insert failed: %s\n", inserted.error().message.c_str());
      return 4;
    }
  }
  return 0;
}

// "watcher|<url>|<count>": prints "ready", then one line "<kind>|<ns>|<session>" per event, and exits
// after <count> events (or 10 s).
int run_watcher(const std::vector<std::string>& args) {
  auto store = child_store(args.at(1));
  if (!store) return 2;
  EventRecorder recorder;
  auto subscription = store->watch(kDefaultNamespace, recorder.callback());
  std::printf("ready\n");
  std::fflush(stdout);
  const std::size_t count = std::stoul(args.at(2));
  bool enough =
      recorder.wait_for([&](const std::vector<ChangeEvent>& events) { return events.size() >= count; },
                        std::chrono::seconds(10));
  for (const auto& event : recorder.events()) {
    std::printf("%s|%s|%s\n", event.kind == ChangeEvent::Kind::kMemoryWritten ? "m" : "s", event.ns.c_str(),
                event.session_id.c_str());
  }
  std::fflush(stdout);
  return enough ? 0 : 5;
}

// Runs before main(): a child started by these tests does its job and exits without running gtest.
[[maybe_unused]] const bool ran_as_child = [] {
  const char* spec = std::getenv(kChildVariable);
  if (spec == nullptr || *spec == '\0') return false;
  auto args = split(spec, '|');
  int code = 1;
  if (!args.empty() && args[0] == "writer") code = run_writer(args);
  if (!args.empty() && args[0] == "watcher") code = run_watcher(args);
  std::fflush(nullptr);
  std::_Exit(code);
}();

std::string this_binary() {
  return std::filesystem::read_symlink("/proc/self/exe").string();
}

// ---- the tests ----

TEST(RedisLive, TwoStoresSeeEachOthersWrites) {
  RedisServer server;
  auto first = open_redis_for_test(server.url());
  auto second = open_redis_for_test(server.url());
  ASSERT_TRUE(first && second);
  EventRecorder first_events;
  EventRecorder second_events;
  auto first_watch = first->watch(kDefaultNamespace, first_events.callback());
  auto second_watch = second->watch(kDefaultNamespace, second_events.callback());

  ASSERT_TRUE(second->create_session(session_named("shared")));
  EXPECT_TRUE(first_events.wait_for_event(ChangeEvent::Kind::kSessionChanged, kDefaultNamespace, "shared"));
  IdGenerator ids;
  Memory memory = memory_in("shared", ids, kT0, "written by the second store");
  ASSERT_TRUE(second->insert_memory(memory));
  EXPECT_TRUE(first_events.wait_for_event(ChangeEvent::Kind::kMemoryWritten, kDefaultNamespace, "shared"));
  auto seen = first->get_memory(kDefaultNamespace, memory.id, kT0);
  ASSERT_TRUE(seen && seen->has_value());
  EXPECT_EQ((*seen)->content, "written by the second store");

  ASSERT_TRUE(first->close_session(kDefaultNamespace, "shared", kT0 + 1));
  EXPECT_TRUE(second_events.wait_for([](const std::vector<ChangeEvent>& events) {
    return std::count_if(events.begin(), events.end(), [](const ChangeEvent& event) {
             return event.kind == ChangeEvent::Kind::kSessionChanged && event.session_id == "shared";
           }) >= 2;
  }));
}

TEST(RedisLive, AnotherProcessesWritesArriveLiveAndOursReachIt) {
  RedisServer server;
  auto store = open_redis_for_test(server.url());
  ASSERT_NE(store, nullptr);
  EventRecorder events;
  auto watching = store->watch(kDefaultNamespace, events.callback());

  // Another process writes; we hear about it and read what it wrote.
  ChildProcess writer({this_binary()}, {{kChildVariable, "writer|" + server.url() + "|from-child|25"}});
  EXPECT_EQ(writer.wait(std::chrono::seconds(30)), 0) << writer.stderr_text();
  EXPECT_TRUE(events.wait_for([](const std::vector<ChangeEvent>& all) {
    return std::count_if(all.begin(), all.end(), [](const ChangeEvent& event) {
             return event.kind == ChangeEvent::Kind::kMemoryWritten && event.session_id == "from-child";
           }) == 25;
  })) << "expected one event per memory the other process wrote";
  MemoryQuery q;
  q.session_id = "from-child";
  q.agent_id = "child-writer";
  auto rows = store->query_memories(q);
  ASSERT_TRUE(rows) << rows.error().message;
  EXPECT_EQ(rows->size(), 25u);

  // Another process watches; our writes reach it.
  ChildProcess watcher({this_binary()}, {{kChildVariable, "watcher|" + server.url() + "|2"}});
  auto ready = watcher.read_line(std::chrono::seconds(10));
  ASSERT_EQ(ready, "ready") << watcher.stderr_text();
  ASSERT_TRUE(store->create_session(session_named("from-parent")));
  IdGenerator ids;
  ASSERT_TRUE(store->insert_memory(memory_in("from-parent", ids, kT0, "hello, other process")));
  EXPECT_EQ(watcher.read_line(std::chrono::seconds(10)), "s|default|from-parent");
  EXPECT_EQ(watcher.read_line(std::chrono::seconds(10)), "m|default|from-parent");
  EXPECT_EQ(watcher.wait(std::chrono::seconds(10)), 0) << watcher.stderr_text();
}

// Writes a new session until its event arrives (events published while the subscriber reconnects
// are lost, so each attempt is a fresh write); true once one arrived.
bool events_flow_again(Store& store, EventRecorder& events, const std::string& tag) {
  int attempt = 0;
  return eventually(
      [&] {
        const std::string id = tag + "-" + std::to_string(attempt++);
        if (!store.create_session(session_named(id))) return false;
        return events.wait_for_event(ChangeEvent::Kind::kSessionChanged, kDefaultNamespace, id,
                                     milliseconds(200));
      },
      std::chrono::seconds(15));
}

TEST(RedisLive, SubscriberReconnectsAfterClientKillAndRestart) {
  RedisServer server;
  auto store = open_redis_for_test(server.url());
  ASSERT_NE(store, nullptr);
  EventRecorder events;
  auto watching = store->watch(kDefaultNamespace, events.callback());
  ASSERT_TRUE(events_flow_again(*store, events, "before"));

  auto killed = server.command({"CLIENT", "KILL", "TYPE", "pubsub"});
  EXPECT_EQ(killed.integer, 1) << "the store's subscriber connection";
  EXPECT_TRUE(events_flow_again(*store, events, "after-kill")) << "no events after CLIENT KILL TYPE pubsub";

  server.kill(SIGKILL);
  server.start();
  EXPECT_TRUE(events_flow_again(*store, events, "after-restart")) << "no events after Redis restarted";
  auto subscribers = server.command({"PUBSUB", "SHARDNUMSUB", redis::events_channel(kDefaultNamespace)});
  ASSERT_EQ(subscribers.elements.size(), 2u);
  EXPECT_EQ(subscribers.elements[1].integer, 1) << "exactly one subscription again";
}

TEST(RedisLive, WatchingStartsWhileRedisIsDownAndDeliversOnceItIsUp) {
  RedisServer server;
  server.stop();
  auto store = open_redis_for_test(server.url());
  ASSERT_NE(store, nullptr);
  EventRecorder events;
  const auto start = std::chrono::steady_clock::now();
  auto watching = store->watch(kDefaultNamespace, events.callback());
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1000)) << "watch() held the caller up";
  server.start();
  EXPECT_TRUE(events_flow_again(*store, events, "late")) << "no events once Redis came up";
}

}  // namespace
}  // namespace memtrace::testing
