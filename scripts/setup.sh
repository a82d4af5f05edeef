#!/usr/bin/env bash
# scripts/setup.sh - install what onnx-prune needs and build it into build/.
#
#   bash scripts/setup.sh     (as root, or as a user with sudo: apt runs via sudo)
#
# Idempotent and quick the second time: apt runs only when a package is
# missing (checked with dpkg-query first, so a set-up machine needs no
# network), ONNX Runtime is fetched only when third_party/onnxruntime does not
# hold the pinned version, and the build is incremental.
#
# Downloads come from two places only: Debian's apt and the npm registry
# (ONNX Runtime's Linux x64 build ships in an npm package).
#
# Environment knobs:
#   ONNXPRUNE_BUILD_DIR   build folder            (default: <repo>/build)
#   ONNXPRUNE_ORT_ROOT    ONNX Runtime folder     (default: <repo>/third_party/onnxruntime)
#   ONNXPRUNE_JOBS        parallel build jobs     (default: 2)
#   ONNXPRUNE_SKIP_BUILD  set to 1 to stop after installing dependencies
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${ONNXPRUNE_BUILD_DIR:-$ROOT/build}
ORT_ROOT=${ONNXPRUNE_ORT_ROOT:-$ROOT/third_party/onnxruntime}
JOBS=${ONNXPRUNE_JOBS:-2}

# ONNX Runtime, pinned: the npm package, its tarball's SHA-256, and the
# C API version its headers must declare.
ORT_NPM_SPEC=com.github.asus4.onnxruntime@0.4.9
ORT_TGZ_SHA256=e59788788818fdde1b2e522e766a21ba0f7d8391de55737abf81e32cc801785d
ORT_API_VERSION=29
ORT_PKG_HEADERS='package/Plugins/iOS~/onnxruntime.xcframework/ios-arm64/onnxruntime.framework/Headers'
ORT_PKG_LIB='package/Plugins/Linux/x64/libonnxruntime.so'
ORT_STAMP="npm:$ORT_NPM_SPEC sha256:$ORT_TGZ_SHA256"

# Debian 12 packages. (`npm` is skipped when an npm is already installed:
# NodeSource's nodejs bundles npm and conflicts with Debian's npm package.
# chromium renders the HTML report headless in `ctest -R report-browser`.)
PACKAGES=(
  cmake ninja-build g++ clang
  llvm-14-dev llvm-14-tools libclang-rt-14-dev
  libonnx-dev libonnx-testdata libprotobuf-dev protobuf-compiler
  libabsl-dev libgtest-dev libgmock-dev libbenchmark-dev zlib1g-dev
  libeigen3-dev libopenblas-dev pybind11-dev pkg-config
  python3-torch python3-torchvision python3-onnx python3-numpy
  ccache nodejs npm chromium
)

CLEANUP=()
cleanup() { ((${#CLEANUP[@]} == 0)) || rm -rf "${CLEANUP[@]}"; }
trap cleanup EXIT

log() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# Runs a command as root: directly when we are root, else through sudo.
as_root() {
  if [[ $(id -u) -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root to run '$*' (run this script as root or install sudo)"
  fi
}

install_packages() {
  local missing=() p status
  for p in "${PACKAGES[@]}"; do
    case $p in
      npm) command -v npm >/dev/null 2>&1 && continue ;;
      nodejs) command -v node >/dev/null 2>&1 && continue ;;
    esac
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
    [[ $status == ii* ]] || missing+=("$p")
  done
  if ((${#missing[@]} == 0)); then
    log "apt packages: all ${#PACKAGES[@]} installed"
    return
  fi
  log "apt packages missing: ${missing[*]}"
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
}

ort_complete() {
  local f
  for f in onnxruntime_c_api.h onnxruntime_cxx_api.h onnxruntime_cxx_inline.h \
           onnxruntime_float16.h; do
    [[ -f $ORT_ROOT/include/$f ]] || return 1
  done
  [[ -f $ORT_ROOT/lib/libonnxruntime.so && -e $ORT_ROOT/lib/libonnxruntime.so.1 ]] ||
    return 1
  [[ -f $ORT_ROOT/VERSION && $(<"$ORT_ROOT/VERSION") == "$ORT_STAMP" ]]
}

fetch_ort() {
  if ort_complete; then
    log "ONNX Runtime: $ORT_NPM_SPEC already in $ORT_ROOT"
    return
  fi
  command -v npm >/dev/null 2>&1 || die "npm not found (needed to fetch ONNX Runtime)"
  log "ONNX Runtime: fetching $ORT_NPM_SPEC from the npm registry"
  local tmp tgz sum
  tmp=$(mktemp -d)
  CLEANUP+=("$tmp")
  (cd "$tmp" && npm pack --silent --ignore-scripts "$ORT_NPM_SPEC" >/dev/null)
  tgz=$(find "$tmp" -maxdepth 1 -name '*.tgz' | head -n1)
  [[ -n $tgz ]] || die "npm pack $ORT_NPM_SPEC produced no tarball"
  sum=$(sha256sum "$tgz" | cut -d' ' -f1)
  [[ $sum == "$ORT_TGZ_SHA256" ]] ||
    die "$ORT_NPM_SPEC: SHA-256 $sum, expected $ORT_TGZ_SHA256"
  tar xzf "$tgz" -C "$tmp" "$ORT_PKG_HEADERS" "$ORT_PKG_LIB" \
    package/LICENSE package/ThirdPartyNotices.txt
  grep -q "^#define ORT_API_VERSION $ORT_API_VERSION\$" \
    "$tmp/$ORT_PKG_HEADERS/onnxruntime_c_api.h" ||
    die "$ORT_NPM_SPEC: headers do not declare ORT_API_VERSION $ORT_API_VERSION"

  # Assemble beside the destination, then swap it in: an interrupted run
  # never leaves a half-filled ORT folder that looks complete.
  local stage="$ORT_ROOT.tmp.$$"
  CLEANUP+=("$stage")
  rm -rf "$stage"
  mkdir -p "$stage/include" "$stage/lib"
  cp "$tmp/$ORT_PKG_HEADERS"/*.h "$stage/include/"
  cp "$tmp/$ORT_PKG_LIB" "$stage/lib/libonnxruntime.so"
  ln -s libonnxruntime.so "$stage/lib/libonnxruntime.so.1"
  cp "$tmp/package/LICENSE" "$tmp/package/ThirdPartyNotices.txt" "$stage/"
  printf '%s\n' "$ORT_STAMP" >"$stage/VERSION"
  rm -rf "$ORT_ROOT"
  mkdir -p "$(dirname "$ORT_ROOT")"
  mv "$stage" "$ORT_ROOT"
  ort_complete || die "ONNX Runtime in $ORT_ROOT is incomplete after fetching"
  log "ONNX Runtime: installed into $ORT_ROOT"
}

build() {
  local args=(-G Ninja -S "$ROOT" -B "$BUILD_DIR"
              -DONNXPRUNE_ENABLE_ORT=ON "-DONNXPRUNE_ORT_ROOT=$ORT_ROOT")
  if command -v ccache >/dev/null 2>&1; then
    args+=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
    # Paths relative to the checkout, so a fresh clone elsewhere (CI) hits
    # the cache a previous build filled.
    export CCACHE_BASEDIR="$ROOT" CCACHE_NOHASHDIR=true
  fi
  local cache=$BUILD_DIR/CMakeCache.txt
  if [[ -f $cache ]] && ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$cache"; then
    die "$BUILD_DIR was configured with another generator; remove it and rerun"
  fi
  log "configuring $BUILD_DIR"
  cmake "${args[@]}" >/dev/null
  log "building with $JOBS jobs"
  cmake --build "$BUILD_DIR" -j "$JOBS"
}

main() {
  install_packages
  fetch_ort
  if [[ ${ONNXPRUNE_SKIP_BUILD:-0} == 1 ]]; then
    log "skipping the build (ONNXPRUNE_SKIP_BUILD=1)"
  else
    build
  fi
  log "done"
}

# Run unless sourced (sourcing gives the functions to tests).
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  main "$@"
fi
