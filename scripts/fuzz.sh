#!/usr/bin/env bash
# Fuzzes the expression parser, evaluator and reverse mode for SECONDS seconds
# (default 60): builds the `fuzz` preset (clang-14, libFuzzer, ASan + UBSan)
# and runs build-fuzz/fuzz_expression on a copy of fuzz/corpus/.
#
# Exits non-zero on any crash, leak, sanitizer report, timeout (one input
# running over 10 s) or out-of-memory (over 2 GB). libFuzzer then prints the
# reproducer's file name (crash-*, leak-*, timeout-*, oom-* in build-fuzz/);
# run `build-fuzz/fuzz_expression FILE` to replay it.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
  echo "usage: scripts/fuzz.sh [SECONDS]  (a whole number of seconds, default 60)" >&2
  exit 2
fi

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz

# The run adds inputs to its working corpus; the seed corpus stays as committed.
work="build-fuzz/corpus"
rm -rf "$work"
mkdir -p "$work"
cp fuzz/corpus/* "$work"/

cd build-fuzz
# The sanitizers abort on their first report, so libFuzzer sees every one.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
./fuzz_expression corpus \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
  -print_final_stats=1
