// API keys for the HTTP transport: making them ("mtk_" + 64 hex digits from the OS CSPRNG), hashing them
// for storage, and checking a presented token against the store.
#pragma once

#include <string>
#include <string_view>

#include "store/store.h"
#include "transport/http/http_server.h"

namespace memtrace::transport::http {

inline constexpr std::string_view kApiKeyPrefix = "mtk_";
// A read-only key: it may read, never write. The permission lives in the token itself, under the hash
// the store keeps, so the store needs no column for it and a holder cannot turn it into a writing key
// (another prefix is another token, whose hash the store does not know).
inline constexpr std::string_view kReadOnlyApiKeyPrefix = "mtr_";

struct NewApiKey {
  ApiKey record;      // what the store keeps: id, namespace, hash, label, created_at
  std::string token;  // the secret: shown once, never stored
};

NewApiKey make_api_key(const std::string& ns, const std::string& label, UnixMillis now,
                       bool read_only = false);

// "mtk_" (or "mtr_", read-only) followed by 64 lower-case hex digits.
bool looks_like_api_key(std::string_view token);
bool is_read_only_api_key(std::string_view token);

// Checks tokens against `store` (by SHA-256); revoked keys are refused. The store must outlive the result.
Authenticator store_authenticator(Store& store);

}  // namespace memtrace::transport::http
