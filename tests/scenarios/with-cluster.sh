#!/usr/bin/env bash
# Runs a command against a private Redis Cluster of 3 masters and 3 replicas: six redis-server processes on
# free loopback ports (a cluster bus needs TCP; each port P is picked with P + 10000 free too) in a fresh temp
# dir without persistence, joined with `redis-cli --cluster create`, waited for (bounded polls) until every
# node reports cluster_state:ok, and always stopped (trap) however the command ends. Every "@STORE@" argument
# becomes the cluster's redis+cluster:// URL (all six nodes as seeds), also exported as REDIS_URL. The
# command's exit status is the script's. A missing redis-server or redis-cli is a failure, never a skip.
#
#   tests/scenarios/with-cluster.sh examples/scenarios/run.sh all --store @STORE@
set -euo pipefail
[[ $# -ge 1 ]] || { echo "usage: $0 COMMAND [ARGS...]  (@STORE@ in ARGS becomes the cluster URL)" >&2; exit 2; }
for tool in redis-server redis-cli python3; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool not found (scripts/install-deps.sh)" >&2; exit 1; }
done

dir="$(mktemp -d "${TMPDIR:-/tmp}/memtrace-cluster.XXXXXX")"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A free loopback port P with P + 10000 (the cluster bus) free too, none of the ports given.
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

fail_with_logs() {
  echo "FAIL: $1; the nodes' logs:" >&2
  for log in "$dir"/*/redis.log; do echo "--- $log" >&2; tail -20 "$log" >&2 || true; done
  exit 1
}

ports=()
for _ in 1 2 3 4 5 6; do
  port="$(free_port "${ports[@]}")"
  [[ -n "$port" ]] || fail_with_logs "no free loopback port pair for a cluster node"
  ports+=("$port")
  mkdir -p "$dir/$port"
  redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file nodes.conf \
    --cluster-node-timeout 1000 --cluster-require-full-coverage no --save '' --appendonly no \
    --dir "$dir/$port" --logfile "$dir/$port/redis.log" &
  pids+=($!)
done
for port in "${ports[@]}"; do  # at most ~10 s each
  up=""
  for _ in $(seq 1 100); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && { up=1; break; }
    sleep 0.1
  done
  [[ -n "$up" ]] || fail_with_logs "redis-server on port $port did not answer PING within 10 s"
done
nodes=()
for port in "${ports[@]}"; do nodes+=("127.0.0.1:$port"); done
redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >"$dir/create.log" 2>&1 ||
  { cat "$dir/create.log" >&2; fail_with_logs "redis-cli --cluster create failed"; }
ok=0
for _ in $(seq 1 300); do  # at most ~30 s for cluster_state:ok on every node
  ok=1
  for port in "${ports[@]}"; do
    redis-cli -p "$port" cluster info 2>/dev/null | grep -q 'cluster_state:ok' || { ok=0; break; }
  done
  [[ $ok == 1 ]] && break
  sleep 0.1
done
[[ $ok == 1 ]] || fail_with_logs "the cluster did not reach cluster_state:ok within 30 s"
# Writes wait for a replica (--redis-min-replicas 1 by default): every master must have its replica in sync.
for _ in $(seq 1 300); do  # at most ~30 s
  ok=1
  for port in "${ports[@]}"; do
    info="$(redis-cli -p "$port" info replication 2>/dev/null || true)"
    if grep -q 'role:master' <<<"$info"; then
      grep -q 'connected_slaves:[1-9]' <<<"$info" && grep -q 'state=online' <<<"$info" || { ok=0; break; }
    else
      grep -q 'master_link_status:up' <<<"$info" || { ok=0; break; }
    fi
  done
  [[ $ok == 1 ]] && break
  sleep 0.1
done
[[ $ok == 1 ]] || fail_with_logs "the replicas were not in sync with their masters within 30 s"

export REDIS_URL="redis+cluster://$(IFS=,; echo "${nodes[*]}")"
args=()
for arg in "$@"; do args+=("${arg//@STORE@/$REDIS_URL}"); done
status=0
"${args[@]}" || status=$?
exit "$status"
