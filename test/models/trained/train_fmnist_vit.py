#!/usr/bin/python3
"""Train a ViT-tiny on Fashion-MNIST and export it to ONNX (fmnist_vit.onnx).

Architecture: Conv2d patch embedding (patch P, dim 64), class token, learned position
embedding, 4 pre-norm transformer blocks (LayerNorm -> MHA with 4 heads written as plain
nn.Linear q/k/v/o projections and explicit reshapes to heads; LayerNorm -> MLP 64->128->64
with exact GELU), final LayerNorm, Linear head on the class token.

Usage: /usr/bin/python3 train_fmnist_vit.py --out DIR [--epochs N] [--patch 7|4] [--fmnist-dir D]
"""
import argparse
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (check_onnx, fmnist_normalize, load_fmnist, name_initializers,  # noqa: E402
                    setup_determinism, state_sha256)
from train_fmnist_resnet import augment, evaluate  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.head_dim = dim // heads
        self.q_proj = nn.Linear(dim, dim)
        self.k_proj = nn.Linear(dim, dim)
        self.v_proj = nn.Linear(dim, dim)
        self.o_proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, t, c = x.shape
        q = self.q_proj(x).reshape(b, t, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).reshape(b, t, self.heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).reshape(b, t, self.heads, self.head_dim).transpose(1, 2)
        att = torch.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(self.head_dim))
        att = torch.softmax(att, dim=-1)
        y = torch.matmul(att, v).transpose(1, 2).reshape(b, t, c)
        return self.o_proj(y)


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, heads, mlp_dim):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, mlp_dim)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class FmnistViT(nn.Module):
    def __init__(self, patch=7, dim=64, depth=4, heads=4, mlp_dim=128, num_classes=10, img=28):
        super().__init__()
        n = (img // patch) ** 2
        self.patch_embed = nn.Conv2d(1, dim, patch, patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.randn(1, n + 1, dim) * 0.02)
        self.blocks = nn.ModuleList([Block(dim, heads, mlp_dim) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.patch_embed(x).flatten(2).transpose(1, 2)  # [N, T, D]
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], dim=1) + self.pos_embed
        for blk in self.blocks:
            x = blk(x)
        x = self.norm(x)
        return self.head(x[:, 0])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=14)
    ap.add_argument("--patch", type=int, default=7)
    ap.add_argument("--bs", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--weights", default=None,
                    help="load this state dict (a .pt written by an earlier run) instead of training; re-export only")
    ap.add_argument("--fmnist-dir", default=None)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    setup_determinism(args.seed)

    xtr, ytr = load_fmnist("train", args.fmnist_dir)
    xte, yte = load_fmnist("test", args.fmnist_dir)
    xtr, ytr = torch.from_numpy(fmnist_normalize(xtr)), torch.from_numpy(ytr)
    xte, yte = torch.from_numpy(fmnist_normalize(xte)), torch.from_numpy(yte)

    model = FmnistViT(patch=args.patch)
    if args.weights:
        model.load_state_dict(torch.load(args.weights))
        args.epochs = 0
    nparams = sum(p.numel() for p in model.parameters())
    print(f"params: {nparams}")
    decay = [p for n, p in model.named_parameters() if p.ndim > 1 and "embed" not in n and "token" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim > 1 and "embed" not in n and "token" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.99))
    steps_per_epoch = len(xtr) // args.bs
    total = steps_per_epoch * args.epochs
    warm = steps_per_epoch // 2
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else 0.5 * (1 + np.cos(np.pi * (s - warm) / (total - warm))))
    gen = torch.Generator().manual_seed(args.seed)

    t0 = time.time()
    c0 = time.process_time()
    for ep in range(args.epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=gen)
        run_loss = 0.0
        for b in range(steps_per_epoch):
            idx = perm[b * args.bs:(b + 1) * args.bs]
            xb = augment(xtr[idx], gen)
            loss = F.cross_entropy(model(xb), ytr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            run_loss += loss.item()
            if (b + 1) % 100 == 0:
                print(f"ep {ep} step {b + 1}/{steps_per_epoch} loss {run_loss / 100:.4f} "
                      f"lr {sched.get_last_lr()[0]:.5f} t {time.time() - t0:.0f}s", flush=True)
                run_loss = 0.0
        acc = evaluate(model, xte, yte)
        print(f"epoch {ep} test acc {acc:.4f} t {time.time() - t0:.0f}s", flush=True)
    train_time = time.time() - t0
    cpu_time = time.process_time() - c0
    acc = evaluate(model, xte, yte)
    print(f"train time {train_time:.1f}s wall, {cpu_time:.1f}s CPU")
    print(f"state sha256 {state_sha256(model)}")
    torch.save(model.state_dict(), os.path.join(args.out, "fmnist_vit.pt"))  # for verify_onnx.py (not committed)

    model.eval()
    path = os.path.join(args.out, "fmnist_vit.onnx")
    torch.onnx.export(model, xte[:2], path, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}}, opset_version=17,
                      do_constant_folding=True)
    name_initializers(path, model)
    check_onnx(path)
    print(f"FINAL fmnist_vit test accuracy (10000 images, torch): {acc:.4f}  params {nparams}  "
          f"train_time {train_time:.1f}s wall / {cpu_time:.1f}s CPU")


if __name__ == "__main__":
    main()
