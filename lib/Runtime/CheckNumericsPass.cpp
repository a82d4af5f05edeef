//===- CheckNumericsPass.cpp - Compare the model with the original --------===//
//
// Order of work: load the original model and run it on every sample, drop
// that session, then load the current model and compare sample by sample.
// Only one ORT session is alive at a time, which halves peak memory on big
// models.
//
//===----------------------------------------------------------------------===//

#include "lib/Runtime/CheckNumericsPass.h"
#include "lib/Runtime/ModelSession.h"

#include "frontends/onnx/ModelReader.h"
#include "frontends/onnx/ModelWriter.h"
#include "lib/Runtime/OrtSession.h"
#include "lib/Support/Error.h"
#include "passes/PassParams.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/Path.h"

#include <fstream>

namespace onnxprune {

namespace {

/// Models whose weights pass this many bytes are handed to ORT as a file
/// with external data rather than as one serialized buffer (protobuf cannot
/// hold 2 GB).

/// A per-sample seed: splitmix64 of (seed, sample), so neighbouring samples
/// and seeds give unrelated streams.
uint64_t sampleSeed(uint64_t seed, unsigned sample) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ull * (uint64_t(sample) + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::string readFirstBytes(llvm::StringRef path, size_t n) {
  std::ifstream in(path.str(), std::ios::binary);
  std::string buf(n, '\0');
  in.read(&buf[0], n);
  buf.resize(in.gcount());
  return buf;
}

/// A session on a self-contained copy (every weight inline) of \p orig.
llvm::Expected<std::unique_ptr<OrtSession>>
sessionOnCopy(llvm::Expected<std::unique_ptr<Model>> orig,
              const RuntimeOptions &ro) {
  if (!orig)
    return orig.takeError();
  auto bytes = serializeModel(**orig);
  if (!bytes)
    return bytes.takeError();
  return OrtSession::createFromBytes(*bytes, ro);
}

/// A session on the model the tool read: the file itself for binary models
/// (ORT resolves its external data), or a serialized copy of a text model
/// or of a model read from memory (Model::sourceBytes, external data
/// resolved against the model's base folder).
llvm::Expected<std::unique_ptr<OrtSession>>
openOriginal(const Model &m, const RuntimeOptions &ro) {
  const std::string &path = m.sourcePath;
  if ((path.empty() || path == "-") && m.sourceBytes) {
    const std::string &bytes = *m.sourceBytes;
    return sessionOnCopy(readModelFromBuffer(bytes, guessFormat("", bytes),
                                             m.baseDir,
                                             "original model (in memory)"),
                         ro);
  }
  if (path.empty() || path == "-")
    return makeError("the original model is unknown (it was not read from a "
                     "file, e.g. it came from stdin); check-numerics compares "
                     "against the input file, so read the model from a path");
  if (!llvm::sys::fs::exists(path))
    return makeError("the file no longer exists");
  if (guessFormat(path, readFirstBytes(path, 256)) == ModelFormat::Binary)
    return OrtSession::createFromFile(path, ro);
  return sessionOnCopy(readModelFile(path), ro);
}

/// Main-graph initializers of the model at \p path, as input values.
llvm::Expected<std::vector<NamedTensor>> loadFixedInputs(llvm::StringRef path) {
  auto model = readModelFile(path);
  if (!model)
    return model.takeError();
  std::vector<NamedTensor> result;
  for (Value *v : (*model)->getGraph().getInitializers()) {
    const Tensor &t = *v->getWeight();
    NamedTensor nt;
    nt.name = v->getName();
    nt.tensor.dtype = t.getDataType();
    nt.tensor.shape.assign(t.getDims().begin(), t.getDims().end());
    auto bytes = t.getBytes();
    if (!bytes)
      return bytes.takeError();
    nt.tensor.bytes.assign(bytes->begin(), bytes->end());
    if (llvm::Error err = validateHostTensor(
            nt.tensor, "inputs file '" + path + "': tensor '" + nt.name + "'"))
      return std::move(err);
    result.push_back(std::move(nt));
  }
  return std::move(result);
}

const TensorInfo *findInfo(llvm::ArrayRef<TensorInfo> infos,
                           llvm::StringRef name) {
  for (const TensorInfo &i : infos)
    if (i.name == name)
      return &i;
  return nullptr;
}

/// Checks that \p cur has the same inputs and outputs (names and element
/// types) as \p orig.
llvm::Error checkSameInterface(const OrtSession &orig, const OrtSession &cur) {
  auto check = [](llvm::ArrayRef<TensorInfo> a, llvm::ArrayRef<TensorInfo> b,
                  llvm::StringRef what) -> llvm::Error {
    for (const TensorInfo &x : a) {
      const TensorInfo *y = findInfo(b, x.name);
      if (!y)
        return makeError("the current model has no " + what + " '" + x.name +
                         "' (the original has)");
      if (x.isTensor != y->isTensor || x.dtype != y->dtype)
        return makeError(what + " '" + x.name + "' is " + y->describe() +
                         " in the current model, " + x.describe() +
                         " in the original");
    }
    for (const TensorInfo &y : b)
      if (!findInfo(a, y.name))
        return makeError("the current model has a new " + what + " '" + y.name +
                         "'");
    return llvm::Error::success();
  };
  if (llvm::Error err = check(orig.getInputs(), cur.getInputs(), "input"))
    return err;
  return check(orig.getOutputs(), cur.getOutputs(), "output");
}

std::string formatErr(double v) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << llvm::format("%.3g", v);
  return os.str();
}

} // namespace

llvm::Expected<CheckNumericsOptions>
CheckNumericsOptions::parse(llvm::StringRef text) {
  auto params = PassParams::parse(CheckNumericsPass::name(), text);
  if (!params)
    return params.takeError();
  CheckNumericsOptions o;
  if (llvm::Error e = params->getUnsigned("samples", o.samples))
    return std::move(e);
  if (llvm::Error e = params->getDouble("rtol", o.rtol))
    return std::move(e);
  if (llvm::Error e = params->getDouble("atol", o.atol))
    return std::move(e);
  if (llvm::Error e = params->getUnsigned("seed", o.seed))
    return std::move(e);
  if (llvm::Error e = params->getString("inputs", o.inputsPath))
    return std::move(e);
  if (llvm::Error e = params->getBool("report", o.report))
    return std::move(e);
  if (llvm::Error e = params->getUnsigned("dim", o.dim))
    return std::move(e);
  if (llvm::Error e = params->finish())
    return std::move(e);
  if (o.samples == 0)
    return params->makeParamError("samples", "must be at least 1");
  if (o.dim == 0)
    return params->makeParamError("dim", "must be at least 1");
  if (o.rtol < 0)
    return params->makeParamError("rtol", "must not be negative");
  if (o.atol < 0)
    return params->makeParamError("atol", "must not be negative");
  if (params->has("inputs") && o.inputsPath.empty())
    return params->makeParamError("inputs", "needs a file path");
  return o;
}

void CheckNumericsPass::printPipeline(llvm::raw_ostream &os) const {
  PassParamsPrinter p(os, name());
  p.add("samples", uint64_t(opts.samples));
  p.add("rtol", opts.rtol);
  p.add("atol", opts.atol);
  p.add("seed", opts.seed);
  if (!opts.inputsPath.empty())
    p.add("inputs", opts.inputsPath);
  if (opts.report)
    p.addFlag("report");
  if (opts.dim != 8)
    p.add("dim", uint64_t(opts.dim));
}

llvm::Expected<PreservedAnalyses>
CheckNumericsPass::run(Model &m, ModelAnalysisManager &) {
  llvm::raw_ostream &out = log ? *log : llvm::errs();
  RuntimeOptions ro;

  // 1. The original model, and the input sets.
  auto orig = openOriginal(m, ro);
  if (!orig)
    return m.sourcePath.empty() || m.sourcePath == "-"
               ? orig.takeError()
               : addContext(orig.takeError(),
                            "original model '" + m.sourcePath + "'");
  llvm::ArrayRef<TensorInfo> inputs = (*orig)->getInputs();

  std::vector<NamedTensor> fixed;
  RandomInputOptions rio;
  rio.otherDim = opts.dim;
  if (!opts.inputsPath.empty()) {
    auto f = loadFixedInputs(opts.inputsPath);
    if (!f)
      return f.takeError();
    fixed = std::move(*f);
    for (const NamedTensor &nt : fixed) {
      const TensorInfo *info = findInfo(inputs, nt.name);
      if (!info)
        return makeError("inputs file '" + opts.inputsPath + "': '" + nt.name +
                         "' is not an input of the model");
      if (info->dtype != nt.tensor.dtype ||
          info->shape.size() != nt.tensor.shape.size())
        return makeError("inputs file '" + opts.inputsPath + "': '" + nt.name +
                         "' is " + nt.tensor.describe() +
                         ", the model's input is " + info->describe());
      for (size_t i = 0; i < info->shape.size(); ++i)
        if (i < info->symbolicDims.size() && !info->symbolicDims[i].empty())
          rio.dimValues[info->symbolicDims[i]] = nt.tensor.shape[i];
    }
  }
  std::vector<TensorInfo> randomInputs;
  for (const TensorInfo &info : inputs)
    if (!llvm::any_of(
            fixed, [&](const NamedTensor &nt) { return nt.name == info.name; }))
      randomInputs.push_back(info);

  std::vector<std::vector<NamedTensor>> feeds, expected;
  std::vector<std::string> outputNames;
  for (const TensorInfo &o : (*orig)->getOutputs())
    outputNames.push_back(o.name);
  for (unsigned s = 0; s < opts.samples; ++s) {
    rio.seed = sampleSeed(opts.seed, s);
    auto feed = makeRandomInputs(randomInputs, rio);
    if (!feed)
      return feed.takeError();
    feed->insert(feed->end(), fixed.begin(), fixed.end());
    auto outs = (*orig)->run(*feed, outputNames);
    if (!outs)
      return addContext(outs.takeError(), "original model '" + m.sourcePath +
                                              "', sample " + llvm::Twine(s));
    feeds.push_back(std::move(*feed));
    expected.push_back(std::move(*outs));
  }
  std::unique_ptr<OrtSession> origSession = std::move(*orig);

  // 2. The current model.
  auto cur = openModelSession(m, ro);
  if (!cur)
    return addContext(cur.takeError(), "current model");
  if (llvm::Error err = checkSameInterface(*origSession, **cur))
    return std::move(err);
  origSession.reset();

  // 3. Compare.
  double maxAbs = 0, maxRel = 0;
  bool differs = false;
  auto printErrors = [&] {
    out << "check-numerics: max abs err " << formatErr(maxAbs)
        << ", max rel err " << formatErr(maxRel)
        << " (rtol=" << formatParamDouble(opts.rtol)
        << ", atol=" << formatParamDouble(opts.atol) << ")\n";
  };
  for (unsigned s = 0; s < opts.samples; ++s) {
    auto outs = (*cur)->run(feeds[s], outputNames);
    if (!outs)
      return addContext(outs.takeError(),
                        "current model, sample " + llvm::Twine(s));
    CompareResult r = compareOutputs(expected[s], *outs, opts.rtol, opts.atol);
    maxAbs = std::max(maxAbs, r.maxAbsErr);
    maxRel = std::max(maxRel, r.maxRelErr);
    if (!r.match && opts.report) {
      differs = true;
      continue;
    }
    if (!r.match) {
      out << "check-numerics: FAIL: output '" << r.outputName << "', sample "
          << s << "\n";
      printErrors();
      out.flush();
      std::string where = r.elementIndex >= 0
                              ? " at element " + std::to_string(r.elementIndex)
                              : std::string();
      return makeError("output '" + r.outputName +
                       "' differs from the original model on sample " +
                       llvm::Twine(s) + where + ": " + r.reason +
                       " (rtol=" + formatParamDouble(opts.rtol) +
                       ", atol=" + formatParamDouble(opts.atol) + ")");
    }
  }
  size_t numOutputs = outputNames.size();
  out << "check-numerics: " << (differs ? "REPORT (outputs moved)" : "PASS")
      << ": " << opts.samples
      << (opts.samples == 1 ? " sample, " : " samples, ") << numOutputs
      << (numOutputs == 1 ? " output\n" : " outputs\n");
  printErrors();
  out.flush();
  return PreservedAnalyses::all();
}

} // namespace onnxprune
