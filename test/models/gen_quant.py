#!/usr/bin/python3
"""Generate the quantized test models of test/models/quant from the zoo's
float models, with our own quantizer (numpy + onnx only; no ONNX Runtime
tooling), in the forms deployed models use:

    /usr/bin/python3 test/models/gen_quant.py            # rewrite test/models/quant/*.onnx
    /usr/bin/python3 test/models/gen_quant.py --check    # regenerate in a temp dir, compare bytes

Forms (see docs/quantized.md):

  *_qdq_tensor    QDQ, per-tensor uint8 weights with non-zero zero points:
                  W -> DequantizeLinear(Wq, s, zp); every Conv/Gemm/MatMul
                  input activation goes through QuantizeLinear ->
                  DequantizeLinear (uint8, per tensor).
  *_qdq_channel   QDQ, per-channel int8 weights (asymmetric, so zero points
                  differ per channel) on the output-channel axis.
  *_dynamic       ONNX Runtime's quantize_dynamic layout: x ->
                  DynamicQuantizeLinear -> ConvInteger / MatMulInteger ->
                  Cast -> Mul(x_scale * w_scale) -> Add(bias) (Conv biases
                  through Reshape [1,-1,1,1]); uint8 weights, per tensor for
                  convs and per column for matmuls.
  *_qlinear       QOperator: QuantizeLinear -> QLinearConv (int8 per-channel
                  weights, int32 bias) / QLinearMatMul (uint8) ->
                  DequantizeLinear; other ops stay float.
  mlp_nbits       hand-written com.microsoft MatMulNBits MLP (4-bit, packed
                  zero points on two layers, the default zero point on the
                  third).

Activation scales are fixed (uint8, scale 0.05, zero point 128: [-6.4, 6.35])
rather than calibrated: the tests check masked == pruned, which holds for any
scale, and the zoo's activations are O(1). Weights are quantized from the
zoo's random weights. Output is byte-deterministic (no randomness except the
seeded MatMulNBits weights).
"""

import argparse
import hashlib
import os
import shutil
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ZOO = os.path.join(HERE, "zoo")
DEFAULT_OUT = os.path.join(HERE, "quant")

ACT_SCALE = np.float32(0.05)
ACT_ZP = np.uint8(128)


# ---- Quantizers ---------------------------------------------------------------

def _range(w, axis):
    """Min and max (including 0) over all axes but `axis` (None: all)."""
    if axis is None:
        return np.minimum(w.min(), 0), np.maximum(w.max(), 0)
    red = tuple(i for i in range(w.ndim) if i != axis)
    return np.minimum(w.min(axis=red), 0), np.maximum(w.max(axis=red), 0)


def _bcast(v, w, axis):
    if axis is None:
        return v
    shape = [1] * w.ndim
    shape[axis] = -1
    return v.reshape(shape)


def quant_asym(w, axis, dtype):
    """Asymmetric quantization: zero points differ from 0 (and per channel)."""
    lo, hi = _range(w, axis)
    qmin, qmax = (0, 255) if dtype == np.uint8 else (-128, 127)
    scale = np.maximum((hi - lo) / (qmax - qmin), 1e-8).astype(np.float32)
    zp = np.clip(np.round(qmin - lo / scale), qmin, qmax)
    q = np.clip(np.round(w / _bcast(scale, w, axis)) + _bcast(zp, w, axis),
                qmin, qmax)
    return q.astype(dtype), scale, np.asarray(zp).astype(dtype)


def quant_sym_int8(w, axis):
    """Symmetric int8 (zero point 0), as QLinearConv's per-channel weights."""
    _, amax = _range(np.abs(w), axis)
    scale = np.maximum(amax / 127.0, 1e-8).astype(np.float32)
    q = np.clip(np.round(w / _bcast(scale, w, axis)), -127, 127)
    return q.astype(np.int8), scale, np.zeros_like(scale, dtype=np.int8)


# ---- Graph surgery --------------------------------------------------------------

class Builder:
    """Rewrites a model's node list, adding initializers with unique names."""

    def __init__(self, model):
        self.m = model
        self.g = model.graph
        self.inits = {i.name: i for i in self.g.initializer}
        self.consts = {}
        for n in self.g.node:  # Constant nodes hold values too (mobilenet's Clip)
            if n.op_type == "Constant":
                self.consts[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
        self.nodes = []
        self.used = set(self.inits) | {v for n in self.g.node for v in n.output}
        self.dropped = set()

    def name(self, base):
        n, k = base, 0
        while n in self.used:
            k += 1
            n = f"{base}_{k}"
        self.used.add(n)
        return n

    def init(self, base, arr):
        n = self.name(base)
        self.g.initializer.append(numpy_helper.from_array(np.asarray(arr), n))
        return n

    def weight(self, name):
        return numpy_helper.to_array(self.inits[name])

    def node(self, op, inputs, outputs=None, name=None, **attrs):
        outputs = outputs or [self.name((name or op.lower()) + "_out")]
        self.nodes.append(helper.make_node(op, inputs, outputs,
                                           name=self.name(name or op), **attrs))
        return outputs

    def drop_init(self, name):
        self.dropped.add(name)

    def finish(self):
        del self.g.node[:]
        self.g.node.extend(self.nodes)
        used = {i for n in self.g.node for i in n.input}
        keep = [i for i in self.g.initializer
                if i.name in used or i.name not in self.dropped]
        del self.g.initializer[:]
        self.g.initializer.extend(keep)


def qdq_activation(b, x, tag):
    """x -> QuantizeLinear -> DequantizeLinear (per tensor, uint8)."""
    s = b.init(tag + "_act_scale", ACT_SCALE)
    zp = b.init(tag + "_act_zp", ACT_ZP)
    q = b.node("QuantizeLinear", [x, s, zp], name=tag + "_act_q")[0]
    return b.node("DequantizeLinear", [q, s, zp], name=tag + "_act_dq")[0]


def weight_axis(n, w):
    """The output-channel axis of a Conv / Gemm / MatMul weight."""
    if n.op_type == "Conv":
        return 0
    if n.op_type == "Gemm":
        return 0 if any(a.name == "transB" and a.i for a in n.attribute) else 1
    return w.ndim - 1  # MatMul: [K, N]


def is_weight_op(b, n):
    return (n.op_type in ("Conv", "Gemm", "MatMul") and len(n.input) > 1
            and n.input[1] in b.inits and b.inits[n.input[1]].data_type ==
            TensorProto.FLOAT)


def rewrite_weight_ops(model, rewrite):
    """Calls rewrite(b, n, tag, wname, w, bias) for every Conv / Gemm /
    MatMul with a float weight initializer (w as stored, bias the Conv or
    Gemm bias input or None); copies every other node. Weights of Gemm
    come as [K, N] (transposed when transB)."""
    b = Builder(model)
    for n in model.graph.node:
        if not is_weight_op(b, n):
            b.nodes.append(n)
            continue
        w = b.weight(n.input[1])
        if n.op_type == "Gemm" and any(a.name == "transB" and a.i
                                       for a in n.attribute):
            w = w.T
        bias = n.input[2] if len(n.input) > 2 and n.input[2] else None
        rewrite(b, n, n.name or n.output[0], n.input[1], w, bias)
        b.drop_init(n.input[1])
    b.finish()
    return model


def to_qdq(model, per_channel):
    def rewrite(b, n, tag, wname, w, bias):
        w = b.weight(wname)  # as stored: DequantizeLinear feeds the op as is
        axis = weight_axis(n, w)
        if per_channel:
            q, s, zp = quant_asym(w, axis, np.int8)
        else:
            q, s, zp = quant_asym(w, None, np.uint8)
        wq = b.init(wname + "_quantized", q)
        ws = b.init(wname + "_scale", s)
        wz = b.init(wname + "_zero_point", zp)
        attrs = {"axis": axis} if per_channel else {}
        wdq = b.node("DequantizeLinear", [wq, ws, wz], name=tag + "_w_dq",
                     **attrs)[0]
        x = qdq_activation(b, n.input[0], tag)
        new = onnx.NodeProto()
        new.CopyFrom(n)
        new.input[0] = x
        new.input[1] = wdq
        b.nodes.append(new)
    return rewrite_weight_ops(model, rewrite)


def to_dynamic(model):
    """ONNX Runtime's quantize_dynamic layout (Conv, MatMul, Gemm)."""
    def rewrite(b, n, tag, wname, w, bias):
        xq, xs, xz = b.node("DynamicQuantizeLinear", [n.input[0]],
                            [b.name(tag + "_x_quantized"),
                             b.name(tag + "_x_scale"),
                             b.name(tag + "_x_zero_point")],
                            name=tag + "_dql")
        if n.op_type == "Conv":
            q, s, zp = quant_asym(w, None, np.uint8)
            wq = b.init(wname + "_quantized", q)
            wz = b.init(wname + "_zero_point", zp)
            acc = b.node("ConvInteger", [xq, wq, xz, wz], name=tag + "_int",
                         **{a.name: helper.get_attribute_value(a)
                            for a in n.attribute})[0]
        else:
            q, s, zp = quant_asym(w, 1, np.uint8)  # per column
            wq = b.init(wname + "_quantized", q)
            wz = b.init(wname + "_zero_point", zp)
            acc = b.node("MatMulInteger", [xq, wq, xz, wz], name=tag + "_int")[0]
        ws = b.init(wname + "_scale", s)
        scale = b.node("Mul", [xs, ws], name=tag + "_scales_mul")[0]
        f = b.node("Cast", [acc], name=tag + "_cast", to=TensorProto.FLOAT)[0]
        out = n.output[0]
        y = b.node("Mul", [f, scale], [out if not bias else b.name(tag + "_scaled")],
                   name=tag + "_scale")[0]
        if bias:
            bv = bias
            if n.op_type == "Conv":
                shape = b.init(tag + "_bias_reshape_shape",
                               np.array([1, -1, 1, 1], np.int64))
                bv = b.node("Reshape", [bias, shape], name=tag + "_bias_reshape")[0]
            b.node("Add", [y, bv], [out], name=tag + "_bias_add")
    return rewrite_weight_ops(model, rewrite)


def to_qlinear(model):
    """QLinearConv / QLinearMatMul between QuantizeLinear and DequantizeLinear."""
    def rewrite(b, n, tag, wname, w, bias):
        xs = b.init(tag + "_x_scale", ACT_SCALE)
        xz = b.init(tag + "_x_zero_point", ACT_ZP)
        ys = b.init(tag + "_y_scale", ACT_SCALE)
        yz = b.init(tag + "_y_zero_point", ACT_ZP)
        xq = b.node("QuantizeLinear", [n.input[0], xs, xz], name=tag + "_x_q")[0]
        if n.op_type == "Conv":
            q, s, zp = quant_sym_int8(w, 0)
            ins = [xq, xs, xz, b.init(wname + "_quantized", q),
                   b.init(wname + "_scale", s), b.init(wname + "_zero_point", zp),
                   ys, yz]
            if bias:
                bq = np.round(b.weight(bias) / (ACT_SCALE * s)).astype(np.int32)
                ins.append(b.init(bias + "_quantized", bq))
                b.drop_init(bias)
            yq = b.node("QLinearConv", ins, name=tag + "_qlinear",
                        **{a.name: helper.get_attribute_value(a)
                           for a in n.attribute})[0]
            b.node("DequantizeLinear", [yq, ys, yz], [n.output[0]],
                   name=tag + "_y_dq")
            return
        q, s, zp = quant_asym(w, None, np.uint8)
        ins = [xq, xs, xz, b.init(wname + "_quantized", q),
               b.init(wname + "_scale", s), b.init(wname + "_zero_point", zp),
               ys, yz]
        yq = b.node("QLinearMatMul", ins, name=tag + "_qlinear")[0]
        out = n.output[0]
        y = b.node("DequantizeLinear", [yq, ys, yz],
                   [out if not bias else b.name(tag + "_dq")],
                   name=tag + "_y_dq")[0]
        if bias:
            b.node("Add", [y, bias], [out], name=tag + "_bias_add")
    return rewrite_weight_ops(model, rewrite)


# ---- MatMulNBits -----------------------------------------------------------------

def pack_nbits(w, block, bits=4, with_zp=True):
    """B [N, blocks, blob], scales [N*blocks], zero points [N*ceil(blocks/2)]
    (4-bit codes packed low-first, rows padded to whole bytes) for W[K, N]."""
    k, n = w.shape
    blocks = (k + block - 1) // block
    wt = np.zeros((n, blocks * block), np.float32)
    wt[:, :k] = w.T
    wt = wt.reshape(n, blocks, block)
    lo = np.minimum(wt.min(axis=2), 0)
    hi = np.maximum(wt.max(axis=2), 0)
    qmax = (1 << bits) - 1
    if with_zp:
        scale = np.maximum((hi - lo) / qmax, 1e-8).astype(np.float32)
        zp = np.clip(np.round(-lo / scale), 0, qmax).astype(np.uint8)
    else:
        scale = np.maximum(np.maximum(-lo, hi) / (1 << (bits - 1)), 1e-8).astype(np.float32)
        zp = np.full((n, blocks), 1 << (bits - 1), np.uint8)
    codes = np.clip(np.round(wt / scale[:, :, None]) + zp[:, :, None], 0, qmax)
    codes = codes.astype(np.uint8)
    packed = (codes[:, :, 0::2] | (codes[:, :, 1::2] << 4)).astype(np.uint8)
    zrow = (blocks + 1) // 2
    zpad = np.full((n, zrow * 2), 0, np.uint8)
    zpad[:, :blocks] = zp
    zpacked = (zpad[:, 0::2] | (zpad[:, 1::2] << 4)).astype(np.uint8)
    return packed, scale.reshape(-1), zpacked.reshape(-1)


def mlp_nbits():
    """x[batch, 4, 32] -> MatMulNBits(N=128, block 16) -> Relu ->
    MatMulNBits(N=64, block 32) -> Add(bias) -> Relu ->
    MatMulNBits(N=16, block 16, default zero point) -> y."""
    rng = np.random.default_rng(20241)
    nodes, inits = [], []
    x = "input"
    layers = [(32, 128, 16, True, False), (128, 64, 32, True, True),
              (64, 16, 16, False, False)]
    for i, (k, n, block, zp, bias) in enumerate(layers):
        w = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
        packed, scale, zpk = pack_nbits(w, block, with_zp=zp)
        ins = [x, f"fc{i}.B", f"fc{i}.scales"]
        inits += [numpy_helper.from_array(packed, f"fc{i}.B"),
                  numpy_helper.from_array(scale, f"fc{i}.scales")]
        if zp:
            ins.append(f"fc{i}.zero_points")
            inits.append(numpy_helper.from_array(zpk, f"fc{i}.zero_points"))
        y = f"fc{i}_out" if i + 1 < len(layers) else "output"
        nodes.append(helper.make_node("MatMulNBits", ins, [y], name=f"fc{i}",
                                      domain="com.microsoft", K=k, N=n, bits=4,
                                      block_size=block))
        if bias:
            bv = rng.standard_normal(n).astype(np.float32) * 0.1
            inits.append(numpy_helper.from_array(bv, f"fc{i}.bias"))
            nodes.append(helper.make_node("Add", [y, f"fc{i}.bias"],
                                          [f"fc{i}_biased"], name=f"fc{i}_bias"))
            y = f"fc{i}_biased"
        if i + 1 < len(layers):
            nodes.append(helper.make_node("Relu", [y], [f"relu{i}"],
                                          name=f"relu{i}"))
            x = f"relu{i}"
    g = helper.make_graph(
        nodes, "mlp_nbits",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                       ["batch", 4, 32])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT,
                                       ["batch", 4, 16])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17),
                                            helper.make_opsetid("com.microsoft", 1)])
    m.ir_version = 8
    return m


# ---- Driver ------------------------------------------------------------------------

def load_zoo(name):
    return onnx.load(os.path.join(ZOO, name + ".onnx"))


MODELS = {
    "resnet18_qdq_tensor": lambda: to_qdq(load_zoo("resnet18_op13"), False),
    "mobilenet_v2_qdq_channel": lambda: to_qdq(load_zoo("mobilenet_v2_op13"), True),
    "bert_encoder_qdq_channel": lambda: to_qdq(load_zoo("bert_encoder_op13"), True),
    "resnet18_dynamic": lambda: to_dynamic(load_zoo("resnet18_op13")),
    "bert_encoder_dynamic": lambda: to_dynamic(load_zoo("bert_encoder_op13")),
    "resnet18_qlinear": lambda: to_qlinear(load_zoo("resnet18_op13")),
    "mlp_nbits": mlp_nbits,
}


def write(name, model, out):
    model.producer_name = "onnx-prune gen_quant.py"
    model.producer_version = "1"
    model.doc_string = f"onnx-prune quantized test model: {name}"
    # Contrib ops are past the checker; the rest is checked in full.
    if name != "mlp_nbits":
        onnx.checker.check_model(model, full_check=True)
    path = os.path.join(out, name + ".onnx")
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--check", action="store_true",
                    help="regenerate in a temp dir and compare with --out")
    args = ap.parse_args(argv)
    out = tempfile.mkdtemp() if args.check else args.out
    os.makedirs(out, exist_ok=True)
    bad = 0
    try:
        for name, make in MODELS.items():
            path = write(name, make(), out)
            data = open(path, "rb").read()
            digest = hashlib.sha256(data).hexdigest()[:16]
            print(f"{name:28s} {len(data):8d} bytes  sha256 {digest}")
            if args.check:
                ref = os.path.join(args.out, name + ".onnx")
                if not os.path.exists(ref) or open(ref, "rb").read() != data:
                    print(f"  MISMATCH with {ref}")
                    bad += 1
    finally:
        if args.check:
            shutil.rmtree(out)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
