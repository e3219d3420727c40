#!/usr/bin/env bash
# Configures and builds memtrace-mcp into build/ (or $BUILD_DIR). Extra arguments go to cmake's configure.
# TARGETS (space-separated) builds only those targets; JOBS sets the parallelism (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${BUILD_DIR:-build}"
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" "$@" >/dev/null
read -r -a targets <<< "${TARGETS:-}"
cmake --build "$build_dir" -j"${JOBS:-2}" ${targets[@]+--target "${targets[@]}"}
