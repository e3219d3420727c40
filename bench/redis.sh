#!/usr/bin/env bash
# Benchmarks memtrace-mcp on the Redis store: starts a private redis-server (unix socket in a temp dir,
# no TCP port, no persistence), measures the floor with redis-benchmark on that same server, then runs
# the stdio driver against it (bench/run.sh --stdio-only with --store-spec), and stops the server.
#
#   bench/redis.sh                                   latency, mixed, search100k, context, live
#   bench/redis.sh --quick                           smaller counts
#   STDIO_ARGS="--only latency,live" bench/redis.sh  pick phases
#
# Aims (issue 4), one request in flight: remember p50 < 75 us over stdio; mixed workload > 10,000 calls/s;
# a write in one process reaches a subscribed client of another within 100 ms. The floor lines say
# what one round trip to this Redis costs before memtrace-mcp does anything.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
for tool in redis-server redis-benchmark redis-cli; do
  command -v "$tool" >/dev/null || { echo "bench/redis.sh: $tool is missing (scripts/install-deps.sh)" >&2; exit 1; }
done

dir="$(mktemp -d "${TMPDIR:-/tmp}/memtrace-redis-bench-XXXXXX")"
sock="$dir/redis.sock"
cleanup() {
  redis-cli -s "$sock" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

redis-server --port 0 --unixsocket "$sock" --unixsocketperm 700 --save '' --appendonly no \
  --dir "$dir" --logfile "$dir/redis.log" --daemonize yes --pidfile "$dir/redis.pid"
for _ in $(seq 1 100); do  # at most 10 s for the socket to answer
  redis-cli -s "$sock" ping >/dev/null 2>&1 && break
  sleep 0.1
done
redis-cli -s "$sock" ping >/dev/null || { echo "redis-server did not start:" >&2; cat "$dir/redis.log" >&2; exit 1; }

echo "== $(redis-server --version | cut -d' ' -f1-3) on $sock"
echo "Floor: redis-benchmark on the same server, 1 client, one request in flight (p50 in ms)"
n=20000
for quick in "$@"; do [[ "$quick" == --quick ]] && n=5000; done
redis-benchmark -s "$sock" -c 1 -n "$n" -t ping,set,get -q 2>/dev/null | tr '\r' '\n' | grep -v '^ *$' |
  grep 'requests per second' | sed 's/^/  /'
redis-benchmark -s "$sock" -c 1 -n "$n" -q EVAL "return 1" 0 2>/dev/null | tr '\r' '\n' |
  grep 'requests per second' | sed 's/^/  /'
echo "Floor with 32 clients (throughput)"
redis-benchmark -s "$sock" -c 32 -n $((n * 4)) -t set -q 2>/dev/null | tr '\r' '\n' |
  grep 'requests per second' | sed 's/^/  /'
echo

STDIO_ARGS="--store-spec redis+unix://$sock ${STDIO_ARGS:-}" "$root/bench/run.sh" --stdio-only "$@"
echo
echo "Redis after the run: $(redis-cli -s "$sock" info memory | grep '^used_memory_human' | tr -d '\r')," \
  "$(redis-cli -s "$sock" dbsize) keys"
