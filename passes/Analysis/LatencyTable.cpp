//===- LatencyTable.cpp - Per-layer latency as a function of width --------===//

#include "passes/Analysis/LatencyTable.h"

#include "lib/IR/Graph.h"
#include "lib/Support/Error.h"
#include "lib/Support/OutputFile.h"
#include "passes/Analysis/StatsAnalysis.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

namespace onnxprune {

static void joinInts(raw_ostream &os, ArrayRef<int64_t> v, char sep) {
  for (size_t i = 0; i < v.size(); ++i)
    os << (i ? std::string(1, sep) : "") << v[i];
}

std::string LayerShape::key() const {
  std::string out;
  raw_string_ostream os(out);
  os << op << " x=";
  joinInts(os, input, 'x');
  os << " w=";
  joinInts(os, weight, 'x');
  os << " g=" << group << " b=" << (bias ? 1 : 0);
  for (auto &[name, v] : intsAttrs) {
    os << " " << name << "=";
    joinInts(os, v, ',');
  }
  if (!autoPad.empty())
    os << " auto_pad=" << autoPad;
  return os.str();
}

int64_t Layer::inChannels() const {
  return shape.op == "Conv" ? shape.input[1] : shape.weight[0];
}
int64_t Layer::outChannels() const {
  return shape.op == "Conv" ? shape.weight[0] : shape.weight[1];
}

LayerShape Layer::at(int64_t in, int64_t out) const {
  LayerShape s = shape;
  if (s.op == "Conv") {
    s.input[1] = in;
    s.weight[0] = out;
    if (depthwise)
      s.group = in;
    s.weight[1] = in / s.group;
  } else {
    s.input[1] = in;
    s.weight[0] = in;
    s.weight[1] = out;
  }
  return s;
}

/// Static dims of \p v, with dynamic ones set as LatencyOptions says; empty
/// when the rank is unknown.
static std::vector<int64_t> concreteDims(const Value *v,
                                         const LatencyOptions &opts) {
  std::vector<int64_t> out;
  const Type &t = v->getType();
  if (!t.hasRank())
    return out;
  for (size_t i = 0; i < t.shape->size(); ++i) {
    const Dim &d = (*t.shape)[i];
    out.push_back(d.isStatic() ? d.value : i == 0 ? opts.batch : opts.otherDim);
  }
  return out;
}

static int spaceOf(const DepGraph &dg, Value *v, unsigned axis) {
  return dg.spaceOf(AxisRef{v, axis});
}

std::vector<Layer> findLayers(const Model &m, const DepGraph &dg,
                              const LatencyOptions &opts) {
  std::vector<Layer> out;
  for (const Node &n : m.getGraph().getNodes()) {
    const std::string &op = n.getOpType();
    if (!n.getDomain().empty() && n.getDomain() != "ai.onnx")
      continue;
    if (op != "Conv" && op != "MatMul" && op != "Gemm")
      continue;
    if (n.getNumInputs() < 2 || !n.getInput(0) || !n.getInput(1) ||
        !n.getInput(1)->isWeight())
      continue;
    Value *x = n.getInput(0), *w = n.getInput(1);
    std::vector<int64_t> xd = concreteDims(x, opts);
    std::vector<int64_t> wd(w->getWeight()->getDims().begin(),
                            w->getWeight()->getDims().end());
    bool hasBias = n.getNumInputs() > 2 && n.getInput(2);
    Layer l;
    l.node = &n;
    l.shape.bias = hasBias;
    if (op == "Conv") {
      if (xd.size() < 3 || xd.size() != wd.size())
        continue;
      l.shape.op = "Conv";
      l.shape.input = xd;
      l.shape.weight = wd;
      l.shape.group = n.getIntAttr("group", 1);
      l.depthwise = l.shape.group > 1 && l.shape.group == xd[1];
      for (const char *a : {"strides", "pads", "dilations"})
        if (auto v = n.getIntsAttr(a))
          l.shape.intsAttrs.emplace_back(a, *v);
      std::string autoPad = n.getStringAttr("auto_pad", "NOTSET");
      if (autoPad != "NOTSET")
        l.shape.autoPad = autoPad;
      l.inSpace = spaceOf(dg, x, 1);
      l.outSpace = spaceOf(dg, w, 0);
    } else {
      bool transB = op == "Gemm" && n.getIntAttr("transB", 0);
      if (wd.size() != 2 || xd.size() < 2 ||
          (op == "Gemm" && n.getIntAttr("transA", 0)))
        continue;
      int64_t rows = 1;
      for (size_t i = 0; i + 1 < xd.size(); ++i)
        rows *= xd[i];
      int64_t k = transB ? wd[1] : wd[0], nOut = transB ? wd[0] : wd[1];
      l.shape.op = "MatMul";
      l.shape.input = {rows, k};
      l.shape.weight = {k, nOut};
      l.shape.bias = false; // A Gemm's bias add is small; timed as MatMul.
      l.inSpace = spaceOf(dg, x, unsigned(xd.size() - 1));
      l.outSpace = spaceOf(dg, w, transB ? 0 : 1);
    }
    out.push_back(std::move(l));
  }
  return out;
}

std::unique_ptr<Model> makeLayerModel(const LayerShape &s) {
  auto m = std::make_unique<Model>();
  m->irVersion = 8;
  m->opsetImports.push_back({"", 17});
  m->producerName = "onnx-prune latency table";
  Graph &g = m->getGraph();
  g.name = "layer";
  auto floatType = [](ArrayRef<int64_t> dims) {
    Shape sh;
    for (int64_t d : dims)
      sh.push_back(Dim::of(d));
    return Type::tensor(DataType::Float, sh);
  };
  auto weight = [&](StringRef name, ArrayRef<int64_t> dims) {
    int64_t n = 1;
    for (int64_t d : dims)
      n *= d;
    // A fixed, non-zero pattern: the values do not matter, only that no
    // kernel can skip them.
    std::string bytes(size_t(n) * sizeof(float), '\0');
    float *p = reinterpret_cast<float *>(bytes.data());
    for (int64_t i = 0; i < n; ++i)
      p[i] = 0.01f * float(int(i % 17) - 8);
    auto t = std::make_unique<Tensor>(name.str(), DataType::Float, dims);
    t->setInlineBytes(std::move(bytes));
    Value *v = g.createValue(name);
    v->setType(floatType(dims));
    g.setInitializer(v, m->getWeights().add(std::move(t)));
    return v;
  };
  Value *x = g.createValue("x");
  x->setType(floatType(s.input));
  g.addInput(x);
  Value *w = weight("w", s.weight);
  Node *n = g.createNode(s.op, "", "layer");
  g.addNodeInput(n, x);
  g.addNodeInput(n, w);
  if (s.op == "Conv") {
    if (s.bias)
      g.addNodeInput(n, weight("b", {s.weight[0]}));
    n->setAttr(Attribute::ofInt("group", s.group));
    n->setAttr(Attribute::ofInts("kernel_shape",
                                 ArrayRef<int64_t>(s.weight).drop_front(2)));
    for (auto &[name, v] : s.intsAttrs)
      n->setAttr(Attribute::ofInts(name, v));
    if (!s.autoPad.empty())
      n->setAttr(Attribute::ofString("auto_pad", s.autoPad));
  }
  // The output's dims: ORT's NCHWc rewrite reads the channel count from
  // them (without, a conv after a 32-channel one failed to load: "invalid
  // channel count").
  std::vector<int64_t> yDims;
  if (s.op == "Conv") {
    yDims = {s.input[0], s.weight[0]};
    size_t rank = s.weight.size() - 2;
    std::vector<int64_t> strides(rank, 1), dilations(rank, 1),
        pads(2 * rank, 0);
    for (auto &[name, v] : s.intsAttrs)
      (name == "strides"     ? strides
       : name == "dilations" ? dilations
                             : pads) = v;
    for (size_t a = 0; a < rank; ++a) {
      int64_t in = s.input[a + 2], k = s.weight[a + 2], st = strides[a];
      if (!s.autoPad.empty() && s.autoPad != "VALID")
        yDims.push_back((in + st - 1) / st); // SAME_UPPER / SAME_LOWER
      else {
        int64_t p = s.autoPad.empty() ? pads[a] + pads[a + rank] : 0;
        yDims.push_back((in + p - dilations[a] * (k - 1) - 1) / st + 1);
      }
    }
  } else {
    yDims = {s.input[0], s.weight[1]};
  }
  Value *y = g.createValue("y");
  y->setType(floatType(yDims));
  g.addNodeOutput(n, y);
  g.addOutput(y);
  return m;
}

std::string modelKey(const Model &m) {
  ModelStats stats = computeStats(m);
  size_t nodes = 0;
  for (const Node &n : m.getGraph().getNodes())
    (void)n, ++nodes;
  return (m.getGraph().name + " nodes=" + Twine(nodes) +
          " params=" + Twine(stats.numParams))
      .str();
}

// ---- The table --------------------------------------------------------------

std::string LatencyTable::toJSON() const {
  std::string out;
  raw_string_ostream os(out);
  json::OStream j(os, 1);
  j.object([&] {
    j.attribute("runtime", runtime);
    j.attributeObject("layers", [&] {
      for (auto &[k, v] : layers)
        j.attribute(k, v);
    });
    j.attributeObject("models", [&] {
      for (auto &[k, v] : models)
        j.attribute(k, v);
    });
    if (!rounds.empty())
      j.attributeObject("rounds", [&] {
        // A plain reference: clang's C++17 cannot capture a structured
        // binding in the lambda below.
        for (const auto &entry : rounds) {
          const auto &list = entry.second;
          j.attributeArray(entry.first, [&] {
            for (const Round &r : list)
              j.array([&] {
                j.value(r.current);
                j.value(r.target);
                j.value(r.efficiency);
              });
          });
        }
      });
  });
  os << "\n";
  return os.str();
}

Error LatencyTable::save(StringRef path) const {
  auto fail = [&](Error e) {
    return addContext(std::move(e),
                      "cannot write latency table '" + path + "'");
  };
  auto f = OutputFile::create(path);
  if (!f)
    return fail(f.takeError());
  if (Error e = f->write(toJSON()))
    return fail(std::move(e));
  if (Error e = f->commit())
    return fail(std::move(e));
  return Error::success();
}

Expected<LatencyTable> LatencyTable::load(StringRef path) {
  auto buf = MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buf)
    return makeError("cannot read latency table '" + path +
                     "': " + buf.getError().message());
  auto bad = [&](const Twine &why) {
    return makeError("latency table '" + path + "': " + why);
  };
  auto parsed = json::parse((*buf)->getBuffer());
  if (!parsed)
    return bad(toString(parsed.takeError()));
  const json::Object *o = parsed->getAsObject();
  if (!o)
    return bad("not a JSON object");
  LatencyTable t;
  if (auto r = o->getString("runtime"))
    t.runtime = r->str();
  for (auto [field, into] : {std::make_pair("layers", &t.layers),
                             std::make_pair("models", &t.models)}) {
    const json::Object *entries = o->getObject(field);
    if (!entries)
      return bad(Twine("no '") + field + "' object");
    for (const auto &kv : *entries) {
      auto v = kv.second.getAsNumber();
      if (!v || !(*v >= 0))
        return bad(Twine("entry '") + kv.first.str() +
                   "' is not a time in milliseconds");
      (*into)[kv.first.str()] = *v;
    }
  }
  if (const json::Object *rounds = o->getObject("rounds"))
    for (const auto &kv : *rounds) {
      const json::Array *list = kv.second.getAsArray();
      if (!list)
        return bad("rounds of '" + kv.first.str() + "' are not a list");
      auto &into = t.rounds[kv.first.str()];
      for (const json::Value &r : *list) {
        const json::Array *three = r.getAsArray();
        Optional<double> a, b, c;
        if (three && three->size() == 3)
          a = (*three)[0].getAsNumber(), b = (*three)[1].getAsNumber(),
          c = (*three)[2].getAsNumber();
        if (!a || !b || !c)
          return bad("a round of '" + kv.first.str() +
                     "' is not [current, target, efficiency]");
        into.push_back({*a, *b, *c});
      }
    }
  return t;
}

std::vector<const LayerShape *>
LatencyTable::missing(ArrayRef<LayerShape> shapes) const {
  std::vector<const LayerShape *> out;
  StringSet<> seen;
  for (const LayerShape &s : shapes) {
    std::string k = s.key();
    if (!layers.count(k) && seen.insert(k).second)
      out.push_back(&s);
  }
  return out;
}

Expected<double> LatencyTable::timeWith(const Model *m,
                                        ArrayRef<const LayerShape *> shapes,
                                        LatencyProvider &provider,
                                        const LatencyOptions &opts) {
  std::vector<std::unique_ptr<Model>> layerModels;
  std::vector<LatencySubject> subjects;
  if (m)
    subjects.push_back(m);
  for (const LayerShape *s : shapes) {
    layerModels.push_back(makeLayerModel(*s));
    subjects.push_back(layerModels.back().get());
  }
  auto timed = provider.measure(subjects, opts);
  if (!timed) {
    // Name the layer the runtime refused: time them one by one.
    size_t first = m ? 1 : 0;
    for (size_t i = 0; i < shapes.size(); ++i) {
      LatencySubject one[] = {subjects[first + i]};
      auto alone = provider.measure(one, opts);
      if (!alone) {
        consumeError(timed.takeError());
        return addContext(alone.takeError(), "timing layer '" +
                                                 shapes[i]->key() +
                                                 "' for the latency table");
      }
    }
    return addContext(timed.takeError(), "timing layers for the latency table");
  }
  size_t first = m ? 1 : 0;
  for (size_t i = 0; i < shapes.size(); ++i)
    layers[shapes[i]->key()] = (*timed)[first + i].min;
  measured += shapes.size();
  if (!m)
    return 0.0;
  double t = timed->front().min;
  models[modelKey(*m)] = t;
  return t;
}

Error LatencyTable::ensure(ArrayRef<LayerShape> shapes,
                           LatencyProvider *provider,
                           const LatencyOptions &opts, StringRef tablePath) {
  std::vector<const LayerShape *> todo = missing(shapes);
  if (todo.empty())
    return Error::success();
  if (!provider)
    return makeError("latency table '" + tablePath + "' has no entry for '" +
                     todo.front()->key() +
                     "' (it was made for another model or other options; "
                     "remove it to measure again)");
  auto t = timeWith(nullptr, todo, *provider, opts);
  return t ? Error::success() : t.takeError();
}

Expected<double> LatencyTable::measureModel(const Model &m,
                                            ArrayRef<LayerShape> shapes,
                                            LatencyProvider &provider,
                                            const LatencyOptions &opts) {
  return timeWith(&m, missing(shapes), provider, opts);
}

double LatencyTable::lookup(const LayerShape &s) const {
  auto it = layers.find(s.key());
  assert(it != layers.end() && "ensure() adds every entry looked up");
  return it->second;
}

} // namespace onnxprune
