#!/usr/bin/env bash
# Benchmarks memtrace-mcp on a Redis Cluster beside a single Redis server: starts a private 3-master /
# 3-replica cluster on free loopback ports (temp dir, no persistence) and a single redis-server, runs the
# stdio driver's spread phase (remembers over 1 and 12 namespaces, 1 and 16 in flight each) on both,
# then measures failover time (SIGKILL of a master -> first acknowledged write) over 5 runs with the
# cluster failover test. Everything it starts is stopped on exit.
#
#   bench/cluster.sh            full counts
#   bench/cluster.sh --quick    smaller counts
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
for tool in redis-server redis-cli python3; do
  command -v "$tool" >/dev/null || { echo "bench/cluster.sh: $tool is missing (scripts/install-deps.sh)" >&2; exit 1; }
done
for target in memtrace-mcp bench/stdio_bench tests/cluster_tests; do
  [[ -x "$build/$target" ]] || { echo "bench/cluster.sh: build $target first (cmake --build $build --target ${target##*/})" >&2; exit 1; }
done
quick=""
for arg in "$@"; do [[ "$arg" == --quick ]] && quick=--quick; done

# The stores come from the test suite's launchers (started in temp dirs, always stopped): a single
# redis-server on a unix socket, and a 3-master / 3-replica cluster on free loopback ports.
with_redis="$root/tests/scenarios/with-redis.sh"
with_cluster="$root/tests/scenarios/with-cluster.sh"

echo "== $(redis-server --version | cut -d' ' -f1-3); $(nproc) cpus; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== single node (--redis-min-replicas 0)"
"$with_redis" "$build/bench/stdio_bench" "$build/memtrace-mcp" --store-spec @STORE@ --only spread $quick |
  grep -E 'remember|spread'
echo "== cluster, 3 masters + 3 replicas (--redis-min-replicas 1: every write waits for a replica)"
"$with_cluster" "$build/bench/stdio_bench" "$build/memtrace-mcp" --store-spec @STORE@ --only spread $quick |
  grep -E 'remember|spread'

echo "== failover: SIGKILL of the namespace's master -> first acknowledged write (5 runs, own cluster)"
"$build/tests/cluster_tests" --gtest_filter='ClusterFailover.*' --gtest_repeat=5 2>&1 | grep -E '^failover:|FAILED' ||
  true
