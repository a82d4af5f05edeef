#!/usr/bin/env bash
# Builds the reader's libFuzzer target with clang + ASan/UBSan in build-fuzz/,
# replays every regression file in test/fuzz/regressions (each once crashed
# the reader), then fuzzes for a bounded time from a seed corpus of the ONNX
# backend test models and our .onnxtext tests.
#
# usage: scripts/fuzz.sh [SECONDS]   (default 60; 0 = regressions only)
# A crash leaves its input in build-fuzz/crashes/: add it to
# test/fuzz/regressions/ with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
build=build-fuzz
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DONNXPRUNE_BUILD_FUZZERS=ON -DONNXPRUNE_ENABLE_ORT=OFF \
    -DONNXPRUNE_BUILD_TESTS=OFF "${launcher[@]}" >/dev/null
fi
ninja -C "$build" -j2 reader-fuzzer >/dev/null
fuzzer="$build/tools/fuzz/reader-fuzzer"

regressions=(test/fuzz/regressions/*.onnx)
echo "fuzz: replaying ${#regressions[@]} regression inputs"
for f in "${regressions[@]}"; do
  [ -e "$f" ] || continue
  "$fuzzer" "$f" >"$build/replay.log" 2>&1 || {
    cat "$build/replay.log" >&2
    echo "fuzz: $f crashes the reader again" >&2
    exit 1
  }
done
[ "$seconds" = 0 ] && exit 0

corpus="$build/corpus"
mkdir -p "$corpus" "$build/crashes"
if [ -z "$(ls -A "$corpus")" ]; then
  # Seeds: small models of every kind, and the text-format tests. (No
  # `find | head`: under pipefail, head's early exit fails the script.)
  n=0
  while IFS= read -r -d '' f; do
    [ "$n" -lt 300 ] || continue
    cp "$f" "$corpus/$(printf '%s' "$f" | md5sum | cut -c1-16).onnx"
    n=$((n + 1))
  done < <(find /usr/share/libonnx-testdata/data -name model.onnx -size -16k -print0 2>/dev/null | sort -z)
  for f in test/lit/*.onnxtext test/lit/handlers/*.onnxtext; do
    if [ -f "$f" ]; then cp "$f" "$corpus/"; fi
  done
fi
echo "fuzz: $seconds s from $(ls "$corpus" | wc -l) corpus files"
"$fuzzer" "$corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$build/crashes/" -print_final_stats=1 2>&1 | tail -12
