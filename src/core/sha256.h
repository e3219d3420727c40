// SHA-256, by OpenSSL's libcrypto, never by hand: API keys are kept as their hashes, and the REST API
// derives stable keys from content.
#pragma once

#include <string>
#include <string_view>

namespace memtrace {

// Lower-case hex of SHA-256(bytes).
std::string sha256_hex(std::string_view bytes);

}  // namespace memtrace
