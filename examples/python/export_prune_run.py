"""Export a torch model, prune it with a calibration batch, and run it.

    PYTHONPATH=<prefix>/lib/python3/dist-packages /usr/bin/python3 export_prune_run.py

A small CNN (two Conv-BatchNorm-ReLU blocks and a classifier) is exported
with torch.onnx.export, pruned by 30% of every channel group with OBS and
its compensation, chosen on a calibration batch of 256 inputs, and run in
ONNX Runtime on a held-out batch. Debian has no onnxruntime for Python, so
onnxprune.infer() runs it in the ONNX Runtime that onnx-prune itself links.
The same prune by magnitude, without data, is run for comparison.

The network is random (seeded) but its inputs are not: images of a few
smooth patterns, so channels differ in how much they matter. Prints the
parameters before and after, and how far each pruned model's logits moved
from the original's.
"""
import io
import sys

import numpy as np
import onnx
import torch

import onnxprune


def make_model():
    torch.manual_seed(0)
    layers = []
    width = 3
    for out in (32, 64):
        layers += [torch.nn.Conv2d(width, out, 3, padding=1),
                   torch.nn.BatchNorm2d(out), torch.nn.ReLU()]
        width = out
    model = torch.nn.Sequential(*layers, torch.nn.AdaptiveAvgPool2d(1),
                                torch.nn.Flatten(), torch.nn.Linear(width, 10))
    # Batch statistics that are not the identity, as after training.
    model.train()
    with torch.no_grad():
        for _ in range(8):
            model(images(64, seed=100))
    return model.eval()


def images(n, seed):
    """n 3x16x16 images: sums of random smooth waves plus a little noise."""
    g = np.random.default_rng(seed)
    y, x = np.mgrid[0:16, 0:16] / 16.0
    out = np.zeros((n, 3, 16, 16), np.float32)
    for i in range(n):
        for c in range(3):
            fx, fy, phase = g.uniform(0.5, 3, size=3)
            out[i, c] = np.sin(2 * np.pi * (fx * x + fy * y) + phase)
    out += 0.05 * g.standard_normal(out.shape).astype(np.float32)
    return torch.from_numpy(out)


def main():
    model = make_model()
    f = io.BytesIO()
    torch.onnx.export(model, images(1, seed=0), f, input_names=["input"],
                      output_names=["logits"], opset_version=13,
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    proto = onnx.load_from_string(f.getvalue())

    calibration = {"input": images(256, seed=1).numpy()}
    test = images(128, seed=2)
    with torch.no_grad():
        reference = model(test).numpy()

    def drift(m):
        logits = onnxprune.infer(m, {"input": test.numpy()})["logits"]
        return float(np.abs(logits - reference).max() /
                     np.abs(reference).max())

    obs, report = onnxprune.prune_with_report(
        proto, "prune-width<criterion=obs;compensate;per-group=0.3>,dce",
        calibration=calibration)
    magnitude = onnxprune.prune(proto, "prune-width<criterion=magnitude;"
                                       "per-group=0.3>,dce")
    widths = ", ".join(f"{g['tensor']} {g['before']}->{g['after']}"
                       for g in report["groups"])
    print(f"onnxprune {onnxprune.__version__}")
    print(f"params: {report['before']['params']} -> {report['after']['params']}")
    print(f"FLOPs: {report['before']['flops']} -> {report['after']['flops']}")
    print(f"groups: {widths}")
    original, obs_drift, mag_drift = drift(proto), drift(obs), drift(magnitude)
    print(f"original in ONNX Runtime vs torch: {original:.2e} (relative max)")
    print(f"pruned, obs + compensation: {obs_drift:.4f}")
    print(f"pruned, magnitude:          {mag_drift:.4f}")
    return original, obs_drift, mag_drift


if __name__ == "__main__":
    original, obs_drift, mag_drift = main()
    # --check: what the test asserts (test/install/CMakeLists.txt).
    if "--check" in sys.argv:
        assert original < 1e-4, original
        assert obs_drift < mag_drift, (obs_drift, mag_drift)
