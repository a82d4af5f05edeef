//===- ShapeInferenceOpsTensor.cpp - Tensor-manipulation shape handlers ---===//
///
/// \file
/// Shape handlers of ops that move, cut or compute shapes: Shape, Reshape,
/// Transpose, Squeeze/Unsqueeze, Concat, Split, Slice, Gather*, Expand,
/// Tile, Pad, Resize, ConstantOfShape, Range and friends. Ops whose shape
/// operands moved from attributes to inputs across opsets (Split, Slice,
/// Squeeze, Unsqueeze, Pad, Upsample/Resize, TopK) read the form their opset
/// uses. The ones that compute shape data also propagate known values, so
/// a Shape -> Gather -> Concat -> Reshape chain keeps symbolic dims.
///
//===----------------------------------------------------------------------===//

#include "passes/OpHandlers/ShapeInferenceImpl.h"

#include "lib/IR/Tensor.h"

#include "llvm/ADT/StringMap.h"

#include <cmath>
#include <map>

using namespace llvm;

namespace onnxprune {
namespace shapeinf {

/// The shape a known-values vector describes (Reshape/Expand/... targets).
static Shape valuesToShape(const ValueVec &v) {
  Shape s;
  for (const SymInt &x : v)
    s.push_back(x.toDim());
  return s;
}

/// The number of elements of 1-D input \p i when static: the length of a
/// shape operand whose values are not known.
static std::optional<int64_t> staticLength(NodeContext &ctx, unsigned i) {
  const Shape *s = ctx.inShape(i);
  if (s && s->size() == 1 && (*s)[0].isStatic())
    return (*s)[0].value;
  return std::nullopt;
}

/// Integer list operand that moved from attribute \p attr to input \p input
/// at opset \p sinceOpset: the list, or std::nullopt when absent or unknown.
/// \p present tells whether the operand was given at all.
static std::optional<SmallVector<int64_t, 8>>
attrOrInput(NodeContext &ctx, StringRef attr, unsigned input,
            int64_t sinceOpset, bool &present) {
  if (ctx.getOpset() < sinceOpset) {
    auto a = ctx.intsAttr(attr);
    present = a.has_value();
    if (!a)
      return std::nullopt;
    return SmallVector<int64_t, 8>(a->begin(), a->end());
  }
  present = ctx.hasInput(input);
  return present ? ctx.inInts(input) : std::nullopt;
}

Error inferShapeOp(NodeContext &ctx) {
  const Shape *in = ctx.inShape(0);
  if (!in) {
    if (ctx.inType(0).isTensor() || ctx.inType(0).kind == Type::Kind::None)
      ctx.setOutput(0, DataType::Int64, unknownShape(1));
    return Error::success();
  }
  int64_t rank = in->size();
  // start/end (opset 15) are clamped, not errors.
  auto clampAxis = [&](int64_t a) {
    if (a < 0)
      a += rank;
    return std::min(std::max<int64_t>(a, 0), rank);
  };
  int64_t start = clampAxis(ctx.intAttr("start", 0));
  int64_t end =
      ctx.getNode().hasAttr("end") ? clampAxis(ctx.intAttr("end", 0)) : rank;
  ValueVec vals;
  for (int64_t i = start; i < end; ++i)
    vals.push_back(SymInt::fromDim((*in)[i]));
  ctx.setOutput(0, DataType::Int64, staticShape({(int64_t)vals.size()}));
  ctx.setOutputValues(0, std::move(vals));
  return Error::success();
}

Error inferSize(NodeContext &ctx) {
  ctx.setOutput(0, DataType::Int64, Shape());
  if (auto n = ctx.inType(0).numElements())
    ctx.setOutputValues(0, {SymInt::of(*n)});
  return Error::success();
}

/// The product of \p dims as (static product, symbols), or std::nullopt
/// when a dim is unknown.
static std::optional<std::pair<int64_t, StringMap<int>>>
factorize(ArrayRef<Dim> dims) {
  int64_t product = 1;
  StringMap<int> symbols;
  for (const Dim &d : dims) {
    if (d.isStatic())
      product *= d.value;
    else if (d.isSymbolic())
      ++symbols[d.param];
    else
      return std::nullopt;
  }
  return std::make_pair(product, std::move(symbols));
}

/// The dim a Reshape's -1 stands for: the input's size divided by the
/// other output dims, with symbols cancelled ([N,768] -> [N,-1,64] gives
/// 12; [N*?] -> [-1] gives unknown).
static Dim inferMinusOne(ArrayRef<Dim> in, ArrayRef<Dim> outOthers) {
  auto a = factorize(in), b = factorize(outOthers);
  if (!a || !b)
    return Dim::unknown();
  StringMap<int> rest = a->second;
  for (auto &kv : b->second) {
    auto it = rest.find(kv.getKey());
    if (it == rest.end() || it->second < kv.getValue())
      return Dim::unknown();
    it->second -= kv.getValue();
    if (it->second == 0)
      rest.erase(it);
  }
  int64_t p = a->first, q = b->first;
  if (q == 0 || p % q != 0)
    return Dim::unknown();
  if (rest.empty())
    return Dim::of(p / q);
  if (rest.size() == 1 && rest.begin()->second == 1 && p == q)
    return Dim::symbol(rest.begin()->getKey());
  return Dim::unknown();
}

Error inferReshape(NodeContext &ctx) {
  const Type &t = ctx.inType(0);
  if (!t.isTensor())
    return Error::success();
  std::optional<ValueVec> target;
  if (ctx.getOpset() < 5) {
    if (auto a = ctx.intsAttr("shape")) {
      target.emplace();
      for (int64_t x : *a)
        target->push_back(SymInt::of(x));
    }
  } else if (const ValueVec *v = ctx.inValues(1)) {
    target = *v;
  }
  if (!target) {
    // Only the rank is known: the length of the shape operand.
    std::optional<int64_t> len =
        ctx.getOpset() < 5 ? std::nullopt : staticLength(ctx, 1);
    ctx.setOutput(0, t.elemType,
                  len ? std::optional<Shape>(unknownShape(*len))
                      : std::nullopt);
    return Error::success();
  }
  bool allowZero = ctx.getOpset() >= 14 && ctx.intAttr("allowzero", 0) != 0;
  const Shape *in = ctx.inShape(0);
  Shape out;
  int minusOne = -1;
  for (size_t i = 0; i < target->size(); ++i) {
    const SymInt &x = (*target)[i];
    if (x.value && *x.value == 0 && !allowZero) {
      // 0 copies the input dim at the same position.
      if (in && i >= in->size())
        return ctx.error("shape element " + Twine(i) +
                         " is 0 but the input has rank " + Twine(in->size()));
      out.push_back(in ? (*in)[i] : Dim::unknown());
    } else if (x.value && *x.value == -1) {
      if (minusOne >= 0)
        return ctx.error("the shape has more than one -1");
      minusOne = i;
      out.push_back(Dim::unknown());
    } else if (x.value && *x.value < -1) {
      return ctx.error("invalid shape element " + Twine(*x.value));
    } else {
      out.push_back(x.toDim());
    }
  }
  if (minusOne >= 0 && in) {
    Shape others(out);
    others.erase(others.begin() + minusOne);
    out[minusOne] = inferMinusOne(*in, others);
  }
  ctx.setOutput(0, t.elemType, out);
  // Reshape of known values (a scalar to [1] and back) keeps them.
  if (const ValueVec *v = ctx.inValues(0))
    ctx.setOutputValues(0, *v);
  return Error::success();
}

/// The product of dims [from, to) of \p s (static, or a lone symbol times
/// 1s, else unknown).
static Dim productOf(ArrayRef<Dim> s) {
  Dim p = Dim::of(1);
  for (const Dim &d : s)
    p = mulDims(p, d);
  return p;
}

Error inferFlatten(NodeContext &ctx) {
  const Type &t = ctx.inType(0);
  const Shape *in = ctx.inShape(0);
  if (!t.isTensor())
    return Error::success();
  if (!in) {
    ctx.setOutput(0, t.elemType, unknownShape(2));
    return Error::success();
  }
  int64_t rank = in->size();
  int64_t axis = ctx.intAttr("axis", 1);
  if (axis < -rank || axis > rank)
    return ctx.error("axis " + Twine(axis) + " is out of range for rank " +
                     Twine(rank));
  if (axis < 0)
    axis += rank;
  ArrayRef<Dim> dims(*in);
  ctx.setOutput(0, t.elemType,
                Shape{productOf(dims.take_front(axis)),
                      productOf(dims.drop_front(axis))});
  return Error::success();
}

Error inferTranspose(NodeContext &ctx) {
  const Type &t = ctx.inType(0);
  const Shape *in = ctx.inShape(0);
  if (!t.isTensor())
    return Error::success();
  if (!in) {
    auto perm = ctx.intsAttr("perm");
    ctx.setOutput(0, t.elemType,
                  perm ? std::optional<Shape>(unknownShape(perm->size()))
                       : std::nullopt);
    return Error::success();
  }
  int64_t rank = in->size();
  std::vector<int64_t> perm;
  if (auto p = ctx.intsAttr("perm"))
    perm = *p;
  else
    for (int64_t i = rank - 1; i >= 0; --i)
      perm.push_back(i);
  if ((int64_t)perm.size() != rank)
    return ctx.error("perm has " + Twine(perm.size()) +
                     " entries for an input of rank " + Twine(rank));
  Shape out;
  for (int64_t p : perm) {
    auto a = normalizeAxis(ctx, p, rank);
    if (!a)
      return a.takeError();
    out.push_back((*in)[*a]);
  }
  ctx.setOutput(0, t.elemType, out);
  return Error::success();
}

Error inferSqueeze(NodeContext &ctx) {
  const Type &t = ctx.inType(0);
  if (!t.isTensor())
    return Error::success();
  bool present = false;
  auto axes = attrOrInput(ctx, "axes", 1, 13, present);
  const Shape *in = ctx.inShape(0);
  if (!in || (present && !axes)) {
    // Known axes fix the rank even when the dims are not known.
    ctx.setOutput(0, t.elemType, std::nullopt);
    return Error::success();
  }
  int64_t rank = in->size();
  SmallVector<bool, 8> drop(rank, false);
  if (present) {
    for (int64_t a : *axes) {
      auto n = normalizeAxis(ctx, a, rank);
      if (!n)
        return n.takeError();
      const Dim &d = (*in)[*n];
      if (d.isStatic() && d.value != 1)
        return ctx.error("cannot squeeze axis " + Twine(a) + " of size " +
                         Twine(d.value));
      drop[*n] = true;
    }
  } else {
    // No axes: every dim of size 1 goes; a non-static dim may be 1.
    for (int64_t i = 0; i < rank; ++i) {
      if (!(*in)[i].isStatic()) {
        ctx.setOutput(0, t.elemType, std::nullopt);
        return Error::success();
      }
      drop[i] = (*in)[i].value == 1;
    }
  }
  Shape out;
  for (int64_t i = 0; i < rank; ++i)
    if (!drop[i])
      out.push_back((*in)[i]);
  ctx.setOutput(0, t.elemType, out);
  if (const ValueVec *v = ctx.inValues(0))
    ctx.setOutputValues(0, *v);
  return Error::success();
}

Error inferUnsqueeze(NodeContext &ctx) {
  const Type &t = ctx.inType(0);
  if (!t.isTensor())
    return Error::success();
  bool present = false;
  auto axes = attrOrInput(ctx, "axes", 1, 13, present);
  const Shape *in = ctx.inShape(0);
  if (!in || !axes) {
    ctx.setOutput(0, t.elemType, std::nullopt);
    return Error::success();
  }
  int64_t outRank = in->size() + axes->size();
  SmallVector<bool, 8> inserted(outRank, false);
  for (int64_t a : *axes) {
    auto n = normalizeAxis(ctx, a, outRank);
    if (!n)
      return n.takeError();
    if (inserted[*n])
      return ctx.error("axis " + Twine(a) + " is given twice");
    inserted[*n] = true;
  }
  Shape out;
  size_t next = 0;
  for (int64_t i = 0; i < outRank; ++i)
    out.push_back(inserted[i] ? Dim::of(1) : (*in)[next++]);
  ctx.setOutput(0, t.elemType, out);
  if (const ValueVec *v = ctx.inValues(0))
    ctx.setOutputValues(0, *v);
  return Error::success();
}

/// Concat of 1-D known values: inputs without values but of static length
/// contribute unknown elements (Reshape still learns the others).
static std::optional<ValueVec> concatValues(NodeContext &ctx) {
  ValueVec out;
  bool anyKnown = false;
  for (unsigned i = 0; i < ctx.numInputs(); ++i) {
    if (const ValueVec *v = ctx.inValues(i)) {
      out.append(v->begin(), v->end());
      anyKnown = true;
    } else if (auto n = staticLength(ctx, i)) {
      out.append(*n, SymInt::unknown());
    } else {
      return std::nullopt;
    }
  }
  return anyKnown ? std::optional<ValueVec>(out) : std::nullopt;
}

Error inferConcat(NodeContext &ctx) {
  const Shape *first = nullptr;
  DataType elem = DataType::Undefined;
  bool allRanked = true;
  for (unsigned i = 0; i < ctx.numInputs(); ++i) {
    if (elem == DataType::Undefined)
      elem = ctx.inElem(i);
    if (const Shape *s = ctx.inShape(i))
      first = first ? first : s;
    else
      allRanked = false;
  }
  if (elem == DataType::Undefined)
    return Error::success();
  if (!first) {
    ctx.setOutput(0, elem, std::nullopt);
    return Error::success();
  }
  int64_t rank = first->size();
  auto axis = normalizeAxis(ctx, ctx.intAttr("axis", 0), rank);
  if (!axis)
    return axis.takeError();
  Shape out(*first);
  out[*axis] = allRanked ? Dim::of(0) : Dim::unknown();
  for (unsigned i = 0; i < ctx.numInputs(); ++i) {
    const Shape *s = ctx.inShape(i);
    if (!s)
      continue;
    if ((int64_t)s->size() != rank)
      return ctx.error("inputs have ranks " + Twine(rank) + " and " +
                       Twine(s->size()));
    for (int64_t d = 0; d < rank; ++d) {
      if (d == *axis) {
        out[d] = addDims(out[d], (*s)[d]);
        continue;
      }
      if (out[d].isStatic() && (*s)[d].isStatic() &&
          out[d].value != (*s)[d].value)
        return ctx.error("inputs differ in dim " + Twine(d) + ": " +
                         shapeToString(*first) + " and " + shapeToString(*s));
      out[d] = mergeDims(out[d], (*s)[d]);
    }
  }
  ctx.setOutput(0, elem, out);
  if (rank == 1)
    if (auto v = concatValues(ctx))
      ctx.setOutputValues(0, std::move(*v));
  return Error::success();
}

/// The sizes Split cuts along its axis: given, or equal parts of \p dim.
static Expected<std::optional<SmallVector<int64_t, 8>>>
splitSizes(NodeContext &ctx, const Dim &dim, unsigned numOutputs) {
  using Result = std::optional<SmallVector<int64_t, 8>>;
  bool present = false;
  auto given = attrOrInput(ctx, "split", 1, 13, present);
  if (present) {
    if (given && given->size() != numOutputs)
      return ctx.error("split has " + Twine(given->size()) + " sizes for " +
                       Twine(numOutputs) + " outputs");
    return Result(given);
  }
  if (!dim.isStatic() || numOutputs == 0)
    return Result();
  SmallVector<int64_t, 8> sizes;
  if (ctx.getOpset() >= 18 && ctx.getNode().hasAttr("num_outputs")) {
    // Opset 18: ceil-sized chunks, the last one smaller.
    int64_t chunk = (dim.value + numOutputs - 1) / numOutputs;
    int64_t left = dim.value;
    for (unsigned i = 0; i < numOutputs; ++i) {
      sizes.push_back(std::min(chunk, left));
      left -= sizes.back();
    }
    return Result(sizes);
  }
  if (dim.value % numOutputs != 0)
    return ctx.error("dim " + Twine(dim.value) + " does not split into " +
                     Twine(numOutputs) + " equal parts");
  sizes.assign(numOutputs, dim.value / numOutputs);
  return Result(sizes);
}

Error inferSplit(NodeContext &ctx) {
  const Type &t = ctx.inType(0);
  const Shape *in = ctx.inShape(0);
  if (!t.isTensor())
    return Error::success();
  unsigned n = ctx.numOutputs();
  if (!in) {
    for (unsigned i = 0; i < n; ++i)
      ctx.setOutput(i, t.elemType, std::nullopt);
    return Error::success();
  }
  auto axis = normalizeAxis(ctx, ctx.intAttr("axis", 0), in->size());
  if (!axis)
    return axis.takeError();
  auto sizes = splitSizes(ctx, (*in)[*axis], n);
  if (!sizes)
    return sizes.takeError();
  const ValueVec *vals = in->size() == 1 ? ctx.inValues(0) : nullptr;
  int64_t offset = 0;
  for (unsigned i = 0; i < n; ++i) {
    Shape out(*in);
    out[*axis] = *sizes ? Dim::of((**sizes)[i]) : Dim::unknown();
    ctx.setOutput(i, t.elemType, out);
    if (vals && *sizes && offset + (**sizes)[i] <= (int64_t)vals->size())
      ctx.setOutputValues(i, ValueVec(vals->begin() + offset,
                                      vals->begin() + offset + (**sizes)[i]));
    if (*sizes)
      offset += (**sizes)[i];
  }
  return Error::success();
}

/// The [start, end) range and length of one sliced axis of static size
/// \p dim, following ONNX's clamping rules.
static int64_t sliceLength(int64_t dim, int64_t start, int64_t end,
                           int64_t step, int64_t &clampedStart) {
  if (start < 0)
    start += dim;
  if (end < 0)
    end += dim;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, dim);
    end = std::clamp<int64_t>(end, 0, dim);
    clampedStart = start;
    return end > start ? (end - start + step - 1) / step : 0;
  }
  start = std::clamp<int64_t>(start, 0, dim - 1);
  end = std::clamp<int64_t>(end, -1, dim - 1);
  clampedStart = start;
  return start > end ? (start - end - step - 1) / -step : 0;
}

Error inferSlice(NodeContext &ctx) {
  const Type &t = ctx.inType(0);
  const Shape *in = ctx.inShape(0);
  if (!t.isTensor())
    return Error::success();
  if (!in) {
    ctx.setOutput(0, t.elemType, std::nullopt);
    return Error::success();
  }
  int64_t rank = in->size();
  bool hasStarts, hasEnds, hasAxes, hasSteps = false;
  auto starts = attrOrInput(ctx, "starts", 1, 10, hasStarts);
  auto ends = attrOrInput(ctx, "ends", 2, 10, hasEnds);
  auto axes = attrOrInput(ctx, "axes", 3, 10, hasAxes);
  std::optional<SmallVector<int64_t, 8>> steps;
  if (ctx.getOpset() >= 10 && ctx.hasInput(4)) {
    hasSteps = true;
    steps = ctx.inInts(4);
  }
  Shape out(*in);
  // Ends read from a shape at run time (`x[:, :seq]`, BERT's position-id
  // buffer sliced to the input length) keep their symbols.
  ValueVec endVals;
  if (ends)
    for (int64_t e : *ends)
      endVals.push_back(SymInt::of(e));
  else if (const ValueVec *ev =
               hasEnds && ctx.getOpset() >= 10 ? ctx.inValues(2) : nullptr)
    endVals = *ev;
  if ((hasAxes && !axes) || !starts ||
      (!ends && endVals.size() != starts->size()) || (hasSteps && !steps)) {
    // The sliced axes are known but not by how much, or nothing is.
    if (axes)
      for (int64_t a : *axes)
        if (a >= -rank && a < rank)
          out[a < 0 ? a + rank : a] = Dim::unknown();
    ctx.setOutput(0, t.elemType,
                  axes ? std::optional<Shape>(out) : unknownShape(rank));
    return Error::success();
  }
  if (starts->size() != endVals.size() ||
      (axes && axes->size() != starts->size()) ||
      (steps && steps->size() != starts->size()))
    return ctx.error("starts, ends, axes and steps differ in length");
  int64_t valueStart = 0, valueLen = -1, valueStep = 1;
  for (size_t i = 0; i < starts->size(); ++i) {
    auto axis = normalizeAxis(ctx, axes ? (*axes)[i] : (int64_t)i, rank);
    if (!axis)
      return axis.takeError();
    int64_t step = steps ? (*steps)[i] : 1;
    if (step == 0)
      return ctx.error("a step is 0");
    const Dim &d = (*in)[*axis];
    int64_t s = (*starts)[i];
    if (!endVals[i].isConst()) {
      // [0:n] of an axis has n elements (n <= the axis in a model that
      // runs): a symbolic n sizes the result.
      out[*axis] = s == 0 && step == 1 ? endVals[i].toDim() : Dim::unknown();
      continue;
    }
    int64_t e = *endVals[i].value;
    if (d.isStatic()) {
      int64_t clamped = 0;
      out[*axis] = Dim::of(sliceLength(d.value, s, e, step, clamped));
      if (rank == 1) {
        valueStart = clamped;
        valueLen = out[*axis].value;
        valueStep = step;
      }
    } else if (s == 0 && step == 1 && e >= (int64_t)INT32_MAX) {
      out[*axis] = d; // the whole axis: [0:INT_MAX]
    } else {
      out[*axis] = Dim::unknown();
    }
  }
  ctx.setOutput(0, t.elemType, out);
  const ValueVec *v = rank == 1 ? ctx.inValues(0) : nullptr;
  if (v && valueLen >= 0) {
    ValueVec sliced;
    for (int64_t k = 0, i = valueStart; k < valueLen; ++k, i += valueStep)
      sliced.push_back((*v)[i]);
    ctx.setOutputValues(0, std::move(sliced));
  } else if (v && starts->empty()) {
    ctx.setOutputValues(0, *v);
  }
  return Error::success();
}

Error inferGather(NodeContext &ctx) {
  const Type &t = ctx.inType(0);
  const Shape *data = ctx.inShape(0), *idx = ctx.inShape(1);
  if (!t.isTensor())
    return Error::success();
  if (!data || !idx) {
    std::optional<Shape> s;
    if (data && ctx.inType(1).hasRank())
      s = unknownShape(data->size() - 1 + ctx.inRank(1));
    ctx.setOutput(0, t.elemType, s);
    return Error::success();
  }
  int64_t rank = data->size();
  auto axis = normalizeAxis(ctx, ctx.intAttr("axis", 0), rank);
  if (!axis)
    return axis.takeError();
  Shape out(data->begin(), data->begin() + *axis);
  out.append(idx->begin(), idx->end());
  out.append(data->begin() + *axis + 1, data->end());
  ctx.setOutput(0, t.elemType, out);
  // Gather of shape elements: Shape(x)[i].
  const ValueVec *v = rank == 1 ? ctx.inValues(0) : nullptr;
  auto indices = v && idx->size() <= 1 ? ctx.inInts(1) : std::nullopt;
  if (indices) {
    ValueVec picked;
    for (int64_t i : *indices) {
      if (i < 0)
        i += v->size();
      if (i < 0 || i >= (int64_t)v->size())
        return ctx.error("index " + Twine(i) + " is out of range for " +
                         Twine(v->size()) + " elements");
      picked.push_back((*v)[i]);
    }
    ctx.setOutputValues(0, std::move(picked));
  }
  return Error::success();
}

Error inferGatherElements(NodeContext &ctx) {
  const Type &t = ctx.inType(0);
  if (t.isTensor())
    ctx.setOutput(0, t.elemType, ctx.inType(1).shape);
  return Error::success();
}

Error inferGatherND(NodeContext &ctx) {
  const Type &t = ctx.inType(0);
  const Shape *data = ctx.inShape(0), *idx = ctx.inShape(1);
  if (!t.isTensor())
    return Error::success();
  int64_t batch = ctx.intAttr("batch_dims", 0);
  if (!data || !idx || idx->empty() || !idx->back().isStatic()) {
    ctx.setOutput(0, t.elemType, std::nullopt);
    return Error::success();
  }
  int64_t k = idx->back().value;
  if (batch + k > (int64_t)data->size())
    return ctx.error("indices address " + Twine(batch + k) +
                     " dims of a rank-" + Twine(data->size()) + " input");
  Shape out(idx->begin(), idx->end() - 1);
  out.append(data->begin() + batch + k, data->end());
  ctx.setOutput(0, t.elemType, out);
  return Error::success();
}

Error inferExpand(NodeContext &ctx) {
  const Type &t = ctx.inType(0);
  if (!t.isTensor())
    return Error::success();
  const Shape *in = ctx.inShape(0);
  const ValueVec *target = ctx.inValues(1);
  if (!in || !target) {
    ctx.setOutput(0, t.elemType, std::nullopt);
    return Error::success();
  }
  Shape want = valuesToShape(*target);
  Expected<Shape> out = broadcastShapes(ctx, {in, &want});
  if (!out)
    return out.takeError();
  ctx.setOutput(0, t.elemType, *out);
  return Error::success();
}

Error inferTile(NodeContext &ctx) {
  const Type &t = ctx.inType(0);
  const Shape *in = ctx.inShape(0);
  if (!t.isTensor())
    return Error::success();
  if (!in) {
    ctx.setOutput(0, t.elemType, std::nullopt);
    return Error::success();
  }
  Shape out = unknownShape(in->size());
  if (const ValueVec *reps = ctx.inValues(1)) {
    if (reps->size() != in->size())
      return ctx.error("repeats has " + Twine(reps->size()) +
                       " entries for an input of rank " + Twine(in->size()));
    for (size_t i = 0; i < in->size(); ++i)
      out[i] = mulDims((*in)[i], (*reps)[i].toDim());
  }
  ctx.setOutput(0, t.elemType, out);
  return Error::success();
}

Error inferPad(NodeContext &ctx) {
  const Type &t = ctx.inType(0);
  const Shape *in = ctx.inShape(0);
  if (!t.isTensor())
    return Error::success();
  if (!in) {
    ctx.setOutput(0, t.elemType, std::nullopt);
    return Error::success();
  }
  int64_t rank = in->size();
  bool present = false;
  auto pads = attrOrInput(ctx, "pads", 1, 11, present);
  // Opset 18: pads may cover only the listed axes.
  SmallVector<int64_t, 8> axes;
  if (ctx.getOpset() >= 18 && ctx.hasInput(3)) {
    auto a = ctx.inInts(3);
    if (!a) {
      ctx.setOutput(0, t.elemType, unknownShape(rank));
      return Error::success();
    }
    for (int64_t x : *a) {
      auto n = normalizeAxis(ctx, x, rank);
      if (!n)
        return n.takeError();
      axes.push_back(*n);
    }
  } else {
    for (int64_t i = 0; i < rank; ++i)
      axes.push_back(i);
  }
  if (!pads) {
    ctx.setOutput(0, t.elemType, unknownShape(rank));
    return Error::success();
  }
  size_t n = axes.size();
  if (pads->size() != 2 * n)
    return ctx.error("pads has " + Twine(pads->size()) + " entries for " +
                     Twine(n) + " axes");
  Shape out(*in);
  for (size_t i = 0; i < n; ++i)
    out[axes[i]] = addDims(out[axes[i]], Dim::of((*pads)[i] + (*pads)[i + n]));
  // addDims with a negative total (cropping) stays correct for static dims;
  // a symbolic dim plus a non-zero pad is unknown.
  ctx.setOutput(0, t.elemType, out);
  return Error::success();
}

/// Resize/Upsample: the scales operand, by opset.
static std::optional<std::vector<double>> resizeScales(NodeContext &ctx,
                                                       bool &present) {
  bool isUpsample = ctx.getNode().getOpType() == "Upsample";
  if (isUpsample && ctx.getOpset() < 9) {
    const Attribute *a = ctx.getNode().getAttr("scales");
    present = a != nullptr;
    if (!a)
      return std::nullopt;
    return std::vector<double>(a->floats.begin(), a->floats.end());
  }
  unsigned idx = isUpsample || ctx.getOpset() < 11 ? 1 : 2;
  present = ctx.hasInput(idx);
  if (!present)
    return std::nullopt;
  auto s = ctx.inDoubles(idx);
  // An empty scales tensor means "use sizes" (opset 11-12 exports).
  if (s && s->empty())
    present = false;
  return s;
}

Error inferResize(NodeContext &ctx) {
  const Type &t = ctx.inType(0);
  const Shape *in = ctx.inShape(0);
  if (!t.isTensor())
    return Error::success();
  if (!in) {
    ctx.setOutput(0, t.elemType, std::nullopt);
    return Error::success();
  }
  int64_t rank = in->size();
  bool isResize11 =
      ctx.getNode().getOpType() == "Resize" && ctx.getOpset() >= 11;
  // Opset 18: sizes/scales may cover only the listed axes.
  SmallVector<int64_t, 8> axes;
  if (auto a = ctx.intsAttr("axes"); a && isResize11) {
    for (int64_t x : *a) {
      auto n = normalizeAxis(ctx, x, rank);
      if (!n)
        return n.takeError();
      axes.push_back(*n);
    }
  } else {
    for (int64_t i = 0; i < rank; ++i)
      axes.push_back(i);
  }
  Shape out(*in);
  bool scalesGiven = false;
  auto scales = resizeScales(ctx, scalesGiven);
  const ValueVec *sizes =
      isResize11 && ctx.hasInput(3) ? ctx.inValues(3) : nullptr;
  std::string policy = ctx.stringAttr("keep_aspect_ratio_policy", "stretch");
  if (sizes && policy == "stretch") {
    if (sizes->size() != axes.size())
      return ctx.error("sizes has " + Twine(sizes->size()) + " entries for " +
                       Twine(axes.size()) + " axes");
    for (size_t i = 0; i < axes.size(); ++i)
      out[axes[i]] = (*sizes)[i].toDim();
  } else if (scalesGiven && scales) {
    if (scales->size() != axes.size())
      return ctx.error("scales has " + Twine(scales->size()) + " entries for " +
                       Twine(axes.size()) + " axes");
    for (size_t i = 0; i < axes.size(); ++i) {
      const Dim &d = (*in)[axes[i]];
      // float arithmetic, as the reference implementation does.
      float s = (float)(*scales)[i];
      out[axes[i]] = d.isStatic()
                         ? Dim::of((int64_t)std::floor((float)d.value * s))
                     : s == 1.0f ? d
                                 : Dim::unknown();
    }
  } else {
    out = unknownShape(rank);
  }
  ctx.setOutput(0, t.elemType, out);
  return Error::success();
}

Error inferConstantOfShape(NodeContext &ctx) {
  DataType elem = DataType::Float;
  const Attribute *value = ctx.getNode().getAttr("value");
  const Tensor *fill =
      value && !value->tensors.empty() ? value->tensors[0].get() : nullptr;
  if (fill)
    elem = fill->getDataType();
  std::optional<Shape> out;
  if (const ValueVec *v = ctx.inValues(0))
    out = valuesToShape(*v);
  else if (auto n = staticLength(ctx, 0))
    out = unknownShape(*n);
  ctx.setOutput(0, elem, out);
  // A small integer fill of known size is a known value (masks of ones).
  Type ty = Type::tensor(elem, out);
  auto num = ty.numElements();
  if (out && out->size() <= 1 && num && *num <= MaxKnownElements &&
      elem == DataType::Int64) {
    int64_t x = 0;
    if (fill) {
      auto ints = readAsInt64s(*fill);
      if (!ints || ints->size() != 1) {
        consumeError(ints.takeError());
        return Error::success();
      }
      x = (*ints)[0];
    }
    ctx.setOutputValues(0, ValueVec(*num, SymInt::of(x)));
  }
  return Error::success();
}

Error inferRange(NodeContext &ctx) {
  DataType elem = ctx.inElem(0);
  if (elem == DataType::Undefined)
    return Error::success();
  ctx.setOutput(0, elem, unknownShape(1));
  std::optional<double> args[3];
  for (unsigned i = 0; i < 3; ++i) {
    if (auto v = ctx.inInts(i); v && v->size() == 1)
      args[i] = (double)(*v)[0];
    else if (auto d = ctx.inDoubles(i); d && d->size() == 1)
      args[i] = (*d)[0];
  }
  if (args[0] && *args[0] == 0 && args[2] && *args[2] == 1 && !args[1]) {
    // Range(0, n, 1) has n elements, symbol and all: position ids made
    // from a dim read at run time (`arange(seq)`) keep the sequence length.
    if (const ValueVec *limit = ctx.inValues(1);
        limit && limit->size() == 1 && (*limit)[0].isSymbolic())
      ctx.setOutput(0, elem, Shape{(*limit)[0].toDim()});
    return Error::success();
  }
  if (!args[0] || !args[1] || !args[2])
    return Error::success();
  if (*args[2] == 0)
    return ctx.error("delta is 0");
  int64_t n = std::max<int64_t>(
      0, (int64_t)std::ceil((*args[1] - *args[0]) / *args[2]));
  ctx.setOutput(0, elem, staticShape({n}));
  if (!isFloatingPoint(elem) && n <= MaxKnownElements) {
    ValueVec vals;
    for (int64_t i = 0; i < n; ++i)
      vals.push_back(SymInt::of((int64_t)*args[0] + i * (int64_t)*args[2]));
    ctx.setOutputValues(0, std::move(vals));
  }
  return Error::success();
}

/// DepthToSpace (\p toSpace) and SpaceToDepth on NCHW.
static Error inferBlockRearrange(NodeContext &ctx, bool toSpace) {
  const Type &t = ctx.inType(0);
  const Shape *in = ctx.inShape(0);
  if (!t.isTensor())
    return Error::success();
  if (!in || in->size() != 4) {
    ctx.setOutput(0, t.elemType, unknownShape(4));
    return Error::success();
  }
  int64_t b = ctx.intAttr("blocksize", 0);
  if (b <= 0)
    return ctx.error("blocksize must be positive");
  Dim bb = Dim::of(b * b), bd = Dim::of(b);
  Shape out{(*in)[0]};
  if (toSpace) {
    const Dim &c = (*in)[1];
    if (c.isStatic() && c.value % (b * b) != 0)
      return ctx.error("channels " + Twine(c.value) +
                       " are not a multiple of blocksize^2");
    out.push_back(divDims(c, bb));
    out.push_back(mulDims((*in)[2], bd));
    out.push_back(mulDims((*in)[3], bd));
  } else {
    out.push_back(mulDims((*in)[1], bb));
    out.push_back(divDims((*in)[2], bd));
    out.push_back(divDims((*in)[3], bd));
  }
  ctx.setOutput(0, t.elemType, out);
  return Error::success();
}

Error inferDepthToSpace(NodeContext &ctx) {
  return inferBlockRearrange(ctx, /*toSpace=*/true);
}

Error inferSpaceToDepth(NodeContext &ctx) {
  return inferBlockRearrange(ctx, /*toSpace=*/false);
}

Error inferNonZero(NodeContext &ctx) {
  int64_t rank = ctx.inRank(0);
  ctx.setOutput(0, DataType::Int64,
                rank >= 0
                    ? std::optional<Shape>(Shape{Dim::of(rank), Dim::unknown()})
                    : Shape{Dim::unknown(), Dim::unknown()});
  return Error::success();
}

Error inferOneHot(NodeContext &ctx) {
  DataType elem = ctx.inElem(2);
  const Shape *idx = ctx.inShape(0);
  if (elem == DataType::Undefined)
    return Error::success();
  if (!idx) {
    ctx.setOutput(0, elem, std::nullopt);
    return Error::success();
  }
  int64_t outRank = idx->size() + 1;
  auto axis = normalizeAxis(ctx, ctx.intAttr("axis", -1), outRank);
  if (!axis)
    return axis.takeError();
  Dim depth = Dim::unknown();
  if (auto d = ctx.inInts(1); d && d->size() == 1)
    depth = Dim::of((*d)[0]);
  else if (auto f = ctx.inDoubles(1); f && f->size() == 1)
    depth = Dim::of((int64_t)(*f)[0]);
  Shape out(*idx);
  out.insert(out.begin() + *axis, depth);
  ctx.setOutput(0, elem, out);
  return Error::success();
}

Error inferTopK(NodeContext &ctx) {
  const Type &t = ctx.inType(0);
  const Shape *in = ctx.inShape(0);
  if (!t.isTensor())
    return Error::success();
  if (!in) {
    ctx.setOutput(0, t.elemType, std::nullopt);
    ctx.setOutput(1, DataType::Int64, std::nullopt);
    return Error::success();
  }
  auto axis = normalizeAxis(ctx, ctx.intAttr("axis", -1), in->size());
  if (!axis)
    return axis.takeError();
  Dim k = Dim::unknown();
  if (ctx.getOpset() < 10) {
    k = Dim::of(ctx.intAttr("k", 0));
  } else if (auto v = ctx.inInts(1); v && v->size() == 1) {
    k = Dim::of((*v)[0]);
  }
  Shape out(*in);
  out[*axis] = k;
  ctx.setOutput(0, t.elemType, out);
  ctx.setOutput(1, DataType::Int64, out);
  return Error::success();
}

Error inferConstant(NodeContext &ctx) {
  Value *out = ctx.getNode().getOutput(0);
  if (!out)
    return Error::success();
  // A lifted Constant is a weight: its type is the tensor's.
  const Tensor *t = out->getWeight();
  const Attribute *a = nullptr;
  if (!t)
    for (const Attribute &attr : ctx.getNode().getAttrs())
      a = &attr;
  if (!t && a && a->kind == AttrKind::Tensor && !a->tensors.empty())
    t = a->tensors[0].get();
  if (t) {
    ctx.setOutput(0, t->getDataType(), staticShape(t->getDims()));
    return Error::success();
  }
  if (!a)
    return Error::success();
  switch (a->kind) {
  case AttrKind::Int:
    ctx.setOutput(0, DataType::Int64, Shape());
    ctx.setOutputValues(0, {SymInt::of(a->i)});
    break;
  case AttrKind::Float:
    ctx.setOutput(0, DataType::Float, Shape());
    break;
  case AttrKind::Ints: {
    ctx.setOutput(0, DataType::Int64, staticShape({(int64_t)a->ints.size()}));
    ValueVec vals;
    for (int64_t x : a->ints)
      vals.push_back(SymInt::of(x));
    ctx.setOutputValues(0, std::move(vals));
    break;
  }
  case AttrKind::Floats:
    ctx.setOutput(0, DataType::Float, staticShape({(int64_t)a->floats.size()}));
    break;
  default:
    break;
  }
  return Error::success();
}

/// Einsum: explicit ("ij,jk->ik") or implicit ("ij,jk") equations without
/// ellipses; anything else leaves the output unknown.
Error inferEinsum(NodeContext &ctx) {
  DataType elem = ctx.inElem(0);
  if (elem == DataType::Undefined)
    return Error::success();
  std::string eq = ctx.stringAttr("equation", "");
  eq.erase(std::remove(eq.begin(), eq.end(), ' '), eq.end());
  ctx.setOutput(0, elem, std::nullopt);
  if (eq.find("...") != std::string::npos)
    return Error::success();
  StringRef lhs = eq, rhs;
  bool isExplicit = StringRef(eq).contains("->");
  if (isExplicit)
    std::tie(lhs, rhs) = StringRef(eq).split("->");
  SmallVector<StringRef, 4> terms;
  lhs.split(terms, ',');
  if (terms.size() != ctx.numInputs())
    return ctx.error("equation '" + eq + "' has " + Twine(terms.size()) +
                     " terms for " + Twine(ctx.numInputs()) + " inputs");
  std::map<char, Dim> dims;
  std::map<char, int> count;
  for (unsigned i = 0; i < terms.size(); ++i) {
    const Shape *s = ctx.inShape(i);
    if (!s)
      return Error::success();
    if (s->size() != terms[i].size())
      return ctx.error("term '" + terms[i] + "' does not match rank " +
                       Twine(s->size()));
    for (size_t k = 0; k < s->size(); ++k) {
      char c = terms[i][k];
      ++count[c];
      auto it = dims.find(c);
      const Dim &d = (*s)[k];
      if (it == dims.end())
        dims[c] = d;
      else if (!(d.isStatic() && d.value == 1))
        it->second = (it->second.isStatic() && it->second.value == 1)
                         ? d
                         : mergeDims(it->second, d);
    }
  }
  std::string outLabels;
  if (isExplicit) {
    outLabels = rhs.str();
  } else {
    for (auto &kv : count)
      if (kv.second == 1)
        outLabels += kv.first;
  }
  Shape out;
  for (char c : outLabels) {
    auto it = dims.find(c);
    if (it == dims.end())
      return ctx.error("output label '" + Twine(c) + "' is not an input label");
    out.push_back(it->second);
  }
  ctx.setOutput(0, elem, out);
  return Error::success();
}

} // namespace shapeinf
} // namespace onnxprune
