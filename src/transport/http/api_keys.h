// API keys for the HTTP transport: making them ("mtk_" + 64 hex digits from the OS CSPRNG), hashing them
// for storage, and checking a presented token against the store.
#pragma once

#include <string>
#include <string_view>

#include "store/store.h"
#include "transport/http/http_server.h"

namespace memtrace::transport::http {

inline constexpr std::string_view kApiKeyPrefix = "mtk_";

struct NewApiKey {
  ApiKey record;      // what the store keeps: id, namespace, hash, label, created_at
  std::string token;  // the secret: shown once, never stored
};

NewApiKey make_api_key(const std::string& ns, const std::string& label, UnixMillis now);

// "mtk_" followed by 64 lower-case hex digits.
bool looks_like_api_key(std::string_view token);

// Checks tokens against `store` (by SHA-256); revoked keys are refused. The store must outlive the result.
Authenticator store_authenticator(Store& store);

}  // namespace memtrace::transport::http
