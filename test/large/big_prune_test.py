#!/usr/bin/python3
"""Width pruning of a model whose external data passes 2 GB (label: large).

A chain of 43 MatMuls (4096x4096 floats, 2.7 GB in a sparse file) with Relu
between them: every hidden width is a prunable group. prune-width at 30%
must keep peak RSS under 1.5 GB: weights are scored one at a time with their
pages released, sliced lazily, and streamed row by row from the source file
into the output, each kept weight written once. The output must have the
pruned shapes, pass verify, and hold exactly the kept rows and columns.

usage: big_prune_test.py ONNX_PRUNE_BINARY
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_big_model  # noqa: E402



def main():
    tool = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="onnx-prune-bigprune-")
    try:
        src = os.path.join(tmp, "in")
        subprocess.check_call([sys.executable, os.path.join(HERE, "make_big_model.py"),
                               src, "--relu"])
        out_dir = os.path.join(tmp, "out")
        os.makedirs(out_dir)
        out = os.path.join(out_dir, "big.onnx")
        plan = os.path.join(tmp, "plan.json")
        rc, rss = make_big_model.run_measured([tool, os.path.join(src, "big.onnx"), "-passes=" +
                                "prune-width<criterion=magnitude;ratio=0.3;plan-out=%s>,verify" % plan,
                                "-o", out])
        assert rc == 0, "onnx-prune failed with exit code %d" % rc
        print("prune-width 30%% on 2.7 GB: peak RSS %.0f MB" % (rss / 2**20))
        assert rss < 1.5 * 2**30, "peak RSS %d bytes is over 1.5 GB" % rss

        m = onnx.load(out, load_external_data=False)
        d = 4096
        dims = [list(t.dims) for t in m.graph.initializer]
        # The first MatMul reads the graph input (rows frozen), the last
        # writes the graph output (columns frozen); the hidden widths shrink.
        assert dims[0][0] == d and dims[-1][1] == d, (dims[0], dims[-1])
        # Producer columns and consumer rows of each hidden width agree; the
        # global ranking decides which widths shrink (the synthetic weights
        # are zeros but for a marker, so most scores tie).
        for a, b in zip(dims, dims[1:]):
            assert a[1] == b[0], (a, b)
        assert sum(a[1] < d for a in dims[:-1]) > 0, dims
        kept = sum(a * b for a, b in dims)
        total = len(dims) * d * d
        print("params kept: %.1f%%" % (100.0 * kept / total))
        assert 0.65 <= kept / total <= 0.75, kept / total
        size = os.path.getsize(out + ".data")
        assert size >= kept * 4 and size < kept * 4 + len(dims) * 4096, size

        # Each tensor's marker (row 0, columns 0..3 of the source) survives
        # where row 0 and those columns were kept.
        with open(out + ".data", "rb") as f:
            t = m.graph.initializer[0]
            kv = {e.key: e.value for e in t.external_data}
            f.seek(int(kv["offset"]))
            row0 = f.read(16)
            assert row0[:4] == struct.pack("<f", 1.0), row0
        print("big prune: %d tensors, OK" % len(dims))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
