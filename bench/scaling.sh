#!/usr/bin/env bash
# The scaling table: p50/p90/p99 of each search shape, recall, remember and the context read as the store
# grows (1k, 10k, 100k and, with SIZES, 1M memories) and as more calls are in flight (1, 16, 64), on the
# SQLite store and on a private Redis. Uses the shared load driver (mcpbench, from ../shared/bench).
#
#   bench/scaling.sh BIN                       SQLite and Redis, sizes 1000 10000 100000, windows 1 16 64
#   SIZES="1000 1000000" STORES=sqlite bench/scaling.sh build-release/memtrace-mcp
#   OUT=/tmp/scaling bench/scaling.sh BIN      keep the JSON results there
#
# Each size is filled once (16 in flight) by one server, which then runs every shape 300 times at each
# window in turn; its context read is of the session the fill wrote.
# Prints one markdown table; the JSON files of mcpbench stay in $OUT.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin=$(readlink -f "${1:?usage: bench/scaling.sh path/to/memtrace-mcp}")
source "$here/mcpbench.sh"
out="${OUT:-$(mktemp -d /tmp/memtrace-scaling.XXXX)}"
sizes=(${SIZES:-1000 10000 100000})
windows=(${WINDOWS:-1 16 64})
stores=(${STORES:-sqlite redis})
mkdir -p "$out"

tmp=$(mktemp -d)
redis_pid=
cleanup() { [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

workload="$tmp/scaling.json"
write_workload() {  # write_workload FILL_CALLS
python3 - "$workload" "$1" "${windows[*]}" <<'PY'
import json, sys
tags = ["billing","internet","tv","mobile","outage","refund","upgrade","contract","router","wifi","latency",
        "invoice","payment","login","password","email","streaming","channel","remote","install","appointment",
        "complaint","escalation","feedback","pricing","discount","promo","cancel","renewal","hardware",
        "firmware","coverage"]
remember = {"content": "{words:8}", "tags": "{#tags:2}", "importance": "{#float:0:1}"}
shapes = {
  "search_word": {"content_contains": "{word}", "limit": 20},
  "search_miss": {"content_contains": "zzq{int:0:99999}", "limit": 20},
  "search_word_tag": {"content_contains": "{word}", "tags": ["{tag}"], "limit": 20},
  "search_word_imp": {"content_contains": "{word}", "min_importance": "{#float:0:0.9}", "limit": 20},
  "search_tag_imp": {"tags": ["{tag}"], "min_importance": "{#float:0:0.9}", "limit": 20},
  "search_word_tag_since": {"content_contains": "{word}", "tags": ["{tag}"], "since": "1h", "limit": 20},
  "search_tag_imp_until": {"tags": ["{tag}"], "min_importance": "{#float:0:0.9}", "until": "2099-01-01T00:00:00Z", "limit": 20},
  "recall": {"since": "1h", "limit": 20},
}
# One server per store size: the fill, then every shape at each window in turn (phase "shape@W"). The
# context read is of the server's own session, the one the fill wrote, at every window.
phases = [{"name": "fill", "calls": int(sys.argv[2]), "window": 16, "ops": [
  {"name": "remember", "tool": "memtrace_remember", "counter": "mem", "args": remember}]}]
for w in sys.argv[3].split():
  w = int(w)
  for name, args in shapes.items():
    phases.append({"name": f"{name}@{w}", "calls": 300, "window": w, "ops": [
      {"name": name, "tool": "memtrace_search" if name != "recall" else "memtrace_recall", "args": args}]})
  phases.append({"name": f"context@{w}", "calls": 300, "window": w, "ops": [
    {"name": "context", "tool": "memtrace_session_context", "args": {}}]})
  phases.append({"name": f"remember@{w}", "calls": 300, "window": w, "ops": [
    {"name": "remember", "tool": "memtrace_remember", "counter": "mem", "args": remember}]})
json.dump({"name": "memtrace-scaling", "vocabulary": 1000, "tags": tags, "phases": phases}, open(sys.argv[1], "w"))
PY
}

for store in "${stores[@]}"; do
  for size in "${sizes[@]}"; do
    case "$store" in
      sqlite) spec="sqlite:$tmp/scaling-$size.db" ;;
      redis) [ -n "$redis_pid" ] || start_private_redis "$tmp"; redis-cli -s "$tmp/redis.sock" flushall >/dev/null
             spec="redis+unix://$tmp/redis.sock" ;;
    esac
    write_workload "$size"
    "$mcpbench" --quiet --server "$bin --store $spec --log-level warn" --workload "$workload" \
      --label "$store $size" --out "$out/$store-$size.json" --timeout 600
    rm -f "$tmp"/scaling-"$size".db*
  done
done

python3 - "$out" <<'PY'
import glob, json, sys
# mcpbench reports p50, p90 and p99 (exact, nearest rank); it keeps no p95.
print("| store | memories | in flight | shape | p50 µs | p90 µs | p99 µs |")
print("|---|--:|--:|---|--:|--:|--:|")
rows = []
for f in glob.glob(sys.argv[1] + "/*.json"):
    j = json.load(open(f)); s, n = j["label"].split()
    for i, ph in enumerate(j["phases"]):
        if ph["name"] == "fill" or ph["calls"] == 0: continue
        name, w = ph["name"].split("@")
        rows.append((s, int(n), int(w), i, name, ph["latency_us"]))
for s, n, w, _, name, l in sorted(rows):
    print(f"| {s} | {n:,} | {w} | {name} | {l['p50']:,.0f} | {l['p90']:,.0f} | {l['p99']:,.0f} |")
PY
