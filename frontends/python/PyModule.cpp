//===- PyModule.cpp - onnxprune._onnxprune, the Python binding ------------===//
///
/// \file
/// The compiled half of the Python module: thin functions over the C++
/// facade (onnxprune/OnnxPrune.h) taking and returning bytes, strings and
/// plain tuples. onnxprune/__init__.py turns ModelProtos, paths and numpy
/// arrays into these and back. The GIL is released while a pipeline runs.
/// Input errors raise ValueError, the rest RuntimeError, with the tool's
/// one-line message.
///
//===----------------------------------------------------------------------===//

#include "onnxprune/OnnxPrune.h"

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace py = pybind11;
using namespace onnxprune::api;

namespace {

/// (name, ONNX element type, shape, bytes): one array as __init__.py
/// passes it.
using ArrayTuple =
    std::tuple<std::string, int32_t, std::vector<int64_t>, py::bytes>;

void check(const Status &s) {
  if (s)
    return;
  if (s.isInputError())
    throw py::value_error(s.message());
  throw std::runtime_error(s.message());
}

Options makeOptions(const std::map<std::string, std::string> &options,
                    const std::vector<ArrayTuple> &arrays) {
  Options opts;
  for (const auto &[key, value] : options)
    check(opts.set(key, value));
  for (const auto &[name, type, shape, data] : arrays) {
    Array a;
    a.name = name;
    a.type = static_cast<ElementType>(type);
    a.shape = shape;
    a.data = std::string(data);
    opts.calibrationArrays.push_back(std::move(a));
  }
  return opts;
}

Model fromBytes(const py::bytes &bytes, const std::string &baseDir) {
  Model m;
  std::string data(bytes);
  check(Model::fromBytes(std::move(data), m, baseDir));
  return m;
}

/// Runs \p pipeline on a model given as bytes: (pruned bytes, report JSON).
py::tuple pruneBytes(const py::bytes &model, const std::string &pipeline,
                     const std::map<std::string, std::string> &options,
                     const std::vector<ArrayTuple> &arrays) {
  Options opts = makeOptions(options, arrays);
  Model m = fromBytes(model, opts.baseDir);
  Report report;
  std::string out;
  Status s;
  {
    py::gil_scoped_release release;
    s = m.run(pipeline, opts, &report);
    if (s)
      s = m.toBytes(out);
  }
  check(s);
  return py::make_tuple(py::bytes(out), report.toJson());
}

/// Runs \p pipeline on the model at \p path and writes \p output: the
/// report JSON.
std::string prunePath(const std::string &path, const std::string &output,
                      const std::string &pipeline,
                      const std::map<std::string, std::string> &options,
                      const std::vector<ArrayTuple> &arrays) {
  Options opts = makeOptions(options, arrays);
  Model m;
  check(Model::load(path, m));
  Report report;
  Status s;
  {
    py::gil_scoped_release release;
    s = m.run(pipeline, opts, &report);
    if (s)
      s = m.save(output, opts);
  }
  check(s);
  return report.toJson();
}

std::string coverageBytes(const py::bytes &model, const std::string &baseDir) {
  Model m = fromBytes(model, baseDir);
  Coverage c;
  check(m.coverage(c));
  return c.toJson();
}

std::string coveragePath(const std::string &path) {
  Model m;
  check(Model::load(path, m));
  Coverage c;
  check(m.coverage(c));
  return c.toJson();
}

/// Runs a model (bytes) once in ONNX Runtime: the outputs as array tuples.
std::vector<ArrayTuple> inferBytes(const py::bytes &model,
                                   const std::vector<ArrayTuple> &inputs) {
  Model m = fromBytes(model, "");
  Options opts = makeOptions({}, inputs);
  std::vector<Array> outs;
  Status s;
  {
    py::gil_scoped_release release;
    s = m.infer(opts.calibrationArrays, outs);
  }
  check(s);
  std::vector<ArrayTuple> result;
  for (Array &a : outs)
    result.emplace_back(a.name, static_cast<int32_t>(a.type), a.shape,
                        py::bytes(a.data));
  return result;
}

} // namespace

PYBIND11_MODULE(_onnxprune, m) {
  m.doc() = "onnx-prune's C++ library; use the onnxprune package instead";
  m.def("version", [] { return std::string(version()); });
  m.def("prune_bytes", &pruneBytes);
  m.def("prune_path", &prunePath);
  m.def("coverage_bytes", &coverageBytes);
  m.def("coverage_path", &coveragePath);
  m.def("infer_bytes", &inferBytes);
  m.def("load_plugin",
        [](const std::string &path) { check(loadPlugin(path)); });
  m.def("option_keys", [] { return Options::keys(); });
}
