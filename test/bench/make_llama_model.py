#!/usr/bin/python3
"""Writes a Llama-3-shaped fp16 decoder with its weights in one external file.

The graph is what an fp16 export of Llama-3 looks like (the same structure
as DepGroupsBench's `buildLlama`): token embedding `Gather`, per layer a
decomposed RMSNorm (`Cast` to float, `Pow`, `ReduceMean`, `Add`, `Sqrt`,
`Div`, `Mul`, `Cast` back, `Mul` by the weight), q/k/v projections as
`MatMul` with `[in, out]` weights, heads by `Reshape`/`Transpose`, RoPE
rotate-half (`Slice`, `Neg`, `Concat`), GQA repeat_kv (`Unsqueeze`,
`Expand`, `Reshape`), softmax attention, the output projection and a
SwiGLU MLP (`Sigmoid`, `Mul`, `Mul`), residual `Add`s, a final norm and
the LM head. Shapes are static (batch 1, sequence 8), as in the bench.

`--size 8b` has Llama-3-8B's real dimensions: 32 layers, hidden 4096, 32
query and 8 KV heads of 128, MLP 14336, vocabulary 128256, 8.03 G fp16
parameters, 16.06 GB of data. `--size small` has the same graph with small
widths (for CI). Every weight byte is written (no sparse holes): fp16
values of random sign and mantissa with magnitudes between 2^-10 and 2^-2
(norm weights between 1 and 2), from a seeded generator: windows at random
starts of a 64 MB pool of random values. The file is real data that has
to come from disk or cache, and the units of a tensor have different
norms.

usage: make_llama_model.py OUT_DIR [--size 8b|small] [--seed 0]
Writes OUT_DIR/llama.onnx and OUT_DIR/llama.onnx.data.
"""
import argparse
import os

SIZES = {
    # hidden, heads, kv heads, head dim, mlp, vocab, layers
    "8b": dict(hidden=4096, heads=32, kv_heads=8, head_dim=128, mlp=14336,
               vocab=128256, layers=32),
    "small": dict(hidden=256, heads=8, kv_heads=2, head_dim=32, mlp=704,
                  vocab=1000, layers=2),
}
SEQ = 8
DATA_NAME = "llama.onnx.data"
POOL = 1 << 25  # random fp16 values that windows of every tensor come from


class DataWriter:
    """Appends fp16 tensors to the external data file as it goes."""

    def __init__(self, path, seed):
        import numpy as np
        self.f = open(path, "wb")
        self.offset = 0
        self.rng = np.random.default_rng(seed)
        # Drawing 8 G values one by one would take longer than the benchmark
        # (numpy makes ~100 MB/s here): tensors are windows at random starts
        # of a pool of random values, so every tensor's bytes differ.
        r = self.rng.integers(0, 1 << 16, size=POOL, dtype=np.uint16)
        # Sign and mantissa random; exponent field 5..12: 2^-10..2^-3
        # times 1.x. Norm weights: exponent 15, positive (1.x).
        exp = ((((r >> 10) & 7) + 5) << 10).astype(np.uint16)
        self.pool = np.concatenate([(r & np.uint16(0x83FF)) | exp] * 2)
        self.norm_pool = np.concatenate(
            [(r & np.uint16(0x03FF)) | np.uint16(15 << 10)] * 2)

    def add(self, name, dims, norm=False):
        import numpy as np
        from onnx import TensorProto
        n = int(np.prod(dims))
        pool = self.norm_pool if norm else self.pool
        left = n
        while left:
            k = min(left, POOL)
            start = int(self.rng.integers(0, POOL))
            self.f.write(memoryview(pool[start:start + k]))
            left -= k
        t = TensorProto()
        t.name = name
        t.data_type = TensorProto.FLOAT16
        t.dims.extend(dims)
        t.data_location = TensorProto.EXTERNAL
        for key, value in (("location", DATA_NAME),
                           ("offset", str(self.offset)),
                           ("length", str(2 * n))):
            e = t.external_data.add()
            e.key, e.value = key, value
        self.offset += 2 * n
        return t

    def close(self):
        self.f.close()


def build(out_dir, size="8b", seed=0):
    """Writes the model; returns (model path, data path, parameter count)."""
    # Imported here: the benchmark imports this module for SIZES, and numpy
    # in its process would count in the peak RSS of what it forks.
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper
    sh = SIZES[size]
    H, NH, KV, D = sh["hidden"], sh["heads"], sh["kv_heads"], sh["head_dim"]
    M, V, L, S = sh["mlp"], sh["vocab"], sh["layers"], SEQ
    Q, KVW, rep = NH * D, KV * D, NH // KV
    os.makedirs(out_dir, exist_ok=True)
    data = DataWriter(os.path.join(out_dir, DATA_NAME), seed)
    inits, nodes = [], []
    counter = [0]
    params = [0]

    def fresh(prefix):
        counter[0] += 1
        return "%s_%d" % (prefix, counter[0])

    def weight(name, dims, norm=False):
        inits.append(data.add(name, dims, norm))
        params[0] += int(np.prod(dims))
        return name

    def const(array, prefix="c"):
        name = fresh(prefix)
        inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def ints(values):
        return const(np.array(values, dtype=np.int64), "shape")

    def op(op_type, inputs, **attrs):
        out = fresh(op_type.lower())
        nodes.append(helper.make_node(op_type, inputs, [out],
                                      name=out + "_node", **attrs))
        return out

    def f16(value):
        return const(np.array(value, dtype=np.float16), "s")

    def rms_norm(x, wname):
        xf = op("Cast", [x], to=TensorProto.FLOAT)
        p = op("Pow", [xf, const(np.array(2.0, dtype=np.float32))])
        r = op("ReduceMean", [p], axes=[-1], keepdims=1)
        e = op("Add", [r, const(np.array(1e-5, dtype=np.float32))])
        s = op("Sqrt", [e])
        d = op("Div", [const(np.array(1.0, dtype=np.float32)), s])
        n = op("Mul", [xf, d])
        nh = op("Cast", [n], to=TensorProto.FLOAT16)
        return op("Mul", [nh, weight(wname, [H], norm=True)])

    def heads(t, h):
        r = op("Reshape", [t, ints([1, S, h, D])])
        return op("Transpose", [r], perm=[0, 2, 1, 3])

    def rope(q, cos, sin):
        qc = op("Mul", [q, cos])
        q1 = op("Slice", [q, ints([0]), ints([D // 2]), ints([3]), ints([1])])
        q2 = op("Slice", [q, ints([D // 2]), ints([2**63 - 1]), ints([3]),
                          ints([1])])
        rot = op("Concat", [op("Neg", [q2]), q1], axis=-1)
        return op("Add", [qc, op("Mul", [rot, sin])])

    def repeat_kv(k):
        u = op("Unsqueeze", [k, ints([2])])
        e = op("Expand", [u, ints([1, KV, rep, S, D])])
        return op("Reshape", [e, ints([1, NH, S, D])])

    x = op("Gather", [weight("embed_tokens", [V, H]), "input_ids"])
    pos = np.arange(S)[:, None] / (500000.0 ** (np.arange(D // 2) / (D / 2)))
    ang = np.concatenate([pos, pos], axis=1)[None, None]
    cos = const(np.cos(ang).astype(np.float16), "rope_cos")
    sin = const(np.sin(ang).astype(np.float16), "rope_sin")
    mask = const(np.triu(np.full((1, 1, S, S), -65504.0), 1).astype(np.float16),
                 "causal_mask")
    for layer in range(L):
        p = "layers.%d." % layer
        n = rms_norm(x, p + "input_layernorm")
        q = op("MatMul", [n, weight(p + "q_proj", [H, Q])])
        k = op("MatMul", [n, weight(p + "k_proj", [H, KVW])])
        v = op("MatMul", [n, weight(p + "v_proj", [H, KVW])])
        q4 = rope(heads(q, NH), cos, sin)
        k4 = rope(heads(k, KV), cos, sin)
        kr, vr = repeat_kv(k4), repeat_kv(heads(v, KV))
        kt = op("Transpose", [kr], perm=[0, 1, 3, 2])
        sc = op("Div", [op("MatMul", [q4, kt]), f16(np.sqrt(D))])
        pr = op("Softmax", [op("Add", [sc, mask])], axis=-1)
        o = op("Transpose", [op("MatMul", [pr, vr])], perm=[0, 2, 1, 3])
        o3 = op("Reshape", [o, ints([1, S, Q])])
        h = op("Add", [x, op("MatMul", [o3, weight(p + "o_proj", [Q, H])])])
        n2 = rms_norm(h, p + "post_attention_layernorm")
        gt = op("MatMul", [n2, weight(p + "gate_proj", [H, M])])
        silu = op("Mul", [gt, op("Sigmoid", [gt])])
        up = op("MatMul", [n2, weight(p + "up_proj", [H, M])])
        dn = op("MatMul", [op("Mul", [silu, up]),
                           weight(p + "down_proj", [M, H])])
        x = op("Add", [h, dn])
    nf = rms_norm(x, "norm")
    logits = op("MatMul", [nf, weight("lm_head", [H, V])])
    nodes[-1].output[0] = "logits"
    data.close()
    graph = helper.make_graph(
        nodes, "llama",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, S])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT16,
                                       [1, S, V])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="make_llama_model")
    model.ir_version = 8
    path = os.path.join(out_dir, "llama.onnx")
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
    return path, os.path.join(out_dir, DATA_NAME), params[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--size", choices=sorted(SIZES), default="8b")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    path, data, params = build(args.out_dir, args.size, args.seed)
    print("%s: %.3f G parameters, %.2f GB of data" %
          (path, params / 1e9, os.path.getsize(data) / 1e9))


if __name__ == "__main__":
    main()
