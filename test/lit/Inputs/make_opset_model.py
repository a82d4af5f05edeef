#!/usr/bin/python3
"""Writes a small conv net at ai.onnx opset N (7..21), using the form of
each op that opset defines: ReduceMean axes as an attribute below 18 and as
an input from 18, Split sizes as an attribute below 13, an input from 13 and
num_outputs from 18, Clip min/max attributes below 11. With --domains it also
uses com.microsoft (Gelu) and ai.onnx.ml (Normalizer) ops.

usage: make_opset_model.py OPSET OUT [--domains]
"""
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper


def main():
    opset, out = int(sys.argv[1]), sys.argv[2]
    domains = "--domains" in sys.argv
    rng = np.random.RandomState(opset)
    inits = [numpy_helper.from_array(rng.randn(8, 3, 3, 3).astype(np.float32), "W"),
             numpy_helper.from_array(rng.randn(8).astype(np.float32), "B")]
    nodes = [helper.make_node("Conv", ["X", "W", "B"], ["c"], name="conv", pads=[1, 1, 1, 1])]
    if opset < 11:
        nodes.append(helper.make_node("Clip", ["c"], ["r"], name="clip", min=0.0, max=6.0))
    else:
        inits += [numpy_helper.from_array(np.array(0, np.float32), "lo"),
                  numpy_helper.from_array(np.array(6, np.float32), "hi")]
        nodes.append(helper.make_node("Clip", ["c", "lo", "hi"], ["r"], name="clip"))
    if opset < 13:
        nodes.append(helper.make_node("Split", ["r"], ["s0", "s1"], name="split", axis=1, split=[4, 4]))
    elif opset < 18:
        inits.append(numpy_helper.from_array(np.array([4, 4], np.int64), "sizes"))
        nodes.append(helper.make_node("Split", ["r", "sizes"], ["s0", "s1"], name="split", axis=1))
    else:
        nodes.append(helper.make_node("Split", ["r"], ["s0", "s1"], name="split", axis=1, num_outputs=2))
    nodes.append(helper.make_node("Add", ["s0", "s1"], ["a"], name="add"))
    if opset < 18:
        nodes.append(helper.make_node("ReduceMean", ["a"], ["m"], name="mean", axes=[2, 3], keepdims=0))
    else:
        inits.append(numpy_helper.from_array(np.array([2, 3], np.int64), "axes"))
        nodes.append(helper.make_node("ReduceMean", ["a", "axes"], ["m"], name="mean", keepdims=0))
    last = "m"
    opsets = [helper.make_opsetid("", opset)]
    if domains:
        nodes.append(helper.make_node("Gelu", ["m"], ["g"], name="gelu", domain="com.microsoft"))
        nodes.append(helper.make_node("Normalizer", ["g"], ["n"], name="norm", domain="ai.onnx.ml", norm="L2"))
        last = "n"
        opsets += [helper.make_opsetid("com.microsoft", 1), helper.make_opsetid("ai.onnx.ml", 3)]
    nodes.append(helper.make_node("Identity", [last], ["Y"], name="out"))
    g = helper.make_graph(nodes, "opset%d" % opset,
                          [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", 3, 8, 8])],
                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["N", 4])], inits)
    m = helper.make_model(g, opset_imports=opsets, producer_name="lit")
    # The IR version each opset shipped with (7: 3 ... 21: 10).
    ir = {7: 3, 8: 3, 9: 4, 10: 5, 11: 6, 12: 7, 13: 7, 14: 7, 15: 8, 16: 8, 17: 8,
          18: 8, 19: 9, 20: 9, 21: 10}[opset]
    m.ir_version = ir
    if ir < 4:
        # Old IR versions list initializers as graph inputs too.
        for t in inits:
            m.graph.input.append(helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)))
    with open(out, "wb") as f:
        f.write(m.SerializeToString())


if __name__ == "__main__":
    main()
