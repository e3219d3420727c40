// Whole-store enumerations of the Redis store, for export and stats (never on the request path).
#include "store/redis/redis_export.h"

#include <algorithm>

#include "store/redis/redis_claims.h"
#include "store/redis/redis_keys.h"

namespace memtrace::redis {
namespace {

// A glob pattern matching the keys that start with `literal` and go on with anything: SCAN's MATCH
// treats * ? [ ] and \ specially, and a namespace may contain them.
std::string prefix_pattern(std::string_view literal) {
  std::string pattern;
  for (char c : literal) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') pattern += '\\';
    pattern += c;
  }
  return pattern + '*';
}

// The suffixes after `prefix` of every key starting with it, sorted.
Result<std::vector<std::string>> scan_suffixes(Connection& connection, const std::string& prefix) {
  const std::string pattern = prefix_pattern(prefix);
  std::vector<std::string> suffixes;
  std::string cursor = "0";
  do {
    auto reply = connection.command({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
    if (!reply) return tl::unexpected(reply.error());
    const redisReply* r = reply->get();
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[1]->type != REDIS_REPLY_ARRAY) {
      return fail(ErrorCode::kInternal, "redis store: SCAN answered in an unexpected shape");
    }
    cursor = std::string(reply_string(r->element[0]));
    for (std::size_t i = 0; i < r->element[1]->elements; ++i) {
      suffixes.emplace_back(reply_string(r->element[1]->element[i]).substr(prefix.size()));
    }
  } while (cursor != "0");
  // SCAN may return a key more than once.
  std::sort(suffixes.begin(), suffixes.end());
  suffixes.erase(std::unique(suffixes.begin(), suffixes.end()), suffixes.end());
  return suffixes;
}

}  // namespace

Result<std::vector<std::string>> list_namespaces(Connection& connection) {
  auto reply = connection.command({"SMEMBERS", kNamespacesKey});
  if (!reply) return tl::unexpected(reply.error());
  std::vector<std::string> namespaces;
  for (std::size_t i = 0; i < (*reply)->elements; ++i) {
    namespaces.emplace_back(reply_string((*reply)->element[i]));
  }
  std::sort(namespaces.begin(), namespaces.end());
  return namespaces;
}

Result<std::vector<Agent>> list_agents(Connection& connection, const std::string& ns) {
  const std::string prefix = namespace_prefix(ns) + agent_key("");
  auto ids = scan_suffixes(connection, prefix);
  if (!ids) return tl::unexpected(ids.error());
  std::vector<Agent> agents;
  for (const auto& id : *ids) {
    auto reply = connection.command({"HGETALL", prefix + id});
    if (!reply) return tl::unexpected(reply.error());
    const redisReply* fields = reply->get();
    if (fields->type != REDIS_REPLY_ARRAY || fields->elements == 0) continue;  // gone meanwhile
    Agent agent;
    agent.ns = ns;
    agent.id = id;
    for (std::size_t i = 0; i + 1 < fields->elements; i += 2) {
      const auto field = reply_string(fields->element[i]);
      const auto value = reply_string(fields->element[i + 1]);
      if (field == "d") agent.description = value;
      if (field == "ca") agent.created_at = parse_int64(value);
    }
    agents.push_back(std::move(agent));
  }
  return agents;
}

Result<std::vector<TaskClaim>> list_task_claims(Connection& connection, ClaimScripts& scripts,
                                                const std::string& ns, UnixMillis now) {
  // The key the claim scripts build as P .. 'tk:' .. task_id (redis_claims.h).
  auto task_ids = scan_suffixes(connection, namespace_prefix(ns) + "tk:");
  if (!task_ids) return tl::unexpected(task_ids.error());
  std::vector<TaskClaim> claims;
  for (const auto& task_id : *task_ids) {
    auto claim = get_task_claim(connection, scripts, ns, task_id, now);
    if (!claim) return tl::unexpected(claim.error());
    if (*claim) claims.push_back(std::move(**claim));
  }
  return claims;
}

Result<std::uint64_t> used_memory(Connection& connection) {
  auto reply = connection.command({"INFO", "memory"});
  if (!reply) return tl::unexpected(reply.error());
  const std::string_view info = reply_string(reply->get());
  constexpr std::string_view kField = "used_memory:";
  for (std::size_t at = 0; at < info.size();) {
    auto end = info.find('\n', at);
    if (end == std::string_view::npos) end = info.size();
    auto line = info.substr(at, end - at);
    if (line.starts_with(kField)) return static_cast<std::uint64_t>(parse_int64(line.substr(kField.size())));
    at = end + 1;
  }
  return fail(ErrorCode::kInternal, "redis store: INFO memory has no used_memory");
}

}  // namespace memtrace::redis
