#!/usr/bin/env bash
# Runs every unit test (GoogleTest) with assertions on, under ASan and
# UBSan: the sanitizer build in build-fuzz/ (scripts/sanitizer-build.sh),
# without ONNX Runtime, so the unit tests that need it are not built there.
# The release build's ctest never runs an assert (-DNDEBUG); this does.
#
# usage: scripts/assert-tests.sh [GTEST_FILTER]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/sanitizer-build.sh
ninja -C "$build" -j"${ONNXPRUNE_JOBS:-2}" unit-tests >/dev/null
status=0
ran=0
while IFS= read -r bin; do
  [ -n "$bin" ] || continue
  ran=$((ran + 1))
  log="$build/assert-$(basename "$bin").log"
  if (cd "$(dirname "$bin")" &&
      "$bin" --gtest_brief=1 ${1:+--gtest_filter="$1"}) >"$log" 2>&1; then
    echo "assert-tests: $(basename "$bin"): $(grep -h 'PASSED' "$log" | tail -1)"
  else
    status=1
    tail -40 "$log" >&2
    echo "assert-tests: $(basename "$bin") FAILED (log: $log)" >&2
  fi
done <"$build/unit-tests.txt"
[ "$ran" -gt 0 ] || { echo "assert-tests: no unit tests built" >&2; exit 1; }
exit "$status"
