"""Checks that the BatchNormalization of a recalibrated model holds the
population mean and variance of its input over the calibration data:
x -> Conv W1 (1x1, no bias) -> BN, so the input is W1 . x per position."""
import sys

import numpy as np
import onnx
from onnx import numpy_helper

model = onnx.load(sys.argv[1])
x = np.load(sys.argv[2])["x"].astype(np.float64)
inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
bn = [n for n in model.graph.node if n.op_type == "BatchNormalization"][0]
conv = [n for n in model.graph.node if n.op_type == "Conv"][0]
w = inits[conv.input[1]][:, :, 0, 0].astype(np.float64)
h = np.einsum("oc,nchw->nohw", w, x)
mean = h.mean(axis=(0, 2, 3))
var = h.var(axis=(0, 2, 3))
got_mean, got_var = inits[bn.input[3]], inits[bn.input[4]]
assert got_mean.shape == mean.shape, (got_mean.shape, mean.shape)
assert np.allclose(got_mean, mean, rtol=1e-4, atol=1e-5), (got_mean, mean)
assert np.allclose(got_var, var, rtol=1e-4, atol=1e-5), (got_var, var)
print("bn stats ok: %d channels" % mean.size)
