#!/usr/bin/python3
"""Generate the recurrent and control-flow test models (test/models/recurrent):
small torch modules with LSTM, GRU and RNN layers (forward, bidirectional,
stacked, with the state as a graph input and output), networks inside the
two branches of an If, and a layer applied in a Loop, exported with the
TorchScript exporter at opset 14. Weights are random, seeded per model.

    /usr/bin/python3 test/models/gen_recurrent.py           # (re)write the models
    /usr/bin/python3 test/models/gen_recurrent.py --check   # regenerate in a temp dir, compare bytes

Needs Debian's /usr/bin/python3 (torch 1.13, onnx 1.12). Output is
byte-deterministic for a given torch/onnx version (same normalisation as
gen_zoo.py). The real-world counterparts (Silero VAD, openWakeWord) are
fetched at set-up by test/models/fetch_audio.sh.
"""

import argparse
import io
import os
import sys
import tempfile
import warnings
import zlib

import onnx
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "recurrent")
OPSET = 14
T = 6  # sequence length of the examples


class ConvLSTMHead(nn.Module):
    """Conv1d front end -> 2-layer bidirectional LSTM -> dense head: every
    recurrent coupling at once (stacked layers join through the
    [T, 2, B, H] -> [T, B, 2H] reshape)."""

    def __init__(self):
        super().__init__()
        self.front = nn.Sequential(nn.Conv1d(8, 24, 3, padding=1), nn.ReLU())
        self.rnn = nn.LSTM(24, 16, num_layers=2, bidirectional=True, batch_first=True)
        self.head = nn.Sequential(nn.Linear(32, 12), nn.ReLU(), nn.Linear(12, 4))

    def forward(self, x):  # x: [B, 8, T]
        y, _ = self.rnn(self.front(x).transpose(1, 2))
        return self.head(y)


class DenseGRU(nn.Module):
    """Linear -> forward GRU (exported with linear_before_reset=1) -> Linear."""

    def __init__(self):
        super().__init__()
        self.inp = nn.Sequential(nn.Linear(10, 24), nn.Tanh())
        self.rnn = nn.GRU(24, 20, batch_first=True)
        self.out = nn.Linear(20, 3)

    def forward(self, x):  # x: [B, T, 10]
        y, _ = self.rnn(self.inp(x))
        return self.out(y)


class DenseRNN(nn.Module):
    """Linear -> bidirectional tanh RNN -> Linear."""

    def __init__(self):
        super().__init__()
        self.inp = nn.Sequential(nn.Linear(10, 16), nn.ReLU())
        self.rnn = nn.RNN(16, 12, bidirectional=True, batch_first=True)
        self.out = nn.Linear(24, 3)

    def forward(self, x):
        y, _ = self.rnn(self.inp(x))
        return self.out(y)


class StatefulLSTM(nn.Module):
    """A streaming detector's interface: the LSTM state is a graph input and
    a graph output, so its hidden units are pinned; the conv front end and
    the dense head stay prunable."""

    def __init__(self):
        super().__init__()
        self.front = nn.Sequential(nn.Conv1d(8, 32, 3, padding=1), nn.ReLU(),
                                   nn.Conv1d(32, 24, 3, padding=1), nn.ReLU())
        self.rnn = nn.LSTM(24, 16)
        self.head = nn.Sequential(nn.Linear(16, 20), nn.ReLU(), nn.Linear(20, 1), nn.Sigmoid())

    def forward(self, x, h, c):  # x: [B, 8, T]; h, c: [1, B, 16]
        y, (hn, cn) = self.rnn(self.front(x).permute(2, 0, 1), (h, c))
        return self.head(y[-1]), hn, cn


def branch_net(cin, width, cout):
    return nn.Sequential(nn.Conv1d(cin, width, 3, padding=1), nn.ReLU(),
                         nn.Conv1d(width, cout, 1), nn.ReLU())


class IfBranches(nn.Module):
    """A shared front end, then one of two networks chosen at run time (the
    voice-activity detectors' If on the sample rate), then a shared head:
    both branches write the If's output, so their last layers join it."""

    def __init__(self):
        super().__init__()
        self.front = nn.Sequential(nn.Conv1d(4, 16, 3, padding=1), nn.ReLU())
        self.a = branch_net(16, 24, 20)
        self.b = branch_net(16, 32, 20)
        self.head = nn.Conv1d(20, 2, 1)

    def forward(self, x, sr: torch.Tensor):
        f = self.front(x)
        if bool(sr == 16000):
            y = self.a(f)
        else:
            y = self.b(f)
        return self.head(y)


class LoopBlock(nn.Module):
    """One residual conv block applied `n` times in a Loop: the carried
    value's channels are the block's input and output channels at once."""

    def __init__(self):
        super().__init__()
        self.front = nn.Sequential(nn.Conv1d(4, 16, 3, padding=1), nn.ReLU())
        self.mid = nn.Conv1d(16, 24, 3, padding=1)
        self.back = nn.Conv1d(24, 16, 3, padding=1)
        self.head = nn.Conv1d(16, 2, 1)

    def forward(self, x, n: torch.Tensor):
        h = self.front(x)
        for _ in range(int(n)):
            h = h + self.back(torch.relu(self.mid(h)))
        return self.head(h)


def lstm_bidir():
    return ConvLSTMHead(), (torch.randn(2, 8, T),), dict(
        input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})


def gru():
    return DenseGRU(), (torch.randn(2, T, 10),), dict(
        input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})


def rnn_bidir():
    return DenseRNN(), (torch.randn(2, T, 10),), dict(
        input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})


def lstm_state():
    return StatefulLSTM(), (torch.randn(2, 8, T), torch.zeros(1, 2, 16), torch.zeros(1, 2, 16)), dict(
        input_names=["x", "h", "c"], output_names=["y", "hn", "cn"],
        dynamic_axes={"x": {0: "batch"}, "h": {1: "batch"}, "c": {1: "batch"},
                      "y": {0: "batch"}, "hn": {1: "batch"}, "cn": {1: "batch"}})


def if_branches():
    return torch.jit.script(IfBranches()), (torch.randn(2, 4, T), torch.tensor(16000)), dict(
        input_names=["x", "sr"], output_names=["y"],
        dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})


def loop_block():
    return torch.jit.script(LoopBlock()), (torch.randn(2, 4, T), torch.tensor(3)), dict(
        input_names=["x", "n"], output_names=["y"],
        dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})


MODELS = {"lstm_bidir": lstm_bidir, "gru": gru, "rnn_bidir": rnn_bidir,
          "lstm_state": lstm_state, "if_branches": if_branches, "loop_block": loop_block}


def export_bytes(name):
    torch.manual_seed(zlib.crc32(name.encode()) & 0x7FFFFFFF)
    torch.set_num_threads(1)
    model, example, spec = MODELS[name]()
    model.eval()
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, example, buf, opset_version=OPSET, do_constant_folding=True,
                          training=torch.onnx.TrainingMode.EVAL, **spec)
    m = onnx.load_from_string(buf.getvalue())
    m.producer_name = "pytorch"
    m.producer_version = torch.__version__
    m.doc_string = (f"onnx-prune test model: {name}, opset {OPSET}, random weights "
                    f"(test/models/gen_recurrent.py, torch {torch.__version__})")
    m.graph.doc_string = ""

    def clear(g):
        for n in g.node:
            n.doc_string = ""
            for a in n.attribute:
                if a.type == onnx.AttributeProto.GRAPH:
                    clear(a.g)
    clear(m.graph)
    onnx.checker.check_model(m, full_check=True)
    return m.SerializeToString()


def generate(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    out = {}
    for name in MODELS:
        data = export_bytes(name)
        path = os.path.join(out_dir, name + ".onnx")
        with open(path + ".tmp", "wb") as f:
            f.write(data)
        os.replace(path + ".tmp", path)
        out[name] = data
        print(f"{name:<14} {len(data):>8} bytes")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    if not args.check:
        generate(args.out)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        bad = 0
        for name, data in generate(tmp).items():
            with open(os.path.join(DEFAULT_OUT, name + ".onnx"), "rb") as f:
                if f.read() != data:
                    print(f"{name}: differs from the checked-in model")
                    bad += 1
        return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
