#!/usr/bin/python3
"""Writes a synthetic ONNX model whose weights (external data) pass 2 GB.

The model is a chain of MatMuls, Y = X @ W0 @ W1 @ ... , each W a square
float matrix stored in one external data file. The data file is *sparse*:
only a marker at the start of each tensor is written, so a 2.7 GB model
takes a few MB of disk until something copies it. Each tensor's marker is
distinct, so a test can check every byte landed at the right offset.

With --relu a Relu sits between the MatMuls, so every hidden width is a
prunable group (the pruning tests use that); without it the chain is one
linear map.

usage: make_big_model.py OUT_DIR [--gb 2.7] [--dim 4096] [--relu]
"""
import argparse
import os
import struct
import subprocess

import onnx
from onnx import TensorProto, helper


def run_measured(cmd):
    """Runs cmd; returns (exit code, peak RSS in bytes). Shared by the
    large-model tests."""
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    return os.waitstatus_to_exitcode(status), usage.ru_maxrss * 1024


def marker(i):
    # 16 bytes that differ per tensor: index and a fixed tag.
    return struct.pack("<4f", float(i + 1), -1.5, 2.25, float(1000 + i))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--gb", type=float, default=2.7)
    ap.add_argument("--dim", type=int, default=4096)
    ap.add_argument("--relu", action="store_true")
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    d = args.dim
    tensor_bytes = d * d * 4
    count = max(1, int(args.gb * (1 << 30) // tensor_bytes))
    data_name = "big.onnx.data"
    data_path = os.path.join(args.out_dir, data_name)
    with open(data_path, "wb") as f:
        f.truncate(count * tensor_bytes)  # sparse: holes read as zeros
        for i in range(count):
            f.seek(i * tensor_bytes)
            f.write(marker(i))
    inits, nodes = [], []
    prev = "X"
    for i in range(count):
        w = TensorProto()
        w.name = "W%d" % i
        w.data_type = TensorProto.FLOAT
        w.dims.extend([d, d])
        w.data_location = TensorProto.EXTERNAL
        for k, v in (("location", data_name), ("offset", str(i * tensor_bytes)),
                     ("length", str(tensor_bytes))):
            e = w.external_data.add()
            e.key, e.value = k, v
        inits.append(w)
        out = "Y" if i == count - 1 else "h%d" % i
        nodes.append(helper.make_node("MatMul", [prev, w.name], [out],
                                      name="matmul_%d" % i))
        prev = out
        if args.relu and i != count - 1:
            nodes.append(helper.make_node("Relu", [out], [out + "_relu"],
                                          name="relu_%d" % i))
            prev = out + "_relu"
    graph = helper.make_graph(
        nodes, "big",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["batch", d])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["batch", d])],
        initializer=inits)
    model = helper.make_model(graph, producer_name="onnx-prune-test",
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    with open(os.path.join(args.out_dir, "big.onnx"), "wb") as f:
        f.write(model.SerializeToString())
    print("%s: %d tensors of %d bytes = %.2f GB" %
          (os.path.join(args.out_dir, "big.onnx"), count, tensor_bytes,
           count * tensor_bytes / (1 << 30)))


if __name__ == "__main__":
    main()
