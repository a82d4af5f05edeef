#!/usr/bin/env python3
"""Checks the code's layering (../shared/STYLE.md, docs/architecture.md).

Every #include "..." under lib/, passes/, frontends/, tools/ and include/
is checked against the allowed dependencies between layers; headers must
not include each other in a cycle (not even inside one layer); libraries
other than the ONNX frontend must not include protobuf or ONNX headers; and
each library folder defines at most one library target, listing only its
own files. Prints one line per violation and exits 1 when there is any.

  check_layering.py [REPO_ROOT]
"""
import os
import re
import sys

# Layers, bottom first: (name, path prefixes, layers it may include
# directly). What a layer may include is closed transitively. A path
# prefix ending in "/" is a folder; otherwise it is a file name prefix.
LAYERS = [
    ("support", ["lib/Support/"], []),
    ("ir", ["lib/IR/"], ["support"]),
    ("pass-manager", ["passes/PassManager.", "passes/PassParams.",
                      "passes/StandardInstrumentations."], ["ir"]),
    # The verify pass (libonnx's checker) lives in the frontend.
    ("frontends", ["frontends/onnx/"], ["ir", "pass-manager"]),
    ("op-handlers", ["passes/OpHandlers/"], ["frontends", "pass-manager"]),
    ("analyses", ["passes/Analysis/"], ["op-handlers"]),
    ("criteria", ["passes/Criteria/"], ["analyses"]),
    ("transforms", ["passes/Transforms/"], ["criteria"]),
    ("runtime", ["lib/Runtime/"], ["transforms"]),
    ("pipeline", ["passes/Pipeline/"], ["runtime"]),
    # The run summary and the HTML report read what the passes recorded.
    ("report", ["lib/Report/"], ["transforms"]),
    # The public headers: the standard library only.
    ("public", ["include/onnxprune/"], []),
    ("facade", ["lib/Facade/"], ["pipeline", "report", "public"]),
    # The C ABI and the Python module see the public headers only.
    ("c-api", ["frontends/c-api/"], ["public"]),
    ("python", ["frontends/python/"], ["public"]),
    ("tools", ["tools/"], ["facade"]),
]
SCANNED = ["lib", "passes", "frontends", "tools", "include"]
SOURCE_EXT = (".h", ".hpp", ".cpp", ".cc", ".c", ".def", ".inc")
# Only the ONNX frontend sees protobuf and libonnx ("onnx/...").
PROTO_ONLY = ("frontends", "tools")
INCLUDE_RE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*([<"])([^>"]+)[>"]', re.M)


def layer_of(path):
    for name, prefixes, _ in LAYERS:
        for p in prefixes:
            if path.startswith(p):
                return name
    return None


def closure():
    direct = {name: set(deps) for name, _, deps in LAYERS}
    allowed = {}
    for name, _, _ in LAYERS:
        seen, todo = set(), list(direct[name])
        while todo:
            d = todo.pop()
            if d not in seen:
                seen.add(d)
                todo.extend(direct[d])
        allowed[name] = seen
    return allowed


def resolve(inc, root):
    """The repository path a quoted include names, or None (external)."""
    if inc.startswith("onnxprune/"):
        inc = "include/" + inc
    if inc.split("/")[0] in SCANNED + ["test"] and os.path.exists(
            os.path.join(root, inc)):
        return inc
    return None


def strip_comments(text):
    # Block comments keep their newlines, so line numbers stay right.
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"),
                  text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def check_cmake(root, errors):
    """One library target per folder, made of that folder's own files."""
    for top in ["lib", "passes", "frontends"]:
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            if "CMakeLists.txt" not in files:
                continue
            rel = os.path.relpath(dirpath, root)
            text = open(os.path.join(dirpath, "CMakeLists.txt")).read()
            text = re.sub(r"#[^\n]*", "", text)
            libs = re.findall(
                r"add_library\(\s*(\S+)\s+(STATIC|SHARED|OBJECT|MODULE)\b"
                r"([^)]*)\)", text)
            if len(libs) > 1:
                errors.append("%s/CMakeLists.txt: %d library targets (%s); "
                              "one per folder" % (rel, len(libs), ", ".join(
                                  l[0] for l in libs)))
            for m in re.finditer(r"(?:add_library|target_sources)\(([^)]*)\)",
                                 text):
                for word in m.group(1).split():
                    if word.endswith((".cpp", ".c", ".cc")) and (
                            "/" in word or "$" in word):
                        errors.append("%s/CMakeLists.txt: source %s is not "
                                      "in this folder" % (rel, word))


def find_cycles(graph):
    """Strongly connected components with a cycle (Tarjan, iterative)."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in graph:
                    continue
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    advanced = True
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1 or v in graph[v]:
                    out.append(sorted(comp))
    return out


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                           os.path.join(os.path.dirname(__file__), ".."))
    allowed = closure()
    errors = []
    graph = {}
    for top in SCANNED:
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for f in sorted(files):
                if not f.endswith(SOURCE_EXT):
                    continue
                path = os.path.relpath(os.path.join(dirpath, f), root)
                src = layer_of(path)
                if src is None:
                    errors.append("%s: in no layer (add it to "
                                  "scripts/check_layering.py)" % path)
                    continue
                text = strip_comments(
                    open(os.path.join(root, path), errors="replace").read())
                graph[path] = set()
                for m in INCLUDE_RE.finditer(text):
                    kind, inc = m.group(1), m.group(2)
                    line = text.count("\n", 0, m.start()) + 1
                    head = inc.split("/")[0]
                    if head in ("onnx", "google") and src not in PROTO_ONLY:
                        errors.append("%s:%d: includes %s: only the ONNX "
                                      "frontend sees protobuf and libonnx" %
                                      (path, line, inc))
                    if kind != '"':
                        continue
                    target = resolve(inc, root)
                    if target is None:
                        continue
                    graph[path].add(target)
                    dst = layer_of(target)
                    if dst is None:
                        errors.append("%s:%d: includes %s, which is in no "
                                      "layer" % (path, line, inc))
                    elif dst != src and dst not in allowed[src]:
                        errors.append("%s:%d: %s includes %s (%s): not "
                                      "below it" % (path, line, src, inc, dst))
    for comp in find_cycles(graph):
        errors.append("include cycle: " + " -> ".join(comp + [comp[0]]))
    check_cmake(root, errors)
    for e in errors:
        print("check_layering: " + e)
    if errors:
        return 1
    print("check_layering: %d files, %d layers: ok" % (len(graph),
                                                         len(LAYERS)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
