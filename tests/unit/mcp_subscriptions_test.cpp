// The subscription registry watches exactly the namespaces its connections and subscriptions are in.
#include "mcp/subscriptions.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace memtrace::mcp {
namespace {

// Records notifications sent to one connection.
class RecordingSink final : public NotificationSink {
 public:
  void send_notification(std::string_view method, const nlohmann::json& params) override {
    sent.emplace_back(method, params);
  }
  std::vector<std::pair<std::string, nlohmann::json>> sent;
};

// A store watch that only counts: started per namespace, live now, and its callback for feeding events.
struct FakeStore {
  std::map<std::string, int> started;
  std::map<std::string, int> live;
  std::map<std::string, ChangeCallback> callbacks;

  class Watch final : public ChangeSubscription {
   public:
    Watch(FakeStore& store, std::string ns) : store_(store), ns_(std::move(ns)) {}
    ~Watch() override {
      --store_.live[ns_];
      store_.callbacks.erase(ns_);
    }

   private:
    FakeStore& store_;
    std::string ns_;
  };

  SubscriptionRegistry::WatchNamespace watch() {
    return [this](const std::string& ns, ChangeCallback callback) -> std::unique_ptr<ChangeSubscription> {
      ++started[ns];
      ++live[ns];
      callbacks[ns] = std::move(callback);
      return std::make_unique<Watch>(*this, ns);
    };
  }
};

TEST(SubscriptionRegistry, WatchesANamespaceWhileItHasConnectionsOrSubscriptions) {
  FakeStore store;
  SubscriptionRegistry registry(store.watch());
  auto a1 = std::make_shared<RecordingSink>();
  auto a2 = std::make_shared<RecordingSink>();
  auto b = std::make_shared<RecordingSink>();

  registry.add_connection(a1, "team-a");
  registry.add_connection(a2, "team-a");
  EXPECT_EQ(registry.watched_namespaces(), std::vector<std::string>{"team-a"});
  EXPECT_EQ(store.started["team-a"], 1) << "one watch per namespace, however many connections";

  registry.add_connection(b, "team-b");
  registry.subscribe(b, "memtrace://sessions/s1/context", "team-b", "s1", false);
  EXPECT_EQ(registry.watched_namespaces(), (std::vector<std::string>{"team-a", "team-b"}));

  // Events reach the subscriber of their namespace, list_changed every connection of it.
  store.callbacks["team-b"](ChangeEvent{ChangeEvent::Kind::kMemoryWritten, "team-b", "s1"});
  ASSERT_EQ(b->sent.size(), 1u);
  EXPECT_EQ(b->sent[0].first, "notifications/resources/updated");
  store.callbacks["team-a"](ChangeEvent{ChangeEvent::Kind::kSessionChanged, "team-a", "s9"});
  EXPECT_EQ(a1->sent.size(), 1u);
  EXPECT_EQ(a2->sent.size(), 1u);
  EXPECT_EQ(b->sent.size(), 1u);

  registry.remove_connection(a1.get());
  EXPECT_EQ(store.live["team-a"], 1) << "team-a still has a connection";
  registry.remove_connection(a2.get());
  EXPECT_EQ(store.live["team-a"], 0) << "the last connection of team-a ended its watch";
  EXPECT_EQ(registry.watched_namespaces(), std::vector<std::string>{"team-b"});

  EXPECT_TRUE(registry.unsubscribe(b.get(), "memtrace://sessions/s1/context"));
  EXPECT_EQ(store.live["team-b"], 1) << "the connection itself still listens for list_changed";
  registry.remove_connection(b.get());
  EXPECT_TRUE(registry.watched_namespaces().empty());
  EXPECT_EQ(store.live["team-b"], 0);

  registry.add_connection(a1, "team-a");  // a namespace coming back is watched again
  EXPECT_EQ(store.started["team-a"], 2);
  EXPECT_EQ(store.live["team-a"], 1);
}

}  // namespace
}  // namespace memtrace::mcp
