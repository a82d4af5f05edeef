#!/bin/sh
# The C ABI test (capi_test.c) and what it wrote, checked against the tool:
# the model pruned through the C ABI (from a path, and from bytes) is
# byte-identical to onnx-prune's output for the same pipeline and flags,
# and the report's figures equal the tool's print<stats> on both models;
# the same options (threads, calibration-threads, report) give the tool's
# bytes, model and HTML report.
# usage: run_capi_test.sh ONNX-PRUNE CAPI-TEST PYTHON MODEL CALIBRATION TMPDIR
set -eu
tool=$1 capi=$2 python=$3 model=$4 calib=$5 tmp=$6
pipeline='prune-width<criterion=obs;compensate;per-group=0.3;round-to=1>,dce'
rm -rf "$tmp"
mkdir -p "$tmp/ext"
# The same model with its weights in an external data file.
"$tool" "$model" --external-data=1K -o "$tmp/ext/model.onnx"
"$capi" "$model" "$calib" "$tmp/ext/model.onnx" "$tmp" "$pipeline"
"$tool" "$model" --calibration="$calib" --calibration-samples=128 \
  --calibration-batch=32 -j3 --calibration-threads=2 -passes="$pipeline" \
  --report="$tmp/tool-report.html" -o "$tmp/tool.onnx"
cmp "$tmp/tool.onnx" "$tmp/capi.onnx"
cmp "$tmp/tool-report.html" "$tmp/capi-report.html"
# capi-bytes.onnx was made with the library's default threads (every
# core, as the tool's): the output does not depend on them.
cmp "$tmp/tool.onnx" "$tmp/capi-bytes.onnx"
"$tool" "$model" -passes='print<stats>' > "$tmp/stats-before.txt"
"$tool" "$tmp/tool.onnx" -passes='print<stats>' > "$tmp/stats-after.txt"
"$python" - "$tmp" <<'PY'
import json, re, sys
tmp = sys.argv[1]
r = json.load(open(tmp + "/report.json"))
assert r["schema"] == "onnxprune.report" and r["version"] == 1, r
def stats(name):
    text = open(f"{tmp}/{name}").read()
    get = lambda key: int(re.search(rf"^{key}: (\d+)$", text, re.M).group(1))
    return {"params": get("params"), "nodes": get("nodes"),
            "flops": int(re.search(r"^FLOPs[^:]*: (\d+)$", text, re.M).group(1))}
for side, name in (("before", "stats-before.txt"), ("after", "stats-after.txt")):
    want = stats(name)
    for k, v in want.items():
        assert r[side][k] == v, (side, k, r[side][k], v)
assert r["after"]["params"] < r["before"]["params"]
assert r["pipeline"].startswith("prune-width<"), r["pipeline"]
# Every prunable group was cut to 70% (per-group=0.3), rounded as the pass
# rounds: the widths must say so, and match the sliced weights.
groups = r["groups"]
assert groups, "no groups in the report"
sliced = {w["tensor"]: w for w in r["sliced_weights"]}
cut = 0
for g in groups:
    assert 0 < g["after"] <= g["before"], g
    if g["after"] < g["before"]:
        cut += 1
        w = sliced[g["tensor"]]
        assert w["before"][g["axis"]] == g["before"], (g, w)
        assert w["after"][g["axis"]] == g["after"], (g, w)
assert cut == len(groups), (cut, len(groups))
# The latency budget (capi_test.c 3b): it ran on ONNX Runtime, reported
# predicted and measured latency, and removed something.
lat = json.load(open(tmp + "/latency-report.json"))
m = re.search(r"latency \(prune-width<latency=0.7>\): ([0-9.]+) ms -> ([0-9.]+) "
              r"ms predicted, ([0-9.]+) ms measured \(([0-9.]+)% of the original\) \[ONNX Runtime", lat["log"])
assert m, lat["log"]
assert 0 < float(m.group(2)) < float(m.group(1)), lat["log"]
assert float(m.group(3)) > 0, lat["log"]
assert lat["after"]["flops"] < lat["before"]["flops"], (lat["before"], lat["after"])
assert lat["pipeline"].startswith("prune-width<"), lat["pipeline"]
print(f"latency: {m.group(1)} ms -> {m.group(2)} predicted, {m.group(3)} measured; "
      f"FLOPs {lat['before']['flops']} -> {lat['after']['flops']}")
print(f"report: params {r['before']['params']} -> {r['after']['params']}, "
      f"FLOPs {r['before']['flops']} -> {r['after']['flops']}, "
      f"{len(groups)} groups cut, {len(r['sliced_weights'])} weights sliced")
PY
echo "run_capi_test: PASS"
