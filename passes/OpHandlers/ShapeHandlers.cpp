//===- ShapeHandlers.cpp - Ops that move, cut and join axes ---------------===//
///
/// \file
/// Handlers of the ops that rearrange tensors without computing on them:
/// Reshape, Flatten, Transpose, Squeeze/Unsqueeze, Concat, Split, Slice,
/// Gather, Expand, Tile, and the ops that only read or make shapes. They are
/// where channel spaces are cut into ranges (Concat/Split/Slice), factored
/// (Reshape: C·H·W, heads h·d) and permuted (channel shuffle, Gather).
///
/// Integer tensors of rank <= 1 flowing through these ops are shape
/// arithmetic (Shape -> Gather -> Concat -> Reshape), not channels: such a
/// node is frozen whole, so no constant piece of a shape ever joins a group.
///
/// Rewrites never edit a constant in place (it may be shared):
/// replaceConstantInts makes a new one. A target shape computed at run time
/// is fixed at the Concat piece that holds the changed size when that piece
/// is a constant (the Concat is cloned when others read it), or left alone
/// when the chain already recomputes the new size from a pruned shape, or
/// else patched as `shape * keep + new` with two small constants.
///
//===----------------------------------------------------------------------===//

#include "passes/OpHandlers/OpHandler.h"
#include "passes/OpHandlers/ShapeValues.h"

#include "lib/IR/Tensor.h"
#include "lib/Support/Error.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/STLExtras.h"

#include <climits>
#include <cstring>
#include <functional>

using namespace llvm;

namespace onnxprune {

namespace {

// ---- Shared helpers --------------------------------------------------------

int64_t opsetOf(const Node &n) {
  return n.getGraph()->getModel().getOpsetVersion(n.getDomain());
}

/// Dims of a value, or null when its rank is unknown.
const Shape *dimsOf(const Value *v) {
  return v && v->getType().hasRank() ? &*v->getType().shape : nullptr;
}

/// Ints from an attribute (older opsets) or a constant/foldable input.
std::optional<std::vector<int64_t>>
intsFromAttrOrInput(const Node &n, StringRef attr, unsigned input,
                    bool fromInput, ShapeValueEvaluator &ev) {
  if (!fromInput)
    return n.getIntsAttr(attr);
  if (auto c = constantInts(n.getInput(input)))
    return c;
  return ev.evaluateInts(n.getInput(input));
}

/// Evaluates \p v as the shape chain computed it before pruning: prune-width
/// shrinks value types before handlers rewrite, and a chain that reads a
/// pruned shape would otherwise yield the new sizes. The evaluation reads
/// the old types of the values whose shape the chain reads from a side
/// table; the graph is not touched.
std::optional<std::vector<int64_t>> evaluateBefore(Value *v,
                                                   PruneContext &ctx) {
  if (!v)
    return std::nullopt;
  if (auto c = constantInts(v))
    return c;
  TypeOverrides before;
  SmallVector<Value *, 8> work{v};
  DenseSet<Value *> seen;
  while (!work.empty()) {
    Value *cur = work.pop_back_val();
    Node *p = cur->getProducer();
    if (!seen.insert(cur).second || !p)
      continue;
    for (Value *in : p->getInputs()) {
      if (!in)
        continue;
      if (isShapeData(in)) {
        work.push_back(in);
        continue;
      }
      const Shape *dims = dimsOf(in);
      if (!dims || seen.count(in))
        continue;
      seen.insert(in);
      Type old = in->getType();
      for (unsigned a = 0; a < dims->size(); ++a)
        if (ctx.kept({in, a}))
          (*old.shape)[a] = Dim::of(ctx.oldSize({in, a}));
      before[in] = std::move(old);
    }
  }
  ShapeValueEvaluator ev(before);
  return ev.evaluateInts(v);
}

/// Evaluates the shape operand \p s of a Reshape whose data input is \p x
/// with every unknown dim of \p x, and of the values whose shapes the chain
/// reads, given a unique name for the evaluation. Exports compute targets
/// like `[Shape(x)[0], Shape(x)[1], 12, 64]`, and a sequence length that
/// inference could not name would otherwise leave the axes unmatched; with
/// names, "element 1 of the target is dim 1 of x" is known exactly.
///
/// The type of \p x itself is first inferred again from the few nodes
/// before it (ReshapeConeDepth), with those names: repeat_kv computes
/// `Expand(Unsqueeze(k), [Shape(k)[0], .., 2, Shape(k)[2], ..])`, and the
/// sequence dim of k that inference left unknown becomes the same name in
/// the Expand's output and in the Reshape target that reads Shape(k)[2].
/// Each name stands for the one run-time size of one dim of one value, so
/// everything inferred with names holds; nothing is assumed. The named and
/// inferred types live in a side table the evaluation reads (the handlers
/// run inside the dependency-graph analysis, which never changes the
/// model).
/// \p namedIn receives x's dims with those names.
constexpr unsigned ReshapeConeDepth = 4;

std::optional<shapeinf::ValueVec> evaluateNamed(Value *s, Value *x,
                                                Shape &namedIn) {
  TypeOverrides named;
  DenseSet<Value *> seen;
  unsigned counter = 0;
  auto typeOf = [&](const Value *v) -> const Type & {
    auto it = named.find(v);
    return it != named.end() ? it->second : v->getType();
  };
  auto setType = [&](Value *v, Type t) { named[v] = std::move(t); };
  auto name = [&](Value *v) {
    if (!seen.insert(v).second || !typeOf(v).hasRank())
      return;
    Type t = typeOf(v);
    bool any = false;
    for (Dim &d : *t.shape)
      if (d.isUnknown()) {
        d = Dim::symbol("__onnxprune_unknown_" + std::to_string(counter++));
        any = true;
      }
    if (any)
      setType(v, std::move(t));
  };
  // Names the values whose shapes the chain computing \p from reads.
  auto nameChain = [&](Value *from) {
    SmallVector<Value *, 8> work{from};
    DenseSet<Value *> walked;
    while (!work.empty()) {
      Value *cur = work.pop_back_val();
      Node *p = cur ? cur->getProducer() : nullptr;
      if (!p || !walked.insert(cur).second)
        continue;
      for (Value *in : p->getInputs())
        if (in && isShapeData(in))
          work.push_back(in);
        else if (in && p->getOpType() == "Shape")
          name(in);
    }
  };
  // The cone of x: producers reached through data (non-shape) inputs, in
  // post-order; the values where it stops are named as they are.
  SmallVector<Node *, 8> cone;
  {
    DenseSet<Node *> inCone;
    std::function<void(Value *, unsigned)> walk = [&](Value *v,
                                                      unsigned depth) {
      Node *p = v->getProducer();
      if (depth == 0 || seen.count(v) || !p || p->getGraph() != v->getGraph() ||
          p->hasSubgraphs() || !v->getType().hasRank()) {
        name(v);
        return;
      }
      if (!inCone.insert(p).second)
        return;
      // Shapes read by this node's shape operands are named first, and the
      // cone stops there (their names are what the operands are made of).
      for (Value *in : p->getInputs())
        if (in && isShapeData(in))
          nameChain(in);
      for (Value *in : p->getInputs())
        if (in && !isShapeData(in))
          walk(in, depth - 1);
      cone.push_back(p);
    };
    walk(x, ReshapeConeDepth);
  }
  if (!cone.empty()) {
    ShapeValueEvaluator ev(named);
    for (Node *p : cone) {
      std::optional<std::vector<Type>> types = ev.inferTypes(*p);
      if (!types)
        continue;
      for (unsigned i = 0; i < p->getNumOutputs(); ++i) {
        Value *out = p->getOutput(i);
        if (!out || seen.count(out) || i >= types->size() ||
            !typeOf(out).hasRank() || !(*types)[i].hasRank() ||
            (*types)[i].rank() != typeOf(out).rank())
          continue;
        // Keep what the graph states; fill in what it left unknown.
        Type t = typeOf(out);
        bool any = false;
        for (unsigned a = 0; a < t.shape->size(); ++a) {
          Dim &d = (*t.shape)[a];
          const Dim &r = (*(*types)[i].shape)[a];
          if (d.isUnknown() && !r.isUnknown()) {
            d = r;
            any = true;
          }
        }
        if (any)
          setType(out, std::move(t));
      }
    }
  }
  name(x);
  namedIn = *typeOf(x).shape;
  nameChain(s);
  ShapeValueEvaluator ev(named);
  if (const shapeinf::ValueVec *v = ev.evaluate(s))
    return *v;
  return std::nullopt;
}

/// Where element \p idx of a 1-D shape tensor \p s comes from when it is a
/// literal: the shape itself is a constant, or \p s is a Concat (axis 0)
/// and the element sits in one of its constant pieces.
struct ConstSlot {
  Node *concat = nullptr; ///< Null: the element is in \p s itself.
  unsigned operand = 0;   ///< Piece of the Concat.
  int64_t offset = 0;     ///< Element within the constant.
};

std::optional<ConstSlot> constSlot(Value *s, int64_t idx) {
  if (s->isWeight())
    return ConstSlot{nullptr, 0, idx};
  Node *c = s->getProducer();
  if (!c || c->getOpType() != "Concat" || !c->getDomain().empty() ||
      normalizeAxis(c->getIntAttr("axis", 0), 1) != 0)
    return std::nullopt;
  int64_t pos = 0;
  for (unsigned k = 0; k < c->getNumInputs(); ++k) {
    Value *p = c->getInput(k);
    const Type &t = p ? p->getType() : Type();
    std::optional<int64_t> len = t.numElements();
    if (p && p->isWeight())
      len = p->getWeight()->getNumElements();
    if (!len)
      return std::nullopt;
    if (idx < pos + *len)
      return p->isWeight() && !p->isGraphInput()
                 ? std::optional<ConstSlot>(ConstSlot{c, k, idx - pos})
                 : std::nullopt;
    pos += *len;
  }
  return std::nullopt;
}

/// Makes the 1-D int64 shape operand \p operand of \p n produce \p fixes
/// (element -> new value), by the cheapest exact means: a new constant, a
/// new constant piece of its Concat (cloning the Concat when it is shared),
/// or `shape * keep + add` when the element is computed.
Error fixShapeOperand(Node &n, unsigned operand,
                      ArrayRef<std::pair<int64_t, int64_t>> fixes,
                      int64_t length, Rewriter &rw) {
  if (fixes.empty())
    return Error::success();
  Value *s = n.getInput(operand);
  Graph &g = *n.getGraph();
  if (s->isWeight()) {
    auto vals = constantInts(s);
    if (!vals)
      return makeError("node " + n.describe() + ": unreadable shape constant");
    for (auto [i, v] : fixes)
      (*vals)[i] = v;
    replaceConstantInts(n, operand, *vals, rw);
    return Error::success();
  }
  SmallVector<std::pair<int64_t, int64_t>, 4> computed;
  Node *concat = nullptr;
  for (auto [i, v] : fixes) {
    std::optional<ConstSlot> slot = constSlot(s, i);
    if (!slot) {
      computed.push_back({i, v});
      continue;
    }
    if (!concat) {
      concat = slot->concat;
      // Others read this Concat: give this node its own copy.
      if (s->getUses().size() > 1 || s->isGraphOutput()) {
        SmallVector<Value *, 8> ins(concat->getInputs().begin(),
                                    concat->getInputs().end());
        Node *copy = rw.createNode(g, "Concat", ins, 1, concat, "",
                                   s->getName() + "_pruned");
        rw.setAttr(copy, Attribute::ofInt("axis", 0));
        rw.setType(copy->getOutput(0), s->getType());
        rw.setInput(&n, operand, copy->getOutput(0));
        s = copy->getOutput(0);
        concat = copy;
      }
    }
    auto vals = constantInts(concat->getInput(slot->operand));
    if (!vals)
      return makeError("node " + n.describe() + ": unreadable shape piece");
    (*vals)[slot->offset] = v;
    replaceConstantInts(*concat, slot->operand, *vals, rw);
  }
  if (computed.empty())
    return Error::success();
  // shape * keep + add: keep is 0 where the size changes, add the new size.
  std::vector<int64_t> keep(length, 1), add(length, 0);
  for (auto [i, v] : computed) {
    keep[i] = 0;
    add[i] = v;
  }
  auto mk = [&](StringRef name, ArrayRef<int64_t> vals) {
    auto t =
        std::make_unique<Tensor>((s->getName() + "_" + name).str(),
                                 DataType::Int64, ArrayRef<int64_t>{length});
    t->setData({length},
               std::string(reinterpret_cast<const char *>(vals.data()),
                           vals.size() * 8));
    return rw.createWeight(g, std::move(t));
  };
  Value *keepW = mk("shape_keep", keep), *addW = mk("shape_add", add);
  Type ty = Type::tensor(DataType::Int64, Shape{Dim::of(length)});
  Node *mul =
      rw.createNode(g, "Mul", {s, keepW}, 1, &n, "", s->getName() + "_keep");
  rw.setType(mul->getOutput(0), ty);
  Node *sum = rw.createNode(g, "Add", {mul->getOutput(0), addW}, 1, &n, "",
                            s->getName() + "_pruned");
  rw.setType(sum->getOutput(0), ty);
  rw.setInput(&n, operand, sum->getOutput(0));
  return Error::success();
}

// ---- Factoring shapes (Reshape, Flatten) ----------------------------------

/// A run of axes with equal products on both sides of a reshape.
struct Run {
  enum Kind { OneToOne, Split, Merge, ManyToMany, Unmatched } kind;
  SmallVector<unsigned, 4> in, out; ///< Axes of size != 1.
};

/// Factors in[inLo, inHi) against out[outLo, outHi): size-1 axes are
/// skipped (they carry nothing to prune), symbolic dims match by name, and
/// static runs close when their products agree. Whatever cannot be matched
/// ends up in one Unmatched run.
void factorShapes(const Shape &inShape, unsigned inLo, unsigned inHi,
                  const Shape &outShape, unsigned outLo, unsigned outHi,
                  std::vector<Run> &runs) {
  // Non-static dims pair up in order. Pairs with the same name are equal;
  // one pair without a name is equal too when every other pair is, since a
  // reshape keeps the element count and the static runs around it must
  // then have equal products (the normal matching below checks that). Two
  // unnamed pairs could trade factors: left unmatched.
  Shape in = inShape, out = outShape;
  {
    SmallVector<unsigned, 4> ni, no;
    for (unsigned k = inLo; k < inHi; ++k)
      if (!in[k].isStatic())
        ni.push_back(k);
    for (unsigned k = outLo; k < outHi; ++k)
      if (!out[k].isStatic())
        no.push_back(k);
    if (ni.size() == no.size()) {
      SmallVector<unsigned, 2> unproven;
      for (unsigned k = 0; k < ni.size(); ++k)
        if (!(in[ni[k]].isSymbolic() && in[ni[k]] == out[no[k]]))
          unproven.push_back(k);
      // The element count then says so only when the static dims have
      // equal products; [3, N, 8] -> [3, ?, 4] moves a factor 2 into ?.
      int64_t pi = 1, po = 1;
      for (unsigned k = inLo; k < inHi; ++k)
        if (in[k].isStatic())
          pi *= in[k].value;
      for (unsigned k = outLo; k < outHi; ++k)
        if (out[k].isStatic())
          po *= out[k].value;
      if (unproven.size() == 1 && pi == po) {
        Dim d = Dim::symbol("__onnxprune_by_count");
        in[ni[unproven[0]]] = d;
        out[no[unproven[0]]] = d;
      }
    }
  }
  unsigned i = inLo, j = outLo;
  auto isOne = [](const Dim &d) { return d.isStatic() && d.value == 1; };
  // What the run from the left could not match: static runs with equal
  // products are peeled off its right end (a reshape keeps the element
  // count, so equal suffix products are the same innermost blocks), and
  // only the middle stays Unmatched. [17·b, 32] -> [17, b, 32]: the 32 is
  // one to one however the outer dims regroup.
  auto rest = [&]() {
    unsigned ie = inHi, je = outHi;
    std::vector<Run> tail;
    while (true) {
      while (ie > i && isOne(in[ie - 1]))
        --ie;
      while (je > j && isOne(out[je - 1]))
        --je;
      // The same symbol on both ends (the sequence length of a 3-D view of
      // [b, h, S, d]) is one to one too, the suffix products being equal.
      if (ie > i && je > j && in[ie - 1].isSymbolic() &&
          in[ie - 1] == out[je - 1]) {
        tail.push_back({Run::OneToOne, {ie - 1}, {je - 1}});
        --ie, --je;
        continue;
      }
      if (ie == i || je == j || !in[ie - 1].isStatic() ||
          !out[je - 1].isStatic() || in[ie - 1].value == 0 ||
          out[je - 1].value == 0)
        break;
      unsigned ki = ie - 1, kj = je - 1;
      int64_t pi = in[ki].value, pj = out[kj].value;
      bool ok = true;
      while (pi != pj) {
        bool growIn = pi < pj;
        unsigned &k = growIn ? ki : kj;
        const Shape &side = growIn ? in : out;
        if (k == (growIn ? i : j) || !side[k - 1].isStatic()) {
          ok = false;
          break;
        }
        --k;
        (growIn ? pi : pj) *= side[k].value;
      }
      if (!ok)
        break;
      Run r{Run::OneToOne, {}, {}};
      for (unsigned k = ki; k < ie; ++k)
        if (!isOne(in[k]))
          r.in.push_back(k);
      for (unsigned k = kj; k < je; ++k)
        if (!isOne(out[k]))
          r.out.push_back(k);
      r.kind = r.in.size() == 1 && r.out.size() == 1 ? Run::OneToOne
               : r.in.size() == 1                    ? Run::Split
               : r.out.size() == 1                   ? Run::Merge
                                                     : Run::ManyToMany;
      tail.push_back(std::move(r));
      ie = ki, je = kj;
    }
    Run r{Run::Unmatched, {}, {}};
    for (; i < ie; ++i)
      if (!isOne(in[i]))
        r.in.push_back(i);
    for (; j < je; ++j)
      if (!isOne(out[j]))
        r.out.push_back(j);
    i = inHi, j = outHi;
    if (!r.in.empty() || !r.out.empty())
      runs.push_back(std::move(r));
    for (auto it = tail.rbegin(); it != tail.rend(); ++it)
      runs.push_back(std::move(*it));
  };
  while (true) {
    while (i < inHi && isOne(in[i]))
      ++i;
    while (j < outHi && isOne(out[j]))
      ++j;
    if (i == inHi && j == outHi)
      return;
    if (i == inHi || j == outHi)
      return rest();
    if (in[i].isSymbolic() && out[j].isSymbolic() &&
        in[i].param == out[j].param) {
      runs.push_back({Run::OneToOne, {i}, {j}});
      ++i, ++j;
      continue;
    }
    if (!in[i].isStatic() || !out[j].isStatic() || in[i].value == 0 ||
        out[j].value == 0)
      return rest();
    Run r{Run::OneToOne, {i}, {j}};
    unsigned si = i, sj = j;
    int64_t pi = in[i++].value, pj = out[j++].value;
    while (pi != pj) {
      bool growIn = pi < pj;
      unsigned &k = growIn ? i : j;
      const Shape &side = growIn ? in : out;
      if (k == (growIn ? inHi : outHi) || !side[k].isStatic()) {
        i = si, j = sj;
        return rest();
      }
      if (side[k].value != 1)
        (growIn ? r.in : r.out).push_back(k);
      (growIn ? pi : pj) *= side[k].value;
      ++k;
    }
    r.kind = r.in.size() == 1 && r.out.size() == 1 ? Run::OneToOne
             : r.in.size() == 1                    ? Run::Split
             : r.out.size() == 1                   ? Run::Merge
                                                   : Run::ManyToMany;
    runs.push_back(std::move(r));
  }
}

int64_t productOf(const Shape &s, ArrayRef<unsigned> axes) {
  int64_t p = 1;
  for (unsigned a : axes)
    p *= s[a].value;
  return p;
}

/// True when a split of one axis into [g, C/g] starts a channel shuffle:
/// its output's one reader is a Transpose swapping those two axes, read by
/// a Reshape (which merges them back).
bool isShuffleSplit(const Run &r, Value *y) {
  if (r.out.size() != 2 || r.out[1] != r.out[0] + 1 ||
      y->getUses().size() != 1 || y->isGraphOutput())
    return false;
  Node *t = y->getUses().front().user;
  if (t->getOpType() != "Transpose" || !t->getDomain().empty())
    return false;
  auto perm = t->getIntsAttr("perm");
  if (!perm || (int64_t)perm->size() <= (int64_t)r.out[1] ||
      (*perm)[r.out[0]] != (int64_t)r.out[1] ||
      (*perm)[r.out[1]] != (int64_t)r.out[0])
    return false;
  Value *to = t->getOutput(0);
  return to && to->getUses().size() == 1 &&
         to->getUses().front().user->getOpType() == "Reshape";
}

/// True when every reader of axis \p axis of \p v picks pieces of it
/// (Gather, Split, or a Slice that narrows it), seen through Transposes:
/// the axis is a selector (q, k, v), not a space of channels.
bool isSelectedAxis(Value *v, unsigned axis, unsigned depth = 4) {
  if (!v || v->isGraphOutput() || v->getUses().empty() || depth == 0)
    return false;
  for (const auto &use : v->getUses()) {
    Node *u = use.user;
    const Shape *in = dimsOf(v);
    if (!u->getDomain().empty() || use.operandIndex != 0 || !in)
      return false;
    StringRef op = u->getOpType();
    int64_t rank = in->size();
    if (op == "Transpose") {
      auto perm = u->getIntsAttr("perm");
      if (!perm || (int64_t)perm->size() != rank)
        return false;
      auto at = llvm::find(*perm, (int64_t)axis);
      if (at == perm->end() ||
          !isSelectedAxis(u->getOutput(0), at - perm->begin(), depth - 1))
        return false;
      continue;
    }
    if (op == "Gather" || op == "Split") {
      if (normalizeAxis(u->getIntAttr("axis", 0), rank) != (int64_t)axis)
        return false;
      continue;
    }
    if (op == "Slice") {
      const Shape *o = dimsOf(u->getOutput(0));
      if (!o || (int64_t)o->size() != rank || !(*o)[axis].isStatic() ||
          !(*in)[axis].isStatic() || (*o)[axis].value >= (*in)[axis].value)
        return false;
      continue;
    }
    return false;
  }
  return true;
}

/// Which factor of a split run is coupled to the input axis (an index into
/// r.out): the outermost, unless the axes before a middle factor make a
/// small selector (product <= MaxSelector: q/k/v) that the readers pick
/// pieces of, with static factors after it (the head dim). See
/// coupleRuns. Only one factor is ever coupled: two would tie every
/// element of one to every element of the other.
constexpr int64_t MaxSelector = 4;

unsigned coupledFactor(const Run &r, const Shape &out, Value *y) {
  if (r.out.size() < 3)
    return 0;
  int64_t outer = 1;
  for (unsigned k = 1; k + 1 < r.out.size(); ++k) {
    outer *= out[r.out[k - 1]].value;
    if (outer > MaxSelector)
      return 0;
    bool selected = true;
    for (unsigned s = 0; s < k && selected; ++s)
      selected = isSelectedAxis(y, r.out[s]);
    if (selected)
      return k;
  }
  return 0;
}

/// True when an unmatched run trades a static factor with a dynamic dim:
/// both sides hold a dynamic dim and a static axis, and the static
/// products differ (a static factor went into a dynamic dim, or out of
/// one). nn.MultiheadAttention views [n, b, h·d] as [n, b·h, d]: head i of
/// batch row j is element j·h + i of an axis with no static size, a
/// strided set that no block or index map of DepGraph can state (and the
/// batch size may not be assumed from an example input). A static batch
/// (b = 1) factors as a plain split.
bool isHeadsIntoBatch(const Run &r, const Shape &in, const Shape &out) {
  auto has = [](const Shape &s, ArrayRef<unsigned> axes, bool isStatic) {
    return llvm::any_of(
        axes, [&](unsigned a) { return s[a].isStatic() == isStatic; });
  };
  auto staticProduct = [](const Shape &s, ArrayRef<unsigned> axes) {
    int64_t p = 1;
    for (unsigned a : axes)
      if (s[a].isStatic())
        p *= s[a].value;
    return p;
  };
  return has(in, r.in, true) && has(in, r.in, false) && has(out, r.out, true) &&
         has(out, r.out, false) &&
         staticProduct(in, r.in) != staticProduct(out, r.out);
}

/// nn.MultiheadAttention (batch_first=False) views q, k, v [.., b, H·d] as
/// [.., b·H, d] (batch outer) and the attention output back as [.., H·d]:
///
///   split: r.in = [b, H·d], r.out = [M, d], M dynamic: every other run is
///          matched, so the element count proves M = b·H, and position
///          j·H + h of M is head h of batch row j. M gets the virtual size
///          H (CouplingBuilder::setVirtualSize) and head h ~ the block
///          [h·d, (h+1)·d) of the input axis. Its target element becomes
///          -1 when heads go, so every other element must be known and
///          not -1.
///   merge: r.in = [.., M, d] with M of virtual size H, r.out = [.., H·d]:
///          M·d is a multiple of H·d, so the innermost output index is
///          (m mod H)·d + k: head h ~ the block [h·d, (h+1)·d).
/// Returns false (nothing stated) when the run is not of these forms.
bool coupleVirtualHeads(const Run &r, Value *x, Value *y, const Shape &in,
                        const Shape &out, const shapeinf::ValueVec *target,
                        bool allowZero, const Node &n, CouplingBuilder &b,
                        std::vector<SmallVector<unsigned, 2>> &coupled) {
  const char *rule = "heads merged with a dynamic batch axis";
  // Every target element but the merged one is known and not -1, so -1
  // still infers b·H' after heads go.
  auto othersKnown = [&](unsigned merged) {
    for (unsigned j = 0; j < out.size(); ++j) {
      if (j == merged)
        continue;
      const shapeinf::SymInt &t = (*target)[j];
      if (t.value ? !(*t.value > 0 || (*t.value == 0 && !allowZero))
                  : t.param.empty())
        return false;
    }
    return true;
  };
  // Dynamo's scaled_dot_product_attention builds kᵀ through a 3-D view:
  //
  //   k[b,H,S,D] -> Reshape [-1,S,D] -> [M,S,D] -> Transpose -> [M,D,S]
  //              -> Reshape Shape(k)[:-2]+[D,S] -> [b,H,D,S]
  //
  //   merge: r.in = [b, H] (b dynamic, H static), r.out = [M], target -1:
  //          M gets the virtual size H, element h of M ~ head h.
  //   split: r.in = [M] of virtual size H, r.out = [b, H]: the inverse (its
  //          target reads Shape(k), which already has the new H).
  if (r.in.size() == 2 && r.out.size() == 1 && r.in[1] == r.in[0] + 1 &&
      !in[r.in[0]].isStatic() && in[r.in[1]].isStatic() &&
      !out[r.out[0]].isStatic() && target && target->size() == out.size() &&
      (*target)[r.out[0]].value == -1 && othersKnown(r.out[0]) &&
      b.virtualSize({x, r.in[0]}) <= 0 && in[r.in[1]].value > 0) {
    AxisRef m{y, r.out[0]};
    b.setVirtualSize(m, in[r.in[1]].value);
    b.joinBlocks(m, {x, r.in[1]}, 1, 0, n);
    return true;
  }
  if (r.in.size() == 1 && r.out.size() == 2 && r.out[1] == r.out[0] + 1 &&
      !in[r.in[0]].isStatic() && !out[r.out[0]].isStatic() &&
      out[r.out[1]].isStatic() &&
      b.virtualSize({x, r.in[0]}) == out[r.out[1]].value) {
    b.joinBlocks({x, r.in[0]}, {y, r.out[1]}, 1, 0, n);
    coupled[r.out[1]].push_back(r.in[0]);
    return true;
  }
  if (r.in.size() == 2 && r.out.size() == 2 && r.in[1] == r.in[0] + 1 &&
      r.out[1] == r.out[0] + 1 && !in[r.in[0]].isStatic() &&
      in[r.in[1]].isStatic() && !out[r.out[0]].isStatic() &&
      out[r.out[1]].isStatic() && target && target->size() == out.size() &&
      b.virtualSize({x, r.in[0]}) <= 0) {
    int64_t c = in[r.in[1]].value, d = out[r.out[1]].value;
    if (d > 0 && c > d && c % d == 0 && othersKnown(r.out[0])) {
      AxisRef m{y, r.out[0]};
      b.setVirtualSize(m, c / d);
      b.joinBlocks(m, {x, r.in[1]}, d, 0, n);
      b.freeze({x, r.in[0]}, &n, rule);
      b.freeze({y, r.out[1]}, &n, "inner axis of a reshape split");
      return true;
    }
  }
  if (r.in.size() >= 2 && !r.out.empty()) {
    unsigned mAx = r.in[r.in.size() - 2], dAx = r.in.back(), cAx = r.out.back();
    int64_t h = b.virtualSize({x, mAx});
    if (h > 0 && dAx == mAx + 1 && !in[mAx].isStatic() && in[dAx].isStatic() &&
        out[cAx].isStatic() && in[dAx].value > 0 &&
        out[cAx].value == h * in[dAx].value) {
      b.joinBlocks({x, mAx}, {y, cAx}, in[dAx].value, 0, n);
      coupled[cAx].push_back(mAx);
      for (unsigned a : r.in)
        if (a != mAx)
          b.freeze({x, a}, &n,
                   a == dAx ? "inner axis of a reshape merge" : rule);
      for (unsigned a : r.out)
        if (a != cAx)
          b.freeze({y, a}, &n, rule);
      return true;
    }
  }
  return false;
}

/// True when axis \p axis of \p v is the direction axis of an LSTM, GRU or
/// RNN output (Y: axis 1, or 2 with layout=1; Y_h/Y_c: 0, or 1), possibly
/// moved by Transposes: merging it with the hidden axis makes channel
/// d·H + j of unit j (see RecurrentHandlers.cpp).
static bool isRecurrentDirectionAxis(const Value *v, unsigned axis) {
  for (unsigned depth = 0; v && depth < 4; ++depth) {
    const Node *p = v->getProducer();
    if (!p || !p->getDomain().empty())
      return false;
    StringRef op = p->getOpType();
    if (op == "LSTM" || op == "GRU" || op == "RNN") {
      unsigned layout = p->getIntAttr("layout", 0) ? 1 : 0;
      unsigned want = v->getOutputIndex() == 0 ? 1 + layout : layout;
      return axis == want;
    }
    if (op == "Identity") {
      v = p->getInput(0);
      continue;
    }
    if (op != "Transpose")
      return false;
    auto perm = p->getIntsAttr("perm");
    if (!perm || axis >= perm->size())
      return false;
    axis = (unsigned)(*perm)[axis];
    v = p->getInput(0);
  }
  return false;
}

/// States the couplings of factored runs between \p x and \p y. Returns,
/// for each output axis, the input axes it is coupled with (empty: none),
/// for the target checks of Reshape.
std::vector<SmallVector<unsigned, 2>>
coupleRuns(ArrayRef<Run> runs, Value *x, Value *y, const Node &n,
           CouplingBuilder &b, const shapeinf::ValueVec *target = nullptr,
           bool allowZero = false) {
  const Shape &in = *dimsOf(x), &out = *dimsOf(y);
  std::vector<SmallVector<unsigned, 2>> coupled(out.size());
  for (const Run &r : runs) {
    switch (r.kind) {
    case Run::OneToOne:
      b.join({x, r.in[0]}, {y, r.out[0]}, n);
      coupled[r.out[0]].push_back(r.in[0]);
      break;
    case Run::Split: {
      if (isShuffleSplit(r, y)) {
        // Channel shuffle: [C] -> [g, C/g] -> Transpose -> [C/g, g] -> [C].
        // Removing position j of every group keeps the structure: channel
        // c is position c mod C/g, and the merge after the Transpose
        // couples position j with its g output channels. Groups stay.
        int64_t inner = out[r.out[1]].value;
        std::vector<int64_t> map;
        for (int64_t c = 0; c < in[r.in[0]].value; ++c)
          map.push_back(c % inner);
        b.joinMap({x, r.in[0]}, {y, r.out[1]}, map, n);
        coupled[r.out[1]].push_back(r.in[0]);
        b.freeze({y, r.out[0]}, &n, "groups of a channel shuffle");
        break;
      }
      // [.., s·h·d] -> [.., s, h, d] with a selector s read piecewise
      // (packed q/k/v, PP-OCR SVTR):
      //
      //   before: QKV[b,n,360] -> Reshape [0,n,3,8,15] -> Transpose
      //           [2,0,3,1,4] -> Slice/Gather q, k, v
      //           (3 coupled in blocks of 120: 8 and 15 frozen, no heads)
      //   after:  head h of Y.3 ~ channels [k·120 + h·15, k·120 + (h+1)·15)
      //           of X.2 for k = 0, 1, 2 (one block map per selector
      //           index); Y.2 (selector) and Y.4 (head dim) frozen
      //
      // A selector index must never be a unit (removing all of q breaks
      // attention), so the heads are the coupled factor.
      if (unsigned c = coupledFactor(r, out, y)) {
        ArrayRef<unsigned> outerAxes = ArrayRef<unsigned>(r.out).take_front(c);
        ArrayRef<unsigned> inner = ArrayRef<unsigned>(r.out).drop_front(c + 1);
        int64_t block = productOf(out, inner);
        int64_t stride = block * out[r.out[c]].value;
        for (int64_t k = 0, e = productOf(out, outerAxes); k < e; ++k)
          b.joinBlocks({y, r.out[c]}, {x, r.in[0]}, block, k * stride, n);
        coupled[r.out[c]].push_back(r.in[0]);
        for (unsigned a : outerAxes)
          b.freeze({y, a}, &n, "selector axis of a reshape split (q/k/v)");
        for (unsigned a : inner)
          b.freeze({y, a}, &n, "inner axis of a reshape split");
        break;
      }
      // [.., h·d] -> [.., h, d]: output element i (a head) is the block
      // [i·d, (i+1)·d) of the input; the inner axes are positions inside a
      // block, not channels: frozen, so a head is pruned whole.
      ArrayRef<unsigned> inner = ArrayRef<unsigned>(r.out).drop_front();
      b.joinBlocks({y, r.out[0]}, {x, r.in[0]}, productOf(out, inner), 0, n);
      coupled[r.out[0]].push_back(r.in[0]);
      for (unsigned a : inner)
        b.freeze({y, a}, &n, "inner axis of a reshape split");
      break;
    }
    case Run::Merge: {
      if (r.in.size() == 2 && isRecurrentDirectionAxis(x, r.in[0]) &&
          in[r.in[1]].isStatic() && in[r.in[1]].value > 0 &&
          out[r.out[0]].isStatic() &&
          out[r.out[0]].value <= (int64_t(1) << 24)) {
        // [.., dirs, H] -> [.., dirs·H] (a bidirectional recurrent op's
        // Y): the hidden unit j is output channel d·H + j of every
        // direction; the direction axis is no channel.
        int64_t h = in[r.in[1]].value;
        std::vector<int64_t> map;
        for (int64_t c = 0; c < out[r.out[0]].value; ++c)
          map.push_back(c % h);
        b.joinMap({y, r.out[0]}, {x, r.in[1]}, map, n);
        coupled[r.out[0]].push_back(r.in[1]);
        b.freeze({x, r.in[0]}, &n, "direction axis of a recurrent output");
        break;
      }
      // [.., C, H, W] -> [.., C·H·W]: input channel c is the block
      // [c·H·W, (c+1)·H·W) of the output.
      ArrayRef<unsigned> inner = ArrayRef<unsigned>(r.in).drop_front();
      b.joinBlocks({x, r.in[0]}, {y, r.out[0]}, productOf(in, inner), 0, n);
      coupled[r.out[0]].push_back(r.in[0]);
      for (unsigned a : inner)
        b.freeze({x, a}, &n, "inner axis of a reshape merge");
      break;
    }
    case Run::ManyToMany:
    case Run::Unmatched: {
      if (r.kind == Run::Unmatched && target &&
          coupleVirtualHeads(r, x, y, in, out, target, allowZero, n, b,
                             coupled))
        break;
      const char *rule = r.kind == Run::ManyToMany
                             ? "reshape regroups several axes into several"
                         : isHeadsIntoBatch(r, in, out)
                             ? "heads merged with a dynamic batch axis"
                             : "reshape dims could not be matched";
      for (unsigned a : r.in)
        b.freeze({x, a}, &n, rule);
      for (unsigned a : r.out)
        b.freeze({y, a}, &n, rule);
      break;
    }
    }
  }
  return coupled;
}

// ---- Reshape ---------------------------------------------------------------

/// Reshape(X, shape) -> Y, factored into runs of equal products:
///
///   X[N,64,7,7] -> Reshape [N, 3136] -> Y      X.1 ~ Y.1 in blocks of 49
///   X[b,s,768]  -> Reshape [b,s,12,64] -> Y    Y.2 (heads) ~ X.2 in blocks
///                                              of 64; Y.3 frozen
///   X[6,4]      -> Reshape [4,6]               many to many: frozen
///
/// A split couples ONE factor with the input axis (two would tie every
/// element of one to every element of the other), normally the outermost.
/// When the factors before a middle one form a small selector (product
/// <= 4) that every reader picks pieces of (Gather, Split or a narrowing
/// Slice, through Transposes), and the factors after it are static, that
/// middle factor is coupled instead, by one strided block map per selector
/// index; the selector is frozen (removing all of q is never a unit):
///
///   before: QKV[b,n,360] -> Reshape [0,n,3,8,15] -> Transpose [2,0,3,1,4]
///           -> Gather/Slice q, k, v        Y.2 (3) ~ X.2 in blocks of 120;
///                                          Y.3 (heads), Y.4 frozen
///   after:  Y.3 head h ~ X.2 channels [k·120 + h·15, k·120 + (h+1)·15),
///           k = 0, 1, 2                    Y.2 (selector), Y.4 frozen
///
/// A static factor traded with a dynamic dim cannot be stated (no static
/// index space): nn.MultiheadAttention's [n, b, h·d] -> [n, b·h, d] with a
/// symbolic b freezes as "heads merged with a dynamic batch axis". Runs
/// that the left-to-right factoring cannot match are matched from the
/// right too, so [s·b, D] -> [s, b, D] keeps D one to one.
///
/// Preconditions for a coupled output axis: its target element is -1, 0
/// copying the same input axis (allowzero=0), or a static value the shape
/// chain yields at build time; otherwise it is frozen ("reshape target
/// computed at run time").
/// Rewrite: the target element of every changed output axis becomes its new
/// size (0 and -1 entries are kept), at the constant that holds it.
class ReshapeHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    Value *x = n.getInput(0), *s = n.getInput(1), *y = n.getOutput(0);
    if (!x || !y || isShapeData(x)) {
      b.freezeNode(n, "shape arithmetic, not channels");
      return;
    }
    const Shape *in = dimsOf(x), *out = dimsOf(y);
    if (!in || !out) {
      b.freezeNode(n, "rank unknown");
      return;
    }
    // Dims as the target states them: a dim inference left unknown may be
    // named by the target (it reads the same dim of the input).
    Shape inDims = *in, outDims = *out;
    std::optional<shapeinf::ValueVec> named =
        s ? evaluateNamed(s, x, inDims) : std::nullopt;
    const shapeinf::ValueVec *target = named ? &*named : nullptr;
    bool allowZero = n.getIntAttr("allowzero", 0) != 0;
    if (target && target->size() == outDims.size())
      for (unsigned j = 0; j < outDims.size(); ++j) {
        const shapeinf::SymInt &t = (*target)[j];
        if (outDims[j].isStatic())
          continue;
        if (t.isSymbolic())
          outDims[j] = Dim::symbol(t.param);
        else if (t.value && *t.value == 0 && !allowZero && j < inDims.size())
          outDims[j] = inDims[j];
      }
    std::vector<Run> runs;
    factorShapes(inDims, 0, inDims.size(), outDims, 0, outDims.size(), runs);
    auto coupled = coupleRuns(runs, x, y, n, b, target, allowZero);
    // The target must be rewritable wherever a coupled axis could shrink.
    for (unsigned j = 0; j < out->size(); ++j) {
      if (coupled[j].empty() || !(*out)[j].isStatic())
        continue;
      const char *why = nullptr;
      if (!target || target->size() != out->size())
        why = "reshape target computed at run time";
      else if (!(*target)[j].value)
        why = "reshape target computed at run time";
      else if (*(*target)[j].value == 0 && !allowZero &&
               !(coupled[j].size() == 1 && coupled[j][0] == j &&
                 CouplingBuilder::size({x, j}) == (*out)[j].value))
        why = "reshape target copies (0) another axis";
      if (!why)
        continue;
      b.freeze({y, j}, &n, why);
      for (unsigned a : coupled[j])
        b.freeze({x, a}, &n, why);
    }
  }

  Error rewrite(Node &n, PruneContext &ctx) const override {
    Value *s = n.getInput(1), *y = n.getOutput(0);
    const Shape *out = dimsOf(y);
    if (!s || !out)
      return Error::success();
    ShapeValueEvaluator ev;
    const shapeinf::ValueVec *target = ev.evaluate(s);
    SmallVector<std::pair<int64_t, int64_t>, 4> fixes;
    for (unsigned j = 0; j < out->size(); ++j) {
      if (!ctx.kept({y, j}))
        continue;
      int64_t want = ctx.newSize({y, j});
      std::optional<int64_t> have;
      if (target && target->size() == out->size())
        have = (*target)[j].value;
      // -1 is inferred; 0 copies the (pruned alike) input axis; a chain
      // that reads a pruned shape already yields the new size.
      if (have && (*have == -1 || *have == want || *have == 0))
        continue;
      // A dynamic axis that lost elements has a virtual size (b·H heads,
      // see coupleVirtualHeads): build checked that every other element is
      // known and not -1, so -1 infers b·H' exactly.
      if (!(*out)[j].isStatic()) {
        fixes.push_back({j, -1});
        continue;
      }
      fixes.push_back({j, want});
    }
    return fixShapeOperand(n, 1, fixes, out->size(), ctx.rewriter());
  }
};

// ---- Flatten ---------------------------------------------------------------

/// Flatten<axis=k>(X) -> Y[prod(X[:k]), prod(X[k:])]: two merges, factored
/// on each side of k separately.
///
///   X[N,64,7,7] -> Flatten<axis=1> -> Y[N,3136]   X.1 ~ Y.1 in blocks of 49
///
/// Nothing to rewrite: the output size follows the input.
class FlattenHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    Value *x = n.getInput(0), *y = n.getOutput(0);
    const Shape *in = dimsOf(x), *out = dimsOf(y);
    if (!in || !out || out->size() != 2) {
      b.freezeNode(n, "rank unknown");
      return;
    }
    int64_t r = in->size();
    int64_t axis = n.getIntAttr("axis", 1);
    if (axis < 0)
      axis += r;
    if (axis < 0 || axis > r) {
      b.freezeNode(n, "invalid axis");
      return;
    }
    std::vector<Run> runs;
    factorShapes(*in, 0, axis, *out, 0, 1, runs);
    factorShapes(*in, axis, r, *out, 1, 2, runs);
    coupleRuns(runs, x, y, n, b);
  }
};

// ---- Transpose -------------------------------------------------------------

/// Transpose<perm>(X) -> Y: Y axis j is X axis perm[j] (a channel shuffle's
/// middle step just relabels axes).
class TransposeHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    Value *x = n.getInput(0), *y = n.getOutput(0);
    int64_t r = b.rank(x);
    if (!x || !y || r < 0 || b.rank(y) != r) {
      b.freezeNode(n, "rank unknown");
      return;
    }
    std::vector<int64_t> perm;
    if (auto p = n.getIntsAttr("perm"))
      perm = *p;
    else
      for (int64_t i = r - 1; i >= 0; --i)
        perm.push_back(i);
    if ((int64_t)perm.size() != r) {
      b.freezeNode(n, "perm does not match the rank");
      return;
    }
    for (int64_t j = 0; j < r; ++j) {
      int64_t i = normalizeAxis(perm[j], r);
      if (i < 0) {
        b.freezeNode(n, "invalid perm");
        return;
      }
      b.join({x, (unsigned)i}, {y, (unsigned)j}, n);
    }
  }
};

// ---- Squeeze / Unsqueeze ---------------------------------------------------

/// Squeeze/Unsqueeze add or drop size-1 axes; every other axis passes
/// through in order. Axes come from the attribute before opset 13 and from
/// input 1 from 13 on.
///
///   X[N,C,1,1] -> Squeeze [2,3] -> Y[N,C]       X.1 ~ Y.1
class SqueezeHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    Value *x = n.getInput(0), *y = n.getOutput(0);
    if (!x || !y || isShapeData(x)) {
      b.freezeNode(n, "shape arithmetic, not channels");
      return;
    }
    bool unsq = n.getOpType() == "Unsqueeze";
    int64_t rx = b.rank(x), ry = b.rank(y);
    if (rx < 0 || ry < 0) {
      b.freezeNode(n, "rank unknown");
      return;
    }
    ShapeValueEvaluator ev;
    bool fromInput = opsetOf(n) >= 13;
    std::optional<std::vector<int64_t>> axes;
    if (!fromInput || n.getInput(1))
      axes = intsFromAttrOrInput(n, "axes", 1, fromInput, ev);
    // The side with more axes: the listed ones are the size-1 axes.
    Value *big = unsq ? y : x, *small = unsq ? x : y;
    int64_t rb = unsq ? ry : rx;
    std::vector<char> listed(rb, 0);
    if (axes) {
      for (int64_t a : *axes) {
        int64_t k = normalizeAxis(a, rb);
        if (k < 0) {
          b.freezeNode(n, "invalid axes");
          return;
        }
        listed[k] = 1;
      }
    } else if (!unsq) {
      // Squeeze without axes drops every static 1.
      const Shape &s = *dimsOf(x);
      for (int64_t k = 0; k < rx; ++k)
        listed[k] = s[k].isStatic() && s[k].value == 1;
      if (llvm::any_of(s, [](const Dim &d) { return !d.isStatic(); })) {
        b.freezeNode(n, "squeezed axes depend on unknown dims");
        return;
      }
    } else {
      b.freezeNode(n, "axes computed at run time");
      return;
    }
    unsigned k = 0;
    for (int64_t a = 0; a < rb; ++a) {
      if (listed[a])
        continue;
      if ((int64_t)k >= b.rank(small)) {
        b.freezeNode(n, "axes do not match the ranks");
        return;
      }
      b.join({big, (unsigned)a}, {small, k++}, n);
    }
  }
};

// ---- Concat ----------------------------------------------------------------

/// Concat<axis>(A, B, ...) -> Y: input k's axis is the range of Y's axis at
/// its offset; the other axes join.
///
///   A[N,32,H,W], B[N,16,H,W] -> Concat<axis=1> -> Y[N,48,H,W]
///   A.1 ~ Y.1[0,32), B.1 ~ Y.1[32,48)
///
/// A Concat on the last axis inside a head (rotate-half) is the same rule;
/// it only meets channels when the head dim is pruned, which Reshape
/// forbids. Nothing to rewrite: the output size is the sum.
class ConcatHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    Value *y = n.getOutput(0);
    int64_t r = b.rank(y);
    if (!y || r < 0 || isShapeData(y)) {
      b.freezeNode(n,
                   r < 0 ? "rank unknown" : "shape arithmetic, not channels");
      return;
    }
    int64_t axis = normalizeAxis(n.getIntAttr("axis", 0), r);
    if (axis < 0) {
      b.freezeNode(n, "invalid axis");
      return;
    }
    SmallVector<Value *, 8> inputs(n.getInputs().begin(), n.getInputs().end());
    buildConcatCoupling(n, b, inputs, y, axis);
  }
};

// ---- Split -----------------------------------------------------------------

/// Split<axis>(X) -> Y0, Y1, ...: output k is a range of X's axis (the
/// inverse of Concat).
///
///   X[b,s,2304] -> Split<axis=2>[768,768,768] -> q, k, v
///   q.2 ~ X.2[0,768), k.2 ~ X.2[768,1536), v.2 ~ X.2[1536,2304)
///
/// Sizes: attribute `split` before opset 13, input 1 from 13, else equal
/// parts (`num_outputs` from 18). Rewrite: the new sizes, written where the
/// old ones were (or added as input 1 when the parts stop being equal).
class SplitHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    Value *x = n.getInput(0);
    int64_t r = b.rank(x);
    if (!x || r < 0 || isShapeData(x)) {
      b.freezeNode(n,
                   r < 0 ? "rank unknown" : "shape arithmetic, not channels");
      return;
    }
    int64_t axis = normalizeAxis(n.getIntAttr("axis", 0), r);
    if (axis < 0) {
      b.freezeNode(n, "invalid axis");
      return;
    }
    int64_t offset = 0;
    bool known = b.size({x, (unsigned)axis}) >= 0;
    for (Value *y : n.getOutputs()) {
      if (!y)
        continue; // Split outputs are never optional, but be safe.
      if (b.rank(y) != r) {
        b.freezeNode(n, "output rank differs");
        return;
      }
      for (int64_t a = 0; a < r; ++a)
        if (a != axis)
          b.join({x, (unsigned)a}, {y, (unsigned)a}, n);
      int64_t sz = b.size({y, (unsigned)axis});
      if (sz < 0 || !known) {
        known = false;
        continue;
      }
      if (sz > 0)
        b.joinBlocks({y, (unsigned)axis}, {x, (unsigned)axis}, 1, offset, n);
      offset += sz;
    }
    if (!known || offset != b.size({x, (unsigned)axis})) {
      b.freeze({x, (unsigned)axis}, &n, "split sizes unknown");
      for (Value *y : n.getOutputs())
        if (y)
          b.freeze({y, (unsigned)axis}, &n, "split sizes unknown");
    }
  }

  Error rewrite(Node &n, PruneContext &ctx) const override {
    Value *x = n.getInput(0);
    int64_t r = CouplingBuilder::rank(x);
    int64_t axis = normalizeAxis(n.getIntAttr("axis", 0), r);
    if (axis < 0 || !ctx.kept({x, (unsigned)axis}))
      return Error::success();
    std::vector<int64_t> sizes;
    for (Value *y : n.getOutputs())
      sizes.push_back(ctx.newSize({y, (unsigned)axis}));
    int64_t opset = opsetOf(n);
    if (opset < 13) {
      ctx.rewriter().setAttr(&n, Attribute::ofInts("split", sizes));
      return Error::success();
    }
    bool equal =
        llvm::all_of(sizes, [&](int64_t v) { return v == sizes[0]; }) &&
        ctx.newSize({x, (unsigned)axis}) == sizes[0] * (int64_t)sizes.size();
    if (!n.getInput(1) && equal)
      return Error::success();
    if (n.getNumInputs() < 2)
      n.getGraph()->addNodeInput(&n, nullptr);
    replaceConstantInts(n, 1, sizes, ctx.rewriter());
    // `split` and `num_outputs` are exclusive.
    if (n.hasAttr("num_outputs"))
      n.removeAttr("num_outputs");
    return Error::success();
  }
};

// ---- Slice -----------------------------------------------------------------

/// The parameters of a Slice, resolved to static ints.
struct SliceParams {
  std::vector<int64_t> starts, ends, axes, steps;
};

/// \p read resolves input i (opset >= 10 keeps the parameters in inputs).
std::optional<SliceParams>
sliceParams(const Node &n, int64_t rank,
            function_ref<std::optional<std::vector<int64_t>>(unsigned)> read) {
  bool fromInput = opsetOf(n) >= 10;
  auto get = [&](StringRef attr, unsigned i) {
    return fromInput ? read(i) : n.getIntsAttr(attr);
  };
  SliceParams p;
  auto st = get("starts", 1);
  auto en = get("ends", 2);
  if (!st || !en || st->size() != en->size())
    return std::nullopt;
  p.starts = *st;
  p.ends = *en;
  bool hasAxes = fromInput ? n.getInput(3) != nullptr : n.hasAttr("axes");
  if (hasAxes) {
    auto ax = get("axes", 3);
    if (!ax)
      return std::nullopt;
    p.axes = *ax;
  } else {
    for (size_t i = 0; i < p.starts.size(); ++i)
      p.axes.push_back(i);
  }
  if (fromInput && n.getInput(4)) {
    auto sp = get("steps", 4);
    if (!sp)
      return std::nullopt;
    p.steps = *sp;
  } else {
    p.steps.assign(p.starts.size(), 1);
  }
  if (p.axes.size() != p.starts.size() || p.steps.size() != p.starts.size())
    return std::nullopt;
  for (int64_t &a : p.axes)
    if ((a = normalizeAxis(a, rank)) < 0)
      return std::nullopt;
  return p;
}

/// Clamped [start, end) of a step-1 slice of an axis of size \p dim.
std::pair<int64_t, int64_t> clampRange(int64_t start, int64_t end,
                                       int64_t dim) {
  auto clamp = [&](int64_t v) {
    if (v < 0)
      v += dim;
    return std::max<int64_t>(0, std::min(v, dim));
  };
  int64_t s = clamp(start), e = clamp(end);
  return {s, std::max(s, e)};
}

/// Slice(X, starts, ends, axes, steps) -> Y: on a sliced axis, element t of
/// Y is element start + t of X (joinMap); other axes join.
///
///   X[b,s,2304] -> Slice [768, 1536) on axis 2 -> k[b,s,768]
///   k.2[t] ~ X.2[768 + t]
///
/// Preconditions on a sliced axis with a static size: starts/ends/axes/
/// steps resolve to static ints (constants, or a shape chain folded at build
/// time) and the step is 1; otherwise the axis is frozen.
/// Rewrite: new starts/ends as constants, positions in the pruned input.
class SliceHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    Value *x = n.getInput(0), *y = n.getOutput(0);
    int64_t r = b.rank(x);
    if (!x || !y || r < 0 || b.rank(y) != r || isShapeData(x)) {
      b.freezeNode(n,
                   r < 0 ? "rank unknown" : "shape arithmetic, not channels");
      return;
    }
    ShapeValueEvaluator ev;
    std::optional<SliceParams> p = sliceParams(
        n, r, [&](unsigned i) -> std::optional<std::vector<int64_t>> {
          if (auto c = constantInts(n.getInput(i)))
            return c;
          return ev.evaluateInts(n.getInput(i));
        });
    // Which axes are sliced, when even that is unknown: all of them.
    std::vector<char> sliced(r, p ? 0 : 1);
    if (p)
      for (int64_t a : p->axes)
        sliced[a] = 1;
    for (int64_t a = 0; a < r; ++a) {
      AxisRef ax{x, (unsigned)a}, ay{y, (unsigned)a};
      if (!sliced[a]) {
        b.join(ax, ay, n);
        continue;
      }
      int64_t dim = b.size(ax);
      if (dim < 0)
        continue; // Dynamic axes are in no space.
      if (!p) {
        b.freeze(ax, &n, "slice bounds computed at run time");
        b.freeze(ay, &n, "slice bounds computed at run time");
        continue;
      }
      size_t k = llvm::find(p->axes, a) - p->axes.begin();
      if (p->steps[k] != 1) {
        b.freeze(ax, &n, "strided slice on this axis");
        b.freeze(ay, &n, "strided slice on this axis");
        continue;
      }
      auto [s, e] = clampRange(p->starts[k], p->ends[k], dim);
      if (b.size(ay) != e - s) {
        b.freeze(ax, &n, "slice size disagrees with its bounds");
        b.freeze(ay, &n, "slice size disagrees with its bounds");
        continue;
      }
      std::vector<int64_t> map;
      for (int64_t t = s; t < e; ++t)
        map.push_back(t);
      if (!map.empty())
        b.joinMap(ay, ax, map, n);
    }
  }

  Error rewrite(Node &n, PruneContext &ctx) const override {
    Value *x = n.getInput(0);
    int64_t r = CouplingBuilder::rank(x);
    // Bounds as the graph computed them before pruning (a chain may read
    // shapes that just shrank).
    std::optional<SliceParams> p = sliceParams(
        n, r, [&](unsigned i) { return evaluateBefore(n.getInput(i), ctx); });
    if (!p)
      return Error::success();
    bool changed = false;
    for (size_t k = 0; k < p->axes.size(); ++k) {
      AxisRef ax{x, (unsigned)p->axes[k]};
      const std::vector<int64_t> *keptIn = ctx.kept(ax);
      if (!keptIn)
        continue;
      int64_t oldDim = ctx.oldSize(ax);
      auto [s, e] = clampRange(p->starts[k], p->ends[k], oldDim);
      // The kept input elements inside [s, e) are contiguous positions of
      // the pruned input, since the unit structure ties Y to this range.
      auto lo = std::lower_bound(keptIn->begin(), keptIn->end(), s);
      auto hi = std::lower_bound(keptIn->begin(), keptIn->end(), e);
      p->starts[k] = lo - keptIn->begin();
      p->ends[k] = hi - keptIn->begin();
      changed = true;
    }
    if (!changed)
      return Error::success();
    if (opsetOf(n) < 10) {
      ctx.rewriter().setAttr(&n, Attribute::ofInts("starts", p->starts));
      ctx.rewriter().setAttr(&n, Attribute::ofInts("ends", p->ends));
      return Error::success();
    }
    replaceConstantInts(n, 1, p->starts, ctx.rewriter());
    replaceConstantInts(n, 2, p->ends, ctx.rewriter());
    return Error::success();
  }
};

// ---- Gather ----------------------------------------------------------------

/// Gather<axis>(X, I) -> Y = X[.., I, ..]: Y's axes before and after the
/// indices' axes join X's; on the gathered axis, constant 1-D indices are an
/// index map (joinMap); run-time indices (an embedding lookup) freeze X's
/// gathered axis and leave the rest:
///
///   table[V,D], ids[b,s] -> Gather -> Y[b,s,D]    table.1 ~ Y.2
///   X[N,C,H,W] -> Gather<axis=1>([2,0,1]) -> Y    Y.1[t] ~ X.1[I[t]]
///
/// Rewrite: constant indices renumbered into the pruned axis.
class GatherHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    Value *x = n.getInput(0), *idx = n.getInput(1), *y = n.getOutput(0);
    int64_t r = b.rank(x), ri = b.rank(idx);
    if (!x || !idx || !y || r < 0 || ri < 0 || isShapeData(x)) {
      b.freezeNode(n, r < 0 || ri < 0 ? "rank unknown"
                                      : "shape arithmetic, not channels");
      return;
    }
    int64_t axis = normalizeAxis(n.getIntAttr("axis", 0), r);
    if (axis < 0 || b.rank(y) != r - 1 + ri) {
      b.freezeNode(n, "invalid axis");
      return;
    }
    for (int64_t a = 0; a < axis; ++a)
      b.join({x, (unsigned)a}, {y, (unsigned)a}, n);
    for (int64_t a = axis + 1; a < r; ++a)
      b.join({x, (unsigned)a}, {y, (unsigned)(a - 1 + ri)}, n);
    AxisRef ax{x, (unsigned)axis};
    int64_t dim = b.size(ax);
    ShapeValueEvaluator ev;
    std::optional<std::vector<int64_t>> ids = constantInts(idx);
    if (!ids && isShapeData(idx))
      ids = ev.evaluateInts(idx);
    if (!ids) {
      // Indices known only at run time: each output position reads some
      // element of the axis, so none may go; the index axes are the
      // indices' own.
      b.freeze(ax, &n, "indexed by values computed at run time");
      for (int64_t k = 0; k < ri; ++k)
        b.join({idx, (unsigned)k}, {y, (unsigned)(axis + k)}, n);
      return;
    }
    if (ri != 1 || dim < 0) {
      b.freeze(ax, &n, "gathers single elements of this axis");
      return;
    }
    std::optional<std::vector<int64_t>> map = indexMap(*ids, dim);
    if (!map) {
      b.freezeNode(n, "index out of range");
      return;
    }
    b.joinMap({y, (unsigned)axis}, ax, *map, n);
  }

  Error rewrite(Node &n, PruneContext &ctx) const override {
    Value *x = n.getInput(0), *idx = n.getInput(1);
    int64_t r = CouplingBuilder::rank(x);
    int64_t axis = normalizeAxis(n.getIntAttr("axis", 0), r);
    if (axis < 0)
      return Error::success();
    const std::vector<int64_t> *keptIn = ctx.kept({x, (unsigned)axis});
    if (!keptIn)
      return Error::success();
    std::optional<std::vector<int64_t>> ids = evaluateBefore(idx, ctx);
    if (!ids)
      return makeError("node " + n.describe() +
                       ": gathered axis changed but the indices are unknown");
    int64_t oldDim = ctx.oldSize({x, (unsigned)axis});
    std::vector<int64_t> out = renumberIndices(*ids, oldDim, *keptIn);
    replaceConstantInts(n, 1, out, ctx.rewriter());
    return Error::success();
  }
};

// ---- GatherElements --------------------------------------------------------

/// GatherElements<axis>(X, I) -> Y[shape of I]: Y[.., i_axis, ..] =
/// X[.., I[..], ..] with every other coordinate the same, so each other axis
/// is one space in X, I and Y; the gathered axis of X is indexed by values
/// (frozen), and Y's is I's.
///
///   X[1,64] -> GatherElements<axis=1>(X, I[b,s]) -> Y[b,s]   I.1 ~ Y.1
///
/// BERT reads its token-type buffer so. Nothing to rewrite: a pruned axis
/// shrinks X, I and Y alike.
class GatherElementsHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    Value *x = n.getInput(0), *idx = n.getInput(1), *y = n.getOutput(0);
    int64_t r = b.rank(x);
    if (!x || !idx || !y || r < 0 || b.rank(idx) != r || b.rank(y) != r) {
      b.freezeNode(n, "rank unknown");
      return;
    }
    int64_t axis = normalizeAxis(n.getIntAttr("axis", 0), r);
    if (axis < 0) {
      b.freezeNode(n, "invalid axis");
      return;
    }
    for (unsigned a = 0; a < r; ++a) {
      b.join({idx, a}, {y, a}, n);
      if (a == axis)
        b.freeze({x, a}, &n, "indexed by values computed at run time");
      else if (b.size({x, a}) == b.size({y, a}))
        b.join({x, a}, {y, a}, n);
      else
        b.freeze({x, a}, &n, "gathers a part of this axis");
    }
  }
};

// ---- Expand ----------------------------------------------------------------

/// Expand(X, shape) -> Y (numpy broadcast of X to shape): axes of equal
/// size join; a size-1 axis of X broadcast to n is not coupled (its
/// copies can shrink freely, the shape is rewritten).
///
///   kv[b,4,1,s,d] -> Expand [b,4,2,s,d] -> Y     kv.1 ~ Y.1; Y.2 free
///
/// Precondition on a static output axis: its shape element is a static
/// value at build time; otherwise the axis is frozen.
/// Rewrite: the element of each changed axis becomes its new size (or stays
/// when it is 1 or the chain already recomputes it).
class ExpandHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    Value *x = n.getInput(0), *s = n.getInput(1), *y = n.getOutput(0);
    int64_t rx = b.rank(x), ry = b.rank(y);
    if (!x || !y || rx < 0 || ry < 0 || ry < rx || isShapeData(x)) {
      b.freezeNode(n, rx < 0 || ry < 0 ? "rank unknown"
                                       : "shape arithmetic, not channels");
      return;
    }
    ShapeValueEvaluator ev;
    const shapeinf::ValueVec *target = s ? ev.evaluate(s) : nullptr;
    int64_t lead = ry - rx;
    for (int64_t j = 0; j < ry; ++j) {
      AxisRef ay{y, (unsigned)j};
      int64_t sy = b.size(ay);
      if (j >= lead) {
        AxisRef ax{x, (unsigned)(j - lead)};
        if (b.size(ax) != 1)
          b.join(ax, ay, n);
      }
      if (sy <= 1)
        continue;
      // The shape may be shorter than Y; missing elements come from X.
      int64_t k = target ? j - (ry - (int64_t)target->size()) : -1;
      bool ok = target && (k < 0 || (*target)[k].value);
      if (!ok) {
        b.freeze(ay, &n, "expand shape computed at run time");
        if (j >= lead)
          b.freeze({x, (unsigned)(j - lead)}, &n,
                   "expand shape computed at run time");
      }
    }
  }

  Error rewrite(Node &n, PruneContext &ctx) const override {
    Value *x = n.getInput(0), *s = n.getInput(1), *y = n.getOutput(0);
    int64_t rx = CouplingBuilder::rank(x), ry = CouplingBuilder::rank(y);
    ShapeValueEvaluator ev;
    const shapeinf::ValueVec *target = ev.evaluate(s);
    int64_t len = target ? target->size() : CouplingBuilder::size({s, 0});
    if (len < 0)
      return makeError("node " + n.describe() + ": expand shape unknown");
    SmallVector<std::pair<int64_t, int64_t>, 4> fixes;
    for (int64_t j = 0; j < ry; ++j) {
      if (!ctx.kept({y, (unsigned)j}))
        continue;
      int64_t k = j - (ry - len);
      if (k < 0)
        continue;
      int64_t want = ctx.newSize({y, (unsigned)j});
      // Unknown elements read as 0, which never matches a size.
      int64_t have = target ? (*target)[k].value.value_or(0) : 0;
      bool fromX = j >= ry - rx && CouplingBuilder::size(
                                       {x, (unsigned)(j - (ry - rx))}) == want;
      if (have == want || (have == 1 && fromX))
        continue;
      fixes.push_back({k, want});
    }
    return fixShapeOperand(n, 1, fixes, len, ctx.rewriter());
  }
};

// ---- Tile ------------------------------------------------------------------

/// Tile(X, repeats) -> Y: an axis repeated once passes through; a tiled
/// axis holds copies and is frozen on both sides.
class TileHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    Value *x = n.getInput(0), *y = n.getOutput(0);
    int64_t r = b.rank(x);
    if (!x || !y || r < 0 || b.rank(y) != r || isShapeData(x)) {
      b.freezeNode(n, "shape arithmetic or rank unknown");
      return;
    }
    ShapeValueEvaluator ev;
    std::optional<std::vector<int64_t>> reps = constantInts(n.getInput(1));
    if (!reps)
      reps = ev.evaluateInts(n.getInput(1));
    for (int64_t a = 0; a < r; ++a) {
      if (reps && (int64_t)reps->size() == r && (*reps)[a] == 1)
        b.join({x, (unsigned)a}, {y, (unsigned)a}, n);
      else {
        b.freeze({x, (unsigned)a}, &n, "tiled axis");
        b.freeze({y, (unsigned)a}, &n, "tiled axis");
      }
    }
  }
};

// ---- Ops that read or make shapes ----------------------------------------

/// Shape/Size read sizes at run time: after pruning they report the new
/// sizes, so they couple nothing and freeze nothing.
class ShapeReadHandler final : public OpHandler {
public:
  void build(const Node &, CouplingBuilder &) const override {}
};

/// ConstantOfShape, Range, NonZero: outputs sized by data. Nothing joins
/// them to their inputs; their axes cannot be resized by a rewrite, so a
/// channel space that reaches them is frozen.
class DataSizedHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    for (Value *v : n.getOutputs())
      if (v)
        b.freezeValue(v, &n, "size computed from data");
  }
};

/// DepthToSpace/SpaceToDepth interleave channels with pixels.
class DepthSpaceHandler final : public OpHandler {
public:
  void build(const Node &n, CouplingBuilder &b) const override {
    Value *x = n.getInput(0), *y = n.getOutput(0);
    if (b.rank(x) == 4 && b.rank(y) == 4)
      b.join({x, 0}, {y, 0}, n);
    for (unsigned a = 1; a < 4; ++a) {
      b.freeze({x, a}, &n, "channels interleaved with space");
      b.freeze({y, a}, &n, "channels interleaved with space");
    }
  }
};

} // namespace

/// Concat's couplings (ConcatHandler above), shared with QLinearConcat.
void buildConcatCoupling(const Node &n, CouplingBuilder &b,
                         ArrayRef<Value *> inputs, Value *y, int64_t axis) {
  int64_t r = b.rank(y);
  int64_t offset = 0;
  bool known = true;
  for (Value *in : inputs) {
    if (!in || b.rank(in) != r) {
      b.freezeNode(n, "input rank differs");
      return;
    }
    for (int64_t a = 0; a < r; ++a)
      if (a != axis)
        b.join({in, (unsigned)a}, {y, (unsigned)a}, n);
    int64_t sz = b.size({in, (unsigned)axis});
    if (sz < 0 || !known) {
      known = false;
      continue;
    }
    if (sz > 0)
      b.joinBlocks({in, (unsigned)axis}, {y, (unsigned)axis}, 1, offset, n);
    offset += sz;
  }
  if (known)
    return;
  for (Value *in : inputs)
    b.freeze({in, (unsigned)axis}, &n, "concat input size unknown");
  b.freeze({y, (unsigned)axis}, &n, "concat input size unknown");
}

std::shared_ptr<const OpHandler> createReshapeHandler() {
  return std::make_shared<ReshapeHandler>();
}
std::shared_ptr<const OpHandler> createFlattenHandler() {
  return std::make_shared<FlattenHandler>();
}
std::shared_ptr<const OpHandler> createTransposeHandler() {
  return std::make_shared<TransposeHandler>();
}
std::shared_ptr<const OpHandler> createSqueezeHandler() {
  return std::make_shared<SqueezeHandler>();
}
std::shared_ptr<const OpHandler> createConcatHandler() {
  return std::make_shared<ConcatHandler>();
}
std::shared_ptr<const OpHandler> createSplitHandler() {
  return std::make_shared<SplitHandler>();
}
std::shared_ptr<const OpHandler> createSliceHandler() {
  return std::make_shared<SliceHandler>();
}
std::shared_ptr<const OpHandler> createGatherHandler() {
  return std::make_shared<GatherHandler>();
}
std::shared_ptr<const OpHandler> createGatherElementsHandler() {
  return std::make_shared<GatherElementsHandler>();
}
std::shared_ptr<const OpHandler> createExpandHandler() {
  return std::make_shared<ExpandHandler>();
}
std::shared_ptr<const OpHandler> createTileHandler() {
  return std::make_shared<TileHandler>();
}
std::shared_ptr<const OpHandler> createShapeReadHandler() {
  return std::make_shared<ShapeReadHandler>();
}
std::shared_ptr<const OpHandler> createDataSizedHandler() {
  return std::make_shared<DataSizedHandler>();
}
std::shared_ptr<const OpHandler> createDepthSpaceHandler() {
  return std::make_shared<DepthSpaceHandler>();
}

} // namespace onnxprune
