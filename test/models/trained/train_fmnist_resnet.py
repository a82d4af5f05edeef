#!/usr/bin/python3
"""Train a small residual CNN (BatchNorm) on Fashion-MNIST and export it to ONNX twice:

  fmnist_resnet.onnx         BatchNormalization nodes kept (TrainingMode.PRESERVE, no constant folding)
  fmnist_resnet_folded.onnx  same weights, BN folded into Conv (TrainingMode.EVAL, constant folding)

Usage: /usr/bin/python3 train_fmnist_resnet.py --out DIR [--epochs 5] [--fmnist-dir D]
Deterministic: fixed seeds, one thread, torch.use_deterministic_algorithms(True).
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (check_onnx, fmnist_normalize, load_fmnist, name_initializers,  # noqa: E402
                    setup_determinism, state_sha256, FMNIST_MEAN, FMNIST_STD)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = None
        if stride != 1 or cin != cout:  # 1x1 projection conv + BN
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        sc = x if self.shortcut is None else self.shortcut(x)
        return F.relu(out + sc)


class FmnistResNet(nn.Module):
    """stem conv3x3/s2 1->32 + BN + ReLU (28->14)
    stage1: 2 x BasicBlock(32)           identity shortcuts        14x14
    stage2: 1 x BasicBlock(32->64, s2)   1x1 conv+BN projection     7x7
    stage3: 1 x BasicBlock(64->128, s2)  1x1 conv+BN projection     4x4
    global average pool -> Linear(128, 10)
    """

    def __init__(self, widths=(32, 64, 128), blocks=(2, 1, 1), num_classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, widths[0], 3, 2, 1, bias=False),
                                  nn.BatchNorm2d(widths[0]), nn.ReLU())
        cin = widths[0]
        stages = []
        for i, (w, nb) in enumerate(zip(widths, blocks)):
            layers = []
            for b in range(nb):
                layers.append(BasicBlock(cin, w, 2 if (i > 0 and b == 0) else 1))
                cin = w
            stages.append(nn.Sequential(*layers))
        self.layer1, self.layer2, self.layer3 = stages
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = self.stem(x)
        x = self.layer3(self.layer2(self.layer1(x)))
        x = torch.flatten(self.pool(x), 1)
        return self.fc(x)


def augment(xb, gen):
    """Random horizontal flip + random translation by up to 2 px (zero = background padding)."""
    n = xb.shape[0]
    flip = torch.rand(n, generator=gen) < 0.5
    xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
    pad = F.pad(xb, (2, 2, 2, 2), value=(0.0 - FMNIST_MEAN) / FMNIST_STD)
    sh = torch.randint(0, 5, (n, 2), generator=gen)
    out = torch.empty_like(xb)
    for i in range(n):
        dy, dx = int(sh[i, 0]), int(sh[i, 1])
        out[i] = pad[i, :, dy:dy + 28, dx:dx + 28]
    return out


@torch.no_grad()
def evaluate(model, x, y, bs=1000):
    model.eval()
    correct = 0
    for i in range(0, len(x), bs):
        correct += (model(x[i:i + bs]).argmax(1) == y[i:i + bs]).sum().item()
    return correct / len(x)


def export(model, out_dir, sample):
    model.eval()
    p_bn = os.path.join(out_dir, "fmnist_resnet.onnx")
    p_fold = os.path.join(out_dir, "fmnist_resnet_folded.onnx")
    common = dict(input_names=["input"], output_names=["logits"],
                  dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}}, opset_version=17)
    torch.onnx.export(model, sample, p_bn, training=torch.onnx.TrainingMode.PRESERVE,
                      do_constant_folding=False, **common)
    torch.onnx.export(model, sample, p_fold, training=torch.onnx.TrainingMode.EVAL,
                      do_constant_folding=True, **common)
    name_initializers(p_fold, model)
    check_onnx(p_bn, must_have=["BatchNormalization"])
    check_onnx(p_fold, must_not_have=["BatchNormalization"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--bs", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.1)
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

    model = FmnistResNet()
    if args.weights:
        model.load_state_dict(torch.load(args.weights))
        args.epochs = 0
    nparams = sum(p.numel() for p in model.parameters())
    print(f"params: {nparams}")
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": 5e-4},
                           {"params": no_decay, "weight_decay": 0.0}],
                          lr=args.lr, momentum=0.9, nesterov=True)
    steps_per_epoch = len(xtr) // args.bs
    total = steps_per_epoch * args.epochs
    warm = steps_per_epoch // 4
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else 0.5 * (1 + np.cos(np.pi * (s - warm) / (total - warm))))
    gen = torch.Generator().manual_seed(args.seed)

    t0 = time.time()
    c0 = time.process_time()
    step = 0
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
            opt.step()
            sched.step()
            step += 1
            run_loss += loss.item()
            if (b + 1) % 100 == 0:
                print(f"ep {ep} step {b + 1}/{steps_per_epoch} loss {run_loss / 100:.4f} "
                      f"lr {sched.get_last_lr()[0]:.4f} t {time.time() - t0:.0f}s", flush=True)
                run_loss = 0.0
        acc = evaluate(model, xte, yte)
        print(f"epoch {ep} test acc {acc:.4f} t {time.time() - t0:.0f}s", flush=True)
    train_time = time.time() - t0
    cpu_time = time.process_time() - c0
    acc = evaluate(model, xte, yte)
    print(f"train time {train_time:.1f}s wall, {cpu_time:.1f}s CPU")
    print(f"state sha256 {state_sha256(model)}")
    torch.save(model.state_dict(), os.path.join(args.out, "fmnist_resnet.pt"))  # for verify_onnx.py (not committed)
    export(model, args.out, xte[:2])
    print(f"FINAL fmnist_resnet test accuracy (10000 images, torch): {acc:.4f}  params {nparams}  "
          f"train_time {train_time:.1f}s wall / {cpu_time:.1f}s CPU")


if __name__ == "__main__":
    main()
