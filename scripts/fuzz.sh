#!/usr/bin/env bash
# Builds the libFuzzer targets with clang + ASan/UBSan in build-fuzz/,
# replays every regression file (each once crashed a target), then fuzzes
# each target for a bounded time:
#   reader-fuzzer    the reader, writer and structural verifier on any bytes;
#                    seeds: ONNX backend test models and our .onnxtext tests;
#                    regressions in test/fuzz/regressions/
#   pipeline-fuzzer  valid models through a random drop-layers (odd seeds),
#                    dep-groups, a random 30% width prune and verify (a pruned model that fails verify aborts);
#                    seeds: small zoo models, the lit models and backend
#                    test models; regressions in test/fuzz/pipeline-regressions/
#
# usage: scripts/fuzz.sh [SECONDS [TARGET...]]   (default 60 per target;
#        0 = regressions only; default targets: both)
# A crash leaves its input in build-fuzz/crashes-TARGET/: add it to the
# target's regression folder with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(reader-fuzzer pipeline-fuzzer)
# The clang + ASan/UBSan build with assertions on, in build-fuzz/.
. scripts/sanitizer-build.sh
ninja -C "$build" -j"${ONNXPRUNE_JOBS:-2}" "${targets[@]}" >/dev/null

regression_dir() {
  case $1 in
    reader-fuzzer) echo test/fuzz/regressions ;;
    pipeline-fuzzer) echo test/fuzz/pipeline-regressions ;;
  esac
}

# Seeds, copied once into the target's corpus folder. (No `find | head`:
# under pipefail, head's early exit fails the script.)
seed_corpus() {
  local target=$1 corpus=$2 n=0 f
  while IFS= read -r -d '' f; do
    [ "$n" -lt 300 ] || continue
    cp "$f" "$corpus/$(printf '%s' "$f" | md5sum | cut -c1-16).onnx"
    n=$((n + 1))
  done < <(find /usr/share/libonnx-testdata/data -name model.onnx -size -16k -print0 2>/dev/null | sort -z)
  for f in test/lit/*.onnxtext test/lit/handlers/*.onnxtext; do
    if [ -f "$f" ]; then cp "$f" "$corpus/"; fi
  done
  if [ "$target" = pipeline-fuzzer ]; then
    # Real exported graphs under the fuzzer's 1 MiB input limit.
    while IFS= read -r -d '' f; do cp "$f" "$corpus/"; done \
      < <(find test/models -name '*.onnx' -size -1000k -print0 | sort -z)
  fi
}

for target in "${targets[@]}"; do
  fuzzer="$build/tools/fuzz/$target"
  regressions=("$(regression_dir "$target")"/*.onnx)
  echo "fuzz: $target: replaying regression inputs"
  for f in "${regressions[@]}"; do
    [ -e "$f" ] || continue
    "$fuzzer" "$f" >"$build/replay.log" 2>&1 || {
      cat "$build/replay.log" >&2
      echo "fuzz: $f crashes $target again" >&2
      exit 1
    }
  done
  [ "$seconds" = 0 ] && continue
  corpus="$build/corpus-$target"
  mkdir -p "$corpus" "$build/crashes-$target"
  [ -n "$(ls -A "$corpus")" ] || seed_corpus "$target" "$corpus"
  echo "fuzz: $target: $seconds s from $(ls "$corpus" | wc -l) corpus files"
  "$fuzzer" "$corpus" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 \
    -artifact_prefix="$build/crashes-$target/" -print_final_stats=1 2>&1 | tail -12
done
