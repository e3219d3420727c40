#!/usr/bin/env bash
# Runs one fuzz harness (tests/fuzz) for a while: scripts/fuzz.sh <harness> <seconds> [libFuzzer options...]
# e.g. scripts/fuzz.sh mcp_dispatch_fuzz 1800 -jobs=2. Harnesses: stdio_jsonrpc_fuzz mcp_dispatch_fuzz
# http_request_fuzz time_text_fuzz context_render_fuzz.
#
# Fuzzes a copy of the harness's seed corpus (tests/fuzz/corpus/<harness>) in a work directory
# ($FUZZ_WORK_DIR, default a new temporary one): the repository is never written to. New inputs land in
# <work>/corpus, a crash, leak or timeout in <work>/crash-*, leak-*, timeout-* and the exit status is
# non-zero. To keep an input as a seed, copy it into tests/fuzz/corpus/<harness>/ yourself.
#
# Builds the harness first in $BUILD_DIR (default build-fuzz: Debug, clang, ASan + UBSan, libFuzzer),
# unless FUZZ_NO_BUILD=1.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { sed -n '2,4p' "$0" >&2; exit 2; }
harness=$1 seconds=$2
shift 2
seeds=tests/fuzz/corpus/$harness
[ -d "$seeds" ] || { echo "fuzz: no harness $harness (no $seeds)" >&2; exit 2; }
build_dir=${BUILD_DIR:-build-fuzz}

if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
  CC=clang CXX=clang++ cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DMEMTRACE_SANITIZE=ON \
    -DMEMTRACE_FUZZ=ON -DMEMTRACE_BUILD_BENCH=OFF >/dev/null
  cmake --build "$build_dir" -j"${JOBS:-2}" --target "$harness"
fi
binary=$build_dir/tests/fuzz/$harness
[ -x "$binary" ] || { echo "fuzz: $binary is not built" >&2; exit 2; }

work=${FUZZ_WORK_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/memtrace-fuzz-$harness.XXXXXX")}
mkdir -p "$work/corpus"
cp -n "$seeds"/* "$work/corpus/"
# A harness's own libFuzzer options: tests/fuzz/<harness>.dict, and tests/fuzz/<harness>.options (one
# option a line; they come after the defaults below and before the command line's, so both may override).
own=()
[ -f "tests/fuzz/$harness.dict" ] && own+=(-dict="tests/fuzz/$harness.dict")
if [ -f "tests/fuzz/$harness.options" ]; then
  while read -r option; do
    [[ -z "$option" || "$option" == \#* ]] || own+=("$option")
  done <"tests/fuzz/$harness.options"
fi

echo "fuzz: $harness for $seconds s in $work" >&2
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
"$binary" "$work/corpus" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=30 -max_len=65536 \
  -artifact_prefix="$work/" -print_final_stats=1 "${own[@]}" "$@" || status=$?
if [ "$status" -ne 0 ]; then
  for f in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* "$work"/slow-unit-*; do
    [ -f "$f" ] || continue
    echo "fuzz: $harness failed; the input is $f (base64 below, for a CI log)" >&2
    head -c 65536 "$f" | base64 >&2
  done
fi
exit "$status"
