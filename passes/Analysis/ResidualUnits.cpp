//===- ResidualUnits.cpp - Residual branches as depth units ---------------===//
///
/// \file
/// Finds `x + f(x)` structurally. See ResidualUnits.h.
///
//===----------------------------------------------------------------------===//

#include "passes/Analysis/ResidualUnits.h"

#include "lib/IR/Graph.h"
#include "lib/IR/Tensor.h"
#include "passes/Analysis/StatsAnalysis.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/raw_ostream.h"

#include <functional>
#include <queue>

using namespace llvm;

namespace onnxprune {

StringRef depthKindName(DepthKind k) {
  switch (k) {
  case DepthKind::Attention:
    return "attn";
  case DepthKind::Mlp:
    return "mlp";
  case DepthKind::Block:
    return "block";
  }
  llvm_unreachable("unknown depth kind");
}

const ResidualUnit *ResidualUnits::find(StringRef id) const {
  for (const ResidualUnit &u : units)
    if (u.id == id)
      return &u;
  return nullptr;
}

namespace {

bool isOp(const Node *n, StringRef op, StringRef domain = "") {
  return n && n->getOpType() == op && n->getDomain() == domain;
}

/// Ops that move or retype a weight before the op that computes with it.
bool isWeightMovement(const Node *n) {
  if (!n || !n->getDomain().empty())
    return false;
  StringRef op = n->getOpType();
  return op == "Identity" || op == "Cast" || op == "Transpose" ||
         op == "Reshape" || op == "Unsqueeze" || op == "Squeeze" ||
         op == "DequantizeLinear";
}

/// The weight \p v is, through movement ops, with the node that reads the
/// weight itself and the operand index there; null when \p v is computed.
struct WeightRead {
  const Value *weight = nullptr;
  const Node *reader = nullptr;
  unsigned operand = 0;
};
WeightRead weightBehind(const Node *user, unsigned operand) {
  const Value *v = user->getInput(operand);
  for (int hops = 0; v && hops < 4; ++hops) {
    if (v->isWeight())
      return {v, user, operand};
    const Node *p = v->getProducer();
    if (!isWeightMovement(p) || p->getNumInputs() == 0)
      return {};
    user = p;
    operand = 0;
    v = p->getInput(0);
  }
  return {};
}

bool isAttentionOp(const Node &n) {
  StringRef op = n.getOpType();
  if (n.getDomain() == "com.microsoft")
    return op == "Attention" || op == "MultiHeadAttention" ||
           op == "GroupQueryAttention" || op == "PackedAttention" ||
           op == "PackedMultiHeadAttention";
  return n.getDomain().empty() && (op == "Softmax" || op == "Attention");
}

bool isConvOp(const Node &n) {
  StringRef op = n.getOpType();
  return op == "Conv" || op == "ConvTranspose" || op == "QLinearConv" ||
         op == "ConvInteger" || op == "FusedConv" || op == "NhwcConv";
}

/// A norm that may follow a post-norm residual Add, fused.
bool isNormOp(const Node &n) {
  StringRef op = n.getOpType();
  return op == "LayerNormalization" || op == "SimplifiedLayerNormalization" ||
         op == "RMSNormalization";
}

bool isShapeOp(const Node &n) {
  return n.getDomain().empty() &&
         (n.getOpType() == "Shape" || n.getOpType() == "Size");
}

/// Known and equal, or unknown (the caller only refuses a known mismatch).
bool shapesDiffer(const Value *a, const Value *b) {
  const Type &ta = a->getType(), &tb = b->getType();
  if (!ta.shape || !tb.shape)
    return false;
  if (ta.shape->size() != tb.shape->size())
    return true;
  for (size_t i = 0; i < ta.shape->size(); ++i) {
    const Dim &da = (*ta.shape)[i], &db = (*tb.shape)[i];
    if (da.isStatic() && db.isStatic() && da.value != db.value)
      return true;
  }
  return false;
}

/// \p v above Identity nodes and Casts to its own type: the TorchScript
/// exporter writes `x.to(float32)` in a norm as a Cast that the residual
/// Add then reads, so the stream is the Cast's input.
const Value *streamRoot(const Value *v) {
  while (const Node *p = v->getProducer()) {
    if (!(isOp(p, "Identity") || isOp(p, "Cast")) || !p->getInput(0))
      break;
    const Value *in = p->getInput(0);
    if (in->getType().elemType != v->getType().elemType ||
        in->getType().elemType == DataType::Undefined)
      break;
    v = in;
  }
  return v;
}

class Finder {
public:
  explicit Finder(const Model &m) : m(m), params(findParameters(m)) {
    unsigned i = 0;
    for (const Node &n : m.getGraph().getNodes())
      topo[&n] = i++, order.push_back(&n);
  }

  ResidualUnits run();

private:
  int64_t topoOf(const Value *v) const {
    const Node *p = v->getProducer();
    return p ? int64_t(topo.lookup(p)) : -1;
  }
  /// The nodes on a path from \p from to \p to (both main-graph values),
  /// in graph order; empty when \p from is not an ancestor of \p to.
  std::vector<const Node *> pathNodes(const Value *from, const Value *to) const;
  /// Nodes deleted when \p keep's use by \p add goes away (simulated dce),
  /// in graph order.
  std::vector<const Node *> deadAfterDrop(const Value *branch,
                                          const Node *add) const;
  bool holdsLayerWeight(ArrayRef<const Node *> nodes) const;
  /// Parameters the deleted nodes \p dead take along, and (in \p weights)
  /// the names of the weights that count.
  uint64_t paramsOf(ArrayRef<const Node *> dead,
                    std::vector<std::string> *weights = nullptr) const;
  std::string blockerOf(ArrayRef<const Node *> branch) const;
  std::string sharedNote(ArrayRef<const Node *> branch,
                         const DenseSet<const Node *> &dead) const;
  bool holdsLinearLayer(ArrayRef<const Node *> nodes) const;
  std::vector<ZeroOperand>
  zeroOperandsOf(const Value *b, const DenseSet<const Node *> &dead) const;
  void addProjectionShortcut(const Node &add, ResidualUnits &out) const;
  std::string postNormOf(const Value *y) const;
  bool isNormOf(const Value *y, const Value *x) const;

  const Model &m;
  ParameterCounts params;
  DenseMap<const Node *, unsigned> topo;
  std::vector<const Node *> order;
};

std::vector<const Node *> Finder::pathNodes(const Value *from,
                                            const Value *to) const {
  const Node *sink = to->getProducer();
  int64_t floor = topoOf(from);
  if (!sink || int64_t(topo.lookup(sink)) <= floor)
    return {};
  // Ancestors of the sink that come after `from` in graph order...
  DenseSet<const Node *> ancestors;
  SmallVector<const Node *, 64> stack{sink};
  ancestors.insert(sink);
  while (!stack.empty()) {
    const Node *n = stack.pop_back_val();
    for (const Value *in : n->getInputs()) {
      const Node *p = in ? in->getProducer() : nullptr;
      if (p && int64_t(topo.lookup(p)) > floor && ancestors.insert(p).second)
        stack.push_back(p);
    }
  }
  // ...that descend from `from`, in graph order.
  std::vector<const Node *> sorted(ancestors.begin(), ancestors.end());
  llvm::sort(sorted, [&](const Node *a, const Node *b) {
    return topo.lookup(a) < topo.lookup(b);
  });
  // Only values flow: a node that reads x's shape (Shape, Size) starts no
  // path (GPT-2's position ids come from the token embeddings' shape; the
  // position embedding is not a branch of them).
  DenseSet<const Node *> onPath;
  std::vector<const Node *> out;
  for (const Node *n : sorted) {
    if (isShapeOp(*n))
      continue;
    for (const Value *in : n->getInputs())
      if (in && (in == from || onPath.count(in->getProducer()))) {
        onPath.insert(n);
        out.push_back(n);
        break;
      }
  }
  if (!onPath.count(sink))
    return {};
  return out;
}

std::vector<const Node *> Finder::deadAfterDrop(const Value *branch,
                                                const Node *add) const {
  DenseSet<const Node *> dead;
  std::priority_queue<std::pair<unsigned, const Node *>> queue;
  DenseSet<const Node *> queued;
  auto push = [&](const Node *n) {
    if (n && queued.insert(n).second)
      queue.push({topo.lookup(n), n});
  };
  push(branch->getProducer());
  // Users come after their producers, so visiting the latest node first
  // decides every user before the node it reads.
  while (!queue.empty()) {
    const Node *n = queue.top().second;
    queue.pop();
    bool isDead = true;
    for (const Value *o : n->getOutputs()) {
      if (!o)
        continue;
      if (o->isGraphOutput()) {
        isDead = false;
        break;
      }
      for (const Use &u : o->getUses())
        if (!dead.count(u.user) && !(o == branch && u.user == add)) {
          isDead = false;
          break;
        }
      if (!isDead)
        break;
    }
    if (!isDead)
      continue;
    dead.insert(n);
    for (const Value *in : n->getInputs())
      if (in)
        push(in->getProducer());
  }
  std::vector<const Node *> out(dead.begin(), dead.end());
  llvm::sort(out, [&](const Node *a, const Node *b) {
    return topo.lookup(a) < topo.lookup(b);
  });
  return out;
}

bool Finder::holdsLayerWeight(ArrayRef<const Node *> nodes) const {
  for (const Node *n : nodes)
    for (unsigned i = 0; i < n->getNumInputs(); ++i) {
      WeightRead w = weightBehind(n, i);
      if (w.weight && params.copiesOf(w.weight->getWeight()) &&
          w.weight->getWeight()->getDims().size() >= 2)
        return true;
    }
  return false;
}

bool Finder::holdsLinearLayer(ArrayRef<const Node *> nodes) const {
  for (const Node *n : nodes) {
    StringRef op = n->getOpType();
    if (isConvOp(*n) || op == "MatMul" || op == "Gemm")
      for (unsigned i = 0; i < n->getNumInputs(); ++i)
        if (weightBehind(n, i).weight)
          return true;
  }
  return false;
}

uint64_t Finder::paramsOf(ArrayRef<const Node *> dead,
                          std::vector<std::string> *weights) const {
  DenseSet<const Node *> deadSet(dead.begin(), dead.end());
  DenseSet<const Value *> seen;
  uint64_t total = 0;
  for (const Node *n : dead)
    for (const Value *w : n->getInputs()) {
      if (!w || !w->isWeight() || !seen.insert(w).second)
        continue;
      const Tensor *t = w->getWeight();
      unsigned copies = params.copiesOf(t);
      if (!copies)
        continue;
      unsigned readersDead = 0, readers = 0;
      for (const Use &u : w->getUses()) {
        ++readers;
        readersDead += deadSet.count(u.user);
      }
      if (w->isGraphOutput())
        continue;
      // A splat shared by accident is one logical parameter per reader; a
      // real tie goes only with its last reader.
      uint64_t n = 0;
      if (copies > 1)
        n = t->getNumElements() * std::min(copies, readersDead);
      else if (readersDead == readers)
        n = t->getNumElements();
      total += n;
      if (n && weights)
        weights->push_back(w->getName());
    }
  return total;
}

std::string Finder::blockerOf(ArrayRef<const Node *> branch) const {
  for (const Node *n : branch)
    for (const Value *o : n->getOutputs())
      if (o && o->isGraphOutput())
        return "the branch owns graph output '" + o->getName() + "'";
  return "";
}

std::string Finder::sharedNote(ArrayRef<const Node *> branch,
                               const DenseSet<const Node *> &dead) const {
  // Branch values other layers read (a position bias computed once, a
  // shape chain) keep their nodes alive: dropping is still exact.
  unsigned kept = 0;
  std::string first;
  for (const Node *n : branch) {
    if (dead.count(n))
      continue;
    ++kept;
    if (!first.empty())
      continue;
    for (const Value *o : n->getOutputs()) {
      if (!o || !first.empty())
        continue;
      if (o->isGraphOutput()) {
        first = "'" + o->getName() + "' is a graph output";
        continue;
      }
      for (const Use &u : o->getUses())
        if (!dead.count(u.user)) {
          first = "'" + o->getName() +
                  (isShapeOp(*u.user) ? "' feeds a shape chain through node "
                                      : "' is read by node ") +
                  u.user->describe();
          break;
        }
    }
  }
  if (!kept)
    return "";
  return std::to_string(kept) + " branch node" +
         (kept > 1 ? "s stay, read" : " stays, read") +
         " outside the branch (" + first + ")";
}

std::vector<ZeroOperand>
Finder::zeroOperandsOf(const Value *b,
                       const DenseSet<const Node *> &dead) const {
  std::vector<ZeroOperand> out;
  // Zeroes operand i of n: a weight (through movement ops), or the table a
  // Gather reads it from (MoE experts' stacked weights: all of them).
  auto zero = [&](const Node *n, unsigned i) {
    WeightRead w = weightBehind(n, i);
    if (!w.weight)
      if (const Node *g =
              n->getInput(i) ? n->getInput(i)->getProducer() : nullptr)
        if (isOp(g, "Gather") || isOp(g, "GatherND"))
          w = weightBehind(g, 0);
    if (!w.weight)
      return false;
    out.push_back({w.reader->getName(), w.operand, w.weight->getName()});
    return true;
  };
  // True when the operands added make v zero; undoes its own on failure.
  std::function<bool(const Value *, int)> silence = [&](const Value *v,
                                                        int depth) -> bool {
    const Node *n = v ? v->getProducer() : nullptr;
    if (!n || depth > 24 || !dead.count(n) || !n->getDomain().empty())
      return false;
    size_t mark = out.size();
    auto fail = [&] {
      out.resize(mark);
      return false;
    };
    StringRef op = n->getOpType();
    unsigned numIn = n->getNumInputs();
    if (op == "MatMul" || op == "Conv" || op == "ConvTranspose" ||
        op == "Gemm") {
      if (!zero(n, 1) && !((op == "MatMul" || op == "Gemm") && zero(n, 0)))
        return fail();
      if (op != "MatMul" && numIn > 2 && n->getInput(2) && !zero(n, 2))
        return fail();
      return true;
    }
    if (op == "BatchNormalization")
      return zero(n, 1) && zero(n, 2) ? true : fail();
    if ((op == "Add" || op == "Mul") && numIn == 2) {
      int w = weightBehind(n, 0).weight   ? 0
              : weightBehind(n, 1).weight ? 1
                                          : -1;
      if (op == "Mul") // zero times anything is zero
        return (w >= 0 ? zero(n, w)
                       : silence(n->getInput(0), depth + 1) ||
                             silence(n->getInput(1), depth + 1))
                   ? true
                   : fail();
      if (w >= 0) // a bias, then what it is added to
        return zero(n, w) && silence(n->getInput(1 - w), depth + 1) ? true
                                                                    : fail();
      // Parallel branches (GPT-NeoX's attn + mlp): both.
      return silence(n->getInput(0), depth + 1) &&
                     silence(n->getInput(1), depth + 1)
                 ? true
                 : fail();
    }
    if (isWeightMovement(n) || op == "Dropout" || op == "Flatten" ||
        op == "ReduceSum")
      return silence(n->getInput(0), depth + 1) ? true : fail();
    return fail();
  };
  if (!silence(b, 0))
    return {};
  return out;
}

bool Finder::isNormOf(const Value *y, const Value *x) const {
  // x = norm(y), fused or decomposed: a short path without layer weights.
  std::vector<const Node *> norm = pathNodes(y, x);
  return !norm.empty() && norm.size() <= 12 && !holdsLayerWeight(norm);
}

std::string Finder::postNormOf(const Value *y) const {
  ArrayRef<Use> uses = y->getUses();
  if (uses.size() == 1 && isNormOp(*uses[0].user))
    return uses[0].user->describe();
  // Decomposed LayerNorm: ReduceMean(y) and Sub(y, mean), and no next Add.
  bool mean = false;
  for (const Use &u : uses) {
    if (isOp(u.user, "ReduceMean"))
      mean = true;
    else if (!isOp(u.user, "Sub"))
      return "";
  }
  if (!mean)
    return "";
  for (const Use &u : uses)
    if (isOp(u.user, "ReduceMean"))
      return "the LayerNorm from node " + u.user->describe();
  return "";
}

void Finder::addProjectionShortcut(const Node &add, ResidualUnits &out) const {
  // Add(f(x), g(x)) with layers on both sides: find the fork x, the latest
  // value both sides read. Bounded searches: a shortcut is short.
  auto ancestorsOf = [&](const Value *v) {
    DenseSet<const Node *> seen;
    SmallVector<const Node *, 32> stack;
    if (const Node *p = v->getProducer())
      stack.push_back(p), seen.insert(p);
    while (!stack.empty() && seen.size() < 512) {
      const Node *n = stack.pop_back_val();
      for (const Value *in : n->getInputs())
        if (in && !in->isWeight())
          if (const Node *p = in->getProducer())
            if (seen.insert(p).second)
              stack.push_back(p);
    }
    return seen;
  };
  const Value *a = add.getInput(0), *b = add.getInput(1);
  DenseSet<const Node *> sa = ancestorsOf(a), sb = ancestorsOf(b);
  const Node *fork = nullptr;
  for (const Node *n : sa)
    if (sb.count(n) && (!fork || topo.lookup(n) > topo.lookup(fork)))
      fork = n;
  if (!fork || fork->getNumOutputs() != 1)
    return;
  const Value *x = fork->getOutput(0);
  std::vector<const Node *> pa = pathNodes(x, a), pb = pathNodes(x, b);
  if (pa.empty() || pb.empty() || !holdsLinearLayer(pa) ||
      !holdsLinearLayer(pb) || !shapesDiffer(x, add.getOutput(0)))
    return;
  bool aLonger = pa.size() >= pb.size();
  const std::vector<const Node *> &branch = aLonger ? pa : pb;
  const std::vector<const Node *> &shortcut = aLonger ? pb : pa;
  const Node *layer = nullptr;
  for (const Node *n : shortcut)
    if (holdsLinearLayer({n})) {
      layer = n;
      break;
    }
  ResidualUnit u;
  u.kind = DepthKind::Block;
  u.id = add.getOutput(0)->getName();
  u.streamIn = x->getName();
  u.streamOut = u.id;
  u.branchOut = (aLonger ? a : b)->getName();
  u.addNode = add.getName();
  for (const Node *n : branch)
    u.nodes.push_back(n->describe());
  u.params = paramsOf(branch, &u.weights);
  u.blocker = "a projection shortcut through node " +
              (layer ? layer->describe() : std::string("?")) +
              " changes the width";
  out.units.push_back(std::move(u));
}

ResidualUnits Finder::run() {
  ResidualUnits out;
  DenseSet<const Node *> unitAdds;
  for (const Node *add : order) {
    if (!isOp(add, "Add") || add->getNumInputs() != 2)
      continue;
    const Value *u = add->getInput(0), *v = add->getInput(1);
    if (!u || !v || u->isWeight() || v->isWeight() || u == v)
      continue;
    // The stream is the earlier of the two; the branch must descend from it.
    unsigned streamIdx = topoOf(u) <= topoOf(v) ? 0 : 1;
    const Value *x = add->getInput(streamIdx),
                *b = add->getInput(1 - streamIdx);
    std::vector<const Node *> branch = pathNodes(x, b);
    if (branch.empty()) {
      addProjectionShortcut(*add, out);
      continue;
    }
    // A residual keeps the stream's shape (an attention mask added to
    // later layers' scores descends from it too, and broadcasts), and its
    // branch does not run through another unit's Add (the stream is that
    // unit's output, not an input it skips).
    if (!holdsLayerWeight(branch) || shapesDiffer(x, add->getOutput(0)) ||
        llvm::any_of(branch, [&](const Node *n) { return unitAdds.count(n); }))
      continue;
    unitAdds.insert(add);
    ResidualUnit unit;
    unit.id = add->getOutput(0)->getName();
    unit.streamIn = streamRoot(x)->getName();
    unit.streamOut = unit.id;
    unit.branchOut = b->getName();
    unit.addNode = add->getName();
    bool attention = false, moe = false, conv = false;
    for (const Node *n : branch) {
      attention |= isAttentionOp(*n);
      moe |= isOp(n, "TopK");
      conv |= isConvOp(*n);
    }
    unit.moe = moe;
    // Parallel attention and MLP (GPT-NeoX, GPT-J): b = attn + mlp, one
    // branch holding both, a whole layer.
    const Node *sum = b->getProducer();
    bool parallel = attention && isOp(sum, "Add") &&
                    !weightBehind(sum, 0).weight &&
                    !weightBehind(sum, 1).weight;
    unit.kind = moe                     ? DepthKind::Mlp
                : attention && parallel ? DepthKind::Block
                : attention             ? DepthKind::Attention
                : conv                  ? DepthKind::Block
                                        : DepthKind::Mlp;
    std::vector<const Node *> dead = deadAfterDrop(b, add);
    for (const Node *n : dead)
      unit.nodes.push_back(n->describe());
    unit.params = paramsOf(dead, &unit.weights);
    unit.postNorm = postNormOf(add->getOutput(0));
    unit.blocker = blockerOf(branch);
    DenseSet<const Node *> deadSet(dead.begin(), dead.end());
    unit.note = sharedNote(branch, deadSet);
    // Everything kept alive by outside readers: dropping would only rewire.
    if (unit.blocker.empty() && unit.params == 0)
      unit.blocker = "dropping would remove no parameter: " + unit.note;
    unit.zeroOperands = zeroOperandsOf(b, deadSet);
    out.units.push_back(std::move(unit));
  }

  // Post-norm is a layout: some unit's stream is a norm of the sum of the
  // unit before it. Otherwise a norm alone after a sum is the final norm of
  // a pre-norm model (GPT-2's ln_f), and dropping before it is exact.
  // Consecutive sub-layers only: a layer's units are adjacent in graph order.
  unsigned numSubLayers = out.units.size();
  auto feedsNext = [&](unsigned i) {
    if (i + 1 >= numSubLayers)
      return false;
    const Value *y = m.getGraph().lookup(out.units[i].id);
    const Value *x = m.getGraph().lookup(out.units[i + 1].streamIn);
    if (!y || !x)
      return false;
    return x == y || (!out.units[i].postNorm.empty() && isNormOf(y, x));
  };
  bool postNormLayout = false;
  for (unsigned i = 0; i + 1 < numSubLayers && !postNormLayout; ++i)
    postNormLayout = !out.units[i].postNorm.empty() &&
                     out.units[i + 1].streamIn != out.units[i].id &&
                     feedsNext(i);
  if (!postNormLayout)
    for (ResidualUnit &u : out.units)
      u.postNorm.clear();

  // Transformer layers: an attention sub-layer whose output (or post-norm
  // output) is the stream of the mlp sub-layer after it.
  for (unsigned i = 0; i + 1 < numSubLayers; ++i) {
    const ResidualUnit &a = out.units[i], &f = out.units[i + 1];
    if (a.kind != DepthKind::Attention || f.kind != DepthKind::Mlp ||
        !feedsNext(i))
      continue;
    ResidualUnit blk;
    blk.kind = DepthKind::Block;
    blk.id = a.id + "+" + f.id;
    blk.streamIn = a.streamIn;
    blk.streamOut = f.streamOut;
    blk.parts = {i, i + 1};
    blk.nodes = a.nodes;
    blk.nodes.insert(blk.nodes.end(), f.nodes.begin(), f.nodes.end());
    blk.params = a.params + f.params;
    blk.weights = a.weights;
    blk.weights.insert(blk.weights.end(), f.weights.begin(), f.weights.end());
    blk.postNorm = f.postNorm;
    blk.moe = f.moe;
    if (!a.droppable())
      blk.blocker = "its attention sub-layer cannot be dropped";
    else if (!f.droppable())
      blk.blocker = "its mlp sub-layer cannot be dropped";
    out.units.push_back(std::move(blk));
  }
  return out;
}

} // namespace

ResidualUnits findResidualUnits(const Model &m) { return Finder(m).run(); }

void ResidualUnits::print(raw_ostream &os, const Model &) const {
  unsigned counts[3] = {0, 0, 0}, droppable = 0;
  for (const ResidualUnit &u : units) {
    ++counts[unsigned(u.kind)];
    droppable += u.droppable();
  }
  os << "residual units: " << units.size() << " (" << counts[0] << " attn, "
     << counts[1] << " mlp, " << counts[2] << " block), " << droppable
     << " droppable\n";
  for (unsigned i = 0; i < units.size(); ++i) {
    const ResidualUnit &u = units[i];
    os << "unit " << i << " " << depthKindName(u.kind) << (u.moe ? " moe" : "")
       << " '" << u.id << "': " << u.params << " params, stream '" << u.streamIn
       << "' -> '" << u.streamOut << "'";
    if (!u.parts.empty()) {
      os << ", units";
      for (unsigned p : u.parts)
        os << " " << p;
    } else {
      os << ", " << u.nodes.size() << " nodes";
    }
    os << "\n";
    if (!u.postNorm.empty())
      os << "  post-norm, inexact: " << u.postNorm
         << " stays and sees the stream alone (it renormalises an already "
            "normalised stream)\n";
    if (!u.droppable())
      os << "  cannot drop: " << u.blocker << "\n";
    if (!u.note.empty())
      os << "  note: " << u.note << "\n";
    if (!u.zeroOperands.empty()) {
      os << "  equals zeroing:";
      for (const ZeroOperand &z : u.zeroOperands)
        os << " '" << z.weight << "'";
      os << "\n";
    }
    if (u.parts.empty() && !u.nodes.empty()) {
      os << "  nodes:";
      for (const std::string &n : u.nodes)
        os << " " << n;
      os << "\n";
    }
  }
}

} // namespace onnxprune
