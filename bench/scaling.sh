#!/usr/bin/env bash
# The scaling table: p50/p90/p99 of each search shape, recall, remember and the context read as the store
# grows (1k, 10k, 100k and, with SIZES, 1M memories) and as more calls are in flight (1, 16, 64), on the
# SQLite store and on a private Redis. Uses the shared load driver (mcpbench, from ../shared/bench).
#
#   bench/scaling.sh BIN                       SQLite and Redis, sizes 1000 10000 100000, windows 1 16 64
#   SIZES="1000 1000000" STORES=sqlite bench/scaling.sh build-release/memtrace-mcp
#   OUT=/tmp/scaling bench/scaling.sh BIN      keep the JSON results there
#
# Each size is filled once (16 in flight), then every read shape runs 300 calls at each window.
# Prints one markdown table; the JSON files of mcpbench stay in $OUT.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin=$(readlink -f "${1:?usage: bench/scaling.sh path/to/memtrace-mcp}")
shared="${SHARED_BENCH:-$here/../../shared/bench}"
work="${BENCH_WORK:-/tmp/memtrace-bench}"
out="${OUT:-$(mktemp -d /tmp/memtrace-scaling.XXXX)}"
sizes=(${SIZES:-1000 10000 100000})
windows=(${WINDOWS:-1 16 64})
stores=(${STORES:-sqlite redis})
mkdir -p "$work" "$out"
[ -x "$work/bin/mcpbench" ] || { cp -r "$shared/src" "$shared/Makefile" "$work/" && make -s -C "$work"; }
mcpbench="$work/bin/mcpbench"

tmp=$(mktemp -d)
redis_pid=
cleanup() { [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

workload="$tmp/scaling.json"
python3 - "$workload" <<'PY'
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
phases = [{"name": "fill", "calls": 1000, "window": 16, "ops": [
  {"name": "remember", "tool": "memtrace_remember", "counter": "mem", "args": remember}]}]
for name, args in shapes.items():
  phases.append({"name": name, "calls": 300, "window": 1, "ops": [
    {"name": name, "tool": "memtrace_search" if name != "recall" else "memtrace_recall", "args": args}]})
phases.append({"name": "context", "calls": 300, "window": 1, "ops": [
  {"name": "context", "tool": "memtrace_session_context", "args": {}}]})
phases.append({"name": "remember", "main": True, "calls": 300, "window": 1, "ops": [
  {"name": "remember", "tool": "memtrace_remember", "counter": "mem", "args": remember}]})
json.dump({"name": "memtrace-scaling", "vocabulary": 1000, "tags": tags, "phases": phases}, open(sys.argv[1], "w"))
PY

start_redis() {
  redis-server --unixsocket "$tmp/redis.sock" --port 0 --save '' --appendonly no --dir "$tmp" \
    --logfile "$tmp/redis.log" --daemonize no >/dev/null 2>&1 &
  redis_pid=$!
  for _ in $(seq 200); do redis-cli -s "$tmp/redis.sock" ping >/dev/null 2>&1 && return; sleep 0.05; done
  echo "redis-server did not start" >&2; exit 1
}

for store in "${stores[@]}"; do
  for size in "${sizes[@]}"; do
    case "$store" in
      sqlite) spec="sqlite:$tmp/scaling-$size.db" ;;
      redis) [ -n "$redis_pid" ] || start_redis; redis-cli -s "$tmp/redis.sock" flushall >/dev/null
             spec="redis+unix://$tmp/redis.sock" ;;
    esac
    first=1
    for w in "${windows[@]}"; do
      sets=(--set "fill.calls=$((first ? size : 0))")
      for phase in search_word search_miss search_word_tag search_word_imp search_tag_imp search_word_tag_since \
                   search_tag_imp_until recall context remember; do
        sets+=(--set "$phase.window=$w")
      done
      # The session context of a server is its own new session: the digest read is of what this run wrote.
      "$mcpbench" --quiet --server "$bin --store $spec --log-level warn" --workload "$workload" "${sets[@]}" \
        --counter "mem=$size" --label "$store $size W=$w" --out "$out/$store-$size-W$w.json" --timeout 600
      first=0
    done
    rm -f "$tmp"/scaling-"$size".db*
  done
done

python3 - "$out" <<'PY'
import glob, json, sys
# mcpbench reports p50, p90 and p99 (exact, nearest rank); it keeps no p95.
print("| store | memories | in flight | shape | p50 µs | p90 µs | p99 µs |")
print("|---|--:|--:|---|--:|--:|--:|")
def key(f):
    j = json.load(open(f)); s, n, w = j["label"].replace("W=", "").split()
    return (s, int(n), int(w), f)
for s, n, w, f in sorted(key(f) for f in glob.glob(sys.argv[1] + "/*.json")):
    j = json.load(open(f))
    for ph in j["phases"]:
        if ph["name"] == "fill" or ph["calls"] == 0: continue
        l = ph["latency_us"]
        print(f"| {s} | {n:,} | {w} | {ph['name']} | {l['p50']:,.0f} | {l['p90']:,.0f} | {l['p99']:,.0f} |")
PY
