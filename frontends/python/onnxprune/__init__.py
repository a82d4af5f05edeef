"""onnx-prune for Python: structural pruning of ONNX models.

    import onnxprune
    small = onnxprune.prune(model, "prune-width<criterion=obs;per-group=0.3>,dce",
                            calibration={"input": batch})

``prune(model, passes, *, calibration=None, output=None, **options)`` takes
an ``onnx.ModelProto`` (returns one), ``bytes`` (returns bytes) or a path
(writes ``output`` and returns its path). ``passes`` is the tool's
``-passes`` text. ``calibration`` is a path (.npz, .npy, ONNX test-data
folder) or a dict of numpy arrays named after the graph inputs (axis 0 =
samples). ``options`` are the tool's long flags with ``_`` or ``-``
(``calibration_batch=16``, ``verify_each=True``, ``base_dir=...``,
``threads=4`` as the tool's -j, ``report="pruned.html"`` for the HTML
report).

Bad input raises ``ValueError``, a failure while running ``RuntimeError``,
both with onnx-prune's one-line message. See docs/library.md.
"""

import json
import os

from . import _onnxprune

__version__ = _onnxprune.version()
__all__ = ["prune", "prune_with_report", "coverage", "infer", "load_plugin",
           "__version__"]

# numpy dtype name -> ONNX TensorProto element type.
_ONNX_TYPES = {
    "float32": 1, "uint8": 2, "int8": 3, "uint16": 4, "int16": 5,
    "int32": 6, "int64": 7, "bool": 9, "float16": 10, "float64": 11,
    "uint32": 12, "uint64": 13,
}
_NUMPY_TYPES = {v: k for k, v in _ONNX_TYPES.items()}


def _is_model_proto(obj):
    return type(obj).__name__ == "ModelProto" and hasattr(obj, "SerializeToString")


def _arrays(arrays, what):
    import numpy as np
    if not isinstance(arrays, dict):
        raise ValueError(f"{what}: expected a dict of numpy arrays named "
                         f"after the graph inputs, got {type(arrays).__name__}")
    out = []
    for name, value in arrays.items():
        a = np.ascontiguousarray(value)
        code = _ONNX_TYPES.get(a.dtype.name)
        if code is None:
            raise ValueError(f"{what}: array '{name}' has unsupported dtype "
                             f"{a.dtype.name}")
        if a.ndim == 0:
            raise ValueError(f"{what}: array '{name}' is a scalar; axis 0 "
                             f"counts samples")
        out.append((str(name), code, list(a.shape), a.tobytes()))
    return out


def _options(options):
    out = {}
    known = set(_onnxprune.option_keys())
    for key, value in options.items():
        k = key.replace("_", "-")
        if k not in known:
            raise ValueError(f"unknown option '{key}' (known: "
                             f"{', '.join(sorted(known))})")
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, os.PathLike):
            value = os.fspath(value)
        out[k] = str(value)
    return out


def prune_with_report(model, passes, *, calibration=None, output=None,
                      **options):
    """prune(), and the report as a dict (schema onnxprune.report v1)."""
    if not isinstance(passes, str):
        raise ValueError("passes: expected the pipeline text, e.g. 'dce'")
    opts = _options(options)
    arrays = []
    if calibration is not None:
        if isinstance(calibration, (str, os.PathLike)):
            opts["calibration"] = os.fspath(calibration)
        else:
            arrays = _arrays(calibration, "calibration")
    if isinstance(model, (str, os.PathLike)):
        if output is None:
            raise ValueError("a model given as a path needs output=PATH")
        out = os.fspath(output)
        report = _onnxprune.prune_path(os.fspath(model), out, passes, opts,
                                       arrays)
        return out, json.loads(report)
    if output is not None:
        raise ValueError("output= is for models given as a path")
    if isinstance(model, (bytes, bytearray, memoryview)):
        data, report = _onnxprune.prune_bytes(bytes(model), passes, opts,
                                              arrays)
        return data, json.loads(report)
    if _is_model_proto(model):
        import onnx
        data, report = _onnxprune.prune_bytes(model.SerializeToString(),
                                              passes, opts, arrays)
        return onnx.load_from_string(data), json.loads(report)
    raise ValueError("model: expected an onnx.ModelProto, bytes or a path, "
                     f"got {type(model).__name__}")


def prune(model, passes, *, calibration=None, output=None, **options):
    """Runs the pipeline ``passes`` on ``model``; see the module docstring."""
    result, _ = prune_with_report(model, passes, calibration=calibration,
                                  output=output, **options)
    return result


def coverage(model, **options):
    """The dependency-groups summary (the tool's --coverage) as a dict."""
    opts = _options(options)
    if isinstance(model, (str, os.PathLike)):
        return json.loads(_onnxprune.coverage_path(os.fspath(model)))
    if _is_model_proto(model):
        model = model.SerializeToString()
    if isinstance(model, (bytes, bytearray, memoryview)):
        return json.loads(_onnxprune.coverage_bytes(bytes(model),
                                                    opts.get("base-dir", "")))
    raise ValueError("model: expected an onnx.ModelProto, bytes or a path, "
                     f"got {type(model).__name__}")


def infer(model, inputs):
    """Runs ``model`` (ModelProto or bytes) once in ONNX Runtime, through
    onnx-prune's own runtime (Debian has no onnxruntime for Python):
    ``inputs`` is a dict of numpy arrays; returns a dict of output arrays."""
    import numpy as np
    if _is_model_proto(model):
        model = model.SerializeToString()
    if not isinstance(model, (bytes, bytearray, memoryview)):
        raise ValueError("model: expected an onnx.ModelProto or bytes")
    outs = _onnxprune.infer_bytes(bytes(model), _arrays(inputs, "inputs"))
    return {name: np.frombuffer(data, dtype=_NUMPY_TYPES[code]).reshape(shape)
            for name, code, shape, data in outs}


def load_plugin(path):
    """Loads an onnx-prune plugin (see docs/library.md) into this process."""
    _onnxprune.load_plugin(os.fspath(path))
