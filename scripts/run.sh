#!/usr/bin/env bash
# Sets up everything on a fresh Debian 12 machine, builds, and starts memtrace-mcp on stdio with its
# embedded default store (SQLite under ${XDG_DATA_HOME:-~/.local/share}/memtrace/). Arguments go to the server.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
BUILD_TYPE=Release BUILD_DIR=build-release scripts/build.sh -DMEMTRACE_BUILD_TESTS=OFF -DMEMTRACE_BUILD_BENCH=OFF >&2
exec build-release/memtrace-mcp "$@"
