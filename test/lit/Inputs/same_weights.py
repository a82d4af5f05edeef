#!/usr/bin/python3
"""Exits non-zero unless two models hold the same weights (by name, values,
dims and dtype), wherever they are stored (inline, external, Constant)."""
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def weights(path):
    m = onnx.load(path)  # loads external data from beside the file
    out = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    for n in m.graph.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    out[n.output[0]] = numpy_helper.to_array(a.t)
    return out


a, b = weights(sys.argv[1]), weights(sys.argv[2])
if a.keys() != b.keys():
    sys.exit("different weight names: %s" % sorted(set(a) ^ set(b)))
for k in a:
    if a[k].dtype != b[k].dtype or a[k].shape != b[k].shape or not np.array_equal(a[k], b[k]):
        sys.exit("weight %s differs" % k)
print("same weights: %d tensors" % len(a))
