#!/usr/bin/env bash
# Installs everything memtrace-mcp needs to build, test and benchmark on Debian 12.
# Idempotent: packages already present are left alone; apt-get runs only when something is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libboost1.81-dev libboost-url1.81-dev          # Asio + Beast (header-only), Boost.URL
  nlohmann-json3-dev libvalijson-dev libexpected-dev libcli11-dev
  libspdlog-dev libfmt-dev libsqlite3-dev libhiredis-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  redis-server redis-tools                       # the Redis store's tests start their own server
  clang-format clang-tidy
  clang libclang-rt-14-dev                       # the sanitizer build and the fuzz harnesses: clang, and its
                                                 # ASan/UBSan/libFuzzer runtimes (libclang_rt.fuzzer-x86_64.a)
  help2man zip                                   # the man page (from --help), the .mcpb bundle
  python3                                        # examples/rest and their tests (standard library only)
  chromium                                       # the memory browser's tests (tests/browser, headless)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# Interop tests run the official TypeScript SDK client; this machine image ships Node and npm
# outside Debian's packaging (Debian's npm conflicts with it), so only install them when absent.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# redis-server's Debian package starts a system service on port 6379; our tests never use it.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet redis-server 2>/dev/null; then
  systemctl stop redis-server || true
fi
