#!/usr/bin/env bash
# Runs a command against a fresh SQLite file in a temp dir that is always removed afterwards (trap).
# Every "@STORE@" argument becomes sqlite:<dir>/memtrace.db. The command's exit status is the script's.
#
#   tests/scenarios/with-sqlite.sh examples/scenarios/run.sh support-desk --store @STORE@
set -euo pipefail
[[ $# -ge 1 ]] || { echo "usage: $0 COMMAND [ARGS...]  (@STORE@ in ARGS becomes sqlite:PATH)" >&2; exit 2; }
dir="$(mktemp -d "${TMPDIR:-/tmp}/memtrace-sqlite.XXXXXX")"
trap 'rm -rf "$dir"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
store="sqlite:$dir/memtrace.db"
args=()
for arg in "$@"; do args+=("${arg//@STORE@/$store}"); done
status=0
"${args[@]}" || status=$?
exit "$status"
