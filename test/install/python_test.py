"""The installed Python module, under Debian's python3.

usage: python_test.py ONNX-PRUNE MODEL CALIBRATION.npz TMPDIR PLUGIN CUSTOM

Prunes a trained model given as a ModelProto, as bytes and as a path, with
calibration given as a dict of numpy arrays and as a path: all five results
are byte-identical to the installed tool's output for the same data. Checks
coverage() against the tool's --coverage line, the report's figures, the
errors (ValueError for bad input, RuntimeError while running), infer()
against the accuracy of the model on its labelled samples, and a plugin."""
import os
import re
import subprocess
import sys

import numpy as np
import onnx

import onnxprune

tool, model_path, calib_path, tmp, plugin, custom = sys.argv[1:7]
pipeline = "prune-width<criterion=obs;compensate;per-group=0.3;round-to=1>,dce"
samples = 128

expected = open(f"{tmp}/tool.onnx", "rb").read()
version = subprocess.run([tool, "--version"], capture_output=True, text=True)
assert onnxprune.__version__ in version.stdout, (onnxprune.__version__,
                                                  version.stdout)

calib = np.load(calib_path)
batch = {"input": calib["input"][:samples]}
proto = onnx.load(model_path)
raw = open(model_path, "rb").read()

# The same prune, five ways.
pruned_proto, report = onnxprune.prune_with_report(
    proto, pipeline, calibration=batch, calibration_batch=32)
assert isinstance(pruned_proto, onnx.ModelProto)
assert pruned_proto.SerializeToString() == expected
pruned_bytes = onnxprune.prune(raw, pipeline, calibration=batch)
assert isinstance(pruned_bytes, bytes) and pruned_bytes == expected
assert onnxprune.prune(raw, pipeline, calibration=calib_path,
                       calibration_samples=samples) == expected
out = onnxprune.prune(model_path, pipeline, calibration=batch,
                      output=os.path.join(tmp, "py.onnx"))
assert out == os.path.join(tmp, "py.onnx")
assert open(out, "rb").read() == expected
assert onnxprune.prune(model_path, pipeline, calibration=calib_path,
                       output=os.path.join(tmp, "py2.onnx"),
                       **{"calibration-samples": samples}) == \
    os.path.join(tmp, "py2.onnx")
assert open(os.path.join(tmp, "py2.onnx"), "rb").read() == expected
# The report and thread options mean the tool's flags: the tool's
# --report bytes (run_install_test.sh wrote tool-report.html), any threads.
onnxprune.prune(model_path, pipeline, calibration=calib_path,
                calibration_samples=samples, threads=2,
                calibration_threads=1, output=os.path.join(tmp, "py3.onnx"),
                report=os.path.join(tmp, "py-report.html"))
assert open(os.path.join(tmp, "py3.onnx"), "rb").read() == expected
assert open(os.path.join(tmp, "py-report.html"), "rb").read() == \
    open(os.path.join(tmp, "tool-report.html"), "rb").read()

assert report["schema"] == "onnxprune.report" and report["version"] == 1
assert report["before"]["params"] == 326442, report["before"]
assert report["after"]["params"] < report["before"]["params"]
assert all(g["after"] < g["before"] for g in report["groups"]), report["groups"]

# coverage() says what the tool's --coverage says.
cov = onnxprune.coverage(proto)
line = subprocess.run([tool, model_path, "--coverage"], capture_output=True,
                      text=True).stderr.splitlines()[0]
m = re.match(r"coverage: (\d+) of (\d+) groups prunable, (\d+) prunable units",
             line)
assert m, line
assert (cov["prunable_groups"], cov["groups"], cov["prunable_units"]) == \
    tuple(int(g) for g in m.groups()), (cov, line)
assert onnxprune.coverage(raw) == cov == onnxprune.coverage(model_path)

# infer(): ONNX Runtime through onnx-prune's runtime (Debian has no
# onnxruntime for Python), on 1000 labelled test images the calibration
# never saw: the trained model's accuracy (docs: 0.923) survives the prune.
test = np.load(os.path.join(os.path.dirname(calib_path), "fmnist_eval_1k.npz"))

def accuracy(m):
    logits = onnxprune.infer(m, {"input": test["input"]})["logits"]
    assert logits.shape == (1000, 10), logits.shape
    return float((logits.argmax(axis=1) == test["labels"]).mean())

acc_before, acc_after = accuracy(proto), accuracy(pruned_bytes)
print(f"python: accuracy on 1000 test images {acc_before:.4f} -> {acc_after:.4f}")
assert acc_before > 0.9 and acc_after > 0.85, (acc_before, acc_after)

# Errors.
def raises(exc, needle, fn, *args, **kw):
    try:
        fn(*args, **kw)
    except exc as e:
        msg = str(e)
        assert needle in msg and "\n" not in msg, (needle, msg)
        print(f"python: {exc.__name__}: {msg}")
        return
    raise AssertionError(f"{fn.__name__}{args} did not raise {exc.__name__}")

raises(ValueError, "model bytes", onnxprune.prune, b"not a model", "dce")
raises(ValueError, "prune-width", onnxprune.prune, raw, "prune-wdth")
raises(ValueError, "unknown option 'no_such'", onnxprune.prune, raw, "dce",
       no_such=1)
raises(ValueError, "calibration-batch", onnxprune.prune, raw, "dce",
       calibration_batch=0)
raises(ValueError, "'wrong' is not an input", onnxprune.prune, raw, pipeline,
       calibration={"wrong": batch["input"]})
raises(ValueError, "needs output=", onnxprune.prune, model_path, "dce")
raises(ValueError, "no-such.onnx", onnxprune.prune,
       os.path.join(tmp, "no-such.onnx"), "dce", output=os.path.join(tmp, "x"))
raises(ValueError, "expected an onnx.ModelProto", onnxprune.prune, 42, "dce")
raises(RuntimeError, "calibration", onnxprune.prune, raw,
       "prune-width<criterion=obs;per-group=0.3;round-to=1>")
assert not os.path.exists(os.path.join(tmp, "x"))

# A plugin loaded into the module's library.
onnxprune.load_plugin(plugin)
text = open(custom, "rb").read()
cov = onnxprune.coverage(text)
assert cov["prunable_groups"] == 1 and cov["prunable_units"] == 6, cov
raises(ValueError, "cannot load", onnxprune.load_plugin,
       os.path.join(tmp, "no-such-plugin.so"))
print("python_test: PASS")
