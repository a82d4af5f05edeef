#!/bin/sh
# From an install, as a user would: `cmake --install` into a temporary
# prefix, then build examples/library against it with find_package and,
# separately, with pkg-config; run both on a trained model and compare with
# the installed tool's output byte for byte; build the example plugin and
# load it into the installed tool; import the installed Python module with
# Debian's python3 (python_test.py).
# usage: run_install_test.sh BUILD-DIR SOURCE-DIR TMPDIR
set -eu
build=$1 src=$2 tmp=$3
rm -rf "$tmp"
mkdir -p "$tmp"
prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" > "$tmp/install.log"
for f in bin/onnx-prune lib/libonnxprune.so lib/libonnxprune_c.so \
         lib/libonnxruntime.so.1 include/onnxprune/OnnxPrune.h \
         include/onnxprune/onnxprune.h include/onnxprune/Plugin.h \
         lib/cmake/OnnxPrune/OnnxPruneConfig.cmake lib/pkgconfig/onnxprune.pc \
         lib/python3/dist-packages/onnxprune/__init__.py; do
  test -e "$prefix/$f" || { echo "not installed: $f"; exit 1; }
done
tool=$prefix/bin/onnx-prune
trained=$src/test/models/trained
model=$trained/fmnist_resnet.onnx calib=$trained/fmnist_calib.npz
pipeline='prune-width<criterion=obs;compensate;per-group=0.3;round-to=1>,dce'
"$tool" --version
"$tool" "$model" --calibration="$calib" --calibration-samples=128 \
  -passes="$pipeline" --report="$tmp/tool-report.html" -o "$tmp/tool.onnx"

# 1. find_package(OnnxPrune).
cmake -S "$src/examples/library" -B "$tmp/ex" -G Ninja \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release > "$tmp/ex-configure.log"
cmake --build "$tmp/ex" > "$tmp/ex-build.log"
"$tmp/ex/prune_c" "$model" "$tmp/prune_c.onnx" "$pipeline" \
  "{\"calibration\": \"$calib\", \"calibration-samples\": 128}" > "$tmp/report.json"
cmp "$tmp/tool.onnx" "$tmp/prune_c.onnx"
"$tmp/ex/prune_cpp" "$model" "$tmp/prune_cpp.onnx" \
  'prune-width<criterion=wanda;per-group=0.25>,dce' 64 | tee "$tmp/prune_cpp.txt"
grep -q '^params: 326442 -> ' "$tmp/prune_cpp.txt"
# The same pipeline built in code (Pipeline, Pass): the tool's bytes, model
# and report.
"$tmp/ex/pipeline_cpp" "$model" "$tmp/pipeline_cpp.onnx" "$calib" \
  "$tmp/pipeline_cpp.html" | tee "$tmp/pipeline_cpp.txt"
grep -qxF "pipeline: $pipeline" "$tmp/pipeline_cpp.txt"
grep -q "^refused: pass 'prune-width'.*per-grup" "$tmp/pipeline_cpp.txt"
cmp "$tmp/tool.onnx" "$tmp/pipeline_cpp.onnx"
cmp "$tmp/tool-report.html" "$tmp/pipeline_cpp.html"

# 2. pkg-config, no CMake.
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
libdir=$(pkg-config --variable=libdir onnxprune)
cc -o "$tmp/prune_c_pc" "$src/examples/library/prune_c.c" \
  $(pkg-config --cflags --libs onnxprune) -Wl,-rpath,"$libdir"
"$tmp/prune_c_pc" "$model" "$tmp/prune_c_pc.onnx" "$pipeline" \
  "{\"calibration\": \"$calib\", \"calibration-samples\": 128}" > /dev/null
cmp "$tmp/tool.onnx" "$tmp/prune_c_pc.onnx"

# 3. The plugin: a handler for a custom op and a criterion.
plugin=$tmp/ex/libexample_plugin.so
custom=$src/examples/library/custom_act.onnxtext
"$tool" "$custom" --coverage 2>&1 | tee "$tmp/cov-without.txt"
grep -q '^coverage: 0 of 4 groups prunable' "$tmp/cov-without.txt"
"$tool" -load="$plugin" "$custom" --coverage 2>&1 | tee "$tmp/cov-with.txt"
grep -q '^coverage: 1 of 3 groups prunable, 6 prunable units' "$tmp/cov-with.txt"
"$tool" -load="$plugin" --list-passes | grep -q 'example-stem-l1'
"$tool" -load="$plugin" "$custom" -passes=example-count-domains 2>&1 |
  tee "$tmp/domains.txt"
grep -qx 'example-count-domains: ai.onnx: 2' "$tmp/domains.txt"
grep -qx 'example-count-domains: com.example: 1' "$tmp/domains.txt"
"$tool" -load="$plugin" "$custom" \
  -passes='prune-width<criterion=example-stem-l1;per-group=0.5>,dce' \
  -o "$tmp/custom-pruned.onnx"
"$tool" "$custom" -o "$tmp/custom.onnx"
/usr/bin/python3 "$src/test/install/check_plugin_prune.py" \
  "$tmp/custom.onnx" "$tmp/custom-pruned.onnx" 3
c++ -std=c++17 -shared -fPIC -I"$prefix/include" \
  -o "$tmp/bad_plugin.so" "$src/test/install/bad_plugin.cpp"
# Plugins onnx-prune must refuse, each with one line naming the file.
check_bad() {
  if "$tool" -load="$1" "$custom" > /dev/null 2> "$tmp/bad.err"; then
    echo "onnx-prune accepted plugin $1"; exit 1
  fi
  cat "$tmp/bad.err"
  test "$(wc -l < "$tmp/bad.err")" -eq 1
  grep -q "^onnx-prune: error: plugin '$1'.*$2" "$tmp/bad.err"
}
echo 'int notAPlugin(void) { return 0; }' > "$tmp/noentry.c"
cc -shared -fPIC -o "$tmp/noentry.so" "$tmp/noentry.c"
check_bad "$tmp/bad_plugin.so" "built for plugin API 99, this onnx-prune has 1"
check_bad "$tmp/noentry.so" "no entry point onnxprunePluginInfo"
check_bad "$tmp/no-such-plugin.so" "cannot load"
check_bad "$model" "cannot load"

# 4. Python, from the installed tree.
PYTHONPATH="$prefix/lib/python3/dist-packages" /usr/bin/python3 \
  "$src/test/install/python_test.py" "$tool" "$model" "$calib" "$tmp" "$plugin" "$custom"
# 5. The examples of docs/library.md.
/usr/bin/python3 "$src/test/install/check_docs_snippets.py" \
  "$src/docs/library.md" "$prefix" "$model" "$calib" "$tmp"
echo "run_install_test: PASS"
