# -*- Python -*-
# lit configuration for onnx-prune's golden tests. Each test is an
# .onnxtext model whose RUN/CHECK lines live in '#' comments (ONNX's text
# parser skips them), or a .test file that builds its inputs itself.
import os

import lit.formats

config.name = "onnx-prune"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".onnxtext", ".test"]
config.excludes = ["Inputs"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.onnxprune_obj_root, "test", "lit")

config.substitutions.append(("%onnx-prune", config.onnxprune_tool))
config.substitutions.append(("%python", "/usr/bin/python3"))
config.substitutions.append(("%inputs", os.path.join(config.test_source_root, "Inputs")))
config.substitutions.append(("%zoo", os.path.join(config.onnxprune_src_root, "test", "models", "zoo")))
# FileCheck and not come from LLVM's tools, first on PATH.
config.environment["PATH"] = os.pathsep.join(
    [config.llvm_tools_dir, config.environment.get("PATH", os.environ["PATH"])])
if config.onnxprune_have_ort:
    config.available_features.add("ort")
# Tests that make device nodes (mknod) need root.
if os.geteuid() == 0:
    config.available_features.add("root")
