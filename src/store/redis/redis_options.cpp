// Parses redis:// and redis+unix:// URLs into RedisOptions, and describes options without secrets.
#include "store/redis/redis_options.h"

#include <charconv>
#include <optional>

#include "core/percent_encoding.h"

namespace memtrace {
namespace {

std::optional<int> parse_int(std::string_view text, int min, int max) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max)
    return std::nullopt;
  return value;
}

tl::unexpected<Error> bad_url(std::string_view url, std::string_view why) {
  std::string shown(url);
  // Never echo a password back into logs.
  if (auto at = shown.rfind('@'); at != std::string::npos) {
    auto scheme_end = shown.find("://");
    if (scheme_end != std::string::npos && at > scheme_end)
      shown.replace(scheme_end + 3, at - scheme_end - 3, "***");
  }
  return fail(ErrorCode::kInvalidArgument, "--store " + shown + ": " + std::string(why) +
                                               "; expected redis://[user:password@]host[:port][/db] or "
                                               "redis+unix://[user:password@]/path/redis.sock[?db=N] or "
                                               "redis+cluster://[user:password@]host:port[,host:port...]");
}

// Splits "user:password@rest" off `rest`; user and password are percent-decoded.
Result<void> take_userinfo(std::string_view url, std::string_view& rest, RedisOptions& options) {
  auto at = rest.rfind('@');
  if (at == std::string_view::npos) return {};
  std::string_view info = rest.substr(0, at);
  rest.remove_prefix(at + 1);
  auto colon = info.find(':');
  std::string_view user = colon == std::string_view::npos ? info : info.substr(0, colon);
  std::string_view password = colon == std::string_view::npos ? std::string_view{} : info.substr(colon + 1);
  auto decoded_user = percent_decode(user);
  auto decoded_password = percent_decode(password);
  if (!decoded_user || !decoded_password) return bad_url(url, "bad percent-encoding in user or password");
  if (colon == std::string_view::npos) {
    // "redis://secret@host" is the common shorthand for a password alone.
    options.password = *decoded_user;
  } else {
    options.user = *decoded_user;
    options.password = *decoded_password;
  }
  return {};
}

}  // namespace

Result<RedisOptions> parse_redis_url(std::string_view url) {
  RedisOptions options;
  constexpr std::string_view kTcp = "redis://";
  constexpr std::string_view kUnix = "redis+unix://";
  constexpr std::string_view kCluster = "redis+cluster://";
  if (url.rfind("rediss://", 0) == 0) {
    return bad_url(url, "TLS (rediss://) is not supported by this build (hiredis 0.14 has no TLS)");
  }
  if (url.rfind(kUnix, 0) == 0) {
    std::string_view rest = url.substr(kUnix.size());
    std::string_view query;
    if (auto q = rest.find('?'); q != std::string_view::npos) {
      query = rest.substr(q + 1);
      rest = rest.substr(0, q);
    }
    if (auto ok = take_userinfo(url, rest, options); !ok) return tl::unexpected(ok.error());
    if (rest.empty() || rest.front() != '/') return bad_url(url, "the socket path must be absolute");
    auto path = percent_decode(rest);
    if (!path) return bad_url(url, "bad percent-encoding in the socket path");
    options.unix_path = *path;
    while (!query.empty()) {
      auto amp = query.find('&');
      std::string_view pair = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
      if (pair.rfind("db=", 0) == 0) {
        auto db = parse_int(pair.substr(3), 0, 1 << 20);
        if (!db) return bad_url(url, "db must be a non-negative integer");
        options.db = *db;
      } else if (!pair.empty()) {
        return bad_url(url, "unknown parameter \"" + std::string(pair) + "\" (only db=N is understood)");
      }
    }
    return options;
  }
  if (url.rfind(kCluster, 0) == 0) {
    std::string_view rest = url.substr(kCluster.size());
    if (rest.find('?') != std::string_view::npos) return bad_url(url, "query parameters are not understood");
    if (auto ok = take_userinfo(url, rest, options); !ok) return tl::unexpected(ok.error());
    if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    if (rest.find('/') != std::string_view::npos) return bad_url(url, "a cluster has only database 0");
    while (!rest.empty()) {
      auto comma = rest.find(',');
      std::string_view node = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      std::string_view host = node;
      std::string_view port = "6379";
      if (!node.empty() && node.front() == '[') {
        auto close = node.find(']');
        if (close == std::string_view::npos) return bad_url(url, "unclosed [ in an IPv6 host");
        host = node.substr(1, close - 1);
        if (close + 1 < node.size()) {
          if (node[close + 1] != ':') return bad_url(url, "expected :port after ]");
          port = node.substr(close + 2);
        }
      } else if (auto colon = node.rfind(':'); colon != std::string_view::npos) {
        host = node.substr(0, colon);
        port = node.substr(colon + 1);
      }
      auto p = parse_int(port, 1, 65535);
      if (host.empty()) return bad_url(url, "a seed node's host is missing");
      if (!p) return bad_url(url, "a seed node's port must be 1..65535");
      options.cluster_seeds.emplace_back(std::string(host), *p);
    }
    if (options.cluster_seeds.empty()) return bad_url(url, "name at least one seed node host:port");
    options.host = options.cluster_seeds.front().first;
    options.port = options.cluster_seeds.front().second;
    return options;
  }
  if (url.rfind(kTcp, 0) != 0) return bad_url(url, "not a redis URL");
  std::string_view rest = url.substr(kTcp.size());
  if (rest.find('?') != std::string_view::npos) return bad_url(url, "query parameters are not understood");
  std::string_view path;
  // The userinfo may contain '/', so find the authority's end after the last '@'.
  auto at = rest.rfind('@');
  auto slash = rest.find('/', at == std::string_view::npos ? 0 : at);
  if (slash != std::string_view::npos) {
    path = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  if (auto ok = take_userinfo(url, rest, options); !ok) return tl::unexpected(ok.error());
  std::string_view host = rest;
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string_view::npos) return bad_url(url, "unclosed [ in an IPv6 host");
    host = rest.substr(1, close - 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad_url(url, "expected :port after ]");
      port = after.substr(1);
    }
  } else if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty()) return bad_url(url, "the host is missing");
  options.host = std::string(host);
  if (!port.empty()) {
    auto p = parse_int(port, 1, 65535);
    if (!p) return bad_url(url, "the port must be 1..65535");
    options.port = *p;
  }
  if (!path.empty()) {
    auto db = parse_int(path, 0, 1 << 20);
    if (!db) return bad_url(url, "the path must be a database number, e.g. /0");
    options.db = *db;
  }
  return options;
}

std::string describe_redis(const RedisOptions& options) {
  std::string user = options.user.empty() ? "" : options.user + "@";
  if (!options.cluster_seeds.empty()) {
    std::string seeds;
    for (const auto& [host, port] : options.cluster_seeds) {
      if (!seeds.empty()) seeds += ",";
      seeds += (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
    }
    return "redis+cluster://" + user + seeds;
  }
  if (!options.unix_path.empty()) {
    return "redis+unix://" + user + options.unix_path + "?db=" + std::to_string(options.db);
  }
  std::string host = options.host.find(':') != std::string::npos ? "[" + options.host + "]" : options.host;
  return "redis://" + user + host + ":" + std::to_string(options.port) + "/" + std::to_string(options.db);
}

}  // namespace memtrace
