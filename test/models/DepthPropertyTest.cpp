//===- DepthPropertyTest.cpp - Dropped == zeroed on every model
//------------===//
///
/// \file
/// The depth form of masked == pruned (issue 9, item 5), checked on every
/// model of test/models with residual units: the zoo (both opsets), the
/// Hugging Face exports of test/models/hf and the trained models
/// byte_llama, fmnist_resnet, fmnist_resnet_folded and fmnist_vit. For
/// every droppable unit of findResidualUnits (sub-layers, conv blocks and
/// two-part transformer layers):
///
///   dropped  the model read fresh, dropResidualUnit, dce: it passes the IR
///            verifier and onnx::checker, keeps its graph inputs and
///            outputs (names, dtypes, shapes), and loses exactly the
///            parameters the analysis says (computeStats before - after ==
///            unit.params);
///   zeroed   the model read fresh, each ZeroOperand of the unit (a
///            two-part block: the union of its parts') pointed at a fresh
///            zero initializer of the weight's dims and dtype, for that
///            reader only (the weight may have other readers);
///   compare  both run in ONNX Runtime on the same seeded random inputs;
///            every output agrees within ZooPropertyTest's masked == pruned
///            tolerance (rtol 1e-4, atol 1e-5 of the largest |output|);
///            and dropping changes the outputs of the original model (the
///            comparison is not vacuous).
///
/// UnitFloor checks that the analysis still finds the units it finds today
/// (at least; per architecture, plausible for its layers), that every
/// droppable unit says how to silence it (non-empty zero operands), and
/// that models without residual connections have none.
///
/// Each DroppedEqualsZeroed case prints one line
/// `depth-result: MODEL units=N droppable=D max-abs-err=E` for reports.
/// A model file that is missing fails the test (it never skips).
///
//===----------------------------------------------------------------------===//

#include "test/unit/PruneTestUtil.h"

#include "frontends/onnx/ModelReader.h"
#include "frontends/onnx/OnnxChecks.h"
#include "lib/IR/Graph.h"
#include "lib/IR/IRVerifier.h"
#include "lib/IR/Rewriter.h"
#include "lib/Runtime/ModelSession.h"
#include "passes/Analysis/ResidualUnits.h"
#include "passes/Analysis/StatsAnalysis.h"
#include "passes/OpHandlers/ShapeInference.h"
#include "passes/PassManager.h"
#include "passes/Transforms/DCEPass.h"
#include "passes/Transforms/DropLayersPass.h"

#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <tuple>
#include <vector>

using namespace llvm;

namespace onnxprune {
namespace {

// ---- The models ------------------------------------------------------------

/// The least number of units of each kind the analysis must find (what it
/// finds today, checked against the layers of the architecture). A model
/// without residual connections has `none` set: exactly 0 units.
struct UnitFloor {
  unsigned attn = 0, mlp = 0, block = 0;
  unsigned droppable = 0;
  bool none = false;
};

/// One model under test.
struct DepthModel {
  std::string name; ///< "resnet18_op13", "hf_gpt2__dynamo", "byte_llama"
  std::string path;
  UnitFloor floor;
  RandomInputOptions inputs;
  /// Input sets (seeds 0, 1, ...) each unit is compared on.
  unsigned numSeeds = 2;
};

/// Floors of the zoo (test/models/gen_zoo.py), from print<residual-units>:
///   resnet18         8 BasicBlocks: 5 identity shortcuts, 3 projections
///                    (reported, not droppable)
///   mobilenet_v2     11 inverted residuals with a shortcut (width 0.25
///                    makes the first block 8 -> 8 too)
///   mobilenet_v3_small 7 (width 0.25: 40 and 48 channels both round to 16)
///   efficientnet_b0  10 MBConv with a shortcut (width 0.2: the first is
///                    8 -> 8)
///   regnet           6 Y-blocks: 3 identity, 3 projections (one per stage)
///   convnext         5 CNBlocks (1 + 1 + 2 + 1), layer scale
///   vit, bert_encoder, gpt2_decoder, llama_decoder: 2 layers, each an
///                    attention and an MLP sub-layer and their block
///   squeezenet, googlenet, densenet, shufflenet_v2, unet: none (concats,
///                    channel shuffles, skip concats: no x + f(x))
UnitFloor zooFloorOf(StringRef arch) {
  struct Entry {
    const char *arch;
    UnitFloor floor;
  };
  static const Entry entries[] = {
      {"resnet18", {0, 0, 8, 5}},
      {"mobilenet_v2", {0, 0, 11, 11}},
      {"mobilenet_v3_small", {0, 0, 7, 7}},
      {"efficientnet_b0", {0, 0, 10, 10}},
      {"regnet", {0, 0, 6, 3}},
      {"convnext", {0, 0, 5, 5}},
      {"vit", {2, 2, 2, 6}},
      {"bert_encoder", {2, 2, 2, 6}},
      {"gpt2_decoder", {2, 2, 2, 6}},
      {"llama_decoder", {2, 2, 2, 6}},
  };
  for (const Entry &e : entries)
    if (arch == e.arch)
      return e.floor;
  UnitFloor none;
  none.none = true;
  return none;
}

std::vector<DepthModel> allModels() {
  std::vector<DepthModel> out;
  static const char *const zooArchs[] = {
      "resnet18",        "mobilenet_v2", "mobilenet_v3_small",
      "efficientnet_b0", "regnet",       "convnext",
      "squeezenet",      "googlenet",    "densenet",
      "shufflenet_v2",   "unet",         "vit",
      "bert_encoder",    "gpt2_decoder", "llama_decoder"};
  for (const char *arch : zooArchs)
    for (int opset : {13, 17}) {
      DepthModel m;
      m.name = std::string(arch) + "_op" + std::to_string(opset);
      m.path = std::string(ONNXPRUNE_ZOO_DIR) + "/" + m.name + ".onnx";
      m.floor = zooFloorOf(arch);
      // As ZooPropertyTest feeds them: batch 2, seq 8, tokens over the
      // vocabulary (128).
      m.inputs.batchDim = 2;
      m.inputs.otherDim = 8;
      StringRef a(arch);
      if (a == "bert_encoder" || a == "gpt2_decoder" || a == "llama_decoder")
        m.inputs.intHigh = 128;
      out.push_back(std::move(m));
    }

  // Trained models (test/models/trained/README.md): byte_llama (4 layers,
  // 256 byte tokens), fmnist_resnet (2 identity blocks, 2 projection
  // blocks), fmnist_vit (4 layers).
  auto trained = [&](const char *name, UnitFloor floor, int64_t intHigh) {
    DepthModel m;
    m.name = name;
    m.path = std::string(ONNXPRUNE_TRAINED_DIR) + "/" + name + ".onnx";
    m.floor = floor;
    m.inputs.batchDim = 2;
    m.inputs.otherDim = 8;
    if (intHigh)
      m.inputs.intHigh = intHigh;
    out.push_back(std::move(m));
  };
  trained("byte_llama", {4, 4, 4, 12}, 256);
  trained("fmnist_resnet", {0, 0, 4, 2}, 0);
  trained("fmnist_resnet_folded", {0, 0, 4, 2}, 0);
  trained("fmnist_vit", {4, 4, 4, 12}, 0);

  // Hugging Face exports, fed as ZooPropertyTest feeds them.
  auto manifest = MemoryBuffer::getFile(ONNXPRUNE_HF_DIR "/manifest.json");
  if (!manifest) {
    DepthModel m; // SetUp fails on the missing file.
    m.name = "hf_manifest";
    m.path = ONNXPRUNE_HF_DIR "/manifest.json";
    out.push_back(std::move(m));
    return out;
  }
  auto entries = json::parse((*manifest)->getBuffer());
  if (!entries || !entries->getAsArray())
    report_fatal_error("test/models/hf/manifest.json is not a JSON array");
  for (const json::Value &e : *entries->getAsArray()) {
    const json::Object &o = *e.getAsObject();
    StringRef file = *o.getString("file"), model = *o.getString("model");
    const json::Object &cfg = *o.getObject("config");
    DepthModel m;
    m.name = "hf_" + file.drop_back(5).str(); // minus ".onnx"
    m.path = std::string(ONNXPRUNE_HF_DIR) + "/" + file.str();
    unsigned layers = 0;
    for (const char *k :
         {"num_hidden_layers", "n_layer", "num_layers", "encoder_layers"})
      if (auto v = cfg.getInteger(k); v && !layers)
        layers = unsigned(*v);
    // Every layer: an attention and an MLP sub-layer and the block of the
    // two; GPT-NeoX's parallel layers (x + attn(x) + mlp(x)) are one block
    // each.
    if (model == "gpt_neox")
      m.floor = {0, 0, layers, layers};
    else
      m.floor = {layers, layers, layers, 3 * layers};
    m.inputs.batchDim = 2;
    m.inputs.otherDim = 8;
    bool hasMask = false;
    for (const json::Value &in : *o.getArray("inputs"))
      hasMask |= in.getAsObject()->getString("name").getValueOr("") ==
                 "attention_mask";
    m.inputs.intHigh = hasMask ? 2 : cfg.getInteger("vocab_size").getValueOr(2);
    out.push_back(std::move(m));
  }
  return out;
}

/// Test names and failure messages show the model's name.
void PrintTo(const DepthModel &m, std::ostream *os) { *os << m.name; }

// ---- Dropping and zeroing ---------------------------------------------------

/// The sub-layers a unit drops: itself, or a two-part block's parts.
std::vector<const ResidualUnit *> subLayersOf(const ResidualUnits &units,
                                              const ResidualUnit &u) {
  std::vector<const ResidualUnit *> out;
  if (u.isSubLayer())
    out.push_back(&u);
  for (unsigned p : u.parts)
    out.push_back(&units.units[p]);
  return out;
}

/// The operands whose zeroing equals dropping \p u (a two-part block: the
/// union of its parts'), without repeats.
std::vector<ZeroOperand> zeroOperandsOf(const ResidualUnits &units,
                                        const ResidualUnit &u) {
  std::vector<ZeroOperand> out;
  std::set<std::tuple<std::string, unsigned, std::string>> seen;
  for (const ResidualUnit *s : subLayersOf(units, u))
    for (const ZeroOperand &z : s->zeroOperands)
      if (seen.insert({z.node, z.input, z.weight}).second)
        out.push_back(z);
  return out;
}

std::string describe(const ZeroOperand &z) {
  return "input " + std::to_string(z.input) + " ('" + z.weight +
         "') of node '" + (z.node.empty() ? "<unnamed>" : z.node) + "'";
}

/// Points each operand of \p zeros at a fresh zero initializer of its
/// weight's dims and dtype. The node is the one named z.node (an unnamed
/// one when "") that reads z.weight at input z.input; it must be unique.
Error zeroOperands(Model &m, ArrayRef<ZeroOperand> zeros) {
  Graph &g = m.getGraph();
  Rewriter rw(m);
  for (const ZeroOperand &z : zeros) {
    Value *w = g.lookup(z.weight);
    if (!w || !w->isWeight())
      return createStringError(inconvertibleErrorCode(),
                               "%s: not a weight of the main graph",
                               describe(z).c_str());
    Node *reader = nullptr;
    unsigned matches = 0;
    for (const Use &u : w->getUses())
      if (u.operandIndex == z.input && u.user->getName() == z.node &&
          u.user->getGraph() == &g)
        reader = u.user, ++matches;
    if (matches != 1)
      return createStringError(inconvertibleErrorCode(),
                               "%s: %u main-graph readers match",
                               describe(z).c_str(), matches);
    const Tensor &t = *w->getWeight();
    auto zero = std::make_unique<Tensor>(z.weight + "__zero", t.getDataType(),
                                         t.getDims());
    zero->setData(t.getDims(), std::string(t.getByteSize(), '\0'));
    rw.setInput(reader, z.input, rw.createWeight(g, std::move(zero)));
  }
  return Error::success();
}

/// The original model's runs: the seeded input sets every unit is
/// compared on, and the original's outputs on them.
struct Reference {
  std::vector<std::vector<NamedTensor>> feeds, outputs;
};

Expected<Reference> runOriginal(const Model &m, const DepthModel &dm) {
  auto s = openModelSession(m);
  if (!s)
    return createStringError(inconvertibleErrorCode(),
                             "original model does not load in ONNX Runtime: %s",
                             toString(s.takeError()).c_str());
  Reference r;
  for (unsigned k = 0; k < dm.numSeeds; ++k) {
    RandomInputOptions ro = dm.inputs;
    ro.seed = k;
    auto feeds = makeRandomInputs((*s)->getInputs(), ro);
    if (!feeds)
      return feeds.takeError();
    auto outs = (*s)->run(*feeds);
    if (!outs)
      return createStringError(inconvertibleErrorCode(),
                               "original model fails in ONNX Runtime: %s",
                               toString(outs.takeError()).c_str());
    r.feeds.push_back(std::move(*feeds));
    r.outputs.push_back(std::move(*outs));
  }
  return r;
}

/// The result of running both models on one unit.
struct UnitCompare {
  double maxAbsErr = 0;
  double atol = 0;
  /// Largest |original - dropped|: the unit's effect on the outputs.
  double effect = 0;
};

/// Runs \p zeroed (the reference) and \p dropped in ONNX Runtime on the
/// input sets of \p ref and compares every output: within rtol 1e-4 and
/// atol 1e-5 of the largest |output| of the zeroed model (at least 1e-5),
/// as ZooPropertyTest compares masked and pruned.
Expected<UnitCompare> compareRuns(const Model &zeroed, const Model &dropped,
                                  const Reference &ref) {
  auto za = openModelSession(zeroed);
  if (!za)
    return createStringError(inconvertibleErrorCode(),
                             "zeroed model does not load in ONNX Runtime: %s",
                             toString(za.takeError()).c_str());
  auto db = openModelSession(dropped);
  if (!db)
    return createStringError(inconvertibleErrorCode(),
                             "dropped model does not load in ONNX Runtime: %s",
                             toString(db.takeError()).c_str());
  UnitCompare r;
  for (unsigned k = 0; k < ref.feeds.size(); ++k) {
    auto outZ = (*za)->run(ref.feeds[k]);
    if (!outZ)
      return createStringError(inconvertibleErrorCode(),
                               "zeroed model fails in ONNX Runtime: %s",
                               toString(outZ.takeError()).c_str());
    auto outD = (*db)->run(ref.feeds[k]);
    if (!outD)
      return createStringError(inconvertibleErrorCode(),
                               "dropped model fails in ONNX Runtime: %s",
                               toString(outD.takeError()).c_str());
    double scale = 1;
    for (const NamedTensor &o : *outZ)
      if (isFloatingPoint(o.tensor.dtype))
        for (int64_t i = 0; i < o.tensor.getNumElements(); ++i)
          if (double a = std::fabs(o.tensor.getAsDouble(i)); std::isfinite(a))
            scale = std::max(scale, a);
    double atol = 1e-5 * scale;
    CompareResult c = compareOutputs(*outZ, *outD, 1e-4, atol);
    r.maxAbsErr = std::max(r.maxAbsErr, c.maxAbsErr);
    r.atol = std::max(r.atol, atol);
    if (!c.match)
      return createStringError(
          inconvertibleErrorCode(),
          "zeroed != dropped (seed %u): output '%s' element %lld: zeroed %g, "
          "dropped %g (%s; max abs err %g, atol %g)",
          k, c.outputName.c_str(), (long long)c.elementIndex, c.expected,
          c.actual, c.reason.c_str(), c.maxAbsErr, atol);
    r.effect = std::max(r.effect,
                        compareOutputs(ref.outputs[k], *outD, 0, 0).maxAbsErr);
  }
  return r;
}

// ---- The fixture ------------------------------------------------------------

class DepthProperty : public ::testing::TestWithParam<DepthModel> {
protected:
  void SetUp() override {
    const DepthModel &dm = GetParam();
    // A missing model is a failure, never a skip.
    ASSERT_TRUE(sys::fs::exists(dm.path)) << "model file missing: " << dm.path;
  }
  Expected<std::unique_ptr<Model>> read() const {
    auto m = readModelFile(GetParam().path);
    if (m)
      fillTypes(**m);
    return m;
  }
};

std::string printUnits(const ResidualUnits &units, const Model &m) {
  std::string s;
  raw_string_ostream os(s);
  units.print(os, m);
  return os.str();
}

TEST_P(DepthProperty, UnitFloor) {
  const DepthModel &dm = GetParam();
  auto m = read();
  ASSERT_TRUE(!!m) << toString(m.takeError());
  ResidualUnits units = findResidualUnits(**m);
  unsigned counts[3] = {0, 0, 0}, droppable = 0;
  for (const ResidualUnit &u : units.units) {
    ++counts[unsigned(u.kind)];
    if (!u.droppable())
      continue;
    ++droppable;
    EXPECT_FALSE(zeroOperandsOf(units, u).empty())
        << dm.name << ": droppable unit '" << u.id << "' has no zero operands";
  }
  const UnitFloor &f = dm.floor;
  if (f.none) {
    EXPECT_EQ(units.units.size(), 0u)
        << dm.name << " has no residual connection:\n"
        << printUnits(units, **m);
    return;
  }
  EXPECT_GE(counts[unsigned(DepthKind::Attention)], f.attn)
      << printUnits(units, **m);
  EXPECT_GE(counts[unsigned(DepthKind::Mlp)], f.mlp) << printUnits(units, **m);
  EXPECT_GE(counts[unsigned(DepthKind::Block)], f.block)
      << printUnits(units, **m);
  EXPECT_GE(droppable, f.droppable) << printUnits(units, **m);
}

TEST_P(DepthProperty, DroppedEqualsZeroed) {
  const DepthModel &dm = GetParam();
  auto orig = read();
  ASSERT_TRUE(!!orig) << toString(orig.takeError());
  const ResidualUnits units = findResidualUnits(**orig);
  const uint64_t paramsBefore = computeStats(**orig).numParams;
  const std::vector<std::string> inputsBefore =
      test::describeIO((*orig)->getGraph().getInputs());
  const std::vector<std::string> outputsBefore =
      test::describeIO((*orig)->getGraph().getOutputs());

  auto ref = runOriginal(**orig, dm);
  ASSERT_TRUE(!!ref) << toString(ref.takeError());

  unsigned droppable = 0;
  double maxAbs = 0, maxAtol = 0;
  for (const ResidualUnit &u : units.units) {
    if (!u.droppable())
      continue;
    ++droppable;
    SCOPED_TRACE(dm.name + ": unit " + depthKindName(u.kind).str() + " '" +
                 u.id + "'");
    std::vector<ZeroOperand> zeros = zeroOperandsOf(units, u);
    if (zeros.empty()) {
      ADD_FAILURE() << "no zero operands";
      continue;
    }

    // Dropped: the unit's Adds rewired to the stream, then dce.
    auto dropped = read();
    ASSERT_TRUE(!!dropped) << toString(dropped.takeError());
    if (Error e = dropResidualUnit(**dropped, units, u)) {
      ADD_FAILURE() << "drop failed: " << toString(std::move(e));
      continue;
    }
    {
      ModelAnalysisManager mam;
      auto pa = DCEPass().run(**dropped, mam);
      ASSERT_TRUE(!!pa) << "dce failed: " << toString(pa.takeError());
    }
    if (Error e = verifyModelStructure(**dropped)) {
      ADD_FAILURE() << "dropped model fails the IR verifier: "
                    << toString(std::move(e));
      continue;
    }
    CheckReport report;
    if (Error e = runOnnxChecker(**dropped, report)) {
      ADD_FAILURE() << "dropped model fails the onnx checker: "
                    << toString(std::move(e));
      continue;
    }
    EXPECT_EQ(test::describeIO((*dropped)->getGraph().getInputs()),
              inputsBefore);
    EXPECT_EQ(test::describeIO((*dropped)->getGraph().getOutputs()),
              outputsBefore);
    const uint64_t paramsAfter = computeStats(**dropped).numParams;
    EXPECT_GT(u.params, 0u);
    EXPECT_EQ(paramsBefore - paramsAfter, u.params)
        << "parameters " << paramsBefore << " -> " << paramsAfter;

    // Zeroed: the unit's zero operands at 0, for their readers only.
    auto zeroed = read();
    ASSERT_TRUE(!!zeroed) << toString(zeroed.takeError());
    if (Error e = zeroOperands(**zeroed, zeros)) {
      ADD_FAILURE() << "zeroing failed: " << toString(std::move(e));
      continue;
    }

    auto c = compareRuns(**zeroed, **dropped, *ref);
    if (!c) {
      ADD_FAILURE() << toString(c.takeError());
      continue;
    }
    // Not vacuous: the unit changes the outputs (random weights), so
    // zeroed == dropped says something.
    EXPECT_GT(c->effect, c->atol)
        << "dropping the unit does not change the outputs";
    maxAbs = std::max(maxAbs, c->maxAbsErr);
    maxAtol = std::max(maxAtol, c->atol);
  }
  outs() << "depth-result: " << dm.name << " units=" << units.units.size()
         << " droppable=" << droppable
         << " max-abs-err=" << format("%.3g", maxAbs)
         << " atol=" << format("%.3g", maxAtol) << "\n";
  outs().flush();
}

INSTANTIATE_TEST_SUITE_P(Depth, DepthProperty, ::testing::ValuesIn(allModels()),
                         [](const ::testing::TestParamInfo<DepthModel> &info) {
                           return info.param.name;
                         });

} // namespace
} // namespace onnxprune
