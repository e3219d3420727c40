#!/usr/bin/env bash
# Runs a command against a private redis-server: started on a unix socket in a fresh temp dir ("port 0":
# no TCP, no persistence), waited for with a bounded PING loop, and always stopped (trap) however the
# command ends. Every "@STORE@" argument becomes the server's redis+unix:// URL, also exported as REDIS_URL.
# The command's exit status is the script's. A missing redis-server is a failure, never a skip.
#
#   tests/scenarios/with-redis.sh examples/scenarios/run.sh work-queue --store @STORE@
set -euo pipefail
[[ $# -ge 1 ]] || { echo "usage: $0 COMMAND [ARGS...]  (@STORE@ in ARGS becomes the redis URL)" >&2; exit 2; }
for tool in redis-server redis-cli; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool not found; install redis-server and redis-tools" >&2; exit 1; }
done

dir="$(mktemp -d "${TMPDIR:-/tmp}/memtrace-redis.XXXXXX")"
pid=""
cleanup() {
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

socket="$dir/redis.sock"
cat > "$dir/redis.conf" <<CONF
port 0
unixsocket $socket
unixsocketperm 700
dir $dir
save ""
appendonly no
daemonize no
logfile $dir/redis.log
CONF
redis-server "$dir/redis.conf" &
pid=$!

ready=""
for _ in $(seq 1 100); do  # at most ~10 s
  if ! kill -0 "$pid" 2>/dev/null; then break; fi
  if [[ -S "$socket" && "$(redis-cli -s "$socket" ping 2>/dev/null)" == PONG ]]; then ready=1; break; fi
  sleep 0.1
done
if [[ -z "$ready" ]]; then
  echo "FAIL: redis-server did not answer PING within 10 s; its log:" >&2
  cat "$dir/redis.log" >&2 2>/dev/null || true
  exit 1
fi

export REDIS_URL="redis+unix://$socket"
args=()
for arg in "$@"; do args+=("${arg//@STORE@/$REDIS_URL}"); done
status=0
"${args[@]}" || status=$?
exit "$status"
