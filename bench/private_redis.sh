# Sourced by the benchmarks that run on a Redis of their own (bench/scaling.sh, bench/clients.sh).

# start_private_redis DIR: a redis-server on the unix socket DIR/redis.sock (no TCP port, no
# persistence), in the background; sets redis_pid. The caller stops it (kill "$redis_pid").
start_private_redis() {
  redis-server --unixsocket "$1/redis.sock" --port 0 --save '' --appendonly no --dir "$1" \
    --logfile "$1/redis.log" --daemonize no >/dev/null 2>&1 &
  redis_pid=$!
  for _ in $(seq 200); do redis-cli -s "$1/redis.sock" ping >/dev/null 2>&1 && return; sleep 0.05; done
  echo "redis-server did not start: $(cat "$1/redis.log")" >&2
  exit 1
}
