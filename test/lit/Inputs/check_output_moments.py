"""Evaluates calibration.onnxtext-shaped models (1x1 Conv, BatchNormalization,
Relu, Add) with numpy and compares the per-channel mean (and, with --var,
the variance) of the graph output between the original and a repaired model
over the calibration data: bias-correct must match the means, REPAIR the
means and variances."""
import sys

import numpy as np
import onnx
from onnx import numpy_helper, parser


def load(path):
    if path.endswith(".onnxtext"):
        text = "\n".join(l for l in open(path) if not l.lstrip().startswith("#"))
        return parser.parse_model(text)
    return onnx.load(path)


def run(model, x):
    env = {t.name: numpy_helper.to_array(t).astype(np.float64)
           for t in model.graph.initializer}
    env[model.graph.input[0].name] = x
    for n in model.graph.node:
        i = [env[k] for k in n.input if k]
        if n.op_type == "Conv":
            y = np.einsum("oc,nchw->nohw", i[1][:, :, 0, 0], i[0])
            if len(i) > 2:
                y = y + i[2].reshape(1, -1, 1, 1)
        elif n.op_type == "BatchNormalization":
            s = lambda v: v.reshape(1, -1, 1, 1)
            y = s(i[1]) * (i[0] - s(i[3])) / np.sqrt(s(i[4]) + 1e-5) + s(i[2])
        elif n.op_type == "Relu":
            y = np.maximum(i[0], 0)
        elif n.op_type == "Add":
            y = i[0] + i[1]
        else:
            raise SystemExit("unsupported op " + n.op_type)
        env[n.output[0]] = y
    return env[model.graph.output[0].name]


orig, repaired, data = sys.argv[1:4]
x = np.load(data)["x"].astype(np.float64)
a, b = run(load(orig), x), run(load(repaired), x)
ma, mb = a.mean(axis=(0, 2, 3)), b.mean(axis=(0, 2, 3))
assert np.allclose(ma, mb, rtol=1e-4, atol=1e-4), (ma, mb)
if "--var" in sys.argv:
    va, vb = a.var(axis=(0, 2, 3)), b.var(axis=(0, 2, 3))
    assert np.allclose(va, vb, rtol=1e-3, atol=1e-4), (va, vb)
print("output moments match: %d channels" % ma.size)
