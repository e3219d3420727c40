// SHA-256 through libcrypto's SHA-256 functions, linked statically (see CMakeLists.txt): the one
// digest the server needs costs a few KiB of code instead of loading all of libcrypto, whose symbol and
// relocation tables and relocated data made 1.4 MiB of every server's resident memory.
#include "core/sha256.h"

// The SHA256_* functions are deprecated in OpenSSL 3 in favour of EVP, whose provider machinery is what
// this avoids; they stay supported through the 3.x series.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

namespace memtrace {

std::string sha256_hex(std::string_view bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256_CTX context;
  SHA256_Init(&context);
  SHA256_Update(&context, bytes.data(), bytes.size());
  SHA256_Final(digest, &context);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(std::size_t{2} * SHA256_DIGEST_LENGTH);
  for (unsigned char byte : digest) {
    hex.push_back(kHex[byte >> 4]);
    hex.push_back(kHex[byte & 0x0f]);
  }
  return hex;
}

}  // namespace memtrace
