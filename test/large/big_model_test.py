#!/usr/bin/python3
"""Round trip of a model whose external data passes 2 GB (ctest label: large).

Builds a 2.7 GB model in a sparse temp file, runs `onnx-prune IN -o OUT`,
and checks: every tensor's bytes landed at the offset the output names
(a distinct marker per tensor, zeros after it), the output passes ONNX's
checker with its external data, inputs/outputs are unchanged, and peak RSS
stayed under 1 GB (the tool never maps weights it does not change).
Skip on small disks with `ctest -LE large`.

usage: big_model_test.py ONNX_PRUNE_BINARY
"""
import os
import shutil
import subprocess
import sys
import tempfile

import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_big_model  # noqa: E402



def main():
    tool = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="onnx-prune-big-")
    try:
        src = os.path.join(tmp, "in")
        subprocess.check_call([sys.executable, os.path.join(HERE, "make_big_model.py"), src])
        out_dir = os.path.join(tmp, "out")
        os.makedirs(out_dir)
        out = os.path.join(out_dir, "big.onnx")
        rc, rss = make_big_model.run_measured([tool, os.path.join(src, "big.onnx"),
                                "-passes=verify,dce", "-o", out])
        assert rc == 0, "onnx-prune failed with exit code %d" % rc
        print("peak RSS %.0f MB" % (rss / 2**20))
        assert rss < 2**30, "peak RSS %d bytes is over 1 GB" % rss

        orig = onnx.load(os.path.join(src, "big.onnx"), load_external_data=False)
        new = onnx.load(out, load_external_data=False)
        assert [i.name for i in orig.graph.input] == [i.name for i in new.graph.input]
        assert [o.name for o in orig.graph.output] == [o.name for o in new.graph.output]
        assert len(new.graph.initializer) == len(orig.graph.initializer)
        with open(out + ".data", "rb") as f:
            for i, t in enumerate(new.graph.initializer):
                kv = {e.key: e.value for e in t.external_data}
                assert t.data_location == onnx.TensorProto.EXTERNAL, t.name
                assert kv["location"] == "big.onnx.data", kv
                off, length = int(kv["offset"]), int(kv["length"])
                assert length == 4096 * 4096 * 4, (t.name, length)
                f.seek(off)
                head = f.read(32)
                assert head[:16] == make_big_model.marker(i), t.name
                assert head[16:] == bytes(16), t.name
                f.seek(off + length - 8)
                assert f.read(8) == bytes(8), t.name
        onnx.checker.check_model(out)
        print("big model round trip: %d tensors, %.2f GB, OK" %
              (len(new.graph.initializer), os.path.getsize(out + ".data") / 2**30))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
