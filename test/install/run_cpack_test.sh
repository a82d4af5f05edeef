#!/bin/sh
# cpack -G DEB makes a Debian package holding the install tree under /usr.
# usage: run_cpack_test.sh BUILD-DIR TMPDIR
set -eu
build=$1 tmp=$2
rm -rf "$tmp"
mkdir -p "$tmp"
cpack -G DEB --config "$build/CPackConfig.cmake" -B "$tmp" > "$tmp/cpack.log"
deb=$(ls "$tmp"/*.deb)
dpkg-deb --info "$deb" | tee "$tmp/info.txt"
grep -q 'Package: onnx-prune' "$tmp/info.txt"
dpkg-deb --contents "$deb" > "$tmp/contents.txt"
for f in ./usr/bin/onnx-prune ./usr/lib/libonnxprune.so ./usr/lib/libonnxprune_c.so \
         ./usr/include/onnxprune/onnxprune.h ./usr/lib/cmake/OnnxPrune/OnnxPruneConfig.cmake \
         ./usr/lib/pkgconfig/onnxprune.pc ./usr/lib/python3/dist-packages/onnxprune/__init__.py; do
  grep -q " $f" "$tmp/contents.txt" || { echo "not in the package: $f"; exit 1; }
done
# The package's pkg-config file names /usr, not the build's prefix.
dpkg-deb -x "$deb" "$tmp/root"
grep -qx 'prefix=/usr' "$tmp/root/usr/lib/pkgconfig/onnxprune.pc"
echo "run_cpack_test: PASS ($(basename "$deb"), $(wc -l < "$tmp/contents.txt") entries)"
