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
  qlinear_cnn     hand-written static QOperator CNN with ONNX Runtime's
                  contrib ops: QLinearConcat, QLinearAveragePool,
                  QLinearGlobalAveragePool, QGemm, QLinearSoftmax.
  dynamic_matmul_mlp
                  DynamicQuantizeMatMul and MatMulIntegerToFloat (what ORT's
                  fusions make of the dynamic MatMulInteger chain).
  gather_block_embed
                  GatherBlockQuantized embedding tables (8-bit with zero
                  points, 4-bit packed), summed, then an MLP.

The hand-written models also get a float twin, float/NAME.onnx (the same
network on the float weights they were quantized from): a quantized
model's parameter count must equal its float model's (TorchParamsTest).

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
    MatMulNBits(N=16, block 16, default zero point) -> y; with its float
    twin (MatMul on the float weights)."""
    rng = np.random.default_rng(20241)
    nodes, inits = [], []
    fnodes, finits = [], []
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
        finits.append(numpy_helper.from_array(w, f"fc{i}.weight"))
        fnodes.append(helper.make_node("MatMul", [x, f"fc{i}.weight"], [y],
                                       name=f"fc{i}"))
        if bias:
            bv = rng.standard_normal(n).astype(np.float32) * 0.1
            inits.append(numpy_helper.from_array(bv, f"fc{i}.bias"))
            finits.append(numpy_helper.from_array(bv, f"fc{i}.bias"))
            for ns in (nodes, fnodes):
                ns.append(helper.make_node("Add", [y, f"fc{i}.bias"],
                                           [f"fc{i}_biased"], name=f"fc{i}_bias"))
            y = f"fc{i}_biased"
        if i + 1 < len(layers):
            for ns in (nodes, fnodes):
                ns.append(helper.make_node("Relu", [y], [f"relu{i}"],
                                           name=f"relu{i}"))
            x = f"relu{i}"
    g = helper.make_graph(
        nodes, "mlp_nbits",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                       ["batch", 4, 32])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT,
                                       ["batch", 4, 16])], inits)
    return (make_model(g), make_model(
        helper.make_graph(fnodes, "mlp_nbits_float", list(g.input),
                          list(g.output), finits)))


def make_model(graph):
    m = helper.make_model(graph, opset_imports=[
        helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
    m.ir_version = 8
    return m


# ---- More ONNX Runtime contrib ops --------------------------------------------
#
# Each generator returns (quantized model, float twin): the twin runs the
# float weights the quantized ones came from, through the standard ops, so
# a test can check that both have the same parameter count.

def _vi(name, elem, dims):
    return helper.make_tensor_value_info(name, elem, dims)


class Graph:
    """Node and initializer lists of a quantized model and its float twin."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.q, self.qi, self.f, self.fi = [], [], [], []

    def init(self, which, name, arr):
        (self.qi if which == "q" else self.fi).append(
            numpy_helper.from_array(np.asarray(arr), name))
        return name

    def both(self, name, arr):
        self.init("q", name, arr)
        return self.init("f", name, arr)

    def node(self, which, op, ins, outs, **attrs):
        domain = "com.microsoft" if op in CONTRIB else ""
        (self.q if which == "q" else self.f).append(helper.make_node(
            op, ins, outs, name=outs[0], domain=domain, **attrs))
        return outs[0]

    def weights(self, shape, fan_in):
        return (self.rng.standard_normal(shape) / np.sqrt(fan_in)).astype(np.float32)

    def models(self, name, inputs, outputs):
        return (make_model(helper.make_graph(self.q, name, inputs, outputs, self.qi)),
                make_model(helper.make_graph(self.f, name + "_float", inputs,
                                             outputs, self.fi)))


CONTRIB = {"QLinearConcat", "QLinearAveragePool", "QLinearGlobalAveragePool",
           "QLinearSoftmax", "QGemm", "DynamicQuantizeMatMul",
           "MatMulIntegerToFloat", "GatherBlockQuantized"}


def qlinear_cnn():
    """ONNX Runtime's static QOperator CNN, uint8 activations throughout:
    x -> QuantizeLinear -> QLinearConv c1 (3->16) -> QLinearConv c2
    (16->32) and QLinearConv c3 (16->16, 1x1) -> QLinearConcat (48) ->
    QLinearAveragePool 2x2 -> QLinearConv c4 (48->32) ->
    QLinearGlobalAveragePool -> Flatten -> QGemm (32->10, int8 per-column
    B, int32 bias) -> QLinearSoftmax -> DequantizeLinear -> y."""
    g = Graph(31)
    s, z = g.both("act_scale", ACT_SCALE), g.both("act_zp", ACT_ZP)
    g.node("q", "QuantizeLinear", ["input", s, z], ["x_q"])

    def conv(name, x, cin, cout, k, fx=None):
        w = g.weights((cout, cin, k, k), cin * k * k)
        b = (g.rng.standard_normal(cout) * 0.1).astype(np.float32)
        q, ws, wz = quant_sym_int8(w, 0)
        bq = np.round(b / (ACT_SCALE * ws)).astype(np.int32)
        ins = [x + "_q", s, z, g.init("q", name + ".w_q", q),
               g.init("q", name + ".w_scale", ws),
               g.init("q", name + ".w_zp", wz), s, z,
               g.init("q", name + ".b_q", bq)]
        pads = [k // 2] * 4
        g.node("q", "QLinearConv", ins, [name + "_q"], pads=pads)
        g.node("f", "Conv", [fx or x, g.init("f", name + ".weight", w),
                             g.init("f", name + ".bias", b)], [name], pads=pads)
        return name

    c1 = conv("c1", "x", 3, 16, 3, fx="input")
    c2 = conv("c2", c1, 16, 32, 3)
    c3 = conv("c3", c1, 16, 16, 1)
    g.node("q", "QLinearConcat", [s, z, c2 + "_q", s, z, c3 + "_q", s, z],
           ["cat_q"], axis=1)
    g.node("f", "Concat", [c2, c3], ["cat"], axis=1)
    pool = dict(kernel_shape=[2, 2], strides=[2, 2])
    g.node("q", "QLinearAveragePool", ["cat_q", s, z, s, z], ["pool_q"], **pool)
    g.node("f", "AveragePool", ["cat"], ["pool"], **pool)
    c4 = conv("c4", "pool", 48, 32, 3)
    g.node("q", "QLinearGlobalAveragePool", [c4 + "_q", s, z, s, z], ["gap_q"])
    g.node("f", "GlobalAveragePool", [c4], ["gap"])
    g.node("q", "Flatten", ["gap_q"], ["flat_q"])
    g.node("f", "Flatten", ["gap"], ["flat"])
    w = g.weights((10, 32), 32)  # [N, K]: transB
    b = (g.rng.standard_normal(10) * 0.1).astype(np.float32)
    q, ws, wz = quant_sym_int8(w, 0)
    bq = np.round(b / (ACT_SCALE * ws)).astype(np.int32)
    g.node("q", "QGemm", ["flat_q", s, z, g.init("q", "fc.w_q", q),
                          g.init("q", "fc.w_scale", ws),
                          g.init("q", "fc.w_zp", wz), g.init("q", "fc.b_q", bq),
                          s, z], ["fc_q"], transB=1)
    g.node("f", "Gemm", ["flat", g.init("f", "fc.weight", w),
                         g.init("f", "fc.bias", b)], ["fc"], transB=1)
    ps = g.init("q", "prob_scale", np.float32(1.0 / 256))
    pz = g.init("q", "prob_zp", np.uint8(0))
    g.node("q", "QLinearSoftmax", ["fc_q", s, z, ps, pz], ["prob_q"], axis=-1,
           opset=13)
    g.node("q", "DequantizeLinear", ["prob_q", ps, pz], ["output"])
    g.node("f", "Softmax", ["fc"], ["output"], axis=-1)
    return g.models("qlinear_cnn",
                    [_vi("input", TensorProto.FLOAT, ["batch", 3, 8, 8])],
                    [_vi("output", TensorProto.FLOAT, ["batch", 10])])


def dynamic_matmul_mlp():
    """ONNX Runtime's fused dynamic quantization: x[batch, 4, 32] ->
    DynamicQuantizeMatMul (32->128, int8 per-column, symmetric, bias) ->
    Relu -> DynamicQuantizeLinear -> MatMulIntegerToFloat (128->64, uint8
    per-column with zero points, bias) -> Relu -> DynamicQuantizeMatMul
    (64->16, uint8 per-column with zero points, no bias) -> y[batch, 4,
    16]."""
    g = Graph(47)
    w1, w2, w3 = g.weights((32, 128), 32), g.weights((128, 64), 128), g.weights((64, 16), 64)
    b1 = (g.rng.standard_normal(128) * 0.1).astype(np.float32)
    b2 = (g.rng.standard_normal(64) * 0.1).astype(np.float32)
    q1, s1, _ = quant_sym_int8(w1, 1)
    g.node("q", "DynamicQuantizeMatMul",
           ["input", g.init("q", "fc1.w_q", q1), g.init("q", "fc1.w_scale", s1),
            "", g.init("q", "fc1.bias", b1)], ["fc1"])
    g.node("q", "Relu", ["fc1"], ["r1"])
    g.node("q", "DynamicQuantizeLinear", ["r1"], ["r1_q", "r1_scale", "r1_zp"])
    q2, s2, z2 = quant_asym(w2, 1, np.uint8)
    g.node("q", "MatMulIntegerToFloat",
           ["r1_q", g.init("q", "fc2.w_q", q2), "r1_scale",
            g.init("q", "fc2.w_scale", s2), "r1_zp", g.init("q", "fc2.w_zp", z2),
            g.init("q", "fc2.bias", b2)], ["fc2"])
    g.node("q", "Relu", ["fc2"], ["r2"])
    q3, s3, z3 = quant_asym(w3, 1, np.uint8)
    g.node("q", "DynamicQuantizeMatMul",
           ["r2", g.init("q", "fc3.w_q", q3), g.init("q", "fc3.w_scale", s3),
            g.init("q", "fc3.w_zp", z3)], ["output"])
    g.node("f", "MatMul", ["input", g.init("f", "fc1.weight", w1)], ["m1"])
    g.node("f", "Add", ["m1", g.init("f", "fc1.bias", b1)], ["fc1"])
    g.node("f", "Relu", ["fc1"], ["r1"])
    g.node("f", "MatMul", ["r1", g.init("f", "fc2.weight", w2)], ["m2"])
    g.node("f", "Add", ["m2", g.init("f", "fc2.bias", b2)], ["fc2"])
    g.node("f", "Relu", ["fc2"], ["r2"])
    g.node("f", "MatMul", ["r2", g.init("f", "fc3.weight", w3)], ["output"])
    return g.models("dynamic_matmul_mlp",
                    [_vi("input", TensorProto.FLOAT, ["batch", 4, 32])],
                    [_vi("output", TensorProto.FLOAT, ["batch", 4, 16])])


def quant_blocks(w, block, bits, with_zp):
    """Block quantization of w[V, H] along H: codes uint8 [V, H] (bits 8)
    or packed two to a byte, low first, [V, H/2] (bits 4), scales
    [V, H/block], zero points like the scales (or None: 2^(bits-1))."""
    v, h = w.shape
    wb = w.reshape(v, h // block, block)
    qmax = (1 << bits) - 1
    if with_zp:
        lo = np.minimum(wb.min(axis=2), 0)
        hi = np.maximum(wb.max(axis=2), 0)
        scale = np.maximum((hi - lo) / qmax, 1e-8).astype(np.float32)
        zp = np.clip(np.round(-lo / scale), 0, qmax).astype(np.uint8)
    else:
        scale = np.maximum(np.abs(wb).max(axis=2) / (1 << (bits - 1)), 1e-8)
        scale = scale.astype(np.float32)
        zp = np.full(scale.shape, 1 << (bits - 1), np.uint8)
    codes = np.clip(np.round(wb / scale[:, :, None]) + zp[:, :, None], 0, qmax)
    codes = codes.astype(np.uint8).reshape(v, h)
    if bits == 4:
        codes = (codes[:, 0::2] | (codes[:, 1::2] << 4)).astype(np.uint8)
    return codes, scale, (zp if with_zp else None)


def gather_block_embed():
    """Two block-quantized embedding tables (com.microsoft
    GatherBlockQuantized, [128, 128], blocks of 16 along the hidden axis:
    8-bit with zero points, 4-bit packed with the default zero point) read
    by the same token ids and summed -> MatMul (128->64) -> Relu -> MatMul
    (64->16) -> y[batch, 8, 16]."""
    g = Graph(59)
    # ONNX Runtime's kernel takes int32 indices.
    g.node("q", "Cast", ["ids"], ["ids32"], to=TensorProto.INT32)
    for name, bits, zp in (("emb8", 8, True), ("emb4", 4, False)):
        t = (g.rng.standard_normal((128, 128)) * 0.5).astype(np.float32)
        codes, scale, zps = quant_blocks(t, 16, bits, zp)
        ins = [g.init("q", name + ".q", codes), "ids32",
               g.init("q", name + ".scale", scale)]
        if zps is not None:
            ins.append(g.init("q", name + ".zp", zps))
        g.node("q", "GatherBlockQuantized", ins, [name], gather_axis=0,
               quantize_axis=1, block_size=16, bits=bits)
        g.node("f", "Gather", [g.init("f", name + ".weight", t), "ids"], [name])
    for which in ("q", "f"):
        g.node(which, "Add", ["emb8", "emb4"], ["emb"])
    w1, w2 = g.weights((128, 64), 128), g.weights((64, 16), 64)
    g.both("fc1.weight", w1)
    g.both("fc2.weight", w2)
    for which in ("q", "f"):
        g.node(which, "MatMul", ["emb", "fc1.weight"], ["h"])
        g.node(which, "Relu", ["h"], ["r"])
        g.node(which, "MatMul", ["r", "fc2.weight"], ["output"])
    return g.models("gather_block_embed",
                    [_vi("ids", TensorProto.INT64, ["batch", 8])],
                    [_vi("output", TensorProto.FLOAT, ["batch", 8, 16])])


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
    "qlinear_cnn": qlinear_cnn,
    "dynamic_matmul_mlp": dynamic_matmul_mlp,
    "gather_block_embed": gather_block_embed,
}


def write(name, model, out):
    model.producer_name = "onnx-prune gen_quant.py"
    model.producer_version = "1"
    model.doc_string = f"onnx-prune quantized test model: {name}"
    # Contrib ops are past the checker; the rest is checked in full.
    if not any(n.domain == "com.microsoft" for n in model.graph.node):
        onnx.checker.check_model(model, full_check=True)
    os.makedirs(out, exist_ok=True)
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
            made = make()
            # (model, float twin): the twin goes to float/, out of the
            # quant-prune glob.
            files = [(name, made, "")] if not isinstance(made, tuple) else [
                (name, made[0], ""), (name, made[1], "float")]
            for fname, model, sub in files:
                path = write(fname, model, os.path.join(out, sub))
                data = open(path, "rb").read()
                digest = hashlib.sha256(data).hexdigest()[:16]
                print(f"{os.path.join(sub, fname):28s} {len(data):8d} bytes  "
                      f"sha256 {digest}")
                if args.check:
                    ref = os.path.join(args.out, sub, fname + ".onnx")
                    if not os.path.exists(ref) or open(ref, "rb").read() != data:
                        print(f"  MISMATCH with {ref}")
                        bad += 1
    finally:
        if args.check:
            shutil.rmtree(out)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
