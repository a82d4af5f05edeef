#!/usr/bin/python3
"""Writes one malformed model for the error tests.

usage: make_bad_model.py KIND OUT_PATH
KIND: random | truncated | ext-offset | ext-missing | ext-escape | ext-absolute
"""
import os
import random
import sys

import onnx
from onnx import TensorProto, helper


def matmul_model(w):
    g = helper.make_graph(
        [helper.make_node("MatMul", ["X", "W"], ["Y"], name="mm")], "g",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 4])], [w])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def external(location, offset, length):
    w = TensorProto()
    w.name, w.data_type = "W", TensorProto.FLOAT
    w.dims.extend([4, 4])
    w.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", str(offset)), ("length", str(length))):
        e = w.external_data.add()
        e.key, e.value = k, v
    return w


def main():
    kind, out = sys.argv[1], sys.argv[2]
    folder = os.path.dirname(os.path.abspath(out))
    if kind == "random":
        rnd = random.Random(42)
        data = bytes(rnd.randrange(256) for _ in range(4096))
    elif kind == "truncated":
        w = helper.make_tensor("W", TensorProto.FLOAT, [4, 4], [0.5] * 16)
        data = matmul_model(w).SerializeToString()
        data = data[: len(data) * 2 // 3]
    else:
        with open(os.path.join(folder, "w.bin"), "wb") as f:
            f.write(bytes(64))  # exactly one 4x4 float tensor
        loc = {"ext-offset": ("w.bin", 32, 64), "ext-missing": ("nothere.bin", 0, 64),
               "ext-escape": ("../w.bin", 0, 64), "ext-absolute": (os.path.join(folder, "w.bin"), 0, 64),
               "ext-ok": ("w.bin", 0, 64)}[kind]
        data = matmul_model(external(*loc)).SerializeToString()
    with open(out, "wb") as f:
        f.write(data)


if __name__ == "__main__":
    main()
