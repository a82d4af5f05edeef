#!/usr/bin/python3
"""Benchmark: round trip of a 2.7 GB external-data model against `cp`.

Prints, measured in the same run on the same files:
  time ratio  = onnx-prune round trip wall time / `cp --sparse=never` of the
                model and its data file (target: <= 1.1), the median of
                --repeat pairs, each pair's ratio taken within the pair
  peak RSS    = of the onnx-prune process (target: < 1 GB)
  load        = the load average before and after (2-core machine shared
                with other builds: say how loaded it was)

Both commands copy the same bytes the same way (the kernel's
copy_file_range into the page cache), so what a single run measures is
mostly the state of writeback when it starts: the 2.7 GB that the
previous command left dirty may still be being flushed, and the next one
is throttled behind them. So the order within a pair rotates (no
command always inherits another's dirty pages), each output is deleted
before the next command (its unwritten pages are dropped), and the ratio
is the median over pairs. --sync runs `sync` before every timed command
(outside the timing): then both sides wait for the disk, which measures
the disk, not the tools.

--with OTHER_BINARY times a second onnx-prune in the same pairs (e.g. the
binary of another commit), so before/after ratios come from one run.

usage: roundtrip_big.py ONNX_PRUNE_BINARY [--with OTHER] [--repeat 7] [--gb 2.7]
                        [--sync]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def timed(cmd, sync):
    if sync:
        subprocess.check_call(["sync"])
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
    ap.add_argument("--with", dest="other", help="a second onnx-prune to time")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--gb", type=float, default=2.7)
    ap.add_argument("--sync", action="store_true",
                    help="sync before every timed command")
    args = ap.parse_args()
    tools = [("onnx-prune", args.tool)]
    if args.other:
        tools.append(("other", args.other))
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
        load0 = os.getloadavg()
        walls = {"cp": []}
        ratios, rss = {}, {}
        for name, _ in tools:
            walls[name], ratios[name], rss[name] = [], [], []
        for r in range(args.repeat):
            # The order rotates from pair to pair: a command that follows
            # another one inherits its dirty pages, so no command may
            # always come first or always follow the same one.
            order = [("cp", None)] + tools
            k = r % len(order)
            order = order[k:] + order[:k]
            this = {}
            for name, tool in order:
                out = os.path.join(tmp, "out%d" % r)
                os.makedirs(out)
                if tool is None:
                    wall, _ = timed(["cp", "--sparse=never",
                                     os.path.join(src, "big.onnx"), data, out],
                                    args.sync)
                else:
                    wall, peak = timed([tool, os.path.join(src, "big.onnx"),
                                        "-o", os.path.join(out, "big.onnx")],
                                       args.sync)
                    rss[name].append(peak)
                shutil.rmtree(out)
                this[name] = wall
                walls[name].append(wall)
            for name, _ in tools:
                ratios[name].append(this[name] / this["cp"])
        load1 = os.getloadavg()
        print("model: %.2f GB of external data, %d pairs" %
              (os.path.getsize(data) / 2**30, args.repeat))
        print("load average: %.1f %.1f %.1f before, %.1f %.1f %.1f after" %
              (load0 + load1))
        print("%-18s median %.2f s (min %.2f, max %.2f)" %
              ("cp --sparse=never", statistics.median(walls["cp"]),
               min(walls["cp"]), max(walls["cp"])))
        for name, tool in tools:
            print("%-18s median %.2f s (min %.2f, max %.2f)  %s" %
                  (name, statistics.median(walls[name]), min(walls[name]),
                   max(walls[name]), tool))
        for name, _ in tools:
            print("time ratio %-7s : %.2fx median of pairs (min %.2fx, max "
                  "%.2fx; target <= 1.1)" %
                  (name, statistics.median(ratios[name]), min(ratios[name]),
                   max(ratios[name])))
            print("peak RSS %-9s : %.0f MB (target < 1024 MB)" %
                  (name, max(rss[name]) / 2**20))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
