#!/usr/bin/env bash
# The scaling table: p50/p95/p99 of each search shape, recall, remember and the context read as the store
# grows (1k, 10k, 100k and, with SIZES, 1M memories) and as more calls are in flight (1, 16, 64), on the
# SQLite store and on a private Redis. Each size is one run of bench/scaling_bench.cpp (built here with the
# system compiler into $BENCH_WORK, /tmp/memtrace-bench by default, unless SCALING_BENCH names a built
# one), which says what it measures.
#
#   bench/scaling.sh BIN                       SQLite and Redis, sizes 1000 10000 100000, windows 1 16 64
#   SIZES="1000 1000000" STORES=sqlite bench/scaling.sh build-release/memtrace-mcp
#   WINDOWS="1 16" CALLS=300 bench/scaling.sh BIN    (calls a shape measures at each window; default 3000)
#   OUT=/tmp/scaling bench/scaling.sh BIN      keep each run's rows and log there
#   SETTLE=1 bench/scaling.sh BIN              measure after the fill's indexing has finished (--settle)
#
# Prints one markdown table; fill rates and peak RSS go to stderr.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin=$(readlink -f "${1:?usage: bench/scaling.sh path/to/memtrace-mcp}")
source "$here/private_redis.sh"
work="${BENCH_WORK:-/tmp/memtrace-bench}"
mkdir -p "$work"
out="${OUT:-$(mktemp -d /tmp/memtrace-scaling.XXXX)}"
sizes=(${SIZES:-1000 10000 100000})
windows="${WINDOWS:-1 16 64}"
stores=(${STORES:-sqlite redis})
mkdir -p "$out"

driver="${SCALING_BENCH:-$work/scaling_bench}"
if [ -z "${SCALING_BENCH:-}" ] && [ ! "$driver" -nt "$here/scaling_bench.cpp" ]; then
  c++ -std=c++17 -O2 -o "$driver" "$here/scaling_bench.cpp"
fi

tmp=$(mktemp -d)
redis_pid=
cleanup() { [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

for store in "${stores[@]}"; do
  for size in "${sizes[@]}"; do
    case "$store" in
      sqlite) spec="sqlite:$tmp/scaling-$size.db" ;;
      redis) [ -n "$redis_pid" ] || start_private_redis "$tmp"; redis-cli -s "$tmp/redis.sock" flushall >/dev/null
             spec="redis+unix://$tmp/redis.sock" ;;
    esac
    "$driver" "$bin" --store "$spec" --size "$size" --windows "${windows// /,}" --calls "${CALLS:-3000}" \
      --label "$store" --tmp "$tmp" ${SETTLE:+--settle} >"$out/$store-$size.md" 2> >(tee "$out/$store-$size.log" >&2)
    rm -f "$tmp"/scaling-"$size".db*
  done
done

echo "| store | memories | in flight | shape | p50 µs | p95 µs | p99 µs |"
echo "|---|--:|--:|---|--:|--:|--:|"
for store in "${stores[@]}"; do
  for size in "${sizes[@]}"; do cat "$out/$store-$size.md"; done
done
