// SHA-256 for hashing API keys at rest, by OpenSSL's libcrypto (EVP), never by hand.
#pragma once

#include <string>
#include <string_view>

namespace memtrace::transport::http {

// Lower-case hex of SHA-256(bytes).
std::string sha256_hex(std::string_view bytes);

}  // namespace memtrace::transport::http
