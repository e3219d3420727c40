// Host/Origin checks: small string rules, no URL library needed for the forms browsers send.
#include "transport/http/security.h"

#include <algorithm>

#include "transport/http/exchange.h"

namespace memtrace::transport::http {
namespace {

// Splits "host:port", "[v6]:port", "host" into host (brackets kept for v6) and port text.
void split_host_port(std::string_view value, std::string& host, std::string& port) {
  host.clear();
  port.clear();
  if (!value.empty() && value.front() == '[') {
    auto close = value.find(']');
    if (close == std::string_view::npos) {
      host = std::string(value);
      return;
    }
    host = std::string(value.substr(0, close + 1));
    if (close + 1 < value.size() && value[close + 1] == ':') port = std::string(value.substr(close + 2));
    return;
  }
  auto colon = value.rfind(':');
  if (colon != std::string_view::npos && value.find(':') == colon) {
    host = std::string(value.substr(0, colon));
    port = std::string(value.substr(colon + 1));
  } else {
    host = std::string(value);
  }
}

bool is_loopback_name(const std::string& host) {
  return host == "localhost" || host == "127.0.0.1" || host == "[::1]";
}

}  // namespace

bool is_loopback_host(std::string_view host) {
  std::string h = lower_ascii(host);
  if (h == "localhost" || h == "::1" || h == "[::1]") return true;
  return h.rfind("127.", 0) == 0;
}

OriginPolicy::OriginPolicy(std::string listen_host, std::uint16_t port,
                           std::vector<std::string> allowed_origins, std::vector<std::string> allowed_hosts)
    : listen_host_(std::move(listen_host)), port_(port), loopback_(is_loopback_host(listen_host_)) {
  for (auto& origin : allowed_origins) {
    std::string o = lower_ascii(origin);
    while (!o.empty() && o.back() == '/') o.pop_back();
    allowed_origins_.push_back(std::move(o));
  }
  for (auto& host : allowed_hosts) allowed_hosts_.push_back(lower_ascii(host));
}

bool OriginPolicy::host_allowed(std::string_view host_header) const {
  std::string value = lower_ascii(host_header);
  if (value.empty()) return false;  // HTTP/1.1 requires Host
  if (std::find(allowed_hosts_.begin(), allowed_hosts_.end(), value) != allowed_hosts_.end()) return true;
  std::string host, port;
  split_host_port(value, host, port);
  if (!allowed_hosts_.empty() &&
      std::find(allowed_hosts_.begin(), allowed_hosts_.end(), host) != allowed_hosts_.end()) {
    return true;
  }
  if (!loopback_) return allowed_hosts_.empty();
  if (!is_loopback_name(host)) return false;
  if (port.empty()) return port_ == 80;
  return port == std::to_string(port_);
}

bool OriginPolicy::origin_allowed(std::string_view origin_header) const {
  if (origin_header.empty()) return true;
  std::string origin = lower_ascii(origin_header);
  while (!origin.empty() && origin.back() == '/') origin.pop_back();
  for (const auto& allowed : allowed_origins_) {
    if (allowed == "*" || allowed == origin) return true;
  }
  // Same-origin loopback forms of this server only.
  const std::string kScheme = "http://";
  if (!loopback_ || origin.rfind(kScheme, 0) != 0) return false;
  std::string host, port;
  split_host_port(std::string_view(origin).substr(kScheme.size()), host, port);
  if (!is_loopback_name(host)) return false;
  if (port.empty()) return port_ == 80;
  return port == std::to_string(port_);
}

}  // namespace memtrace::transport::http
