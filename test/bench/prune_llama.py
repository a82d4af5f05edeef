#!/usr/bin/python3
"""Benchmark: width pruning of a Llama-3-8B-shaped fp16 model against `cp`.

Builds the model with make_llama_model.py (16 GB of real fp16 bytes in one
external data file at `--size 8b`), then measures in the same run, on the
same files, each command the best of --repeat times:

  cp          `cp --sparse=never` of the model and its data file
  round trip  `onnx-prune in.onnx -o out.onnx`
  magnitude   `onnx-prune in.onnx -passes='prune-width<criterion=magnitude;
              ratio=R>' -o out.onnx`
  random      the same with criterion=random

and prints wall time, peak RSS (of the onnx-prune process, from wait4) and
the time as a ratio to cp. Targets: prune <= 1.5x cp, round trip <= 1.1x
cp, peak RSS <= 10% of the model + 200 MB. Every output is deleted as soon
as it is measured (the 8b model's output is ~11 GB); the model itself is
deleted at the end unless --model-dir names a folder to keep it in.

--check validates every output (not the time): `onnx-prune out -passes=
verify`, and every weight of the output is its source weight with some
slices along one axis removed, in order (matched by content, since every
slice of the random data differs); the magnitude prune must write the same
bytes with -j 1, -j 3 and the default. CI runs `--size small --check` (the
bench-llama-smoke test).

usage: prune_llama.py ONNX_PRUNE [--size 8b|small] [--repeat 1]
                      [--ratio 0.3] [--model-dir DIR] [--check]
                      [--tool-args '-j 2'] [--only cp,roundtrip,...]
"""
import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_llama_model  # noqa: E402

STEPS = ["cp", "roundtrip", "magnitude", "random"]


def timed(cmd, quiet=False):
    """Runs cmd; returns (wall seconds, peak RSS bytes)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL if quiet else None)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit("failed (exit %d): %s" % (code, " ".join(cmd)))
    return wall, usage.ru_maxrss * 1024


def check_output(tool, src_model, out_model, pruned):
    """Fails unless out_model is valid and each of its weights is the
    source weight with slices along one axis removed, in order (some of
    them when \p pruned, none otherwise)."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    subprocess.check_call([tool, out_model, "-passes=verify"],
                          stdout=subprocess.DEVNULL)
    src = onnx.load(src_model)  # small models only: loads all the data
    out = onnx.load(out_model)
    src_w = {t.name: numpy_helper.to_array(t) for t in src.graph.initializer}
    sliced = 0
    for t in out.graph.initializer:
        o = numpy_helper.to_array(t)
        s = src_w.get(t.name)
        assert s is not None, "output weight '%s' is not in the source" % t.name
        assert s.dtype == o.dtype and s.ndim == o.ndim, t.name
        diff = [a for a in range(s.ndim) if s.shape[a] != o.shape[a]]
        if not diff:
            assert s.tobytes() == o.tobytes(), "'%s' changed" % t.name
            continue
        assert len(diff) == 1, "'%s' sliced on axes %s" % (t.name, diff)
        a = diff[0]
        sm, om = np.moveaxis(s, a, 0), np.moveaxis(o, a, 0)
        where = {}
        for i in range(sm.shape[0]):
            key = sm[i].tobytes()
            assert key not in where, "'%s': equal slices" % t.name
            where[key] = i
        kept = [where.get(om[i].tobytes(), -1) for i in range(om.shape[0])]
        assert -1 not in kept, "'%s': a slice is not from the source" % t.name
        assert kept == sorted(kept), "'%s': slices out of order" % t.name
        sliced += 1
    assert (sliced > 0) == pruned, "%d weights sliced" % sliced
    return sliced


def same_bytes_for_any_threads(cmd, dst):
    """Fails unless cmd (which wrote dst/llama.onnx) writes the same bytes
    with -j 1 and -j 3."""
    out = os.path.join(dst, "llama.onnx")
    for j in ("1", "3"):
        other = os.path.join(dst, "j" + j)
        os.makedirs(other)
        run = [a if a != out else os.path.join(other, "llama.onnx")
               for a in cmd] + ["-j", j]
        subprocess.check_call(run, stderr=subprocess.DEVNULL)
        for name in ("llama.onnx", "llama.onnx.data"):
            with open(os.path.join(dst, name), "rb") as a, \
                    open(os.path.join(other, name), "rb") as b:
                assert a.read() == b.read(), "%s differs with -j %s" % (name, j)
        shutil.rmtree(other)
    print("same bytes with -j 1, -j 3 and the default")


def main():
    if len(sys.argv) == 6 and sys.argv[1] == "--check-output":
        n = check_output(sys.argv[2], sys.argv[3], sys.argv[4],
                         sys.argv[5] == "pruned")
        print("output valid (%d weights sliced)" % n)
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("tool")
    ap.add_argument("--size", choices=sorted(make_llama_model.SIZES),
                    default="8b")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--ratio", type=float, default=0.3)
    ap.add_argument("--model-dir", help="build (or reuse) the model here and "
                    "keep it")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--tool-args", default="",
                    help="extra onnx-prune options, e.g. '-j 2'")
    ap.add_argument("--only", default=",".join(STEPS),
                    help="comma-separated subset of " + ",".join(STEPS))
    args = ap.parse_args()
    steps = [s for s in args.only.split(",") if s]
    for s in steps:
        if s not in STEPS:
            sys.exit("unknown step '%s'" % s)

    tmp = tempfile.mkdtemp(prefix="onnx-prune-llama-")
    try:
        src_dir = args.model_dir or os.path.join(tmp, "in")
        model = os.path.join(src_dir, "llama.onnx")
        data = model + ".data"
        if not os.path.exists(model):
            t0 = time.perf_counter()
            # In a child process: the generator's memory would otherwise
            # count in the peak RSS of every command forked from here.
            subprocess.check_call([sys.executable,
                                   os.path.join(HERE, "make_llama_model.py"),
                                   src_dir, "--size", args.size],
                                  stdout=subprocess.DEVNULL)
            print("generated %s in %.1f s" % (model, time.perf_counter() - t0))
        size = os.path.getsize(model) + os.path.getsize(data)
        extra = shlex.split(args.tool_args)
        passes = {
            "roundtrip": [],
            "magnitude": ["-passes=prune-width<criterion=magnitude;ratio=%g>"
                          % args.ratio],
            "random": ["-passes=prune-width<criterion=random;ratio=%g>"
                       % args.ratio],
        }
        results = {}
        for r in range(args.repeat):
            for step in steps:
                dst = os.path.join(tmp, "out")
                os.makedirs(dst)
                if step == "cp":
                    cmd = ["cp", "--sparse=never", model, data, dst]
                else:
                    cmd = [args.tool, model, "-o",
                           os.path.join(dst, "llama.onnx")] + passes[step] + extra
                wall, rss = timed(cmd)
                out_size = sum(os.path.getsize(os.path.join(dst, f))
                               for f in os.listdir(dst))
                if args.check and step != "cp":
                    # In a child: numpy here would count in the peak RSS
                    # of the commands measured after it.
                    subprocess.check_call([
                        sys.executable, __file__, "--check-output",
                        args.tool, model, os.path.join(dst, "llama.onnx"),
                        "pruned" if step != "roundtrip" else "unchanged"])
                if args.check and step == "magnitude":
                    same_bytes_for_any_threads(cmd, dst)
                shutil.rmtree(dst)
                best = results.get(step)
                if best is None or wall < best[0]:
                    results[step] = (wall, rss, out_size)
                print("run %d %-9s %8.2f s  peak RSS %6.0f MB" %
                      (r + 1, step, wall, rss / 2**20), flush=True)

        cp = results.get("cp", (None,))[0]
        print()
        print("model: %s, %.2f GB (%s)" % (args.size, size / 1e9, model))
        print("%-10s %9s %8s %11s %10s" %
              ("step", "time", "x cp", "peak RSS", "output"))
        for step in steps:
            wall, rss, out_size = results[step]
            ratio = "%.2fx" % (wall / cp) if cp else "-"
            print("%-10s %8.2fs %8s %8.0f MB %7.2f GB" %
                  (step, wall, ratio, rss / 2**20, out_size / 1e9))
        budget = 0.1 * size + 200 * 2**20
        print("targets: prune <= 1.50x cp, round trip <= 1.10x cp, "
              "peak RSS <= %.0f MB (10%% of the model + 200 MB)" %
              (budget / 2**20))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
