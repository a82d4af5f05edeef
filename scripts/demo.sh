#!/usr/bin/env bash
# scripts/demo.sh - set up, build, and run onnx-prune on an example model.
#
#   bash scripts/demo.sh [MODEL]     (default: examples/mobilenet_v2_tiny.onnx)
#
# Writes the pruned model to /tmp/onnx-prune-demo/out.onnx and prints its path.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${ONNXPRUNE_BUILD_DIR:-$ROOT/build}
export ONNXPRUNE_BUILD_DIR=$BUILD_DIR
MODEL=${1:-$ROOT/examples/mobilenet_v2_tiny.onnx}
OUT_DIR=/tmp/onnx-prune-demo
OUT=$OUT_DIR/out.onnx
PIPELINE='verify,prune-width<criterion=magnitude;ratio=0.3>,verify,check-numerics<samples=2;report>'

[[ -f $MODEL ]] || { echo "demo: error: model '$MODEL' not found" >&2; exit 1; }

# Setup and build output goes to stderr: stdout is the tool's, then the path.
bash "$ROOT/scripts/setup.sh" >&2

TOOL=
for t in "$BUILD_DIR/bin/onnx-prune" "$BUILD_DIR/tools/onnx-prune/onnx-prune"; do
  [[ -x $t ]] && { TOOL=$t; break; }
done
[[ -n $TOOL ]] || { echo "demo: error: onnx-prune was not built in $BUILD_DIR" >&2; exit 1; }

mkdir -p "$OUT_DIR"
echo "demo: $TOOL $MODEL -passes='$PIPELINE' -o $OUT --stats" >&2
"$TOOL" "$MODEL" -passes="$PIPELINE" -o "$OUT" --stats
echo "demo: pruned model written to:" >&2
echo "$OUT"
