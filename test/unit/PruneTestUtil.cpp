//===- PruneTestUtil.cpp - Masked == pruned checks for tests --------------===//
///
/// \file
/// See PruneTestUtil.h. Each copy of the model is loaded separately (the IR
/// is not copyable, and loading is what the tool does anyway), so the
/// masked and pruned runs share nothing but the text or file they came from.
///
//===----------------------------------------------------------------------===//

#include "test/unit/PruneTestUtil.h"

#include "frontends/onnx/ModelReader.h"
#include "frontends/onnx/ModelWriter.h"
#include "lib/IR/IRVerifier.h"
#include "lib/IR/Rewriter.h"
#include "lib/Runtime/ModelSession.h"
#include "lib/Support/Error.h"
#include "passes/OpHandlers/ShapeInference.h"
#include "passes/PassManager.h"
#include "passes/Transforms/DCEPass.h"
#include "passes/Transforms/WidthPruner.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <sstream>

using namespace llvm;

namespace onnxprune {
namespace test {

/// Reads as the tool does: the reader, then the types the text left open.
static Expected<std::unique_ptr<Model>>
withTypes(Expected<std::unique_ptr<Model>> m) {
  if (m)
    fillTypes(**m);
  return m;
}

Expected<std::unique_ptr<Model>> parseTextModel(StringRef text) {
  return withTypes(
      readModelFromBuffer(text.str(), ModelFormat::Text, "", "test-model"));
}

// ---- AnalyzedModel ---------------------------------------------------------

Value *AnalyzedModel::value(StringRef name) const {
  Value *v = model->getGraph().lookup(name);
  assert(v && "no value of that name in the main graph");
  return v;
}

int AnalyzedModel::space(StringRef name, unsigned axis) const {
  Value *v = value(name);
  return v ? dg.spaceOf({v, axis}) : -1;
}

int AnalyzedModel::group(StringRef name, unsigned axis) const {
  int s = space(name, axis);
  return s < 0 ? -1 : dg.getSpaces()[s].group;
}

int AnalyzedModel::unit(StringRef name, unsigned axis, int64_t index) const {
  int s = space(name, axis);
  if (s < 0 || index < 0 || index >= dg.getSpaces()[s].size)
    return -1;
  return dg.unitOf(s, index);
}

bool AnalyzedModel::frozen(StringRef name, unsigned axis) const {
  int s = space(name, axis);
  return s >= 0 && dg.getSpaces()[s].frozen;
}

std::string AnalyzedModel::frozenRule(StringRef name, unsigned axis) const {
  int s = space(name, axis);
  return s >= 0 && dg.getSpaces()[s].frozen ? dg.getSpaces()[s].reason.rule
                                            : std::string();
}

unsigned AnalyzedModel::numPrunable(StringRef name, unsigned axis) const {
  int g = group(name, axis);
  return g < 0 ? 0 : dg.getGroups()[g].numPrunable;
}

int64_t AnalyzedModel::unitWidth(StringRef name, unsigned axis) const {
  int g = group(name, axis);
  return g < 0 ? 0 : dg.getGroups()[g].unitWidth;
}

std::vector<unsigned> AnalyzedModel::prunableUnits(unsigned g) const {
  std::vector<unsigned> out;
  for (unsigned u : dg.getGroups()[g].units)
    if (dg.getUnit(u).prunable)
      out.push_back(u);
  return out;
}

std::vector<std::string> AnalyzedModel::spaceMembers(StringRef name,
                                                     unsigned axis) const {
  std::vector<std::string> out;
  int s = space(name, axis);
  if (s < 0)
    return out;
  for (const AxisRef &a : dg.getSpaces()[s].members)
    out.push_back((a.value->isWeight() ? "weight " : "") + a.value->getName() +
                  "[" + std::to_string(a.axis) + "]");
  return out;
}

std::vector<int64_t> AnalyzedModel::elementsOf(unsigned u, StringRef name,
                                               unsigned axis) const {
  std::vector<int64_t> out;
  int s = space(name, axis);
  for (auto &[sp, i] : dg.getUnit(u).elements)
    if ((int)sp == s)
      out.push_back(i);
  std::sort(out.begin(), out.end());
  return out;
}

std::string AnalyzedModel::print() const {
  std::string s;
  raw_string_ostream os(s);
  dg.print(os, *model);
  return os.str();
}

std::vector<int64_t> AnalyzedModel::weightDims(StringRef name) const {
  Value *v = model->getGraph().lookup(name);
  if (!v || !v->isWeight())
    return {};
  ArrayRef<int64_t> d = v->getWeight()->getDims();
  return {d.begin(), d.end()};
}

std::vector<float> AnalyzedModel::weightFloats(StringRef name) const {
  Value *v = model->getGraph().lookup(name);
  if (!v || !v->isWeight())
    return {};
  auto vals = readAsDoubles(*v->getWeight());
  if (!vals) {
    consumeError(vals.takeError());
    return {};
  }
  return {vals->begin(), vals->end()};
}

std::vector<int64_t> AnalyzedModel::valueDims(StringRef name) const {
  Value *v = model->getGraph().lookup(name);
  if (!v || !v->getType().hasRank())
    return {};
  std::vector<int64_t> out;
  for (const Dim &d : *v->getType().shape)
    out.push_back(d.isStatic() ? d.value : -1);
  return out;
}

int64_t AnalyzedModel::nodeIntAttr(StringRef opType, StringRef attr,
                                   int64_t dflt) const {
  for (const Node &n : model->getGraph().getNodes())
    if (n.getOpType() == opType)
      return n.getIntAttr(attr, dflt);
  return dflt;
}

// ---- Loading and analysing -------------------------------------------------

ModelLoader textLoader(std::string text) {
  return [text = std::move(text)] { return parseTextModel(text); };
}

ModelLoader fileLoader(std::string path) {
  return [path = std::move(path)] { return withTypes(readModelFile(path)); };
}

static Expected<AnalyzedModel> analyzeModel(std::unique_ptr<Model> m,
                                            const DepGraphOptions &graph = {}) {
  auto dg = buildDepGraph(*m, graph);
  if (!dg)
    return dg.takeError();
  AnalyzedModel am;
  am.model = std::move(m);
  am.dg = std::move(*dg);
  return std::move(am);
}

Expected<AnalyzedModel> analyze(const ModelLoader &load,
                                const DepGraphOptions &graph) {
  auto m = load();
  if (!m)
    return m.takeError();
  return analyzeModel(std::move(*m), graph);
}

Expected<AnalyzedModel> analyzeText(StringRef text) {
  return analyze(textLoader(text.str()));
}

// ---- Unit selectors --------------------------------------------------------

UnitSelector unitsOf(std::string name, unsigned axis,
                     std::vector<int64_t> indices) {
  return [=](const AnalyzedModel &am) -> Expected<std::vector<unsigned>> {
    Value *v = am.model->getGraph().lookup(name);
    if (!v)
      return makeError("no value '" + name + "'");
    std::vector<unsigned> out;
    for (int64_t i : indices) {
      int u = am.unit(name, axis, i);
      if (u < 0)
        return makeError("element " + Twine(i) + " of axis " + Twine(axis) +
                         " of '" + name + "' is in no unit");
      if (!am.dg.getUnit(u).prunable)
        return makeError("element " + Twine(i) + " of axis " + Twine(axis) +
                         " of '" + name + "' is not prunable" +
                         (am.frozenRule(name, axis).empty()
                              ? std::string()
                              : " (" + am.frozenRule(name, axis) + ")"));
      if (!llvm::is_contained(out, (unsigned)u))
        out.push_back(u);
    }
    return out;
  };
}

UnitSelector unitIds(std::vector<unsigned> ids) {
  return [=](const AnalyzedModel &) -> Expected<std::vector<unsigned>> {
    return ids;
  };
}

UnitSelector everyNthPrunable(unsigned stride, unsigned offset) {
  return [=](const AnalyzedModel &am) -> Expected<std::vector<unsigned>> {
    std::vector<unsigned> out;
    for (unsigned g = 0; g < am.dg.getGroups().size(); ++g) {
      std::vector<unsigned> units = am.prunableUnits(g);
      std::vector<unsigned> picked;
      for (unsigned i = offset; i < units.size(); i += std::max(stride, 1u))
        picked.push_back(units[i]);
      // Never empty a group: keep at least one unit.
      if (!picked.empty() && picked.size() == units.size())
        picked.pop_back();
      out.insert(out.end(), picked.begin(), picked.end());
    }
    return out;
  };
}

// ---- The property ----------------------------------------------------------

uint64_t countParams(const Model &m) {
  uint64_t n = 0;
  DenseSet<const Tensor *> seen;
  // Every graph: If branches and Loop bodies hold weights too.
  m.forEachGraph([&](const Graph &g) {
    for (Value *v : g.getValues())
      if (Tensor *t = v->getWeight();
          t && isFloatingPoint(t->getDataType()) && seen.insert(t).second)
        n += t->getNumElements();
  });
  return n;
}

/// Loads, analyses and selects units on one copy.
static Expected<std::pair<AnalyzedModel, std::vector<unsigned>>>
loadAndSelect(const ModelLoader &load, const UnitSelector &select,
              const DepGraphOptions &graph) {
  auto am = analyze(load, graph);
  if (!am)
    return am.takeError();
  auto units = select(*am);
  if (!units)
    return units.takeError();
  if (units->empty())
    return makeError("the selector picked no unit");
  return std::make_pair(std::move(*am), std::move(*units));
}

static Expected<std::vector<NamedTensor>>
runModel(const Model &m, const std::vector<NamedTensor> &feeds,
         StringRef what) {
  auto s = openModelSession(m);
  if (!s)
    return makeError(what + " model does not load in ONNX Runtime: " +
                     toString(s.takeError()));
  auto out = (*s)->run(feeds);
  if (!out)
    return makeError(
        what + " model fails in ONNX Runtime: " + toString(out.takeError()));
  return std::move(*out);
}

Expected<CompareResult> compareInOrt(const Model &expected, const Model &actual,
                                     const PruneCheckOptions &opts,
                                     StringRef expectedName,
                                     StringRef actualName) {
  // Run both on the same inputs, drawn from the expected model's interface
  // (the other must have the same).
  auto probe = openModelSession(expected);
  if (!probe)
    return makeError(expectedName + " model does not load in ONNX Runtime: " +
                     toString(probe.takeError()));
  CompareResult worst;
  for (unsigned k = 0; k < std::max(opts.numInputSets, 1u); ++k) {
    RandomInputOptions ro = opts.inputs;
    ro.seed = opts.inputs.seed + k;
    auto feeds = makeRandomInputs((*probe)->getInputs(), ro);
    if (!feeds)
      return feeds.takeError();
    auto outA = runModel(expected, *feeds, expectedName);
    if (!outA)
      return outA.takeError();
    auto outB = runModel(actual, *feeds, actualName);
    if (!outB)
      return outB.takeError();
    CompareResult c = compareOutputs(*outA, *outB, opts.rtol, opts.atol);
    c.maxAbsErr = std::max(c.maxAbsErr, worst.maxAbsErr);
    c.maxRelErr = std::max(c.maxRelErr, worst.maxRelErr);
    worst = c;
    if (!c.match)
      return makeError(expectedName + " != " + actualName + " (input set " +
                       Twine(k) + "): output '" + c.outputName + "' element " +
                       Twine(c.elementIndex) + ": " + expectedName + " " +
                       std::to_string(c.expected) + ", " + actualName + " " +
                       std::to_string(c.actual) + " (" + c.reason + ")");
  }
  return worst;
}

std::vector<std::string> describeIO(ArrayRef<Value *> values) {
  std::vector<std::string> out;
  for (const Value *v : values) {
    std::string s;
    raw_string_ostream os(s);
    const Type &t = v->getType();
    os << v->getName() << ": dtype " << (int)t.elemType;
    if (t.hasRank()) {
      os << " [";
      for (size_t i = 0; i < t.shape->size(); ++i) {
        const Dim &d = (*t.shape)[i];
        os << (i ? "," : "")
           << (d.isStatic() ? std::to_string(d.value)
                            : (d.param.empty() ? "?" : d.param));
      }
      os << "]";
    }
    out.push_back(os.str());
  }
  return out;
}

Expected<PruneCheckResult>
checkMaskedEqualsPruned(const ModelLoader &load, const UnitSelector &select,
                        const PruneCheckOptions &opts) {
  auto a = loadAndSelect(load, select, opts.graph);
  if (!a)
    return a.takeError();
  auto b = loadAndSelect(load, select, opts.graph);
  if (!b)
    return b.takeError();
  auto &[maskedAm, maskedUnits] = *a;
  auto &[prunedAm, prunedUnits] = *b;
  if (maskedUnits != prunedUnits ||
      maskedAm.dg.getNumUnits() != prunedAm.dg.getNumUnits() ||
      maskedAm.dg.getSpaces().size() != prunedAm.dg.getSpaces().size())
    return makeError("two loads of the model analyse differently");

  PruneCheckResult r;
  r.units = maskedUnits;
  r.paramsBefore = countParams(*prunedAm.model);
  {
    Rewriter rw(*maskedAm.model);
    if (Error e = applyMasking(*maskedAm.model, maskedAm.dg, r.units, rw))
      return makeError("masking failed: " + toString(std::move(e)));
  }
  {
    Rewriter rw(*prunedAm.model);
    if (Error e = applyPruning(*prunedAm.model, prunedAm.dg, r.units, rw))
      return makeError("pruning failed: " + toString(std::move(e)));
  }
  if (opts.runDce) {
    ModelAnalysisManager mam;
    auto pa = DCEPass().run(*prunedAm.model, mam);
    if (!pa)
      return makeError("dce failed: " + toString(pa.takeError()));
  }
  r.paramsAfter = countParams(*prunedAm.model);
  if (Error e = verifyModelStructure(*prunedAm.model))
    return makeError("pruned model fails the IR verifier: " +
                     toString(std::move(e)));
  if (opts.runChecker)
    if (Error e = runOnnxChecker(*prunedAm.model, r.checker))
      return makeError("pruned model fails the onnx checker: " +
                       toString(std::move(e)));

  auto c =
      compareInOrt(*maskedAm.model, *prunedAm.model, opts, "masked", "pruned");
  if (!c)
    return c.takeError();
  r.compare = *c;

  // Re-analyse both copies so lookups on the result see the final models.
  auto remask = analyzeModel(std::move(maskedAm.model));
  if (!remask)
    return remask.takeError();
  auto reprune = analyzeModel(std::move(prunedAm.model));
  if (!reprune)
    return reprune.takeError();
  r.masked = std::move(*remask);
  r.pruned = std::move(*reprune);
  return std::move(r);
}

Expected<PruneCheckResult>
checkMaskedEqualsPruned(StringRef text, const UnitSelector &select,
                        const PruneCheckOptions &opts) {
  return checkMaskedEqualsPruned(textLoader(text.str()), select, opts);
}

std::string textTensor(const std::string &name,
                       const std::vector<int64_t> &dims, float lo, float hi) {
  uint64_t s = 1469598103934665603ull; // FNV-1a of the name: a fixed seed
  for (char c : name)
    s = (s ^ (unsigned char)c) * 1099511628211ull;
  int64_t n = 1;
  std::ostringstream os;
  os << "float[";
  for (size_t i = 0; i < dims.size(); ++i) {
    os << (i ? "," : "") << dims[i];
    n *= dims[i];
  }
  os << "] " << name << " = {";
  for (int64_t i = 0; i < n; ++i) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    double u = (double)(s >> 40) / (double)(1ull << 24);
    os << (i ? ", " : "") << (float)(lo + (hi - lo) * u);
  }
  os << "}";
  return os.str();
}

std::string textInts(const std::string &name,
                     const std::vector<int64_t> &values) {
  std::ostringstream os;
  os << "int64[" << values.size() << "] " << name << " = {";
  for (size_t i = 0; i < values.size(); ++i)
    os << (i ? ", " : "") << values[i];
  os << "}";
  return os.str();
}

std::string textModel(const std::string &opsets, const std::string &sig,
                      const std::vector<std::string> &inits,
                      const std::string &body) {
  std::string s = "<\n  ir_version: 8,\n  opset_import: [" + opsets + "]\n>\n" +
                  sig + "\n<";
  for (size_t i = 0; i < inits.size(); ++i)
    s += (i ? ",\n " : "") + inits[i];
  return s + ">\n{\n" + body + "}\n";
}

} // namespace test
} // namespace onnxprune
