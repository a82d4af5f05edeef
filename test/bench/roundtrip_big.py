#!/usr/bin/python3
"""Benchmark: round trip of a 2.7 GB external-data model against `cp`.

Prints, measured in the same run on the same files:
  time ratio  = onnx-prune round trip wall time / `cp --sparse=never` of the
                model and its data file (target: <= 2.0)
  peak RSS    = of the onnx-prune process (target: < 1 GB)
Each is the best of --repeat runs, to damp a noisy machine.

usage: roundtrip_big.py ONNX_PRUNE_BINARY [--repeat 3] [--gb 2.7]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def timed(cmd):
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("failed: %s" % " ".join(cmd))
    return wall, usage.ru_maxrss * 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tool")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--gb", type=float, default=2.7)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="onnx-prune-bench-")
    try:
        src = os.path.join(tmp, "in")
        subprocess.check_call([sys.executable,
                               os.path.join(HERE, "..", "large", "make_big_model.py"),
                               src, "--gb", str(args.gb)])
        # Make the source a real (non-sparse) file so both sides read the
        # same bytes from disk/cache.
        data = os.path.join(src, "big.onnx.data")
        subprocess.check_call(["cp", "--sparse=never", data, data + ".full"])
        os.replace(data + ".full", data)
        cps, rts, rss = [], [], []
        for r in range(args.repeat):
            dst = os.path.join(tmp, "cp%d" % r)
            os.makedirs(dst)
            wall, _ = timed(["cp", "--sparse=never", os.path.join(src, "big.onnx"),
                             data, dst])
            cps.append(wall)
            shutil.rmtree(dst)
            out = os.path.join(tmp, "rt%d" % r)
            os.makedirs(out)
            wall, peak = timed([args.tool, os.path.join(src, "big.onnx"),
                                "-o", os.path.join(out, "big.onnx")])
            rts.append(wall)
            rss.append(peak)
            shutil.rmtree(out)
        cp, rt, peak = min(cps), min(rts), min(rss)
        print("model: %.2f GB of external data" % (os.path.getsize(data) / 2**30))
        print("cp --sparse=never : %.2f s" % cp)
        print("onnx-prune -o     : %.2f s" % rt)
        print("time ratio        : %.2fx  (target <= 2.0)" % (rt / cp))
        print("peak RSS          : %.0f MB (target < 1024 MB)" % (peak / 2**20))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
