#!/usr/bin/python3
"""Check the exported ONNX models numerically against torch, and measure ONNX accuracy.

Debian's python has no onnxruntime, so the ONNX side runs through `ortrun`, a ~50-line C
program (ortrun.c, next to this file) linked against the ONNX Runtime that
scripts/setup.sh puts in third_party/onnxruntime:

  gcc -O1 -o /tmp/ortrun test/models/trained/ortrun.c -Ithird_party/onnxruntime/include \
      -Lthird_party/onnxruntime/lib -lonnxruntime -Wl,-rpath,$PWD/third_party/onnxruntime/lib

Usage: /usr/bin/python3 verify_onnx.py --ortrun /tmp/ortrun --weights DIR [--onnx-dir DIR]
       [--eval-dir DIR]
  --weights   directory holding the *.pt state dicts written by the training scripts
  --onnx-dir  directory holding the .onnx files (default: this directory)
  --eval-dir  directory holding fmnist_eval.npz / llama_eval.npz from make_eval_data.py
              (default: this directory's fmnist_eval_1k.npz / llama_eval_small.npz)
"""
import argparse
import math
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import setup_determinism  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def ort(ortrun, model, in_name, x):
    with tempfile.TemporaryDirectory() as d:
        xi, xo = os.path.join(d, "in.bin"), os.path.join(d, "out.bin")
        np.ascontiguousarray(x).tofile(xi)
        dt = "f32" if x.dtype == np.float32 else "i64"
        subprocess.run([ortrun, model, in_name, dt, xi, xo] + [str(s) for s in x.shape], check=True,
                       stderr=subprocess.DEVNULL)
        return np.fromfile(xo, dtype=np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ortrun", required=True)
    ap.add_argument("--weights", required=True)
    ap.add_argument("--onnx-dir", default=HERE)
    ap.add_argument("--eval-dir", default=None)
    args = ap.parse_args()
    setup_determinism(0)
    from train_byte_llama import ByteLlama
    from train_fmnist_resnet import FmnistResNet
    from train_fmnist_vit import FmnistViT

    if args.eval_dir:
        fm = np.load(os.path.join(args.eval_dir, "fmnist_eval.npz"))
        ll = np.load(os.path.join(args.eval_dir, "llama_eval.npz"))["input_ids"]
    else:
        fm = np.load(os.path.join(HERE, "fmnist_eval_1k.npz"))
        ll = np.load(os.path.join(HERE, "llama_eval_small.npz"))["input_ids"]
    fx, fy = fm["input"], fm["labels"]
    calib = np.load(os.path.join(HERE, "fmnist_calib.npz"))["input"]
    lcalib = np.load(os.path.join(HERE, "llama_calib.npz"))["input_ids"]

    ok = True
    for onnx_name, cls, pt in [("fmnist_resnet.onnx", FmnistResNet, "fmnist_resnet.pt"),
                               ("fmnist_resnet_folded.onnx", FmnistResNet, "fmnist_resnet.pt"),
                               ("fmnist_vit.onnx", FmnistViT, "fmnist_vit.pt")]:
        path = os.path.join(args.onnx_dir, onnx_name)
        if not os.path.exists(os.path.join(args.weights, pt)) or not os.path.exists(path):
            print(f"skip {onnx_name}")
            continue
        m = cls()
        m.load_state_dict(torch.load(os.path.join(args.weights, pt)))
        m.eval()
        with torch.no_grad():
            ref = m(torch.from_numpy(calib[:64])).numpy()
            tacc = (m(torch.from_numpy(fx)).argmax(1).numpy() == fy).mean()
        got = ort(args.ortrun, path, "input", calib[:64]).reshape(ref.shape)
        diff = float(np.abs(got - ref).max())
        logits = ort(args.ortrun, path, "input", fx).reshape(len(fx), 10)
        acc = (logits.argmax(1) == fy).mean()
        ok &= diff < 1e-4
        print(f"{onnx_name}: max|onnx-torch| on 64 calib images {diff:.3g}; accuracy on {len(fx)} test "
              f"images: onnx {acc:.4f} torch {tacc:.4f}")

    path = os.path.join(args.onnx_dir, "byte_llama.onnx")
    if os.path.exists(os.path.join(args.weights, "byte_llama.pt")) and os.path.exists(path):
        m = ByteLlama()
        m.load_state_dict(torch.load(os.path.join(args.weights, "byte_llama.pt")))
        m.eval()
        diffs = []
        for x in (lcalib[:8], lcalib[:3, :37]):  # also a different (N, T) through the dynamic axes
            with torch.no_grad():
                ref = m(torch.from_numpy(x)).numpy()
            got = ort(args.ortrun, path, "input_ids", x).reshape(ref.shape)
            diffs.append(float(np.abs(got - ref).max()))
        logits = ort(args.ortrun, path, "input_ids", ll[:, :-1]).reshape(len(ll), ll.shape[1] - 1, 256)
        nll = F.cross_entropy(torch.from_numpy(logits).reshape(-1, 256), torch.from_numpy(ll[:, 1:]).reshape(-1))
        with torch.no_grad():
            tl = m(torch.from_numpy(ll[:, :-1]))
            tnll = F.cross_entropy(tl.reshape(-1, 256), torch.from_numpy(ll[:, 1:]).reshape(-1))
        ok &= max(diffs) < 1e-4
        print(f"byte_llama.onnx: max|onnx-torch| on [8,128] {diffs[0]:.3g}, on [3,37] {diffs[1]:.3g}; "
              f"held-out ppl on {len(ll)} windows: onnx {math.exp(nll.item()):.4f} torch {math.exp(tnll.item()):.4f}")
    print("ALL OK" if ok else "MISMATCH")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
