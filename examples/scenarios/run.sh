#!/usr/bin/env bash
# Runs a multi-agent scenario against the store it names, with scripted agents (no model needed):
#
#   examples/scenarios/run.sh SCENARIO --store SPEC [--binary PATH] [--claude] [SCENARIO OPTIONS]
#
# SCENARIO: single-agent | researcher-summarizer | support-desk | work-queue | all
# SPEC:     sqlite:/tmp/memtrace.db | redis://127.0.0.1:6379 | redis+unix:///path/redis.sock: a store the
#           agents' processes share ("memory" will not do: each process would get an empty one of its own)
# --binary: the memtrace-mcp to start (default: $MEMTRACE_BINARY, else build/memtrace-mcp, else PATH)
# --claude: drive Claude through the Anthropic Messages API instead (needs ANTHROPIC_API_KEY)
# work-queue also takes --workers N (default 8) and --tasks N (default 200).
#
# Exit status 0 when every expectation held, 1 with a message naming the one that failed. The agents use
# the official MCP TypeScript SDK client pinned by tests/interop: run tests/interop/install.sh once.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
scenarios=(single-agent researcher-summarizer support-desk work-queue)

usage() {
  sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
[[ $# -ge 1 ]] || usage
scenario="$1"
shift
if [[ "$scenario" == all ]]; then
  for s in "${scenarios[@]}"; do "$0" "$s" "$@"; done
  exit 0
fi
[[ " ${scenarios[*]} " == *" $scenario "* ]] || { echo "unknown scenario \"$scenario\"" >&2; usage; }
# run-node.sh fails (with the command that fixes it) when the pinned SDK is not installed.
exec "$repo/tests/interop/run-node.sh" "$here/$scenario.mjs" "$@"
