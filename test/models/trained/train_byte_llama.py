#!/usr/bin/python3
"""Train a tiny Llama-style byte-level LM (vocab 256) on the Brown corpus and export
it to ONNX (byte_llama.onnx).

Architecture (HF-Llama naming): embed_tokens(256, 128); 4 x decoder layer
  [input_layernorm (RMSNorm) -> self_attn (GQA: 4 query heads, 2 KV heads, head dim 32,
   q_proj/k_proj/v_proj/o_proj without bias, RoPE rotate-half, causal mask)
   post_attention_layernorm (RMSNorm) -> mlp (SwiGLU: gate_proj, up_proj 128->384, down_proj 384->128)]
norm (RMSNorm) -> lm_head (128 -> 256, untied).

Text: the Brown corpus with POS tags stripped (see common.load_brown_bytes); the last 5%
of the bytes is held out for evaluation.

Usage: /usr/bin/python3 train_byte_llama.py --out DIR [--steps N] [--brown-dir D]
"""
import argparse
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (brown_split, check_onnx, llama_eval_windows, name_initializers,  # noqa: E402
                    setup_determinism, state_sha256)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


class Attention(nn.Module):
    def __init__(self, hidden, n_heads, n_kv_heads, head_dim):
        super().__init__()
        self.n_heads, self.n_kv, self.hd = n_heads, n_kv_heads, head_dim
        self.q_proj = nn.Linear(hidden, n_heads * head_dim, bias=False)
        self.k_proj = nn.Linear(hidden, n_kv_heads * head_dim, bias=False)
        self.v_proj = nn.Linear(hidden, n_kv_heads * head_dim, bias=False)
        self.o_proj = nn.Linear(n_heads * head_dim, hidden, bias=False)

    def forward(self, x, cos, sin, mask):
        b, t, _ = x.shape
        q = self.q_proj(x).reshape(b, t, self.n_heads, self.hd).transpose(1, 2)
        k = self.k_proj(x).reshape(b, t, self.n_kv, self.hd).transpose(1, 2)
        v = self.v_proj(x).reshape(b, t, self.n_kv, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = self.n_heads // self.n_kv  # GQA: repeat each KV head for `rep` query heads
        k = k[:, :, None].expand(b, self.n_kv, rep, t, self.hd).reshape(b, self.n_heads, t, self.hd)
        v = v[:, :, None].expand(b, self.n_kv, rep, t, self.hd).reshape(b, self.n_heads, t, self.hd)
        att = torch.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(self.hd))
        att = att.masked_fill(mask, float("-inf"))
        att = torch.softmax(att, dim=-1)
        y = torch.matmul(att, v).transpose(1, 2).reshape(b, t, self.n_heads * self.hd)
        return self.o_proj(y)


class Mlp(nn.Module):
    def __init__(self, hidden, inter):
        super().__init__()
        self.gate_proj = nn.Linear(hidden, inter, bias=False)
        self.up_proj = nn.Linear(hidden, inter, bias=False)
        self.down_proj = nn.Linear(inter, hidden, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, hidden, n_heads, n_kv, head_dim, inter):
        super().__init__()
        self.input_layernorm = RMSNorm(hidden)
        self.self_attn = Attention(hidden, n_heads, n_kv, head_dim)
        self.post_attention_layernorm = RMSNorm(hidden)
        self.mlp = Mlp(hidden, inter)

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class ByteLlama(nn.Module):
    def __init__(self, vocab=256, hidden=128, layers=4, n_heads=4, n_kv=2, head_dim=32, inter=384,
                 rope_theta=10000.0):
        super().__init__()
        self.embed_tokens = nn.Embedding(vocab, hidden)
        self.layers = nn.ModuleList([DecoderLayer(hidden, n_heads, n_kv, head_dim, inter)
                                     for _ in range(layers)])
        self.norm = RMSNorm(hidden)
        self.lm_head = nn.Linear(hidden, vocab, bias=False)
        inv_freq = 1.0 / (rope_theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)
        for layer in self.layers:  # GPT-2 style scaled init of residual-output projections
            nn.init.normal_(layer.self_attn.o_proj.weight, std=0.02 / math.sqrt(2 * layers))
            nn.init.normal_(layer.mlp.down_proj.weight, std=0.02 / math.sqrt(2 * layers))

    def forward(self, input_ids):
        t = input_ids.shape[1]
        pos = torch.arange(t, device=input_ids.device).to(torch.float32)
        freqs = pos[:, None] * self.inv_freq[None, :]
        emb = torch.cat([freqs, freqs], dim=-1)  # [T, head_dim]
        cos, sin = emb.cos(), emb.sin()
        idx = torch.arange(t, device=input_ids.device)
        mask = idx[None, :] > idx[:, None]  # True above the diagonal = masked (future)
        x = self.embed_tokens(input_ids)
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        return self.lm_head(self.norm(x))


@torch.no_grad()
def eval_ppl(model, windows, bs=64):
    model.eval()
    tot, n = 0.0, 0
    for i in range(0, len(windows), bs):
        w = windows[i:i + bs]
        logits = model(w[:, :-1])
        tot += F.cross_entropy(logits.reshape(-1, 256), w[:, 1:].reshape(-1), reduction="sum").item()
        n += w[:, 1:].numel()
    return math.exp(tot / n), tot / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--bs", type=int, default=16)
    ap.add_argument("--seqlen", type=int, default=128)
    ap.add_argument("--lr", type=float, default=5e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--weights", default=None,
                    help="load this state dict (a .pt written by an earlier run) instead of training; re-export only")
    ap.add_argument("--brown-dir", default=None)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    setup_determinism(args.seed)

    train_bytes, held_bytes = brown_split(args.brown_dir)
    print(f"train bytes {len(train_bytes)}  held-out bytes {len(held_bytes)}")
    train = torch.from_numpy(train_bytes.astype(np.int64))
    held = torch.from_numpy(llama_eval_windows(held_bytes, win=args.seqlen + 1))
    held_small = held[:64]

    model = ByteLlama()
    if args.weights:
        model.load_state_dict(torch.load(args.weights))
        args.steps = 0
    nparams = sum(p.numel() for p in model.parameters())
    print(f"params: {nparams}")
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.95))
    warm = min(100, args.steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else
        0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, args.steps - warm))))
    gen = torch.Generator().manual_seed(args.seed)
    offs = torch.arange(args.seqlen + 1)

    t0 = time.time()
    c0 = time.process_time()
    run_loss = 0.0
    for step in range(args.steps):
        model.train()
        starts = torch.randint(0, len(train) - args.seqlen - 1, (args.bs,), generator=gen)
        batch = train[starts[:, None] + offs[None, :]]
        logits = model(batch[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, 256), batch[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        run_loss += loss.item()
        if (step + 1) % 100 == 0:
            msg = (f"step {step + 1}/{args.steps} loss {run_loss / 100:.4f} lr {sched.get_last_lr()[0]:.5f} "
                   f"t {time.time() - t0:.0f}s")
            if (step + 1) % 500 == 0:
                msg += f" held-out(64 win) ppl {eval_ppl(model, held_small)[0]:.3f}"
            print(msg, flush=True)
            run_loss = 0.0
    train_time = time.time() - t0
    cpu_time = time.process_time() - c0
    ppl, nll = eval_ppl(model, held)
    print(f"train time {train_time:.1f}s wall, {cpu_time:.1f}s CPU")
    print(f"state sha256 {state_sha256(model)}")
    torch.save(model.state_dict(), os.path.join(args.out, "byte_llama.pt"))  # for verify_onnx.py (not committed)

    model.eval()
    path = os.path.join(args.out, "byte_llama.onnx")
    torch.onnx.export(model, held[:2, :args.seqlen], path, input_names=["input_ids"], output_names=["logits"],
                      dynamic_axes={"input_ids": {0: "N", 1: "T"}, "logits": {0: "N", 1: "T"}},
                      opset_version=17, do_constant_folding=True)
    name_initializers(path, model)
    check_onnx(path)
    print(f"FINAL byte_llama held-out perplexity per byte ({len(held)} windows of {args.seqlen + 1}, "
          f"{held[:, 1:].numel()} predicted bytes, torch): {ppl:.4f}  (nll {nll:.4f} nats = "
          f"{nll / math.log(2):.4f} bits/byte)  params {nparams}  train_time {train_time:.1f}s wall / {cpu_time:.1f}s CPU")


if __name__ == "__main__":
    main()
