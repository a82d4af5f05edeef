//===- OpHandler.cpp - Op handler registry and shared helpers -------------===//

#include "passes/OpHandlers/OpHandler.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringMap.h"
#include <algorithm>

#include <climits>

#include <cstring>
#include <functional>
#include <mutex>
#include <numeric>

using namespace llvm;

namespace onnxprune {

OpHandler::~OpHandler() = default;

Error OpHandler::rewrite(Node &, PruneContext &) const {
  return Error::success();
}

bool OpHandler::isStatisticsInput(const Node &, unsigned) const {
  return false;
}

Expected<OpHandler::MaskMode>
OpHandler::maskOperand(const Node &, unsigned, unsigned, ArrayRef<int64_t>,
                       ArrayRef<int64_t>, std::string &) const {
  return MaskMode::Zero;
}

// Factories of the in-tree handlers, one per class in OpHandlers.def.
#define OP_HANDLER(DOMAIN, OP_TYPE, MIN_OPSET, MAX_OPSET, CLASS)               \
  std::shared_ptr<const OpHandler> create##CLASS();
#include "passes/OpHandlers/OpHandlers.def"

namespace {
struct Entry {
  int64_t minOpset, maxOpset;
  std::shared_ptr<const OpHandler> handler;
};

struct Registry {
  std::mutex mu;
  StringMap<std::vector<Entry>> byOp; ///< Key: "domain\0op".
  bool builtinsAdded = false;

  /// Built on the stack: every node of every analysis looks one up.
  static SmallString<64> key(StringRef domain, StringRef op) {
    SmallString<64> k;
    if (domain != "ai.onnx")
      k += domain;
    k.push_back('\0');
    k += op;
    return k;
  }
  void add(StringRef domain, StringRef op, int64_t lo, int64_t hi,
           std::shared_ptr<const OpHandler> h) {
    byOp[key(domain, op).str()].push_back({lo, hi, std::move(h)});
  }
  void addBuiltins() {
    if (builtinsAdded)
      return;
    builtinsAdded = true;
    // One instance per class, shared by its lines.
    StringMap<std::shared_ptr<const OpHandler>> made;
#define OP_HANDLER(DOMAIN, OP_TYPE, MIN_OPSET, MAX_OPSET, CLASS)               \
  {                                                                            \
    auto &h = made[#CLASS];                                                    \
    if (!h)                                                                    \
      h = create##CLASS();                                                     \
    add(DOMAIN, OP_TYPE, MIN_OPSET, MAX_OPSET, h);                             \
  }
#include "passes/OpHandlers/OpHandlers.def"
  }
};

Registry &registry() {
  static Registry r;
  return r;
}
} // namespace

const OpHandler *lookupOpHandler(StringRef domain, StringRef op,
                                 int64_t opsetVersion) {
  Registry &r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.addBuiltins();
  auto it = r.byOp.find(Registry::key(domain, op).str());
  if (it == r.byOp.end())
    return nullptr;
  // Later registrations win (plugins override built-ins).
  for (auto e = it->second.rbegin(); e != it->second.rend(); ++e)
    if (opsetVersion >= e->minOpset && opsetVersion <= e->maxOpset)
      return e->handler.get();
  return nullptr;
}

void registerOpHandler(StringRef domain, StringRef op, int64_t minOpset,
                       int64_t maxOpset,
                       std::shared_ptr<const OpHandler> handler) {
  Registry &r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.addBuiltins();
  r.add(domain, op, minOpset, maxOpset, std::move(handler));
}

bool isStatisticsOperand(const Node &n, unsigned i) {
  const OpHandler *h =
      lookupOpHandler(n.getDomain(), n.getOpType(),
                      n.getGraph()->getModel().getOpsetVersion(n.getDomain()));
  return h && h->isStatisticsInput(n, i);
}

Expected<std::optional<std::vector<double>>>
OpHandler::dequantizeOperand(const Node &, unsigned) const {
  return std::nullopt;
}

/// The handler of \p n at its model's opset, or null.
static const OpHandler *handlerOf(const Node &n) {
  return lookupOpHandler(
      n.getDomain(), n.getOpType(),
      n.getGraph()->getModel().getOpsetVersion(n.getDomain()));
}

Expected<std::optional<std::vector<double>>> dequantizedWeight(const Value &w) {
  for (const Use &u : w.getUses())
    if (const OpHandler *h = handlerOf(*u.user)) {
      auto v = h->dequantizeOperand(*u.user, u.operandIndex);
      if (!v || *v)
        return v;
    }
  return std::nullopt;
}

Expected<OpHandler::MaskMode> maskWeight(const Value &w, unsigned axis,
                                         ArrayRef<int64_t> removed,
                                         ArrayRef<int64_t> dims,
                                         std::string &data) {
  for (const Use &u : w.getUses()) {
    const Node &n = *u.user;
    const OpHandler *h = handlerOf(n);
    if (!h)
      continue;
    auto mode = h->maskOperand(n, u.operandIndex, axis, removed, dims, data);
    if (!mode || *mode != OpHandler::MaskMode::Zero)
      return mode;
  }
  return OpHandler::MaskMode::Zero;
}

bool isStatisticsWeight(const Value &w) {
  if (!w.hasUses() || w.isGraphOutput())
    return false;
  for (const Use &u : w.getUses()) {
    const Node &n = *u.user;
    bool viaIdentity = n.getOpType() == "Identity" &&
                       (n.getDomain().empty() || n.getDomain() == "ai.onnx");
    if (viaIdentity ? !isStatisticsWeight(*n.getOutput(0))
                    : !isStatisticsOperand(n, u.operandIndex))
      return false;
  }
  return true;
}

// ---- Helpers -------------------------------------------------------------

std::optional<std::vector<int64_t>> constantInts(const Value *v) {
  if (!v || !v->isWeight())
    return std::nullopt;
  const Tensor &t = *v->getWeight();
  if (t.getDataType() != DataType::Int64 && t.getDataType() != DataType::Int32)
    return std::nullopt;
  auto vals = readAsInt64s(t);
  if (!vals) {
    consumeError(vals.takeError());
    return std::nullopt;
  }
  return std::move(*vals);
}

std::optional<std::vector<int64_t>> indexMap(ArrayRef<int64_t> ids,
                                             int64_t dim) {
  std::vector<int64_t> map;
  map.reserve(ids.size());
  for (int64_t i : ids) {
    if (i < 0)
      i += dim;
    if (i < 0 || i >= dim)
      return std::nullopt;
    map.push_back(i);
  }
  return map;
}

std::vector<int64_t> renumberIndices(ArrayRef<int64_t> ids, int64_t oldDim,
                                     ArrayRef<int64_t> kept) {
  std::vector<int64_t> out;
  for (int64_t i : ids) {
    if (i < 0)
      i += oldDim;
    auto it = std::lower_bound(kept.begin(), kept.end(), i);
    if (it != kept.end() && *it == i)
      out.push_back(it - kept.begin());
  }
  return out;
}

int64_t normalizeAxis(int64_t axis, int64_t rank) {
  if (rank < 0)
    return -1;
  if (axis < 0)
    axis += rank;
  return axis >= 0 && axis < rank ? axis : -1;
}

void joinBroadcast(CouplingBuilder &b, Value *x, Value *y, const Node &n) {
  int64_t rx = b.rank(x), ry = b.rank(y);
  if (rx < 0 || ry < 0) {
    // Without ranks the alignment is unknown: nothing may be removed.
    if (x)
      b.freezeValue(x, &n, "operand rank unknown");
    if (y)
      b.freezeValue(y, &n, "operand rank unknown");
    return;
  }
  for (int64_t i = 1; i <= std::min(rx, ry); ++i) {
    AxisRef ax{x, (unsigned)(rx - i)}, ay{y, (unsigned)(ry - i)};
    int64_t sx = b.size(ax), sy = b.size(ay);
    // A size-1 axis broadcasts: it is read whole for every element of the
    // other side, so it is not coupled (and is left unsliced).
    if (sx == 1 || sy == 1)
      continue;
    b.join(ax, ay, n);
  }
}

void joinAllAxes(CouplingBuilder &b, Value *in, Value *out, const Node &n) {
  int64_t ri = b.rank(in), ro = b.rank(out);
  if (ri < 0 || ri != ro) {
    if (in)
      b.freezeValue(in, &n, "rank unknown or changed");
    if (out)
      b.freezeValue(out, &n, "rank unknown or changed");
    return;
  }
  for (int64_t i = 0; i < ri; ++i)
    b.join({in, (unsigned)i}, {out, (unsigned)i}, n);
}

void replaceConstantInts(Node &n, unsigned idx, ArrayRef<int64_t> values,
                         Rewriter &rw) {
  replaceConstantInts(n, idx, values, {(int64_t)values.size()}, rw);
}

void replaceConstantInts(Node &n, unsigned idx, ArrayRef<int64_t> values,
                         ArrayRef<int64_t> dims, Rewriter &rw) {
  assert(std::accumulate(dims.begin(), dims.end(), int64_t(1),
                         std::multiplies<int64_t>()) ==
             (int64_t)values.size() &&
         "dims must hold the values");
  Value *old = n.getInput(idx);
  DataType dt = old && old->isWeight() ? old->getWeight()->getDataType()
                                       : DataType::Int64;
  std::string bytes;
  if (dt == DataType::Int32) {
    bytes.resize(values.size() * 4);
    for (size_t i = 0; i < values.size(); ++i) {
      int32_t v = (int32_t)values[i];
      std::memcpy(&bytes[4 * i], &v, 4);
    }
  } else {
    dt = DataType::Int64;
    bytes.assign(reinterpret_cast<const char *>(values.data()),
                 values.size() * 8);
  }
  std::string base = old ? old->getName() : n.getName() + "_const";
  auto t = std::make_unique<Tensor>(base + "_pruned", dt, dims);
  t->setData(dims, std::move(bytes));
  Value *nv = rw.createWeight(*n.getGraph(), std::move(t));
  rw.setInput(&n, idx, nv);
}

} // namespace onnxprune
