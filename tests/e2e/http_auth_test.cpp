// API keys over HTTP: the keys subcommand, 401 without a valid key, revocation, the per-key rate limit,
// and tenant isolation: a client holding key A can neither read, change nor hear about anything in key
// B's namespace.
#include <signal.h>

#include <gtest/gtest.h>

#include "support/http_client.h"
#include "support/temp_dir.h"

namespace memtrace::testing {
namespace {

using nlohmann::json;

// Runs `memtrace-mcp --store STORE keys ARGS...`; returns its stdout (the first line for create).
std::string keys_command(const std::string& store, std::vector<std::string> args, int expect_code = 0) {
  std::vector<std::string> argv = {MEMTRACE_BINARY, "--store", store, "keys"};
  argv.insert(argv.end(), args.begin(), args.end());
  ChildProcess process(argv);
  std::string out;
  while (auto line = process.read_line(std::chrono::seconds(20))) out += *line + "\n";
  auto code = process.wait(std::chrono::seconds(20));
  EXPECT_EQ(code, expect_code) << process.stderr_text();
  return out;
}

struct KeyedServer {
  TempDir dir{"memtrace-http-auth"};
  std::string store = "sqlite:" + dir.file("memtrace.db");
  std::string key_a = create_api_key(store, "tenant-a");
  std::string key_b = create_api_key(store, "tenant-b");
};

TEST(HttpAuth, KeysCommandCreatesListsAndRevokes) {
  KeyedServer keys;
  EXPECT_EQ(keys.key_a.rfind("mtk_", 0), 0u);
  EXPECT_EQ(keys.key_a.size(), 68u);
  std::string listed = keys_command(keys.store, {"list"});
  EXPECT_NE(listed.find("namespace=tenant-a"), std::string::npos) << listed;
  EXPECT_NE(listed.find("namespace=tenant-b"), std::string::npos) << listed;
  EXPECT_EQ(listed.find(keys.key_a), std::string::npos) << "secrets are never listed";
  std::string only_a = keys_command(keys.store, {"list", "--namespace", "tenant-a"});
  EXPECT_EQ(only_a.find("tenant-b"), std::string::npos) << only_a;
  std::string id = only_a.substr(0, only_a.find('\t'));
  keys_command(keys.store, {"revoke", id});
  EXPECT_NE(keys_command(keys.store, {"list", "--namespace", "tenant-a"}).find("revoked="),
            std::string::npos);
  keys_command(keys.store, {"revoke", "no-such-key"}, 1);
}

TEST(HttpAuth, MissingOrBadKeyIs401WithBearerChallenge) {
  KeyedServer keys;
  HttpServerProcess server({"--store", keys.store, "--require-auth"});
  McpHttpSession anonymous(server.port());
  auto reply = anonymous.initialize();
  EXPECT_EQ(reply.status, 401);
  EXPECT_EQ(reply.header("www-authenticate").rfind("Bearer", 0), 0u);
  McpHttpSession wrong(server.port(), bearer("mtk_" + std::string(64, '0')));
  reply = wrong.initialize();
  EXPECT_EQ(reply.status, 401);
  EXPECT_NE(reply.header("www-authenticate").find("invalid_token"), std::string::npos);
  HttpClient legacy(server.port());
  EXPECT_EQ(legacy.request("GET", "/sse", {{"Accept", "text/event-stream"}}).status, 401);
  McpHttpSession good(server.port(), bearer(keys.key_a));
  EXPECT_EQ(good.initialize().status, 200);
  // Health checks need no key.
  EXPECT_EQ(legacy.request("GET", "/healthz").status, 200);
}

TEST(HttpAuth, RevokedKeyStopsWorking) {
  KeyedServer keys;
  HttpServerProcess server({"--store", keys.store, "--require-auth"});
  McpHttpSession session(server.port(), bearer(keys.key_a));
  ASSERT_EQ(session.initialize().status, 200);
  std::string listed = keys_command(keys.store, {"list", "--namespace", "tenant-a"});
  keys_command(keys.store, {"revoke", listed.substr(0, listed.find('\t'))});
  // Verified keys are cached for a second: poll (bounded) until the revocation shows.
  int status = 200;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (status != 401 && std::chrono::steady_clock::now() < deadline) {
    HttpClient client(server.port());
    Headers headers = session.headers();
    status = client.request("POST", "/mcp", headers, R"({"jsonrpc":"2.0","id":1,"method":"ping"})").status;
  }
  EXPECT_EQ(status, 401);
}

TEST(HttpAuth, RateLimitAnswers429) {
  KeyedServer keys;
  // Half a request per second, bursts of one: the second request in a row is refused.
  HttpServerProcess server({"--store", keys.store, "--require-auth", "--rate-limit", "0.5"});
  McpHttpSession session(server.port(), bearer(keys.key_a));
  HttpClient client(server.port());
  std::string init =
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",)"
      R"("capabilities":{},"clientInfo":{"name":"t","version":"1"}}})";
  ASSERT_EQ(client.request("POST", "/mcp", session.headers(), init).status, 200);
  auto reply = client.request("POST", "/mcp", session.headers(), init);
  EXPECT_EQ(reply.status, 429);
  EXPECT_FALSE(reply.header("retry-after").empty());
  // Another key has its own bucket.
  McpHttpSession other(server.port(), bearer(keys.key_b));
  HttpClient client_b(server.port());
  EXPECT_EQ(client_b.request("POST", "/mcp", other.headers(), init).status, 200);
}

TEST(HttpAuth, TenantsAreIsolated) {
  KeyedServer keys;
  HttpServerProcess server({"--store", keys.store, "--require-auth"});
  McpHttpSession a(server.port(), bearer(keys.key_a));
  McpHttpSession b(server.port(), bearer(keys.key_b));
  ASSERT_EQ(a.initialize().status, 200);
  ASSERT_EQ(b.initialize().status, 200);

  // A listens on its GET stream and watches its own current session.
  HttpClient listener(server.port());
  Headers get_headers = bearer(keys.key_a);
  get_headers.emplace_back("Accept", "text/event-stream");
  get_headers.emplace_back("Mcp-Session-Id", a.session_id());
  ASSERT_EQ(listener.begin("GET", "/mcp", get_headers).status, 200);
  ASSERT_TRUE(
      a.call("resources/subscribe", {{"uri", "memtrace://sessions/current/context"}}).contains("result"));
  auto a_first = a.call_tool("memtrace_remember", {{"content", "alpha plan: ship on friday"}});
  ASSERT_FALSE(a_first.value("isError", false)) << a_first.dump();
  std::string a_session = a_first["structuredContent"]["session_id"];
  // Reads A's stream until `updates` resources/updated and `lists` list_changed have arrived.
  auto read_until = [&](int updates, int lists) {
    std::vector<json> seen;
    while (updates > 0 || lists > 0) {
      auto event = listener.next_event(std::chrono::seconds(5));
      if (!event) break;
      if (event->data.empty()) continue;
      seen.push_back(json::parse(event->data));
      std::string method = seen.back().value("method", "");
      if (method == "notifications/resources/updated") --updates;
      if (method == "notifications/resources/list_changed") --lists;
    }
    return seen;
  };
  // A's first write created its session (list_changed, and an update of its context) and then stored
  // the memory (another update). After these, A's stream is quiet.
  ASSERT_EQ(read_until(2, 1).size(), 3u);
  // B works in its own namespace.
  auto b_stored = b.call_tool("memtrace_remember", {{"content", "bravo secret: the vault code"}});
  ASSERT_FALSE(b_stored.value("isError", false)) << b_stored.dump();
  std::string b_memory = b_stored["structuredContent"]["id"];
  std::string b_session = b_stored["structuredContent"]["session_id"];
  auto b_new = b.call_tool("memtrace_session_create", {{"metadata", {{"account_id", "b-1"}}}});
  ASSERT_FALSE(b_new.value("isError", false)) << b_new.dump();

  // A cannot read it...
  auto searched = a.call_tool("memtrace_search", {{"content_contains", "vault"}});
  EXPECT_TRUE(searched["structuredContent"]["memories"].empty()) << searched.dump();
  auto recalled = a.call_tool("memtrace_recall", {{"session_id", b_session}});
  EXPECT_TRUE(recalled.value("isError", false) || recalled["structuredContent"]["memories"].empty())
      << recalled.dump();
  auto read = a.call("resources/read", {{"uri", "memtrace://sessions/" + b_session + "/context"}});
  EXPECT_TRUE(read.contains("error")) << read.dump();
  auto listed = a.call("resources/list");
  EXPECT_EQ(listed.dump().find(b_session), std::string::npos);
  auto subscribe = a.call("resources/subscribe", {{"uri", "memtrace://sessions/" + b_session + "/context"}});
  EXPECT_TRUE(subscribe.contains("error")) << subscribe.dump();
  // ...nor change it...
  auto forgot = a.call_tool("memtrace_forget", {{"id", b_memory}});
  EXPECT_TRUE(forgot.value("isError", false)) << forgot.dump();
  auto written = a.call_tool("memtrace_remember", {{"content", "intrusion"}, {"session_id", b_session}});
  EXPECT_TRUE(written.value("isError", false)) << written.dump();
  // ...nor use B's session id.
  HttpClient hijack(server.port());
  Headers hijack_headers = a.headers();
  for (auto& [name, value] : hijack_headers) {
    if (name == "Mcp-Session-Id") value = b.session_id();
  }
  EXPECT_EQ(
      hijack.request("POST", "/mcp", hijack_headers, R"({"jsonrpc":"2.0","id":1,"method":"ping"})").status,
      404);
  // B's memory is intact.
  auto still = b.call_tool("memtrace_search", {{"content_contains", "vault"}});
  EXPECT_EQ(still["structuredContent"]["memories"].size(), 1u) << still.dump();

  // ...nor hear about it. B created two sessions and wrote twice in its namespace before A's next
  // write, and the store reports changes in order: a leak would show up before A's own update, which
  // (a write into an existing session) is exactly one resources/updated.
  auto a_second = a.call_tool("memtrace_remember", {{"content", "alpha: second note"}});
  ASSERT_FALSE(a_second.value("isError", false));
  EXPECT_EQ(a_second["structuredContent"]["session_id"], a_session);
  auto seen = read_until(1, 0);
  ASSERT_EQ(seen.size(), 1u) << json(seen).dump();
  EXPECT_EQ(seen[0]["method"], "notifications/resources/updated");
  EXPECT_EQ(seen[0]["params"]["uri"], "memtrace://sessions/current/context");
}

TEST(HttpAuth, NonLoopbackAddressRequiresKeys) {
  KeyedServer keys;
  // Bound to every interface; the test only ever connects to 127.0.0.1.
  ChildProcess process(
      {MEMTRACE_BINARY, "--transport", "http", "--listen", "0.0.0.0:0", "--store", keys.store});
  std::string log;
  std::uint16_t port = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!port && std::chrono::steady_clock::now() < deadline) {
    log += process.stderr_text();
    auto at = log.find("listening on http://0.0.0.0:");
    if (at != std::string::npos && log.find("/mcp", at) != std::string::npos) {
      port = static_cast<std::uint16_t>(
          std::stoi(log.substr(at + std::string("listening on http://0.0.0.0:").size())));
    }
    if (process.wait(std::chrono::milliseconds(10))) break;
  }
  ASSERT_NE(port, 0) << log;
  McpHttpSession anonymous(port);
  EXPECT_EQ(anonymous.initialize().status, 401);
  McpHttpSession keyed(port, bearer(keys.key_a));
  EXPECT_EQ(keyed.initialize().status, 200);
  process.kill(SIGTERM);
  EXPECT_EQ(process.wait(std::chrono::seconds(20)), 0);
}

}  // namespace
}  // namespace memtrace::testing
