// API keys in the SQLite store: put, find by hash, list (all or per namespace), revoke, persistence across
// reopening the file, and the default of a store that keeps no keys.
#include <gtest/gtest.h>

#include "store/sqlite/sqlite_store.h"
#include "support/temp_dir.h"

namespace memtrace::testing {
namespace {

ApiKey key(const std::string& id, const std::string& ns, const std::string& hash, UnixMillis at) {
  ApiKey k;
  k.id = id;
  k.ns = ns;
  k.hash = hash;
  k.label = "label of " + id;
  k.created_at = at;
  return k;
}

std::unique_ptr<Store> open(const std::string& path) {
  SqliteOptions options;
  options.path = path;
  auto store = open_sqlite_store(options);
  EXPECT_TRUE(store) << store.error().message;
  return std::move(*store);
}

TEST(SqliteApiKeys, PutFindListRevoke) {
  auto store = open(":memory:");
  ASSERT_TRUE(store->put_api_key(key("k1", "tenant-a", "hash-1", 1000)));
  ASSERT_TRUE(store->put_api_key(key("k2", "tenant-b", "hash-2", 2000)));
  ASSERT_TRUE(store->put_api_key(key("k3", "tenant-a", "hash-3", 3000)));

  auto found = store->find_api_key_by_hash("hash-2");
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->id, "k2");
  EXPECT_EQ((*found)->ns, "tenant-b");
  EXPECT_EQ((*found)->label, "label of k2");
  EXPECT_EQ((*found)->created_at, 2000);
  EXPECT_FALSE((*found)->revoked_at);
  auto missing = store->find_api_key_by_hash("no-such-hash");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(*missing);

  auto all = store->list_api_keys(std::nullopt);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].id, "k1");
  EXPECT_EQ((*all)[2].id, "k3");
  auto only_a = store->list_api_keys(std::string("tenant-a"));
  ASSERT_TRUE(only_a);
  ASSERT_EQ(only_a->size(), 2u);
  for (const auto& k : *only_a) EXPECT_EQ(k.ns, "tenant-a");

  auto revoked = store->revoke_api_key("k1", 5000);
  ASSERT_TRUE(revoked);
  EXPECT_TRUE(*revoked);
  ASSERT_TRUE(store->revoke_api_key("k1", 9000));  // the first revocation time stays
  auto after = store->find_api_key_by_hash("hash-1");
  ASSERT_TRUE(after && *after);
  EXPECT_EQ((*after)->revoked_at, 5000);
  auto unknown = store->revoke_api_key("nope", 5000);
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(*unknown);
}

TEST(SqliteApiKeys, DuplicateIdOrHashIsAConflict) {
  auto store = open(":memory:");
  ASSERT_TRUE(store->put_api_key(key("k1", "a", "hash-1", 1)));
  auto same_id = store->put_api_key(key("k1", "a", "hash-9", 1));
  ASSERT_FALSE(same_id);
  EXPECT_EQ(same_id.error().code, ErrorCode::kConflict);
  auto same_hash = store->put_api_key(key("k9", "a", "hash-1", 1));
  ASSERT_FALSE(same_hash);
  EXPECT_EQ(same_hash.error().code, ErrorCode::kConflict);
}

TEST(SqliteApiKeys, KeysPersistInTheFile) {
  TempDir dir("memtrace-keys");
  std::string path = dir.file("keys.db");
  {
    auto store = open(path);
    ASSERT_TRUE(store->put_api_key(key("k1", "tenant-a", "hash-1", 1000)));
  }
  auto reopened = open(path);
  auto found = reopened->find_api_key_by_hash("hash-1");
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->ns, "tenant-a");
}

// A backend without key storage answers kUnavailable instead of failing to compile or crashing.
class NoKeysStore final : public Store {
 public:
  std::string describe() const override { return "none"; }
  Result<void> ping() override { return {}; }
  Result<Agent> upsert_agent(const Agent& a) override { return a; }
  Result<std::optional<Agent>> get_agent(const std::string&, const std::string&) override {
    return std::nullopt;
  }
  Result<bool> delete_agent(const std::string&, const std::string&) override { return false; }
  Result<void> create_session(const Session&) override { return {}; }
  Result<SessionOpening> resume_or_create_session(const Session& s) override {
    return SessionOpening{s.id, false};
  }
  Result<std::optional<Session>> get_session(const std::string&, const std::string&) override {
    return std::nullopt;
  }
  Result<bool> close_session(const std::string&, const std::string&, UnixMillis, const std::string&) override {
    return false;
  }
  Result<std::vector<SessionSummary>> find_sessions(const SessionQuery&) override {
    return std::vector<SessionSummary>{};
  }
  Result<void> insert_memory(const Memory&) override { return {}; }
  Result<WriteOutcome> write_memory(const Memory&, const WriteOptions&) override { return WriteOutcome{}; }
  Result<std::optional<Memory>> get_memory(const std::string&, const std::string&, UnixMillis) override {
    return std::nullopt;
  }
  Result<std::vector<Memory>> query_memories(const MemoryQuery&) override { return std::vector<Memory>{}; }
  Result<RankedMemories> rank_memories(const RankQuery&) override { return RankedMemories{}; }
  Result<bool> delete_memory(const std::string&, const std::string&, const std::string&) override {
    return false;
  }
  Result<std::size_t> purge_expired(UnixMillis) override { return 0; }
  std::unique_ptr<ChangeSubscription> watch(const std::string&, ChangeCallback) override { return nullptr; }
  Result<ClaimOutcome> claim_task(const std::string&, const std::string&, const std::string&,
                                  const std::string&, UnixMillis, UnixMillis,
                                  std::optional<std::int64_t>) override {
    return ClaimOutcome{};
  }
  Result<bool> release_task(const std::string&, const std::string&, const std::string&, const std::string&,
                            UnixMillis, std::optional<std::int64_t>) override {
    return false;
  }
  Result<CompleteOutcome> complete_task(const std::string&, const std::string&, std::optional<std::int64_t>,
                                        const Memory&, UnixMillis) override {
    return CompleteOutcome{};
  }
  Result<bool> reopen_task(const std::string&, const std::string&, const std::string&, const std::string&,
                           UnixMillis) override {
    return false;
  }
  Result<TaskRecord> get_task(const std::string&, const std::string&, UnixMillis) override {
    return TaskRecord{};
  }
  Result<std::optional<TaskClaim>> get_task_claim(const std::string&, const std::string&,
                                                  UnixMillis) override {
    return std::nullopt;
  }
};

TEST(SqliteApiKeys, StoresWithoutKeysSaySo) {
  NoKeysStore store;
  auto put = store.put_api_key(key("k", "a", "h", 1));
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().code, ErrorCode::kUnavailable);
  EXPECT_FALSE(store.find_api_key_by_hash("h"));
  EXPECT_FALSE(store.list_api_keys(std::nullopt));
  EXPECT_FALSE(store.revoke_api_key("k", 1));
}

}  // namespace
}  // namespace memtrace::testing
