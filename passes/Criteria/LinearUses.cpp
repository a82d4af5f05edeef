//===- LinearUses.cpp - Weights of a group that multiply activations ------===//
///
/// \file
/// Finds the Conv / MatMul / Gemm reads of a group's weight members and
/// views each weight as the [outputs, D] matrix the data criteria work on.
///
//===----------------------------------------------------------------------===//

#include "passes/Criteria/LinearUses.h"

#include "lib/IR/Graph.h"
#include "lib/IR/Tensor.h"
#include "lib/Support/Error.h"

#include <cstring>

using namespace llvm;

namespace onnxprune {

namespace {

bool isDefaultDomain(const Node &n) {
  return n.getDomain().empty() || n.getDomain() == "ai.onnx";
}

/// Static dims of a value, or empty when any is unknown.
SmallVector<int64_t, 4> staticDims(const Value *v) {
  SmallVector<int64_t, 4> out;
  const Type &t = v->getType();
  if (!t.hasRank())
    return {};
  for (const Dim &d : *t.shape) {
    if (!d.isStatic())
      return {};
    out.push_back(d.value);
  }
  return out;
}

/// The pads of a Conv with auto_pad, from its input's static spatial dims;
/// false when they cannot be known.
bool convPads(const Node &n, ConvGeometry &g) {
  std::string autoPad = n.getStringAttr("auto_pad", "NOTSET");
  size_t sp = g.kernel.size();
  if (autoPad == "NOTSET") {
    if (auto p = n.getIntsAttr("pads"))
      g.pads.assign(p->begin(), p->end());
    return true;
  }
  if (autoPad == "VALID")
    return true;
  auto dims = staticDims(n.getInput(0));
  if (dims.size() != sp + 2)
    return false;
  g.pads.assign(2 * sp, 0);
  for (size_t i = 0; i < sp; ++i) {
    int64_t in = dims[i + 2], s = g.strides[i], d = g.dilations[i];
    int64_t out = (in + s - 1) / s;
    int64_t total =
        std::max<int64_t>(0, (out - 1) * s + (g.kernel[i] - 1) * d + 1 - in);
    int64_t small = total / 2, big = total - small;
    bool upper = autoPad == "SAME_UPPER";
    g.pads[i] = upper ? small : big;
    g.pads[i + sp] = upper ? big : small;
  }
  return true;
}

/// The use of weight \p w by \p n along \p axis, when n is a linear layer
/// reading w and its role there is known.
std::optional<LinearUse> useOf(const Node &n, const Value *w, unsigned axis) {
  std::optional<LinearUse> u = linearLayerOf(n);
  if (!u || u->weight != w || !u->patchesKnown)
    return std::nullopt;
  StringRef op = n.getOpType();
  if (op == "MatMul")
    u->consumer = axis == 0;
  else if (op == "Gemm")
    u->consumer = axis == (u->transposed ? 0u : 1u);
  else if (axis == 1 && u->groups != 1)
    return std::nullopt; // A grouped Conv reads its input axis per group.
  else
    u->consumer = axis == 1;
  return u;
}

} // namespace

std::optional<LinearUse> linearLayerOf(const Node &n) {
  if (!isDefaultDomain(n) || n.getNumInputs() < 2 || !n.getInput(1))
    return std::nullopt;
  const Value *w = n.getInput(1);
  const Tensor *t = w->getWeight();
  if (!t || !isFloatingPoint(t->getDataType()))
    return std::nullopt;
  auto wd = t->getDims();
  LinearUse u;
  u.node = &n;
  u.weight = w;
  u.input = n.getInput(0);
  StringRef op = n.getOpType();
  if (op == "MatMul" && wd.size() == 2) {
    u.inputAxis = -1;
    u.transposed = true;
    u.outputs = wd[1], u.depth = wd[0];
  } else if (op == "Gemm" && wd.size() == 2 && n.getIntAttr("transA", 0) == 0) {
    u.inputAxis = 1;
    u.transposed = n.getIntAttr("transB", 0) == 0;
    u.outputs = u.transposed ? wd[1] : wd[0];
    u.depth = u.transposed ? wd[0] : wd[1];
  } else if (op == "Conv" && wd.size() >= 3) {
    u.groups = n.getIntAttr("group", 1);
    if (u.groups < 1 || wd[0] % u.groups)
      return std::nullopt;
    u.inputAxis = 1;
    u.outputs = wd[0];
    for (size_t d = 2; d < wd.size(); ++d)
      u.taps *= wd[d];
    u.depth = wd[1] * u.taps;
    size_t sp = wd.size() - 2;
    ConvGeometry &g = u.conv;
    g.kernel.assign(wd.begin() + 2, wd.end());
    g.strides.assign(sp, 1), g.dilations.assign(sp, 1);
    if (auto s = n.getIntsAttr("strides"); s && s->size() == sp)
      g.strides.assign(s->begin(), s->end());
    if (auto d = n.getIntsAttr("dilations"); d && d->size() == sp)
      g.dilations.assign(d->begin(), d->end());
    // Patches are gathered for 1-D and 2-D convs whose pads are known.
    u.patchesKnown = sp <= 2 && convPads(n, g);
  } else {
    return std::nullopt;
  }
  if (u.outputs <= 0 || u.depth <= 0)
    return std::nullopt;
  return u;
}

std::vector<LinearUse> linearUsesOf(const DepGraph &dg, unsigned group) {
  std::vector<LinearUse> out;
  auto spaces = dg.getSpaces();
  for (unsigned s : dg.getGroups()[group].spaces)
    for (unsigned k = 0; k < spaces[s].numWeightMembers; ++k) {
      const AxisRef &a = spaces[s].members[k];
      const Tensor *t = a.value->getWeight();
      if (!t || !isFloatingPoint(t->getDataType()))
        continue;
      for (const Use &use : a.value->getUses())
        if (auto u = useOf(*use.user, a.value, a.axis)) {
          u->space = s;
          out.push_back(std::move(*u));
        }
    }
  return out;
}

Expected<std::vector<double>> readRowMatrix(const LinearUse &use) {
  const Tensor &t = *use.weight->getWeight();
  auto values = readAsDoubles(t);
  if (!values)
    return values.takeError();
  if (!use.transposed)
    return values;
  // Stored [D, outputs]: transpose.
  std::vector<double> m(values->size());
  for (int64_t d = 0; d < use.depth; ++d)
    for (int64_t o = 0; o < use.outputs; ++o)
      m[o * use.depth + d] = (*values)[d * use.outputs + o];
  return m;
}

WeightUpdate makeRowMatrixUpdate(const LinearUse &use,
                                 ArrayRef<double> matrix) {
  const Tensor &t = *use.weight->getWeight();
  WeightUpdate u;
  u.weight = t.getName();
  u.dtype = DataType::Float;
  u.dims.assign(t.getDims().begin(), t.getDims().end());
  std::vector<float> f(matrix.size());
  for (int64_t o = 0; o < use.outputs; ++o)
    for (int64_t d = 0; d < use.depth; ++d)
      f[use.transposed ? d * use.outputs + o : o * use.depth + d] =
          float(matrix[o * use.depth + d]);
  u.bytes.assign(reinterpret_cast<const char *>(f.data()),
                 f.size() * sizeof(float));
  return u;
}

StatRequest inputRequest(const LinearUse &use, bool gram) {
  StatRequest r;
  r.value = use.input->getName();
  r.axis = use.inputAxis;
  if (!gram) {
    r.kind = StatRequest::Kind::Moments;
  } else if (!use.conv.kernel.empty()) {
    r.kind = StatRequest::Kind::ConvGram;
    r.conv = use.conv;
  } else {
    r.kind = StatRequest::Kind::Gram;
  }
  return r;
}

unsigned StatsTable::request(const StatRequest &r) {
  auto [it, inserted] = byKey.try_emplace(r.key(), requests.size());
  if (inserted)
    requests.push_back(r);
  return it->second;
}

void StatsTable::set(const StatRequest &r, ActivationStats s) {
  unsigned i = request(r);
  if (stats.size() <= i)
    stats.resize(i + 1);
  stats[i] = std::move(s);
}

Error StatsTable::collect(const CriterionContext &ctx,
                          const CalibrationSource &src, StringRef who) {
  if (Error e = requireCalibration(ctx.calibration, who,
                                   src.kind == CalibrationSource::Kind::Data))
    return e;
  source = ctx.calibration->describe(src);
  if (requests.empty())
    return Error::success();
  auto got = ctx.calibration->collect(*ctx.model, requests, src);
  if (!got)
    return addContext(got.takeError(), who);
  stats = std::move(*got);
  return Error::success();
}

Error ConsumerStatsCriterion::prepare(const CriterionContext &ctx,
                                      ArrayRef<unsigned> groups) {
  for (unsigned g : groups)
    for (const LinearUse &u : linearUsesOf(*ctx.dg, g))
      if (u.consumer)
        table.request(requestFor(*ctx.dg, g, u));
  return table.collect(ctx, {}, "criterion '" + name().str() + "'");
}

std::vector<int64_t> elementsIn(const DepGraph &dg, unsigned unit,
                                unsigned space) {
  std::vector<int64_t> out;
  for (auto &[s, i] : dg.getUnit(unit).elements)
    if (s == space)
      out.push_back(i);
  llvm::sort(out);
  return out;
}

} // namespace onnxprune
