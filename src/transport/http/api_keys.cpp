// API key creation and verification. Tokens carry 256 random bits, so an unsalted SHA-256 is enough to
// make a stolen database useless for authenticating (unlike passwords, there is nothing to brute-force).
#include "transport/http/api_keys.h"

#include "core/ids.h"
#include "core/sha256.h"

namespace memtrace::transport::http {

NewApiKey make_api_key(const std::string& ns, const std::string& label, UnixMillis now, bool read_only) {
  NewApiKey key;
  key.token = std::string(read_only ? kReadOnlyApiKeyPrefix : kApiKeyPrefix) + random_hex(32);
  key.record.id = random_hex(8);
  key.record.ns = ns;
  key.record.hash = sha256_hex(key.token);
  key.record.label = label;
  key.record.created_at = now;
  return key;
}

bool is_read_only_api_key(std::string_view token) {
  return token.substr(0, kReadOnlyApiKeyPrefix.size()) == kReadOnlyApiKeyPrefix;
}

bool looks_like_api_key(std::string_view token) {
  static_assert(kApiKeyPrefix.size() == kReadOnlyApiKeyPrefix.size());
  if (token.size() != kApiKeyPrefix.size() + 64 ||
      (token.substr(0, kApiKeyPrefix.size()) != kApiKeyPrefix && !is_read_only_api_key(token))) {
    return false;
  }
  for (char c : token.substr(kApiKeyPrefix.size())) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Authenticator store_authenticator(Store& store) {
  return [&store](const std::string& token) -> Result<std::optional<Principal>> {
    if (!looks_like_api_key(token)) return std::optional<Principal>();
    auto found = store.find_api_key_by_hash(sha256_hex(token));
    if (!found) return tl::unexpected(found.error());
    if (!*found || (*found)->revoked_at) return std::optional<Principal>();
    return std::optional<Principal>(Principal{(*found)->id, (*found)->ns, is_read_only_api_key(token)});
  };
}

}  // namespace memtrace::transport::http
