// Origin and Host validation for every HTTP request (DNS-rebinding protection, MCP transports §Security).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace memtrace::transport::http {

// True for 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_host(std::string_view host);

// Decides which Host and Origin headers a server bound to one address accepts.
// Thread-safety: immutable after construction; safe to share.
class OriginPolicy {
 public:
  // `listen_host` and `port` as bound (the real port when 0 was asked for). `allowed_origins` are exact
  // origins ("https://app.example.com", scheme://host[:port]) or "*". `allowed_hosts` are Host header
  // values (with or without port) accepted in addition to the defaults.
  OriginPolicy(std::string listen_host, std::uint16_t port, std::vector<std::string> allowed_origins,
               std::vector<std::string> allowed_hosts);

  // Bound to loopback: only localhost, 127.0.0.1 and [::1] (with the bound port) unless listed.
  // Bound elsewhere: any Host unless --allow-host names some (authentication protects that case).
  bool host_allowed(std::string_view host_header) const;
  // An absent Origin is allowed (non-browser clients send none). A present one must be listed, or be a
  // loopback origin of this very server (http://localhost:PORT and its 127.0.0.1 / [::1] twins).
  bool origin_allowed(std::string_view origin_header) const;
  // Whether cross-origin browser access was configured (then CORS headers are sent to allowed origins).
  bool cors_enabled() const { return !allowed_origins_.empty(); }

 private:
  std::string listen_host_;
  std::uint16_t port_;
  bool loopback_;
  std::vector<std::string> allowed_origins_;
  std::vector<std::string> allowed_hosts_;
};

}  // namespace memtrace::transport::http
