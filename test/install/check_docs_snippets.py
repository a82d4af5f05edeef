"""Compiles and runs the code blocks of docs/library.md marked
`<!-- docs-test: c|cpp|python -->` against an installed tree, on a trained
model, so the page's examples cannot rot.

usage: check_docs_snippets.py DOC PREFIX MODEL CALIBRATION TMPDIR"""
import os
import re
import subprocess
import sys

doc, prefix, model, calib, tmp = sys.argv[1:6]
text = open(doc).read()
blocks = re.findall(r"<!-- docs-test: (\w+) -->\n```\w+\n(.*?)```", text, re.S)
assert {lang for lang, _ in blocks} == {"c", "cpp", "python"}, blocks
env = dict(os.environ, PKG_CONFIG_PATH=f"{prefix}/lib/pkgconfig",
           PYTHONPATH=f"{prefix}/lib/python3/dist-packages")
flags = subprocess.run(["pkg-config", "--cflags", "--libs", "onnxprune"],
                       env=env, check=True, capture_output=True,
                       text=True).stdout.split()
for i, (lang, code) in enumerate(blocks):
    src = os.path.join(tmp, f"doc{i}.{ {'c': 'c', 'cpp': 'cpp', 'python': 'py'}[lang] }")
    open(src, "w").write(code)
    if lang == "python":
        cmd = ["/usr/bin/python3", src, model, calib]
    else:
        exe = os.path.join(tmp, f"doc{i}")
        compiler = "cc" if lang == "c" else "c++"
        std = ["-std=c99"] if lang == "c" else ["-std=c++17"]
        subprocess.run([compiler, *std, "-Wall", "-Werror", "-o", exe, src,
                        *flags, f"-Wl,-rpath,{prefix}/lib"], check=True)
        cmd = [exe, model, os.path.join(tmp, f"doc{i}.onnx")]
    out = subprocess.run(cmd, env=env, check=True, capture_output=True,
                         text=True)
    print(f"docs {lang} block {i}: {out.stdout.strip()[:200]}")
    if lang != "python":
        assert os.path.getsize(os.path.join(tmp, f"doc{i}.onnx")) > 1000
print("check_docs_snippets: PASS")
