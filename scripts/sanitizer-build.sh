# Sourced by scripts/fuzz.sh and scripts/assert-tests.sh, from the checkout's
# root: configures (once) the clang + ASan/UBSan build in build-fuzz/ that
# both use, and sets $build to it. ORT is off (sanitizers and a prebuilt
# ONNX Runtime do not mix).
build=build-fuzz
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  # Paths relative to the checkout: a clone elsewhere hits the cache.
  export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true
fi
# Assertions are on in this build (no -DNDEBUG: the release build never
# runs an assert); scripts/assert-tests.sh runs the unit tests in it. The
# tests' downloaded models are the main build's (scripts/setup.sh fetched
# them), never fetched again here.
if ! grep -qs '^ONNXPRUNE_ASSERTIONS:BOOL=ON$' "$build/CMakeCache.txt"; then
  cmake -G Ninja -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DONNXPRUNE_ASSERTIONS=ON \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DONNXPRUNE_BUILD_FUZZERS=ON -DONNXPRUNE_ENABLE_ORT=OFF \
    -DONNXPRUNE_BUILD_TESTS=ON \
    "-DONNXPRUNE_MODELS_CACHE=${ONNXPRUNE_BUILD_DIR:-$PWD/build}/models-cache" \
    "${launcher[@]}" >/dev/null
fi
