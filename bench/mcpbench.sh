# Sourced by the benchmarks that drive the server with the shared load driver (bench/clients.sh): finds
# mcpbench in ../shared/bench, building it once into $BENCH_WORK, and defines start_private_redis.
# Expects `here` (the bench folder) to be set.
shared="${SHARED_BENCH:-$here/../../shared/bench}"
work="${BENCH_WORK:-/tmp/memtrace-bench}"
mkdir -p "$work"
[ -x "$work/bin/mcpbench" ] || { cp -r "$shared/src" "$shared/Makefile" "$work/" && make -s -C "$work"; }
mcpbench="$work/bin/mcpbench"

source "$here/private_redis.sh"
