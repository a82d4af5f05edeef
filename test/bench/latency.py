#!/usr/bin/python3
"""Latency of pruned models against their originals, in ONNX Runtime (CPU).

For every model, prunes it with prune-width at each rounding of the kept
widths (round-to=N, and the default), then times the original and all the
pruned variants in ONE LatencyBench process per thread setting, interleaved
(A B C ... A B C ..., the first of each round rotating) after a warm-up, and
prints per variant:

    FLOPs ratio    pruned FLOPs / original FLOPs (onnx-prune's count)
    lat ratio      median pruned latency / median original latency
    quotient       lat ratio / FLOPs ratio (1.0: the time fell exactly as
                   the FLOPs did; > 1: the kernels run the pruned widths
                   less efficiently than the original ones)

once with 1 intra-op thread and once with all cores. With --budget R it also
prunes with prune-width<latency=R> and says whether the measured latency met
it. docs/latency.md explains the numbers and the default they chose.

Models: the zoo's op17 exports (test/models/zoo: small widths, 64x64 inputs)
and full-size torchvision CNNs exported here at bench time with random
weights (ResNet-18, MobileNetV2, MobileNetV3-Small, EfficientNet-B0,
DenseNet-121, ShuffleNetV2 x1.0, RegNetY-400MF at 224x224; a ViT-S-like
encoder at 64x64) into --cache (default build/latency-models; never
committed).

    /usr/bin/python3 test/bench/latency.py                     # everything
    /usr/bin/python3 test/bench/latency.py --models resnet18,mobilenet_v2 \\
        --roundings 1,8 --runs 40 --threads 1
    /usr/bin/python3 test/bench/latency.py --budget 0.7 --roundings default

Needs Debian's /usr/bin/python3 (torch 1.13, torchvision 0.14) for the
exports, and a build with ONNX Runtime (build/tools/onnx-prune/onnx-prune,
build/test/bench/LatencyBench).
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ZOO = os.path.join(ROOT, "test", "models", "zoo")

ZOO_CNNS = ["resnet18", "mobilenet_v2", "mobilenet_v3_small", "efficientnet_b0",
            "densenet", "shufflenet_v2", "googlenet", "regnet", "squeezenet",
            "convnext", "unet"]
ZOO_TRANSFORMERS = ["vit", "bert_encoder", "gpt2_decoder", "llama_decoder"]
# Full-size exports: name -> (torchvision builder, input size).
FULL = {
    "tv_resnet18": ("resnet18", 224),
    "tv_mobilenet_v2": ("mobilenet_v2", 224),
    "tv_mobilenet_v3_small": ("mobilenet_v3_small", 224),
    "tv_efficientnet_b0": ("efficientnet_b0", 224),
    "tv_densenet121": ("densenet121", 224),
    "tv_shufflenet_v2": ("shufflenet_v2_x1_0", 224),
    "tv_regnet_y_400mf": ("regnet_y_400mf", 224),
    "tv_vit_s64": ("vit_s64", 64),
}


def export_full(name, path):
    """Exports FULL[name] with random weights (TorchScript exporter, opset
    13, eval mode so BatchNorm folds into the conv before it, batch 1)."""
    import torch
    import torchvision
    torch.manual_seed(0)
    torch.set_num_threads(1)
    builder, size = FULL[name]
    if builder == "vit_s64":
        from torchvision.models.vision_transformer import VisionTransformer
        model = VisionTransformer(image_size=64, patch_size=8, num_layers=6,
                                  num_heads=6, hidden_dim=384, mlp_dim=1536)
    else:
        model = getattr(torchvision.models, builder)(weights=None)
    model.eval()
    x = torch.randn(1, 3, size, size)
    tmp = path + ".tmp"
    torch.onnx.export(model, (x,), tmp, opset_version=13, do_constant_folding=True,
                      training=torch.onnx.TrainingMode.EVAL,
                      input_names=["input"], output_names=["output"])
    os.replace(tmp, path)


def model_path(name, cache):
    if name in FULL:
        path = os.path.join(cache, name + ".onnx")
        if not os.path.exists(path):
            os.makedirs(cache, exist_ok=True)
            print(f"# exporting {name} to {path}", file=sys.stderr)
            export_full(name, path)
        return path
    return os.path.join(ZOO, name + "_op17.onnx")


FLOPS_RE = re.compile(r"FLOPs(?: \([^)]*\))? (\d+) -> (\d+)")
LAT_RE = re.compile(r"latency ([0-9.]+) ms -> ([0-9.]+) ms predicted, ([0-9.]+) ms measured")


def prune(tool, src, dst, params):
    """Runs prune-width<params>,dce; returns (FLOPs ratio, summary line)."""
    cmd = [tool, src, f"-passes=prune-width<{params}>", "-o", dst]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {r.stderr.strip()}")
    line = next((l for l in r.stderr.splitlines() if l.startswith("prune-width: removed")), "")
    m = FLOPS_RE.search(line)
    if not m:
        raise RuntimeError(f"no prune summary in: {r.stderr}")
    return int(m.group(2)) / int(m.group(1)), r.stderr


def bench(tool, paths, threads, runs, warmup):
    """Medians (ms) of the models, timed side by side in one process."""
    cmd = [tool, "--threads", str(threads), "--runs", str(runs), "--warmup",
           str(warmup)] + paths
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {r.stderr.strip()}")
    out = [float(l.split()[0]) for l in r.stdout.splitlines() if not l.startswith("#")]
    assert len(out) == len(paths)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="",
                    help="comma-separated names (zoo names, or tv_* exports); "
                         "default: all")
    ap.add_argument("--roundings", default="1,4,8,16,32,default",
                    help="round-to values to try ('default': none given)")
    ap.add_argument("--ratio", type=float, default=0.3,
                    help="prune-width ratio= (parameters removed)")
    ap.add_argument("--threads", default="1,0",
                    help="intra-op thread counts (0: all cores)")
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--budget", type=float, default=None,
                    help="also prune with latency=R and check it was met")
    ap.add_argument("--cache", default=os.path.join(ROOT, "build", "latency-models"))
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    args = ap.parse_args()

    tool = os.path.join(args.build, "bin", "onnx-prune")
    benchbin = os.path.join(args.build, "test", "bench", "LatencyBench")
    names = (args.models.split(",") if args.models
             else list(FULL) + ZOO_CNNS + ZOO_TRANSFORMERS)
    roundings = args.roundings.split(",") if args.roundings else []
    threads = [int(t) for t in args.threads.split(",")]

    print(f"# ratio={args.ratio}, median of {args.runs} interleaved runs after "
          f"{args.warmup} warm-up, threads {threads} (0: all cores)")
    cols = "".join(f"  lat@{t}T   quot@{t}T" for t in threads)
    print(f"{'model':24} {'variant':14} {'FLOPs':>6}{cols}")
    summary = {}
    with tempfile.TemporaryDirectory(prefix="onnx-prune-latency-") as tmp:
        for name in names:
            src = model_path(name, args.cache)
            variants = []  # (label, path, flops ratio, extra)
            for rt in roundings:
                params = f"ratio={args.ratio}" + ("" if rt == "default" else f";round-to={rt}")
                dst = os.path.join(tmp, f"{name}_{rt}.onnx")
                try:
                    fr, _ = prune(tool, src, dst, params)
                except RuntimeError as e:
                    print(f"{name:24} {'round-to=' + rt:14} error: {e}")
                    continue
                variants.append(("round-to=" + rt if rt != "default" else "default", dst, fr, ""))
            if args.budget is not None:
                dst = os.path.join(tmp, f"{name}_budget.onnx")
                params = f"latency={args.budget}"
                try:
                    fr, log = prune(tool, src, dst, params)
                    m = LAT_RE.search(log)
                    extra = (f" (prune-width: {m.group(1)} -> {m.group(2)} ms predicted, "
                             f"{m.group(3)} ms measured)" if m else "")
                    variants.append((f"latency={args.budget}", dst, fr, extra))
                except RuntimeError as e:
                    print(f"{name:24} {'latency':14} error: {e}")
            if not variants:
                continue
            paths = [src] + [v[1] for v in variants]
            lat = {t: bench(benchbin, paths, t, args.runs, args.warmup) for t in threads}
            for i, (label, _, fr, extra) in enumerate(variants, start=1):
                row = f"{name:24} {label:14} {fr:6.3f}"
                for t in threads:
                    lr = lat[t][i] / lat[t][0]
                    row += f"  {lr:6.3f}  {lr / fr:7.3f}"
                    summary.setdefault((label, t), []).append((name, lr, fr))
                if label.startswith("latency="):
                    lr1 = lat[threads[0]][i] / lat[threads[0]][0]
                    row += "  met" if lr1 <= args.budget * 1.03 else "  NOT MET"
                print(row + extra, flush=True)
            print(f"{'':24} {'original':14} {1:6.3f}" +
                  "".join(f"  {lat[t][0]:6.2f}ms        " for t in threads), flush=True)

    print("\n# per variant over all models: median latency ratio, worst, "
          "median quotient, slower than the original (> 1.03)")
    for (label, t), rows in sorted(summary.items()):
        lrs = [r[1] for r in rows]
        qs = [r[1] / r[2] for r in rows]
        slower = [r[0] for r in rows if r[1] > 1.03]
        print(f"{label:14} {t}T  median {statistics.median(lrs):.3f}  worst "
              f"{max(lrs):.3f}  quotient {statistics.median(qs):.3f}  slower: "
              f"{','.join(slower) or '-'}")


if __name__ == "__main__":
    main()
