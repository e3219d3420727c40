#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what it needs, builds, runs every test (unit, store on
# SQLite and Redis, end-to-end, the cluster suites on a private 6-node Redis Cluster (ctest -L cluster, each
# bounded by its ctest TIMEOUT), interop with the official MCP clients), then the unit, store and
# end-to-end suites again under AddressSanitizer + UndefinedBehaviorSanitizer (clang), then each fuzz
# harness for a bounded time, then the concurrency suites under ThreadSanitizer. The memory browser's
# tests (ctest -L browser) run headless Chromium on the first build's binary.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

scripts/install-deps.sh
command -v redis-server >/dev/null || { echo "test: redis-server is missing; the Redis tests cannot run" >&2; exit 1; }
command -v redis-cli >/dev/null || { echo "test: redis-cli is missing; the Redis Cluster tests cannot run" >&2; exit 1; }
tests/interop/install.sh
tests/browser/install.sh

# CI builds three trees from nothing, so they are unity builds (CMake joins a target's sources in batches
# of 8): the heavy headers and template instances are compiled once a batch instead of once a file,
# about 2.5 times less compile time. Developers' own builds (scripts/build.sh) stay per file.
unity=(-DCMAKE_UNITY_BUILD=ON)

echo "== build (RelWithDebInfo)"
build_start=$(date +%s)
BUILD_DIR=build scripts/build.sh "${unity[@]}"
echo "== build took $(( $(date +%s) - build_start )) s"
echo "== tests"
ctest --test-dir build --output-on-failure -j2 --timeout 600

# The sanitizer build is clang's, instrumented for libFuzzer too (MEMTRACE_FUZZ): the same build runs the
# suites and the fuzz harnesses (tests/fuzz), so fuzzing costs no third build.
echo "== build (AddressSanitizer + UndefinedBehaviorSanitizer, clang, libFuzzer harnesses)"
# A build directory configured with another compiler is configured afresh.
if [ -f build-asan/CMakeCache.txt ] && ! grep -q '^CMAKE_CXX_COMPILER:[A-Z]*=.*clang++' build-asan/CMakeCache.txt; then
  rm -rf build-asan
fi
asan_build_start=$(date +%s)
harnesses=(mcp_dispatch_fuzz http_request_fuzz stdio_jsonrpc_fuzz time_text_fuzz context_render_fuzz)
CC=clang CXX=clang++ BUILD_TYPE=Debug BUILD_DIR=build-asan TARGETS="unit_tests store_tests e2e_tests ${harnesses[*]}" \
  scripts/build.sh "${unity[@]}" -DMEMTRACE_SANITIZE=ON -DMEMTRACE_FUZZ=ON -DMEMTRACE_BUILD_BENCH=OFF
echo "== sanitizer build took $(( $(date +%s) - asan_build_start )) s"
echo "== tests under sanitizers (and every fuzz seed, once)"
# The end-to-end suites run once, on SQLite: their second run on Redis (redis.*) drives the same server
# code, and the Redis store itself runs under the sanitizers in the store suite.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-asan --output-on-failure -j2 --timeout 900 -L 'unit|store|e2e|fuzz' -E '^redis\.'

# Each harness fuzzes a copy of its seed corpus for FUZZ_SECONDS (two at a time); a crash, leak or
# timeout fails the run and prints the input (scripts/fuzz.sh).
echo "== fuzzing (${FUZZ_SECONDS:=30} s per harness)"
fuzz_start=$(date +%s)
fuzz_logs=$(mktemp -d "${TMPDIR:-/tmp}/memtrace-fuzz.XXXXXX")
fuzz_failed=()
for ((i = 0; i < ${#harnesses[@]}; i += 2)); do
  pids=()
  for h in "${harnesses[@]:i:2}"; do
    FUZZ_NO_BUILD=1 BUILD_DIR=build-asan FUZZ_WORK_DIR="$fuzz_logs/$h" \
      scripts/fuzz.sh "$h" "$FUZZ_SECONDS" >"$fuzz_logs/$h.log" 2>&1 &
    pids+=("$!:$h")
  done
  for entry in "${pids[@]}"; do
    h=${entry#*:}
    if wait "${entry%%:*}"; then
      echo "fuzz: $h: $(grep -o 'stat::number_of_executed_units: [0-9]*' "$fuzz_logs/$h.log" | grep -o '[0-9]*$') executions, no findings"
    else
      fuzz_failed+=("$h")
      tail -n 80 "$fuzz_logs/$h.log"
    fi
  done
done
echo "== fuzzing took $(( $(date +%s) - fuzz_start )) s"
if ((${#fuzz_failed[@]})); then
  echo "test: fuzzing found failures in: ${fuzz_failed[*]} (logs in $fuzz_logs)" >&2
  exit 1
fi
rm -rf "$fuzz_logs"

echo "== build (ThreadSanitizer): the concurrency suites"
# Only what the concurrency suites need, and only those suites: threads in the store (claims, watchers,
# concurrent writers on SQLite and Redis), lanes and the stdio relay, HTTP sessions under load, and
# subscriptions across processes. A race anywhere, in a test or in a server it starts, stops that
# process (halt_on_error), which fails its test.
BUILD_TYPE=Debug BUILD_DIR=build-tsan TARGETS="unit_tests store_tests e2e_tests" \
  scripts/build.sh "${unity[@]}" -DMEMTRACE_TSAN=ON -DMEMTRACE_BUILD_BENCH=OFF
echo "== concurrency suites under ThreadSanitizer"
export TSAN_OPTIONS=halt_on_error=1:abort_on_error=1:second_deadlock_stack=1
ctest --test-dir build-tsan --output-on-failure -j2 --timeout 900 -L 'unit|store|e2e' \
  -R "$(grep -v '^#' tests/tsan-suites.txt | tr -d '\n ')"
unset TSAN_OPTIONS

echo "== all tests passed in $(( $(date +%s) - start )) s"
