// Pure pieces of the HTTP transport: SHA-256 (FIPS 180-4 example vectors), API key format, Host/Origin
// rules, the token bucket, and outbound message classification.
#include <mutex>

#include <gtest/gtest.h>

#include "core/sha256.h"
#include "jsonrpc/endpoint.h"
#include "transport/http/api_keys.h"
#include "transport/http/rate_limiter.h"
#include "transport/http/security.h"
#include "transport/http/wire.h"

namespace memtrace::transport::http {
namespace {

TEST(HttpSha256, StandardVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(
      sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqr"
                 "lmnopqrsmnopqrstnopqrstu"),
      "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(HttpApiKeys, MadeKeysAreWellFormedAndHashed) {
  auto a = make_api_key("tenant-a", "ci", 1000);
  auto b = make_api_key("tenant-a", "ci", 1000);
  EXPECT_TRUE(looks_like_api_key(a.token));
  EXPECT_NE(a.token, b.token);
  EXPECT_NE(a.record.id, b.record.id);
  EXPECT_EQ(a.record.hash, sha256_hex(a.token));
  EXPECT_EQ(a.record.hash.find(a.token), std::string::npos);
  EXPECT_FALSE(looks_like_api_key("mtk_short"));
  EXPECT_FALSE(looks_like_api_key("xyz_" + a.token.substr(4)));
}

TEST(HttpOriginPolicy, LoopbackServerAcceptsOnlyItsOwnNames) {
  OriginPolicy policy("127.0.0.1", 8765, {}, {});
  EXPECT_TRUE(policy.host_allowed("localhost:8765"));
  EXPECT_TRUE(policy.host_allowed("127.0.0.1:8765"));
  EXPECT_TRUE(policy.host_allowed("[::1]:8765"));
  EXPECT_TRUE(policy.host_allowed("LOCALHOST:8765"));
  EXPECT_FALSE(policy.host_allowed("evil.example.com"));
  EXPECT_FALSE(policy.host_allowed("evil.example.com:8765"));
  EXPECT_FALSE(policy.host_allowed("localhost:9999"));
  EXPECT_FALSE(policy.host_allowed(""));
  EXPECT_TRUE(policy.origin_allowed(""));
  EXPECT_TRUE(policy.origin_allowed("http://localhost:8765"));
  EXPECT_FALSE(policy.origin_allowed("http://evil.example.com"));
  EXPECT_FALSE(policy.origin_allowed("https://localhost:8765"));
  EXPECT_FALSE(policy.origin_allowed("http://localhost:1234"));
  EXPECT_FALSE(policy.origin_allowed("null"));
}

TEST(HttpOriginPolicy, ConfiguredOriginsAndHosts) {
  OriginPolicy policy("0.0.0.0", 443, {"https://App.Example.com/"}, {});
  EXPECT_TRUE(policy.origin_allowed("https://app.example.com"));
  EXPECT_FALSE(policy.origin_allowed("https://other.example.com"));
  EXPECT_TRUE(policy.host_allowed("memtrace.internal"));  // non-loopback: authentication protects it
  OriginPolicy pinned("0.0.0.0", 443, {}, {"memtrace.internal"});
  EXPECT_TRUE(pinned.host_allowed("memtrace.internal:443"));
  EXPECT_FALSE(pinned.host_allowed("evil.example.com"));
  OriginPolicy any("127.0.0.1", 1, {"*"}, {});
  EXPECT_TRUE(any.origin_allowed("https://whatever.example"));
}

TEST(HttpRateLimiter, TokenBucketRefillsOverTime) {
  RateLimiter limiter(10, 2);
  auto t0 = RateLimiter::Clock::now();
  EXPECT_TRUE(limiter.allow("k", t0));
  EXPECT_TRUE(limiter.allow("k", t0));
  double retry = 0;
  EXPECT_FALSE(limiter.allow("k", t0, &retry));
  EXPECT_NEAR(retry, 0.1, 1e-9);
  EXPECT_TRUE(limiter.allow("other", t0)) << "buckets are per key";
  EXPECT_TRUE(limiter.allow("k", t0 + std::chrono::milliseconds(100)));
  EXPECT_TRUE(RateLimiter(0).allow("k", t0)) << "0 disables the limit";
}

TEST(HttpWire, SseFraming) {
  EXPECT_EQ(sse_message("3_4", "{}"), "event: message\nid: 3_4\ndata: {}\n\n");
  EXPECT_EQ(sse_message("", "{}"), "event: message\ndata: {}\n\n");
  EXPECT_EQ(sse_priming("1_0", 1000), "id: 1_0\nretry: 1000\ndata: \n\n");
}

// Server-to-client requests (sampling, elicitation) that the HTTP transport routes to a call's stream.
class RecordingOutbound final : public jsonrpc::Outbound {
 public:
  void send(jsonrpc::OutboundMessage message) override {
    std::lock_guard lock(mutex);
    sent.emplace_back(std::move(message.text), message.related);
  }
  void close_stream(const jsonrpc::Id& related) override { closed.push_back(related); }
  std::mutex mutex;
  std::vector<std::pair<std::string, std::optional<jsonrpc::Id>>> sent;
  std::vector<jsonrpc::Id> closed;
};

TEST(JsonrpcServerRequests, CallSendsARequestAndRoutesItsAnswer) {
  RecordingOutbound out;
  jsonrpc::Endpoint endpoint(out, {[](jsonrpc::Request, jsonrpc::Reply reply) { reply.result({}); },
                                   [](jsonrpc::Notification) {}, [] { return false; }});
  nlohmann::json got;
  std::optional<jsonrpc::ErrorObject> got_error;
  int answers = 0;
  auto id =
      endpoint.call("sampling/createMessage", {{"maxTokens", 100}}, jsonrpc::Id(7),
                    [&](const nlohmann::json& result, const std::optional<jsonrpc::ErrorObject>& error) {
                      got = result;
                      got_error = error;
                      ++answers;
                    });
  ASSERT_EQ(out.sent.size(), 1u);
  auto request = nlohmann::json::parse(out.sent[0].first);
  EXPECT_EQ(request["method"], "sampling/createMessage");
  EXPECT_EQ(request["params"]["maxTokens"], 100);
  EXPECT_EQ(out.sent[0].second, jsonrpc::Id(7)) << "sent on the stream of the request it serves";
  nlohmann::json answer = {{"jsonrpc", "2.0"}, {"id", request["id"]}, {"result", {{"model", "m"}}}};
  endpoint.receive(answer.dump());
  EXPECT_EQ(answers, 1);
  EXPECT_EQ(got["model"], "m");
  EXPECT_FALSE(got_error);
  endpoint.receive(answer.dump());  // a second answer to the same id is ignored
  EXPECT_EQ(answers, 1);
  EXPECT_EQ(out.sent.size(), 1u) << "responses are never answered";

  auto second = endpoint.call("elicitation/create", nullptr, std::nullopt,
                              [&](const nlohmann::json&, const std::optional<jsonrpc::ErrorObject>& error) {
                                got_error = error;
                                ++answers;
                              });
  EXPECT_FALSE(second == id);
  nlohmann::json refusal = {{"jsonrpc", "2.0"},
                            {"id", second.to_json()},
                            {"error", {{"code", -32601}, {"message", "no elicitation here"}}}};
  endpoint.forget_call(id);
  endpoint.receive(refusal.dump());
  ASSERT_TRUE(got_error);
  EXPECT_EQ(got_error->code, -32601);
  EXPECT_EQ(got_error->message, "no elicitation here");
  endpoint.close_stream(jsonrpc::Id(7));
  ASSERT_EQ(out.closed.size(), 1u);
}

}  // namespace
}  // namespace memtrace::transport::http
