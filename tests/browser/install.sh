#!/usr/bin/env bash
# Installs the pinned browser-test packages (package-lock.json: puppeteer-core, the official MCP Apps
# bridge @modelcontextprotocol/ext-apps and the MCP SDK it runs on) into tests/browser/node_modules with
# `npm ci`. Safe to run again: it does nothing when node_modules already matches the lockfile. Downloads
# land in tests/browser/.npm-cache (git-ignored), so later runs, and MEMTRACE_NPM_OFFLINE=1, need no
# network. Chromium itself is Debian's package (scripts/install-deps.sh); puppeteer downloads nothing.
set -euo pipefail
cd "$(dirname "$0")"

stamp=node_modules/.memtrace-lock.sha256
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && "${1:-}" != "--force" ]]; then
  echo "tests/browser: node_modules already matches package-lock.json (pass --force to reinstall)"
  exit 0
fi

command -v npm >/dev/null || { echo "install.sh: npm not found; install Node.js >= 20 with npm" >&2; exit 1; }

export npm_config_cache="$PWD/.npm-cache" npm_config_fund=false npm_config_audit=false \
       npm_config_update_notifier=false npm_config_omit_lockfile_registry_resolved=true \
       PUPPETEER_SKIP_DOWNLOAD=true
mode=(--prefer-offline)
[[ "${MEMTRACE_NPM_OFFLINE:-0}" == 1 ]] && mode=(--offline)
npm ci "${mode[@]}" --no-audit --no-fund --loglevel=error

echo "$want" > "$stamp"
echo "tests/browser: installed $(npm ls --depth=0 --parseable 2>/dev/null | tail -n +2 | wc -l) packages"
