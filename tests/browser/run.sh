#!/usr/bin/env bash
# Runs a browser test from tests/browser with Node after checking its dependencies: node_modules
# installed from the lockfile (install.sh) and a Chromium binary (Debian's chromium package, or
# $MEMTRACE_CHROMIUM). Anything missing is a failure, never a skip. Usage: run.sh SCRIPT.mjs [ARGS...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

stamp="$here/node_modules/.memtrace-lock.sha256"
if [[ ! -f "$here/node_modules/puppeteer-core/package.json" || ! -f "$stamp" ]]; then
  echo "FAIL: tests/browser/node_modules is missing. Run tests/browser/install.sh (npm ci of the pinned" \
       "puppeteer-core and @modelcontextprotocol/ext-apps), then run the test again." >&2
  exit 1
fi
if [[ "$(cat "$stamp")" != "$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)" ]]; then
  echo "FAIL: tests/browser/node_modules does not match package-lock.json. Run tests/browser/install.sh." >&2
  exit 1
fi
chromium="${MEMTRACE_CHROMIUM:-$(command -v chromium || true)}"
if [[ -z "$chromium" || ! -x "$chromium" ]]; then
  echo "FAIL: no Chromium found. Install Debian's chromium package (scripts/install-deps.sh) or set" \
       "MEMTRACE_CHROMIUM to a Chromium binary." >&2
  exit 1
fi
command -v node >/dev/null || { echo "FAIL: node not found (Node.js >= 20)" >&2; exit 1; }
export MEMTRACE_CHROMIUM="$chromium"
script="$1"
shift
[[ "$script" == /* ]] || script="$here/$script"
exec node "$script" "$@"
