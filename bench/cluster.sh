#!/usr/bin/env bash
# Benchmarks memtrace-mcp on a Redis Cluster beside a single Redis server: runs the stdio driver's mixed
# workload (70% remember, 20% search, 10% recall) spread over 1 and 12 namespaces (one server process
# each, as tenants would be), 1 and 16 requests in flight each, on a single redis-server and on a private
# 3-master / 3-replica cluster, and prints one table. With --failover it then measures failover time
# (SIGKILL of a master -> first acknowledged write) over 5 runs with the cluster failover test (needs a
# build with tests). The stores come from the test suite's launchers: everything they start is stopped on
# exit.
#
#   bench/cluster.sh                         full counts
#   bench/cluster.sh --quick                 smaller counts
#   bench/cluster.sh --failover              also the 5 failover runs
#   BUILD_DIR=build-release bench/cluster.sh a Release build
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
[[ "$build" = /* ]] || build="$root/$build"
for tool in redis-server redis-cli python3; do
  command -v "$tool" >/dev/null || { echo "bench/cluster.sh: $tool is missing (scripts/install-deps.sh)" >&2; exit 1; }
done
quick=""
failover=""
for arg in "$@"; do
  case "$arg" in
    --quick) quick=--quick ;;
    --failover) failover=1 ;;
    *) echo "usage: bench/cluster.sh [--quick] [--failover]" >&2; exit 2 ;;
  esac
done
targets=(memtrace-mcp bench/stdio_bench)
[[ -n "$failover" ]] && targets+=(tests/cluster_tests)
for target in "${targets[@]}"; do
  [[ -x "$build/$target" ]] || { echo "bench/cluster.sh: build $target first (cmake --build $build --target ${target##*/})" >&2; exit 1; }
done

# A single redis-server on a unix socket, and a 3-master / 3-replica cluster on free loopback ports,
# each in a temp dir and always stopped.
with_redis="$root/tests/scenarios/with-redis.sh"
with_cluster="$root/tests/scenarios/with-cluster.sh"
out="$(mktemp -d "${TMPDIR:-/tmp}/memtrace-cluster-bench.XXXXXX")"
trap 'rm -rf "$out"' EXIT

echo "== $(redis-server --version | cut -d' ' -f1-3); $(nproc) cpus; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== single node (--redis-min-replicas 0) ..."
"$with_redis" "$build/bench/stdio_bench" "$build/memtrace-mcp" --store-spec @STORE@ --only mixedspread $quick \
  >"$out/single.txt" || { cat "$out/single.txt"; exit 1; }
echo "== cluster, 3 masters + 3 replicas (--redis-min-replicas 1: every write waits for a replica) ..."
"$with_cluster" "$build/bench/stdio_bench" "$build/memtrace-mcp" --store-spec @STORE@ --only mixedspread $quick \
  >"$out/cluster.txt" || { cat "$out/cluster.txt"; exit 1; }
grep -E '^Mixed|^[0-9]+ memories' "$out/single.txt" || true

# One table: a row per (namespaces, in flight), calls/s on each store.
python3 - "$out/single.txt" "$out/cluster.txt" <<'PY'
import re, sys
def rates(path):
    found = {}
    for line in open(path):
        m = re.search(r"mixed, (\d+) namespaces?, +(\d+) in flight each +(\d+) calls/s", line)
        if m:
            found[(int(m.group(1)), int(m.group(2)))] = int(m.group(3))
    return found
single, cluster = rates(sys.argv[1]), rates(sys.argv[2])
print(f"{'namespaces':>10} {'in flight each':>15} {'single node calls/s':>20} {'cluster calls/s':>16} {'cluster/single':>15}")
for key in sorted(set(single) | set(cluster)):
    s, c = single.get(key), cluster.get(key)
    ratio = f"{c / s:.2f}" if s and c else "-"
    print(f"{key[0]:>10} {key[1]:>15} {s if s else '-':>20} {c if c else '-':>16} {ratio:>15}")
if not single or not cluster:
    sys.exit("bench/cluster.sh: a run printed no figures (see above)")
PY
echo "== load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

if [[ -n "$failover" ]]; then
  echo "== failover: SIGKILL of the namespace's master -> first acknowledged write (5 runs, own cluster)"
  "$build/tests/cluster_tests" --gtest_filter='ClusterFailover.EveryAcknowledgedMemorySurvives*' \
    --gtest_repeat=5 2>&1 | grep -E '^failover:|FAILED' || true
fi
