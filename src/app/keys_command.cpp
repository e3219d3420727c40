// The keys subcommand: create prints the secret once (it is never stored), list prints one key per line,
// revoke marks a key revoked (servers stop accepting it within a second).
#include "app/keys_command.h"

#include <cstdio>
#include <ctime>

#include <spdlog/spdlog.h>

#include "app/open_store.h"
#include "core/clock.h"
#include "transport/http/api_keys.h"

namespace memtrace::app {
namespace {

std::string format_time(UnixMillis ms) {
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

int fail_with(const std::string& what, const Error& error) {
  spdlog::error("{}: {}", what, error.message);
  return 1;
}

}  // namespace

int run_keys_command(const Config& config) {
  auto store = open_store(config.store);
  if (!store) return fail_with("cannot open the store", store.error());
  SystemClock clock;
  const KeysCommand& keys = config.keys;

  if (keys.action == "create") {
    if (keys.ns.empty()) {
      spdlog::error("keys create needs --namespace");
      return 2;
    }
    auto key = transport::http::make_api_key(keys.ns, keys.label, clock.now_ms(), keys.read_only);
    if (auto put = (*store)->put_api_key(key.record); !put)
      return fail_with("cannot store the key", put.error());
    // `keys` is a one-shot command, not an MCP server: stdout is the user's, so that
    // `TOKEN=$(memtrace-mcp keys create ...)` captures the secret and nothing else.
    std::printf("%s\n", key.token.c_str());
    std::fflush(stdout);
    spdlog::info("created {}key {} for namespace \"{}\"; the secret above is shown only now",
                 keys.read_only ? "read-only " : "", key.record.id, key.record.ns);
    return 0;
  }
  if (keys.action == "list") {
    std::optional<std::string> ns;
    if (!keys.ns.empty()) ns = keys.ns;
    auto listed = (*store)->list_api_keys(ns);
    if (!listed) return fail_with("cannot list keys", listed.error());
    for (const auto& key : *listed) {
      std::printf("%s\tnamespace=%s\tcreated=%s\t%s\t%s\n", key.id.c_str(), key.ns.c_str(),
                  format_time(key.created_at).c_str(),
                  key.revoked_at ? ("revoked=" + format_time(*key.revoked_at)).c_str() : "active",
                  key.label.c_str());
    }
    std::fflush(stdout);
    return 0;
  }
  if (keys.action == "revoke") {
    auto revoked = (*store)->revoke_api_key(keys.id, clock.now_ms());
    if (!revoked) return fail_with("cannot revoke the key", revoked.error());
    if (!*revoked) {
      spdlog::error("no key with id {}", keys.id);
      return 1;
    }
    spdlog::info("revoked key {}", keys.id);
    return 0;
  }
  spdlog::error("unknown keys action \"{}\"", keys.action);
  return 2;
}

}  // namespace memtrace::app
