#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what it needs, builds, runs every test (unit, store on
# SQLite and Redis, end-to-end, the cluster suites on a private 6-node Redis Cluster (ctest -L cluster, each
# bounded by its ctest TIMEOUT), interop with the official MCP clients), then the unit, store and
# end-to-end suites again under AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

scripts/install-deps.sh
command -v redis-server >/dev/null || { echo "test: redis-server is missing; the Redis tests cannot run" >&2; exit 1; }
command -v redis-cli >/dev/null || { echo "test: redis-cli is missing; the Redis Cluster tests cannot run" >&2; exit 1; }
tests/interop/install.sh

echo "== build (RelWithDebInfo)"
BUILD_DIR=build scripts/build.sh
echo "== tests"
ctest --test-dir build --output-on-failure -j2 --timeout 600

echo "== build (AddressSanitizer + UndefinedBehaviorSanitizer)"
BUILD_TYPE=Debug BUILD_DIR=build-asan scripts/build.sh -DMEMTRACE_SANITIZE=ON -DMEMTRACE_BUILD_BENCH=OFF
echo "== tests under sanitizers"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-asan --output-on-failure -j2 --timeout 900 -L 'unit|store|e2e'

echo "== all tests passed in $(( $(date +%s) - start )) s"
