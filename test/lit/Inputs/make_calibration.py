"""Writes calibration data for calibration.onnxtext into a folder, in every
form the tool reads: c.npz, c.npy, a test-data folder holding the same
samples in two sets, and bad files (a missing input, float64, a wrong
channel count, a truncated npz)."""
import os
import sys

import numpy as np
from onnx import numpy_helper

out = sys.argv[1]
rng = np.random.default_rng(0)
x = rng.normal(size=(16, 2, 4, 4)).astype(np.float32) + np.array(
    [1.0, -2.0], dtype=np.float32).reshape(1, 2, 1, 1)
np.savez(os.path.join(out, "c.npz"), x=x)
np.save(os.path.join(out, "c.npy"), x)
for s, part in enumerate((x[:10], x[10:])):
    d = os.path.join(out, "td", "test_data_set_%d" % s)
    os.makedirs(d)
    with open(os.path.join(d, "input_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(part, "x").SerializeToString())
np.savez(os.path.join(out, "missing.npz"), y=x)
np.savez(os.path.join(out, "f64.npz"), x=x.astype(np.float64))
np.savez(os.path.join(out, "chans.npz"), x=np.zeros((4, 3, 4, 4), np.float32))
with open(os.path.join(out, "c.npz"), "rb") as f:
    data = f.read()
with open(os.path.join(out, "trunc.npz"), "wb") as f:
    f.write(data[: len(data) // 2])
