"""Checks what onnx-prune did to examples/library/custom_act.onnxtext with
the example plugin: example-stem-l1 kept the channels whose W1 rows have
the largest L1 norms (computed here from the weights), and W2 lost the
matching input columns.

usage: check_plugin_prune.py ORIGINAL.onnx PRUNED.onnx KEEP-COUNT"""
import sys

import numpy as np
import onnx
from onnx import numpy_helper

orig = {t.name: numpy_helper.to_array(t)
        for t in onnx.load(sys.argv[1]).graph.initializer}
pruned = {t.name: numpy_helper.to_array(t)
          for t in onnx.load(sys.argv[2]).graph.initializer}
keep = int(sys.argv[3])
l1 = np.abs(orig["W1"]).reshape(orig["W1"].shape[0], -1).sum(axis=1)
kept = np.sort(np.argsort(-l1, kind="stable")[:keep])
assert np.array_equal(pruned["W1"], orig["W1"][kept]), (pruned["W1"], kept)
assert np.array_equal(pruned["W2"], orig["W2"][:, kept]), (pruned["W2"], kept)
# magnitude (all members) would have chosen differently: the plugin's
# criterion, not the in-tree one, made this choice.
both = l1 + np.abs(orig["W2"]).sum(axis=(0, 2, 3))
assert not np.array_equal(np.sort(np.argsort(-both)[:keep]), kept)
print(f"plugin prune: kept channels {kept.tolist()} of {len(l1)} (L1 {l1[kept].tolist()})")
