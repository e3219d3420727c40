#!/usr/bin/env bash
# Many clients of one server: one memtrace-mcp over Streamable HTTP on a private Redis, and N load
# drivers at once, each its own MCP session running the shared mixed workload (mcpbench, from
# ../shared/bench). Prints each round's calls/s summed over the clients, their p50s, failed calls, and
# how many connections the server opened to Redis.
#
#   bench/clients.sh BIN                         4, 8 and 16 clients, 4 calls in flight each
#   CLIENTS="8" WINDOW=8 bench/clients.sh BIN     pick the rounds
#   CALLS=3000 FILL=300 bench/clients.sh BIN      calls per client (default 3000), fill per client (300)
#
# On a 2-core machine the drivers, the server and Redis share the CPU: this measures connections and
# correctness under concurrent sessions more than a ceiling.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin=$(readlink -f "${1:?usage: bench/clients.sh path/to/memtrace-mcp}")
clients=(${CLIENTS:-4 8 16})
window="${WINDOW:-4}"
calls="${CALLS:-3000}"
fill="${FILL:-300}"
for tool in redis-server redis-cli python3 curl; do
  command -v "$tool" >/dev/null || { echo "bench/clients.sh: $tool is missing (scripts/install-deps.sh)" >&2; exit 1; }
done
source "$here/mcpbench.sh"

tmp=$(mktemp -d)
redis_pid=
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
  [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

start_private_redis "$tmp"
sock="$tmp/redis.sock"
connections() { redis-cli -s "$sock" info stats | tr -d '\r' | sed -n 's/^total_connections_received://p'; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

echo "| clients × in flight | calls/s in total | client p50s µs | failed | server's connections to Redis |"
echo "|---|--:|---|--:|--:|"
for n in "${clients[@]}"; do
  redis-cli -s "$sock" flushall >/dev/null
  before=$(connections)
  port=$(free_port)
  "$bin" --transport http --listen "127.0.0.1:$port" --store "redis+unix://$sock" --log-level warn &
  server_pid=$!
  for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.05; done
  drivers=()
  for i in $(seq "$n"); do
    "$mcpbench" --quiet --http "http://127.0.0.1:$port/mcp" --pid "$server_pid" \
      --workload "$shared/workloads/memtrace.json" --fill "$fill" --calls "$calls" --window "$window" \
      --seed "$i" --out "$tmp/client-$n-$i.json" >/dev/null 2>&1 &
    drivers+=($!)
  done
  for pid in "${drivers[@]}"; do wait "$pid"; done
  opened=$(( $(connections) - before - 1 ))  # less the connection that asks
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=
  python3 - "$tmp" "$n" "$window" "$opened" <<'PY'
import glob, json, sys
tmp, n, window, opened = sys.argv[1:5]
total, failed, p50s = 0.0, 0, []
for path in sorted(glob.glob(f"{tmp}/client-{n}-*.json")):
    phase = [p for p in json.load(open(path))["phases"] if p["name"] == "mixed"][0]
    total += phase["calls_per_s"]
    failed += sum(phase["errors"].values())
    p50s.append(phase["latency_us"]["p50"])
print(f"| {n} × {window} | {total:,.0f} | {min(p50s):,.0f}–{max(p50s):,.0f} | {failed} | {opened} |")
PY
done
