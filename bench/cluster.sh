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

dir="$(mktemp -d "${TMPDIR:-/tmp}/memtrace-cluster-bench-XXXXXX")"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT

# A free loopback port P with P + 10000 (the cluster bus) free too.
free_port() {
  python3 - "$@" <<'PY'
import socket, sys
taken = {int(p) for p in sys.argv[1:]}
def bound(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port)); return s.getsockname()[1]
    except OSError:
        return 0
    finally:
        s.close()
for _ in range(200):
    p = bound(0)
    if p and p + 10000 <= 65535 and p not in taken and p + 10000 not in taken and bound(p + 10000):
        print(p); break
PY
}

wait_ping() {  # at most 10 s
  for _ in $(seq 1 100); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "redis-server on port $1 did not start" >&2; return 1
}

ports=()
for i in 1 2 3 4 5 6; do
  port="$(free_port "${ports[@]}")"
  ports+=("$port")
  mkdir -p "$dir/$port"
  redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file nodes.conf \
    --cluster-node-timeout 1000 --cluster-require-full-coverage no --save '' --appendonly no \
    --dir "$dir/$port" --logfile "$dir/$port/redis.log" &
  pids+=($!)
done
for port in "${ports[@]}"; do wait_ping "$port"; done
nodes=()
for port in "${ports[@]}"; do nodes+=("127.0.0.1:$port"); done
redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >"$dir/create.log" 2>&1 ||
  { cat "$dir/create.log" >&2; exit 1; }
for _ in $(seq 1 300); do  # at most 30 s for cluster_state:ok on every node
  ok=1
  for port in "${ports[@]}"; do
    redis-cli -p "$port" cluster info 2>/dev/null | grep -q 'cluster_state:ok' || ok=0
  done
  [[ $ok == 1 ]] && break
  sleep 0.1
done
[[ $ok == 1 ]] || { echo "the cluster did not reach cluster_state:ok" >&2; exit 1; }

single="$(free_port "${ports[@]}")"
mkdir -p "$dir/single"
redis-server --port "$single" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir/single" \
  --logfile "$dir/single/redis.log" &
pids+=($!)
wait_ping "$single"

cluster_url="redis+cluster://$(IFS=,; echo "${nodes[*]}")"
echo "== $(redis-server --version | cut -d' ' -f1-3); $(nproc) cpus; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== single node: redis://127.0.0.1:$single (--redis-min-replicas 0)"
"$build/bench/stdio_bench" "$build/memtrace-mcp" --store-spec "redis://127.0.0.1:$single" --only spread $quick |
  grep -E 'remember|spread'
echo "== cluster, 3 masters + 3 replicas: $cluster_url (--redis-min-replicas 1: every write waits for a replica)"
"$build/bench/stdio_bench" "$build/memtrace-mcp" --store-spec "$cluster_url" --only spread $quick |
  grep -E 'remember|spread'

echo "== failover: SIGKILL of the namespace's master -> first acknowledged write (5 runs, own cluster)"
"$build/tests/cluster_tests" --gtest_filter='ClusterFailover.*' --gtest_repeat=5 2>&1 | grep -E '^failover:|FAILED' ||
  true
