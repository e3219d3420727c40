#!/usr/bin/env bash
# Builds memtrace-mcp and the benchmarks in Release (build-bench/) and runs them, printing the figures.
#
#   bench/run.sh                 everything: stdio driver (SQLite file store) + engine micro-benchmarks
#   bench/run.sh --quick         smaller counts, for a smoke run
#   bench/run.sh --stdio-only | --engine-only
#   BUILD_DIR=/tmp/bb JOBS=4 bench/run.sh
#   STDIO_ARGS="--store memory --only start,latency" bench/run.sh --stdio-only
#
# Aims (per call, one request in flight, unless said):
#   remember p50 < 50 us            over stdio, end to end (write, JSON-RPC, schema check, SQLite commit)
#   mixed workload > 20,000 calls/s 70% remember / 20% search / 10% recall, store preloaded with 10k
#   search p99 < 5 ms               content search with 100k memories in the store
#   start < 20 ms                   spawn → initialize reply
#   RSS < 15 MB                     server peak resident set (VmHWM)
# Figures depend on the machine and on what else runs on it: note the load average printed with them.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$root/build-bench}"
jobs="${JOBS:-2}"
quick=() stdio=1 engine=1
for a in "$@"; do
  case "$a" in
    --quick) quick=(--quick) ;;
    --stdio-only) engine=0 ;;
    --engine-only) stdio=0 ;;
    *) echo "usage: bench/run.sh [--quick] [--stdio-only|--engine-only]" >&2; exit 2 ;;
  esac
done

generator=()
command -v ninja >/dev/null && [[ ! -f "$build/CMakeCache.txt" ]] && generator=(-G Ninja)
mkdir -p "$build"
log="$build/bench-build.log"
echo "building Release in $build (log: $log) ..."
cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DMEMTRACE_BUILD_TESTS=OFF \
      -DMEMTRACE_BUILD_BENCH=ON >"$log" 2>&1 || { tail -30 "$log"; exit 1; }
targets=(memtrace-mcp stdio_bench)
grep -q '^benchmark_DIR:PATH=.*NOTFOUND' "$build/CMakeCache.txt" || targets+=(engine_bench)
cmake --build "$build" -j"$jobs" --target "${targets[@]}" >>"$log" 2>&1 || { tail -40 "$log"; exit 1; }

echo
commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')"
dirty="$(git -C "$root" status --porcelain 2>/dev/null | wc -l)"
echo "== $(date -u +%FT%TZ) $(uname -srm), $(nproc) cpus, commit $commit (+ $dirty uncommitted paths)"
if (( stdio )); then
  echo
  # shellcheck disable=SC2086
  "$build/bench/stdio_bench" "$build/memtrace-mcp" "${quick[@]}" ${STDIO_ARGS:-}
fi
if (( engine )); then
  if [[ -x "$build/bench/engine_bench" ]]; then
    echo
    echo "Engine micro-benchmarks (in process, SQLite temp file; Arg = memories in the store):"
    min_time=0.5
    (( ${#quick[@]} )) && min_time=0.1
    "$build/bench/engine_bench" --benchmark_min_time="$min_time" ${ENGINE_ARGS:-}
  else
    echo "engine_bench not built (Google Benchmark missing: apt-get install libbenchmark-dev)"
  fi
fi
