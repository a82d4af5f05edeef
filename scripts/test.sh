#!/usr/bin/env bash
# scripts/test.sh - set up, build, and run every test registered with CTest
# (unit tests, lit tests, model checks...).
#
#   bash scripts/test.sh [extra ctest arguments, e.g. -R Runtime]
#
# Exits non-zero when the build or any test fails.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${ONNXPRUNE_BUILD_DIR:-$ROOT/build}
JOBS=${ONNXPRUNE_JOBS:-2}
export ONNXPRUNE_BUILD_DIR=$BUILD_DIR

bash "$ROOT/scripts/setup.sh"

echo "test: running ctest in $BUILD_DIR" >&2
# ctest prints its own summary ("100% tests passed, 0 tests failed out of N")
# and the output of each failing test.
status=0
ctest --test-dir "$BUILD_DIR" --output-on-failure --no-tests=error -j "$JOBS" "$@" || status=$?
# The unit tests again with assertions on, under ASan and UBSan (the
# fuzzers' build, below): the release build above never runs an assert.
if [[ $# -eq 0 && ${ONNXPRUNE_ASSERT_TESTS:-1} != 0 ]]; then
  echo "test: unit tests with assertions on (build-fuzz)" >&2
  bash "$ROOT/scripts/assert-tests.sh" || status=$?
fi
# The fuzzers (reader, pipeline): replay every past crash, then fuzz for a bounded time
# (a separate clang + sanitizer build in build-fuzz/). Skipped when ctest
# arguments select a subset.
if [[ $# -eq 0 && ${ONNXPRUNE_FUZZ_SECONDS:-60} != 0 ]]; then
  echo "test: fuzzing the reader and the pipeline, ${ONNXPRUNE_FUZZ_SECONDS:-60} s each" >&2
  bash "$ROOT/scripts/fuzz.sh" "${ONNXPRUNE_FUZZ_SECONDS:-60}" || status=$?
fi
# No test may touch anything outside its temp folder; the classic way to
# break that is a temp-and-rename writer aimed at /dev/null.
if [[ ! -c /dev/null ]]; then
  echo "test: /dev/null is no longer a character device: a test replaced it" >&2
  status=1
fi
if [[ $status -ne 0 ]]; then
  echo "test: FAILED (ctest exit status $status)" >&2
else
  echo "test: all tests passed" >&2
fi
exit "$status"
