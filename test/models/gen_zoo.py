#!/usr/bin/python3
"""Generate the onnx-prune test zoo: small-width real architectures exported
with the TorchScript exporter at opset 13 and 17.

    /usr/bin/python3 test/models/gen_zoo.py            # (re)write test/models/zoo/*.onnx
    /usr/bin/python3 test/models/gen_zoo.py --check    # regenerate in a temp dir, compare sha256
    /usr/bin/python3 test/models/gen_zoo.py --only vit,gpt2_decoder --opsets 17 --out /tmp/z
    /usr/bin/python3 test/models/gen_zoo.py --example examples/mobilenet_v2_tiny.onnx
    /usr/bin/python3 test/models/gen_zoo.py --params   # only rewrite zoo/torch_params.json

Needs Debian's /usr/bin/python3 (torch 1.13, torchvision 0.14, onnx 1.12).
Weights are random (seeded per model, never pretrained). BatchNorm affine
parameters, LayerNorm and RMSNorm weights are randomised; BatchNorm running
statistics are calibrated on random inputs and then randomly perturbed, so
they are non-trivial (BN folding is tested numerically) while activations and
outputs stay O(1) (so a pruned model's error is measurable).

Output is byte-deterministic for a given torch/torchvision/onnx version: every
model is seeded from its name, intra-op threads are pinned to 1, the export
goes through a fresh in-memory buffer and the volatile proto fields
(doc strings, producer) are normalised before serialisation.
"""

import argparse
import hashlib
import io
import json
import math
import os
import shutil
import sys
import tempfile
import warnings
import zlib
from collections import OrderedDict

import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
import importlib
# (torchvision.models re-exports builder functions under the module names, so
# `from torchvision.models import googlenet` would give the function.)
tv_googlenet = importlib.import_module("torchvision.models.googlenet")
tv_regnet = importlib.import_module("torchvision.models.regnet")
tv_resnet = importlib.import_module("torchvision.models.resnet")
tv_squeezenet = importlib.import_module("torchvision.models.squeezenet")
from torchvision.models.convnext import CNBlockConfig, ConvNeXt
from torchvision.models.densenet import DenseNet
from torchvision.models.efficientnet import EfficientNet, _efficientnet_conf
from torchvision.models.mobilenetv2 import MobileNetV2
from torchvision.models.mobilenetv3 import MobileNetV3, _mobilenet_v3_conf
from torchvision.models.shufflenetv2 import ShuffleNetV2
from torchvision.models.vision_transformer import VisionTransformer

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "zoo")
OPSETS = (13, 17)
NUM_CLASSES = 10
VOCAB = 128


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

def randomize_norms(model: nn.Module) -> nn.Module:
    """Give every BatchNorm / LayerNorm non-trivial stats and affine params.

    Called under the model's own seeded RNG, so the values are deterministic.
    """
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                c = m.num_features
                if m.affine:
                    m.weight.copy_(torch.empty(c).uniform_(0.5, 1.5))
                    m.bias.copy_(torch.empty(c).normal_(0.0, 0.2))
                if m.track_running_stats:
                    m.running_mean.copy_(torch.empty(c).normal_(0.0, 0.2))
                    m.running_var.copy_(torch.empty(c).uniform_(0.5, 2.0))
            elif isinstance(m, nn.LayerNorm) and m.elementwise_affine:
                m.weight.copy_(torch.empty_like(m.weight).uniform_(0.5, 1.5))
                m.bias.copy_(torch.empty_like(m.bias).normal_(0.0, 0.2))
            elif isinstance(m, RMSNorm):
                m.weight.copy_(torch.empty_like(m.weight).uniform_(0.5, 1.5))
    return model


def randomize_zero_biases(model: nn.Module) -> nn.Module:
    """torchvision (and nn.MultiheadAttention) zero-initialise most biases.
    Bit-identical initializers get merged by the TorchScript exporter (one
    initializer, the other readers go through Identity), so zero biases would
    silently tie unrelated layers together -- and prune nothing numerically.
    Give every all-zero bias random values instead."""
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if pname.rsplit(".", 1)[-1].endswith("bias") and p.numel() > 0 and not p.any():
                p.uniform_(-0.1, 0.1)
    return model


def image_input(size=64):
    return torch.randn(1, 3, size, size)


def token_input(batch=2, seq=8):
    return torch.randint(0, VOCAB, (batch, seq), dtype=torch.int64)


# --------------------------------------------------------------------------
# Vision models (torchvision constructors at small width)
# --------------------------------------------------------------------------

class ResNet18Tiny(nn.Module):
    """torchvision ResNet-18 topology ([2,2,2,2] BasicBlocks, 7x7 stem,
    maxpool, 1x1 stride-2 downsample shortcuts) at 1/8 width (8-16-32-64).
    torchvision's ResNet hard-codes 64..512, so the stages are built here
    from torchvision's own BasicBlock."""

    def __init__(self, widths=(8, 16, 32, 64), num_classes=NUM_CLASSES):
        super().__init__()
        block = tv_resnet.BasicBlock
        self.inplanes = widths[0]
        self.conv1 = nn.Conv2d(3, widths[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(block, widths[0], 2, 1)
        self.layer2 = self._make_layer(block, widths[1], 2, 2)
        self.layer3 = self._make_layer(block, widths[2], 2, 2)
        self.layer4 = self._make_layer(block, widths[3], 2, 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(widths[3], num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def _make_layer(self, block, planes, blocks, stride):
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(
                tv_resnet.conv1x1(self.inplanes, planes, stride), nn.BatchNorm2d(planes))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        layers += [block(planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def build_resnet18():
    return ResNet18Tiny(), image_input(64)


def build_mobilenet_v2():
    m = MobileNetV2(num_classes=NUM_CLASSES, width_mult=0.25)
    # torchvision keeps last_channel = 1280 for width_mult < 1; that single
    # 1x1 conv would dominate the file, so scale it like the rest (320).
    last = 320
    conv = m.features[-1]
    prev = conv[0].in_channels
    m.features[-1] = type(conv)(prev, last, kernel_size=1, norm_layer=nn.BatchNorm2d,
                                activation_layer=nn.ReLU6)
    m.last_channel = last
    m.classifier[1] = nn.Linear(last, NUM_CLASSES)
    return m, image_input(64)


def build_mobilenet_v3_small():
    setting, last_channel = _mobilenet_v3_conf("mobilenet_v3_small", width_mult=0.25)
    return MobileNetV3(setting, last_channel, num_classes=NUM_CLASSES), image_input(64)


def build_efficientnet_b0():
    setting, last_channel = _efficientnet_conf("efficientnet_b0", width_mult=0.2, depth_mult=1.0)
    m = EfficientNet(setting, dropout=0.2, num_classes=NUM_CLASSES, last_channel=last_channel)
    return m, image_input(64)


def build_regnet():
    # RegNetY-style (SE, ratio 0.25) with grouped 3x3 convs, group width 8.
    params = tv_regnet.BlockParams.from_init_params(
        depth=6, w_0=16, w_a=8.0, w_m=2.0, group_width=8, se_ratio=0.25)
    m = tv_regnet.RegNet(params, num_classes=NUM_CLASSES, stem_width=16)
    return m, image_input(64)


class SqueezeNetTiny(nn.Module):
    """torchvision SqueezeNet 1.1 layout (same 8 Fire modules and pools) with
    every channel count divided by 4; Fire = squeeze 1x1 then concat of
    expand1x1 / expand3x3 branches."""

    def __init__(self, num_classes=NUM_CLASSES):
        super().__init__()
        Fire = tv_squeezenet.Fire
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, kernel_size=3, stride=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            Fire(16, 4, 16, 16),
            Fire(32, 4, 16, 16),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            Fire(32, 8, 32, 32),
            Fire(64, 8, 32, 32),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            Fire(64, 12, 48, 48),
            Fire(96, 12, 48, 48),
            Fire(96, 16, 64, 64),
            Fire(128, 16, 64, 64),
        )
        final_conv = nn.Conv2d(128, num_classes, kernel_size=1)
        self.classifier = nn.Sequential(
            nn.Dropout(p=0.5), final_conv, nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d((1, 1)))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                # (torchvision uses std 0.01 for final_conv; kaiming keeps
                # the logits at O(1) for numeric tests)
                nn.init.kaiming_uniform_(m.weight)
                nn.init.uniform_(m.bias, -0.1, 0.1)

    def forward(self, x):
        return torch.flatten(self.classifier(self.features(x)), 1)


def build_squeezenet():
    return SqueezeNetTiny(), image_input(64)


def build_googlenet():
    # torchvision GoogLeNet itself, with every conv/inception width divided
    # by 8 through its `blocks` hook (all GoogLeNet widths are multiples of 8).
    def conv_block(cin, cout, **kw):
        return tv_googlenet.BasicConv2d(cin if cin == 3 else cin // 8, cout // 8, **kw)

    def inception_block(*chans):
        return tv_googlenet.Inception(*[c // 8 for c in chans])

    m = tv_googlenet.GoogLeNet(num_classes=NUM_CLASSES, aux_logits=False, transform_input=False,
                               init_weights=True,
                               blocks=[conv_block, inception_block, tv_googlenet.InceptionAux])
    m.fc = nn.Linear(1024 // 8, NUM_CLASSES)  # fc is hard-coded to 1024 inputs
    return m, image_input(64)


def build_densenet():
    # DenseNet-BC: dense concats, pre-activation BN/ReLU after every concat
    # (norm1), bottleneck 1x1 then 3x3 growth conv, transition BN-conv-avgpool.
    m = DenseNet(growth_rate=8, block_config=(2, 3, 2), num_init_features=16, bn_size=2,
                 num_classes=NUM_CLASSES)
    return m, image_input(64)


def build_shufflenet_v2():
    # ShuffleNetV2 x0.5 repeats ([4, 8, 4]) at half of x0.5's widths.
    m = ShuffleNetV2([4, 8, 4], [12, 24, 48, 96, 256], num_classes=NUM_CLASSES)
    return m, image_input(64)


def build_convnext():
    # ConvNeXt: 7x7 depthwise, LayerNorm2d (permute/LN/permute), Linear MLP
    # with GELU in NHWC, layer scale (Mul by a [C,1,1] parameter), residual.
    setting = [CNBlockConfig(16, 24, 1), CNBlockConfig(24, 32, 1),
               CNBlockConfig(32, 64, 2), CNBlockConfig(64, None, 1)]
    m = ConvNeXt(setting, stochastic_depth_prob=0.0, layer_scale=0.5, num_classes=NUM_CLASSES)
    with torch.no_grad():  # layer scale -> random, non-trivial
        for blk in m.modules():
            if hasattr(blk, "layer_scale") and isinstance(blk.layer_scale, nn.Parameter):
                blk.layer_scale.uniform_(0.2, 1.0)
    return m, image_input(64)


class UNetTiny(nn.Module):
    """Two-level U-Net: encoder convs, maxpool, decoder with nearest
    Upsample (Resize) and skip Concat of encoder features."""

    def __init__(self, c=8, num_classes=3):
        super().__init__()

        def block(cin, cout):
            return nn.Sequential(
                nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

        self.enc1 = block(3, c)
        self.enc2 = block(c, 2 * c)
        self.mid = block(2 * c, 4 * c)
        self.pool = nn.MaxPool2d(2)
        self.up2 = nn.ConvTranspose2d(4 * c, 2 * c, 2, stride=2)
        self.dec2 = block(4 * c, 2 * c)
        self.up1 = nn.Upsample(scale_factor=2, mode="nearest")
        self.dec1 = block(2 * c + c, c)
        self.head = nn.Conv2d(c, num_classes, 1)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        m = self.mid(self.pool(e2))
        d2 = self.dec2(torch.cat([self.up2(m), e2], dim=1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], dim=1))
        return self.head(d1)


def build_unet():
    return UNetTiny(), image_input(32)


def build_vit():
    m = VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32,
                          mlp_dim=64, num_classes=NUM_CLASSES)
    with torch.no_grad():  # torchvision zero-inits the head; make it non-trivial
        nn.init.normal_(m.heads.head.weight, std=0.1)
        nn.init.normal_(m.heads.head.bias, std=0.1)
        nn.init.normal_(m.class_token, std=0.1)
    return m, image_input(32)


# --------------------------------------------------------------------------
# Hand-written transformers
# --------------------------------------------------------------------------

class BertLayer(nn.Module):
    def __init__(self, d, heads, ffn):
        super().__init__()
        self.h, self.dh = heads, d // heads
        self.query = nn.Linear(d, d)
        self.key = nn.Linear(d, d)
        self.value = nn.Linear(d, d)
        self.attn_out = nn.Linear(d, d)
        self.attn_norm = nn.LayerNorm(d, eps=1e-12)
        self.intermediate = nn.Linear(d, ffn)
        self.output = nn.Linear(ffn, d)
        self.out_norm = nn.LayerNorm(d, eps=1e-12)

    def split_heads(self, x):
        b, s, _ = x.shape
        return x.view(b, s, self.h, self.dh).permute(0, 2, 1, 3)

    def forward(self, x):
        b, s, d = x.shape
        q = self.split_heads(self.query(x))
        k = self.split_heads(self.key(x))
        v = self.split_heads(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.dh)
        ctx = torch.matmul(scores.softmax(dim=-1), v)
        ctx = ctx.permute(0, 2, 1, 3).contiguous().view(b, s, d)
        x = self.attn_norm(x + self.attn_out(ctx))
        return self.out_norm(x + self.output(F.gelu(self.intermediate(x))))


class BertEncoder(nn.Module):
    def __init__(self, vocab=VOCAB, max_pos=64, d=32, heads=4, ffn=64, layers=2):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, d)
        self.position_embeddings = nn.Embedding(max_pos, d)
        self.emb_norm = nn.LayerNorm(d, eps=1e-12)
        self.layers = nn.ModuleList([BertLayer(d, heads, ffn) for _ in range(layers)])

    def forward(self, input_ids):
        pos = torch.arange(input_ids.shape[1], dtype=torch.int64, device=input_ids.device)
        x = self.word_embeddings(input_ids) + self.position_embeddings(pos).unsqueeze(0)
        x = self.emb_norm(x)
        for layer in self.layers:
            x = layer(x)
        return x


def build_bert_encoder():
    return BertEncoder(), token_input()


class GPT2Block(nn.Module):
    def __init__(self, d, heads, n_ctx):
        super().__init__()
        self.h, self.d = heads, d
        self.ln_1 = nn.LayerNorm(d)
        self.c_attn = nn.Linear(d, 3 * d)  # fused qkv
        self.c_proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d)
        self.c_fc = nn.Linear(d, 4 * d)
        self.mlp_proj = nn.Linear(4 * d, d)
        self.register_buffer("bias", torch.tril(torch.ones(n_ctx, n_ctx, dtype=torch.bool))
                             .view(1, 1, n_ctx, n_ctx), persistent=False)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(self.d, dim=2)
        q = q.view(b, t, self.h, c // self.h).transpose(1, 2)
        k = k.view(b, t, self.h, c // self.h).transpose(1, 2)
        v = v.view(b, t, self.h, c // self.h).transpose(1, 2)
        w = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(c // self.h)
        mask = self.bias[:, :, :t, :t]
        w = torch.where(mask, w, torch.tensor(torch.finfo(w.dtype).min, dtype=w.dtype))
        a = torch.matmul(w.softmax(dim=-1), v)
        a = a.transpose(1, 2).contiguous().view(b, t, c)
        x = x + self.c_proj(a)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT2Decoder(nn.Module):
    def __init__(self, vocab=VOCAB, n_ctx=64, d=32, heads=4, layers=2):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(n_ctx, d)
        self.h = nn.ModuleList([GPT2Block(d, heads, n_ctx) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(d)
        self.lm_head = nn.Linear(d, vocab, bias=False)
        self.lm_head.weight = self.wte.weight  # tied

    def forward(self, input_ids):
        b, t = input_ids.shape
        pos = torch.arange(t, dtype=torch.int64, device=input_ids.device)
        x = self.wte(input_ids) + self.wpe(pos).unsqueeze(0)
        for blk in self.h:
            x = blk(x)
        x = self.ln_f(x)
        # Tied head as torch.mm on a 2-D view: it exports as Gemm(transB=1)
        # reading the very same initializer as the embedding Gather. (nn.Linear
        # -- 3-D, or 2-D without bias -- exports MatMul(x, Transpose(W)) and
        # constant folding turns the Transpose into a second, untied copy.)
        logits = torch.mm(x.reshape(-1, x.shape[-1]), self.lm_head.weight.t())
        return logits.view(b, t, -1)


def build_gpt2_decoder():
    return GPT2Decoder(), token_input()


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    half = x.shape[-1] // 2
    x1 = x[..., :half]
    x2 = x[..., half:]
    return torch.cat((-x2, x1), dim=-1)


def repeat_kv(x, n_rep):
    b, kv, s, hd = x.shape
    if n_rep == 1:
        return x
    x = x[:, :, None, :, :].expand(b, kv, n_rep, s, hd)
    return x.reshape(b, kv * n_rep, s, hd)


class LlamaAttention(nn.Module):
    def __init__(self, d, heads, kv_heads):
        super().__init__()
        self.h, self.kv, self.hd = heads, kv_heads, d // heads
        self.q_proj = nn.Linear(d, heads * self.hd, bias=False)
        self.k_proj = nn.Linear(d, kv_heads * self.hd, bias=False)
        self.v_proj = nn.Linear(d, kv_heads * self.hd, bias=False)
        self.o_proj = nn.Linear(heads * self.hd, d, bias=False)

    def forward(self, x, cos, sin, mask):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.h, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.kv, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.kv, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = repeat_kv(k, self.h // self.kv)
        v = repeat_kv(v, self.h // self.kv)
        w = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.hd) + mask
        a = torch.matmul(w.softmax(dim=-1), v)
        a = a.transpose(1, 2).reshape(b, t, self.h * self.hd)
        return self.o_proj(a)


class LlamaMLP(nn.Module):
    def __init__(self, d, ffn):
        super().__init__()
        self.gate_proj = nn.Linear(d, ffn, bias=False)
        self.up_proj = nn.Linear(d, ffn, bias=False)
        self.down_proj = nn.Linear(ffn, d, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaLayer(nn.Module):
    def __init__(self, d, heads, kv_heads, ffn):
        super().__init__()
        self.input_layernorm = RMSNorm(d)
        self.self_attn = LlamaAttention(d, heads, kv_heads)
        self.post_attention_layernorm = RMSNorm(d)
        self.mlp = LlamaMLP(d, ffn)

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class LlamaDecoder(nn.Module):
    def __init__(self, vocab=VOCAB, d=32, heads=4, kv_heads=2, ffn=88, layers=2, max_pos=64,
                 theta=10000.0):
        super().__init__()
        hd = d // heads
        self.embed_tokens = nn.Embedding(vocab, d)
        self.layers = nn.ModuleList([LlamaLayer(d, heads, kv_heads, ffn) for _ in range(layers)])
        self.norm = RMSNorm(d)
        self.lm_head = nn.Linear(d, vocab, bias=False)
        inv_freq = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
        freqs = torch.outer(torch.arange(max_pos, dtype=torch.float32), inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        self.register_buffer("cos_cached", emb.cos()[None, None], persistent=False)
        self.register_buffer("sin_cached", emb.sin()[None, None], persistent=False)
        self.register_buffer("causal", torch.triu(torch.full((max_pos, max_pos), float("-inf")), 1)
                             [None, None], persistent=False)

    def forward(self, input_ids):
        t = input_ids.shape[1]
        x = self.embed_tokens(input_ids)
        cos = self.cos_cached[:, :, :t, :]
        sin = self.sin_cached[:, :, :t, :]
        mask = self.causal[:, :, :t, :t]
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        return self.lm_head(self.norm(x))


def build_llama_decoder():
    return LlamaDecoder(), token_input()


# --------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------

IMAGE_IO = dict(input_names=["input"], output_names=["output"],
                dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
TEXT_IO = dict(input_names=["input_ids"], output_names=["logits"],
               dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}})
BERT_IO = dict(input_names=["input_ids"], output_names=["last_hidden_state"],
               dynamic_axes={"input_ids": {0: "batch", 1: "seq"},
                             "last_hidden_state": {0: "batch", 1: "seq"}})

MODELS = OrderedDict([
    ("resnet18", (build_resnet18, IMAGE_IO)),
    ("mobilenet_v2", (build_mobilenet_v2, IMAGE_IO)),
    ("mobilenet_v3_small", (build_mobilenet_v3_small, IMAGE_IO)),
    ("efficientnet_b0", (build_efficientnet_b0, IMAGE_IO)),
    ("regnet", (build_regnet, IMAGE_IO)),
    ("squeezenet", (build_squeezenet, IMAGE_IO)),
    ("googlenet", (build_googlenet, IMAGE_IO)),
    ("densenet", (build_densenet, IMAGE_IO)),
    ("shufflenet_v2", (build_shufflenet_v2, IMAGE_IO)),
    ("convnext", (build_convnext, IMAGE_IO)),
    ("unet", (build_unet, IMAGE_IO)),
    ("vit", (build_vit, IMAGE_IO)),
    ("bert_encoder", (build_bert_encoder, BERT_IO)),
    ("gpt2_decoder", (build_gpt2_decoder, TEXT_IO)),
    ("llama_decoder", (build_llama_decoder, TEXT_IO)),
])


# Models whose zero-initialised biases are kept on purpose: the exporter then
# merges them into one initializer read through Identity by several layers of
# different blocks (a real TorchScript-export pattern, see DESIGN.md).
KEEP_ZERO_BIASES = {"mobilenet_v3_small"}


def seed_for(name):
    return zlib.crc32(name.encode("utf-8")) & 0x7FFFFFFF


def calibrate_bn(model, example, steps=4, batch=8):
    """Re-estimate BatchNorm running stats from random inputs (train-mode
    forward passes, cumulative average), then perturb them by a random
    per-channel factor. With random weights, stats drawn from nowhere make the
    activations shrink or blow up layer after layer (logits ~1e-3 or ~1e3);
    calibrated-then-perturbed stats keep every layer at O(1) while staying
    non-trivial (mean != 0, var != 1, different per channel)."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    saved = [(m, m.momentum) for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    with torch.no_grad():
        for _ in range(steps):
            model(torch.randn((batch,) + tuple(example.shape[1:])))
        for m, mom in saved:
            m.momentum = mom
            std = m.running_var.sqrt()
            m.running_mean.add_(torch.empty_like(std).normal_(0.0, 0.1) * std)
            m.running_var.mul_(torch.empty_like(m.running_var).uniform_(0.8, 1.25))


def build(name):
    builder, _ = MODELS[name]
    torch.manual_seed(seed_for(name))
    model, example = builder()
    with torch.no_grad():
        # torchvision initialises classifier heads with std 0.01 (MobileNetV3,
        # RegNet, GoogLeNet's fc): logits would be ~1e-3, useless for numeric
        # comparison. Give such layers PyTorch's default Linear init.
        for m in model.modules():
            if isinstance(m, nn.Linear) and m.weight.numel() > 1 and m.weight.std() < 0.02:
                m.reset_parameters()
    if name not in KEEP_ZERO_BIASES:
        randomize_zero_biases(model)
    randomize_norms(model)
    if example.is_floating_point():
        calibrate_bn(model, example)
    model.eval()
    return model, example


# --------------------------------------------------------------------------
# Export / verify
# --------------------------------------------------------------------------

def export_bytes(name, model, example, opset):
    _, io_spec = MODELS[name]
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Note: no torch.no_grad() here on purpose: with grad disabled,
        # nn.MultiheadAttention (ViT) takes its fused fast path
        # (_native_multi_head_attention), which has no ONNX symbolic.
        torch.onnx.export(model, (example,), buf, export_params=True, opset_version=opset,
                          do_constant_folding=True, training=torch.onnx.TrainingMode.EVAL,
                          **io_spec)
    m = onnx.load_from_string(buf.getvalue())
    # Normalise volatile / environment-dependent fields.
    m.producer_name = "pytorch"
    m.producer_version = torch.__version__
    m.doc_string = (f"onnx-prune test zoo: {name}, opset {opset}, random weights "
                    f"(test/models/gen_zoo.py, torch {torch.__version__}, "
                    f"torchvision {torchvision.__version__})")
    m.graph.doc_string = ""
    for n in m.graph.node:
        n.doc_string = ""
    return m


def verify(name, m, opset):
    onnx.checker.check_model(m, full_check=True)
    onnx.shape_inference.infer_shapes(m, check_type=True, strict_mode=True)
    got = {o.domain: o.version for o in m.opset_import}
    assert got.get("", got.get("ai.onnx")) == opset, (name, got)
    for vi in list(m.graph.input) + list(m.graph.output):
        d0 = vi.type.tensor_type.shape.dim[0]
        assert d0.dim_param == "batch", (name, vi.name, d0)
    inits = {i.name for i in m.graph.initializer}
    assert not any(i.name in inits for i in m.graph.input), "initializers must not be graph inputs"


def count_params(m):
    total = 0
    for t in m.graph.initializer:
        n = 1
        for d in t.dims:
            n *= d
        total += n
    return total


PARAMS_FILE = "torch_params.json"


def folded_bn_channels(model, m):
    """Channels of the BatchNorms that the exporter folded into the Conv
    before them (TrainingMode.EVAL): those whose weight no
    BatchNormalization node of the export reads. torch counts a BN's weight
    and bias (2C); the export holds the Conv's new bias (C) instead, since
    every Conv before a BN here has bias=False."""
    source = {n.output[0]: n.input[0] for n in m.graph.node if n.op_type == "Identity"}
    kept = {source.get(n.input[1], n.input[1])
            for n in m.graph.node if n.op_type == "BatchNormalization"}
    return sum(mod.num_features for name, mod in model.named_modules()
               if isinstance(mod, nn.modules.batchnorm._BatchNorm) and mod.affine
               and name + ".weight" not in kept)


def params_entry(name, opset, model, m):
    """One torch_params.json entry: what `sum(p.numel() for p in
    model.parameters())` says (tied parameters once), and the part of it
    that the export cannot show (folded BatchNorms)."""
    return {"file": f"{name}_op{opset}.onnx",
            "torch_params": sum(p.numel() for p in model.parameters()),
            "folded_bn_channels": folded_bn_channels(model, m)}


def write_params(entries, out_dir):
    """Writes torch_params.json (sorted by file, stable formatting)."""
    data = json.dumps(sorted(entries, key=lambda e: e["file"]), indent=1) + "\n"
    path = os.path.join(out_dir, PARAMS_FILE)
    with open(path + ".tmp", "w") as f:
        f.write(data)
    os.replace(path + ".tmp", path)
    return data


def params_only(names, opsets, out_dir):
    """Recomputes torch_params.json without rewriting the models (the
    exports happen in memory)."""
    entries = []
    for name in names:
        model, example = build(name)
        for opset in opsets:
            entries.append(params_entry(name, opset, model, export_bytes(name, model, example, opset)))
    write_params(entries, out_dir)
    for e in entries:
        print(f"{e['file']:<28} torch_params {e['torch_params']:>8}  folded BN channels {e['folded_bn_channels']:>5}")


def generate(names, opsets, out_dir, quiet=False):
    os.makedirs(out_dir, exist_ok=True)
    rows = []
    entries = []
    for name in names:
        model, example = build(name)
        for opset in opsets:
            m = export_bytes(name, model, example, opset)
            verify(name, m, opset)
            entries.append(params_entry(name, opset, model, m))
            data = m.SerializeToString()
            path = os.path.join(out_dir, f"{name}_op{opset}.onnx")
            tmp = path + ".tmp"
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
            rows.append((name, opset, len(m.graph.node), count_params(m), len(data),
                         hashlib.sha256(data).hexdigest(), path))
    if set(names) == set(MODELS) and set(opsets) == set(OPSETS):
        # Torch's own parameter counts, for the tests (TorchParamsTest).
        write_params(entries, out_dir)
    if not quiet:
        print_table(rows)
    return rows


def print_table(rows):
    print(f"{'name':<20} {'opset':>5} {'nodes':>6} {'params':>8} {'bytes':>9}  sha256[:12]")
    total = 0
    for name, opset, nodes, params, size, digest, _ in rows:
        total += size
        print(f"{name:<20} {opset:>5} {nodes:>6} {params:>8} {size:>9}  {digest[:12]}")
    print(f"{'total':<20} {'':>5} {'':>6} {'':>8} {total:>9}  ({len(rows)} files)")


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def check(names, opsets, ref_dir):
    tmp = tempfile.mkdtemp(prefix="onnx-prune-zoo-")
    try:
        rows = generate(names, opsets, tmp, quiet=True)
        bad = matched = 0
        for name, opset, _, _, _, digest, path in rows:
            ref = os.path.join(ref_dir, os.path.basename(path))
            if not os.path.exists(ref):
                print(f"MISSING  {ref}")
                bad += 1
            elif sha256_file(ref) != digest:
                print(f"DIFFERS  {ref}")
                bad += 1
            else:
                print(f"ok       {ref}")
                matched += 1
        expected = {os.path.basename(r[6]) for r in rows}
        if set(names) == set(MODELS) and set(opsets) == set(OPSETS):
            ref = os.path.join(ref_dir, PARAMS_FILE)
            with open(os.path.join(tmp, PARAMS_FILE)) as f:
                fresh = f.read()
            if not os.path.exists(ref) or open(ref).read() != fresh:
                print(f"DIFFERS  {ref}")
                bad += 1
            else:
                print(f"ok       {ref}")
            for f in sorted(os.listdir(ref_dir)):
                if f.endswith(".onnx") and f not in expected:
                    print(f"EXTRA    {os.path.join(ref_dir, f)}")
                    bad += 1
        print(f"{matched}/{len(rows)} match" + ("" if not bad else f", {bad} problem(s)"))
        return 1 if bad else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_OUT, help="output directory (default: %(default)s)")
    ap.add_argument("--only", default="", help="comma-separated model names (default: all)")
    ap.add_argument("--opsets", default=",".join(map(str, OPSETS)),
                    help="comma-separated opsets (default: %(default)s)")
    ap.add_argument("--check", action="store_true",
                    help="regenerate into a temp dir and compare sha256 with --out; exit 1 on mismatch")
    ap.add_argument("--example", metavar="PATH",
                    help="only write mobilenet_v2 at opset 13 to PATH (the examples/ model)")
    ap.add_argument("--list", action="store_true", help="list model names and exit")
    ap.add_argument("--params", action="store_true",
                    help=f"only rewrite {PARAMS_FILE} in --out (torch's parameter counts)")
    args = ap.parse_args(argv)

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    if args.list:
        print("\n".join(MODELS))
        return 0
    if args.example:
        model, example = build("mobilenet_v2")
        m = export_bytes("mobilenet_v2", model, example, 13)
        verify("mobilenet_v2", m, 13)
        data = m.SerializeToString()
        os.makedirs(os.path.dirname(os.path.abspath(args.example)), exist_ok=True)
        with open(args.example, "wb") as f:
            f.write(data)
        print(f"{args.example}: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}")
        return 0

    names = [n for n in args.only.split(",") if n] or list(MODELS)
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        ap.error(f"unknown model(s): {', '.join(unknown)}; known: {', '.join(MODELS)}")
    opsets = [int(o) for o in args.opsets.split(",") if o]
    if args.check:
        return check(names, opsets, args.out)
    if args.params:
        if set(names) != set(MODELS) or set(opsets) != set(OPSETS):
            ap.error("--params covers the whole zoo: no --only or --opsets")
        params_only(names, opsets, args.out)
        return 0
    generate(names, opsets, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
