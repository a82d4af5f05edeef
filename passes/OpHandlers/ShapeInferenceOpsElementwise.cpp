//===- ShapeInferenceOpsElementwise.cpp - Elementwise shape handlers ------===//
///
/// \file
/// Shape handlers of elementwise ops: unary ops keep their input's type,
/// binary and variadic ops broadcast numpy-style, comparisons give bool.
/// Integer arithmetic on known values (the Shape -> Gather -> Mul -> Concat
/// chains exporters emit) is evaluated element by element, keeping
/// symbolic dims where the arithmetic is an identity (N*1, N+0).
///
//===----------------------------------------------------------------------===//

#include "passes/OpHandlers/ShapeInferenceImpl.h"

using namespace llvm;

namespace onnxprune {
namespace shapeinf {

/// Broadcasts the shapes of inputs [first, first+count) of \p ctx, or
/// std::nullopt when a rank is unknown.
static Expected<std::optional<Shape>>
broadcastInputs(NodeContext &ctx, unsigned first, unsigned count) {
  SmallVector<const Shape *, 4> shapes;
  for (unsigned i = first; i < first + count; ++i) {
    const Shape *s = ctx.inShape(i);
    if (!s)
      return std::optional<Shape>();
    shapes.push_back(s);
  }
  if (shapes.empty())
    return std::optional<Shape>();
  Expected<Shape> out = broadcastShapes(ctx, shapes);
  if (!out)
    return out.takeError();
  return std::optional<Shape>(std::move(*out));
}

/// Element \p i of known values \p v broadcast to \p n elements.
static const SymInt &elementAt(const ValueVec &v, size_t i) {
  return v.size() == 1 ? v[0] : v[i];
}

/// Evaluates a binary op on two known-value vectors (1-D or scalars, with
/// broadcasting of single elements); std::nullopt when the op is not one
/// this understands or the lengths do not match.
static std::optional<ValueVec> evalBinary(StringRef op, const ValueVec &a,
                                          const ValueVec &b, bool isFloat) {
  if (a.size() != b.size() && a.size() != 1 && b.size() != 1)
    return std::nullopt;
  size_t n = std::max(a.size(), b.size());
  ValueVec out;
  for (size_t i = 0; i < n; ++i) {
    const SymInt &x = elementAt(a, i), &y = elementAt(b, i);
    SymInt r = SymInt::unknown();
    if (x.value && y.value) {
      int64_t p = *x.value, q = *y.value;
      if (op == "Add")
        r = SymInt::of(p + q);
      else if (op == "Sub")
        r = SymInt::of(p - q);
      else if (op == "Mul")
        r = SymInt::of(p * q);
      else if (op == "Div" && q != 0 && (!isFloat || p % q == 0))
        // Integer Div truncates like C; float Div is kept only when exact.
        r = SymInt::of(p / q);
      else if (op == "Max")
        r = SymInt::of(std::max(p, q));
      else if (op == "Min")
        r = SymInt::of(std::min(p, q));
      else if (op == "Mod" && q != 0 && !isFloat)
        r = SymInt::of(((p % q) + q) % q);
    } else if (op == "Mul" || op == "Div") {
      if (y.value && *y.value == 1)
        r = x;
      else if (op == "Mul" && x.value && *x.value == 1)
        r = y;
    } else if (op == "Add" || op == "Sub") {
      if (y.value && *y.value == 0)
        r = x;
      else if (op == "Add" && x.value && *x.value == 0)
        r = y;
    } else if ((op == "Max" || op == "Min") && x.isSymbolic() && x == y) {
      r = x;
    }
    out.push_back(r);
  }
  return out;
}

Error inferUnary(NodeContext &ctx) {
  const Type &t = ctx.inType(0);
  if (!t.isTensor())
    return Error::success();
  ctx.setOutput(0, t);
  // Ops that keep integer values (an Identity or Neg on a shape vector).
  StringRef op = ctx.getNode().getOpType();
  if (const ValueVec *v = ctx.inValues(0)) {
    if (op == "Identity" || op == "Floor" || op == "Ceil" || op == "Round") {
      ctx.setOutputValues(0, *v);
    } else if (op == "Neg" || op == "Abs") {
      ValueVec out;
      for (const SymInt &x : *v)
        out.push_back(!x.value      ? SymInt::unknown()
                      : op == "Neg" ? SymInt::of(-*x.value)
                                    : SymInt::of(std::abs(*x.value)));
      ctx.setOutputValues(0, std::move(out));
    }
  }
  return Error::success();
}

Error inferBoolUnary(NodeContext &ctx) {
  const Type &t = ctx.inType(0);
  if (t.isTensor())
    ctx.setOutput(0, DataType::Bool, t.shape);
  return Error::success();
}

/// The element type of a broadcasting op: that of its first typed input.
static DataType firstElemType(NodeContext &ctx, unsigned first,
                              unsigned count) {
  for (unsigned i = first; i < first + count; ++i)
    if (ctx.inElem(i) != DataType::Undefined)
      return ctx.inElem(i);
  return DataType::Undefined;
}

Error inferBroadcast(NodeContext &ctx) {
  unsigned n = ctx.numInputs();
  auto shape = broadcastInputs(ctx, 0, n);
  if (!shape)
    return shape.takeError();
  DataType elem = firstElemType(ctx, 0, n);
  if (elem == DataType::Undefined)
    return Error::success();
  ctx.setOutput(0, elem, *shape);
  // Shape arithmetic: binary ops on known values.
  if (n == 2 && *shape && shape->value().size() <= 1) {
    const ValueVec *a = ctx.inValues(0);
    const ValueVec *b = a ? ctx.inValues(1) : nullptr;
    if (a && b)
      if (auto r = evalBinary(ctx.getNode().getOpType(), *a, *b,
                              isFloatingPoint(elem)))
        ctx.setOutputValues(0, std::move(*r));
  }
  return Error::success();
}

Error inferCompare(NodeContext &ctx) {
  auto shape = broadcastInputs(ctx, 0, 2);
  if (!shape)
    return shape.takeError();
  ctx.setOutput(0, DataType::Bool, *shape);
  // Equal on known values (exporters compute "shape == -1" masks).
  const ValueVec *a = ctx.inValues(0);
  const ValueVec *b = a ? ctx.inValues(1) : nullptr;
  if (ctx.getNode().getOpType() == "Equal" && a && b && *shape &&
      shape->value().size() <= 1 &&
      (a->size() == b->size() || a->size() == 1 || b->size() == 1)) {
    ValueVec out;
    for (size_t i = 0, e = std::max(a->size(), b->size()); i < e; ++i) {
      const SymInt &x = elementAt(*a, i), &y = elementAt(*b, i);
      if (x.value && y.value)
        out.push_back(SymInt::of(*x.value == *y.value));
      else if (x.isSymbolic() && x == y)
        out.push_back(SymInt::of(1));
      // A symbolic element is a dim read from a shape, never negative: it
      // differs from the -1 of a "shape == -1" mask.
      else if ((x.isSymbolic() && y.value && *y.value < 0) ||
               (y.isSymbolic() && x.value && *x.value < 0))
        out.push_back(SymInt::of(0));
      else
        out.push_back(SymInt::unknown());
    }
    ctx.setOutputValues(0, std::move(out));
  }
  return Error::success();
}

Error inferWhere(NodeContext &ctx) {
  auto shape = broadcastInputs(ctx, 0, 3);
  if (!shape)
    return shape.takeError();
  DataType elem = firstElemType(ctx, 1, 2);
  if (elem == DataType::Undefined)
    return Error::success();
  ctx.setOutput(0, elem, *shape);
  const ValueVec *c = ctx.inValues(0);
  const ValueVec *x = c ? ctx.inValues(1) : nullptr;
  const ValueVec *y = x ? ctx.inValues(2) : nullptr;
  if (!y || !*shape || shape->value().size() > 1)
    return Error::success();
  size_t n = std::max({c->size(), x->size(), y->size()});
  for (const ValueVec *v : {c, x, y})
    if (v->size() != n && v->size() != 1)
      return Error::success();
  ValueVec out;
  for (size_t i = 0; i < n; ++i) {
    const SymInt &ci = elementAt(*c, i);
    out.push_back(!ci.value   ? SymInt::unknown()
                  : *ci.value ? elementAt(*x, i)
                              : elementAt(*y, i));
  }
  ctx.setOutputValues(0, std::move(out));
  return Error::success();
}

Error inferCast(NodeContext &ctx) {
  const Type &t = ctx.inType(0);
  auto to = static_cast<DataType>(ctx.intAttr("to", 0));
  if (to == DataType::Undefined)
    return Error::success();
  ctx.setOutput(0, to, t.isTensor() ? t.shape : std::nullopt);
  // Integers survive casts to integer and float types alike (exporters
  // round-trip shape values through float for Resize arithmetic).
  if (to != DataType::Bool && to != DataType::String)
    if (const ValueVec *v = ctx.inValues(0))
      ctx.setOutputValues(0, *v);
  return Error::success();
}

Error inferCastLike(NodeContext &ctx) {
  const Type &t = ctx.inType(0);
  DataType to = ctx.inElem(1);
  if (to == DataType::Undefined)
    return Error::success();
  ctx.setOutput(0, to, t.isTensor() ? t.shape : std::nullopt);
  return Error::success();
}

Error inferDropout(NodeContext &ctx) {
  const Type &t = ctx.inType(0);
  if (!t.isTensor())
    return Error::success();
  ctx.setOutput(0, t);
  ctx.setOutput(1, DataType::Bool, t.shape);
  return Error::success();
}

Error inferQuantizeLinear(NodeContext &ctx) {
  const Type &t = ctx.inType(0);
  if (!t.isTensor())
    return Error::success();
  // The zero point's type, uint8 when it is omitted.
  DataType elem = ctx.hasInput(2) ? ctx.inElem(2) : DataType::UInt8;
  if (elem != DataType::Undefined)
    ctx.setOutput(0, elem, t.shape);
  return Error::success();
}

Error inferDequantizeLinear(NodeContext &ctx) {
  const Type &t = ctx.inType(0);
  DataType elem = ctx.inElem(1);
  if (t.isTensor() && elem != DataType::Undefined)
    ctx.setOutput(0, elem, t.shape);
  return Error::success();
}

} // namespace shapeinf
} // namespace onnxprune
