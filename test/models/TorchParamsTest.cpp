//===- TorchParamsTest.cpp - Parameter counts against torch's own --------===//
///
/// \file
/// "Parameters are what the framework counts" (DESIGN.md): onnx-prune's
/// parameter count of every torch-exported test model must equal
/// `sum(p.numel() for p in model.parameters())` of the module it came
/// from, or differ by an amount stated and asserted here with its reason.
///
///   ZooCounts      test/models/zoo: torch_params.json (gen_zoo.py) holds
///                  torch's count and the channels of the BatchNorms the
///                  exporter folded into a Conv (2C in torch, the Conv's C
///                  bias in the file); the count must be exactly
///                  torch_params - folded_bn_channels.
///   HuggingFace    test/models/hf/manifest.json, when present (skipped
///                  otherwise): every entry's `torch_params`, exactly, or
///                  plus the known difference of its (model, exporter)
///                  computed from its config (knownDifference below).
///   MaskBufferDoesNotMoveTheBudget
///                  the regression: a small Llama whose causal-mask and
///                  RoPE buffers are enlarged to 1024 positions (a 1024 x
///                  1024 mask alone is 30x the model) still counts torch's
///                  parameters, and prune-width<ratio=0.3> removes 30% of
///                  them (not 78% of the MLPs), with the same plan as
///                  without the large buffers.
///
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ModelReader.h"
#include "lib/IR/Tensor.h"
#include "passes/Analysis/DepGraph.h"
#include "passes/Analysis/StatsAnalysis.h"
#include "passes/OpHandlers/ShapeInference.h"
#include "passes/Transforms/PruneWidthPass.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <set>
#include <string>
#include <vector>

using namespace llvm;

namespace onnxprune {
namespace {

/// The entries of a manifest: a JSON array of objects with at least `file`
/// and `torch_params`.
Expected<json::Array> readManifest(StringRef path) {
  auto buf = MemoryBuffer::getFile(path);
  if (!buf)
    return createStringError(buf.getError(), "cannot read %s",
                             path.str().c_str());
  auto v = json::parse((*buf)->getBuffer());
  if (!v)
    return v.takeError();
  json::Array *a = v->getAsArray();
  if (!a)
    return createStringError(inconvertibleErrorCode(), "%s: not an array",
                             path.str().c_str());
  return std::move(*a);
}

/// Parameters of the model file at \p path, as print<stats> counts them.
Expected<ModelStats> statsOf(StringRef path) {
  auto m = readModelFile(path);
  if (!m)
    return m.takeError();
  fillTypes(**m);
  return computeStats(**m);
}

int64_t intOf(const json::Object &o, StringRef key) {
  return o.getInteger(key).getValueOr(-1);
}

// ---- The zoo --------------------------------------------------------------

TEST(TorchParamsTest, ZooCounts) {
  std::string dir = ONNXPRUNE_ZOO_DIR;
  auto entries = readManifest(dir + "/torch_params.json");
  ASSERT_TRUE(!!entries) << toString(entries.takeError())
                         << " (regenerate: gen_zoo.py --params)";
  std::set<std::string> listed;
  for (const json::Value &e : *entries) {
    const json::Object *o = e.getAsObject();
    ASSERT_TRUE(o);
    std::string file = o->getString("file").getValueOr("").str();
    int64_t torch = intOf(*o, "torch_params");
    int64_t folded = intOf(*o, "folded_bn_channels");
    ASSERT_TRUE(!file.empty() && torch > 0 && folded >= 0) << file;
    listed.insert(file);
    auto s = statsOf(dir + "/" + file);
    ASSERT_TRUE(!!s) << file << ": " << toString(s.takeError());
    // Each folded BatchNorm: its weight and bias (2C) are the Conv's bias
    // (C) in the file.
    EXPECT_EQ(int64_t(s->numParams), torch - folded)
        << file << ": torch counts " << torch << ", folded BN channels "
        << folded;
  }
  // Every model of the zoo has its count.
  std::error_code ec;
  for (sys::fs::directory_iterator it(dir, ec), end; it != end && !ec;
       it.increment(ec))
    if (StringRef(it->path()).endswith(".onnx"))
      EXPECT_TRUE(listed.count(sys::path::filename(it->path()).str()))
          << it->path() << " has no entry in torch_params.json";
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(listed.size(), 30u);
}

// ---- Quantized models -----------------------------------------------------

/// Parameters of a quantized model are the quantized values (one per
/// weight of the float model, however packed), not its scales and zero
/// points: every model of test/models/quant (gen_quant.py) counts exactly
/// what the float model it was quantized from counts (a zoo model, or the
/// float twin gen_quant.py writes to quant/float/).
TEST(TorchParamsTest, QuantizedCountsAsFloat) {
  std::string quant = ONNXPRUNE_QUANT_DIR, zoo = ONNXPRUNE_ZOO_DIR;
  const std::pair<const char *, std::string> pairs[] = {
      {"resnet18_qdq_tensor", zoo + "/resnet18_op13.onnx"},
      {"mobilenet_v2_qdq_channel", zoo + "/mobilenet_v2_op13.onnx"},
      {"bert_encoder_qdq_channel", zoo + "/bert_encoder_op13.onnx"},
      {"resnet18_dynamic", zoo + "/resnet18_op13.onnx"},
      {"bert_encoder_dynamic", zoo + "/bert_encoder_op13.onnx"},
      {"resnet18_qlinear", zoo + "/resnet18_op13.onnx"},
      {"mlp_nbits", quant + "/float/mlp_nbits.onnx"},
      {"qlinear_cnn", quant + "/float/qlinear_cnn.onnx"},
      {"dynamic_matmul_mlp", quant + "/float/dynamic_matmul_mlp.onnx"},
      {"gather_block_embed", quant + "/float/gather_block_embed.onnx"},
  };
  std::set<std::string> listed;
  for (const auto &[name, floatPath] : pairs) {
    listed.insert(std::string(name) + ".onnx");
    auto q = statsOf(quant + "/" + name + ".onnx");
    ASSERT_TRUE(!!q) << name << ": " << toString(q.takeError());
    auto f = statsOf(floatPath);
    ASSERT_TRUE(!!f) << floatPath << ": " << toString(f.takeError());
    EXPECT_GT(f->numParams, 0u) << floatPath;
    EXPECT_EQ(q->numParams, f->numParams) << name << " vs " << floatPath;
  }
  // Every quantized model has its float counterpart here.
  std::error_code ec;
  for (sys::fs::directory_iterator it(quant, ec), end; it != end && !ec;
       it.increment(ec))
    if (StringRef(it->path()).endswith(".onnx"))
      EXPECT_TRUE(listed.count(sys::path::filename(it->path()).str()))
          << it->path() << " has no float counterpart in this test";
  EXPECT_FALSE(ec) << ec.message();
}

// ---- Hugging Face exports -------------------------------------------------

/// What a file cannot show of what torch counts, or shows twice, for a
/// model family and exporter: (tool count) - (torch count), from the
/// config, with the reason. Every other entry must match exactly.
struct KnownDifference {
  const char *model;
  const char *exporter; ///< "legacy" matches legacy_op14, legacy_op17.
  const char *reason;
  int64_t (*delta)(const json::Object &config);
};

int64_t cfg(const json::Object &c, StringRef key) {
  return c.getInteger(key).getValueOr(0);
}

const KnownDifference kKnownDifferences[] = {
    {"gpt2", "legacy",
     "the TorchScript exporter constant-folds MatMul(x, Transpose(wte)) of "
     "the tied LM head into a second, transposed copy of the embedding",
     [](const json::Object &c) {
       return cfg(c, "vocab_size") * cfg(c, "n_embd");
     }},
    {"gpt2", "dynamo",
     "dynamo drops the all-zero Conv1D biases (addmm with a zero bias "
     "becomes Gemm without C): c_attn 3h, attn c_proj h, c_fc 4h, mlp "
     "c_proj h per layer",
     [](const json::Object &c) {
       return -cfg(c, "n_layer") * 9 * cfg(c, "n_embd");
     }},
    {"gpt_neox", "dynamo",
     "dynamo merges the two LayerNorms of the parallel residual (same "
     "input, weights all one, biases all zero) into one node: "
     "post_attention_layernorm's weight and bias are gone",
     [](const json::Object &c) {
       return -cfg(c, "num_hidden_layers") * 2 * cfg(c, "hidden_size");
     }},
    {"bert", "dynamo",
     "dynamo drops the pooler's all-zero bias (addmm with a zero bias)",
     [](const json::Object &c) { return -cfg(c, "hidden_size"); }},
    {"vit", "dynamo",
     "dynamo drops the all-zero biases of the patch Conv and the "
     "classifier",
     [](const json::Object &c) {
       return -cfg(c, "hidden_size") - cfg(c, "num_labels");
     }},
    {"whisper_encoder", "dynamo",
     "dynamo drops the all-zero biases of conv1 and conv2",
     [](const json::Object &c) { return -2 * cfg(c, "d_model"); }},
};

const KnownDifference *knownDifference(StringRef model, StringRef exporter) {
  for (const KnownDifference &k : kKnownDifferences)
    if (model == k.model &&
        (exporter == k.exporter ||
         (StringRef(k.exporter) == "legacy" && exporter.startswith("legacy"))))
      return &k;
  return nullptr;
}

TEST(TorchParamsTest, HuggingFace) {
  std::string dir = ONNXPRUNE_HF_DIR;
  std::string manifest = dir + "/manifest.json";
  // The exports are checked in (test/models/hf): missing is a failure.
  ASSERT_TRUE(sys::fs::exists(manifest)) << manifest << " is missing";
  auto entries = readManifest(manifest);
  ASSERT_TRUE(!!entries) << toString(entries.takeError());
  ASSERT_FALSE(entries->empty());
  for (const json::Value &e : *entries) {
    const json::Object *o = e.getAsObject();
    ASSERT_TRUE(o);
    std::string file = o->getString("file").getValueOr("").str();
    int64_t torch = intOf(*o, "torch_params");
    ASSERT_TRUE(!file.empty() && torch > 0) << file;
    StringRef model = o->getString("model").getValueOr("");
    StringRef exporter = o->getString("exporter").getValueOr("");
    static const json::Object noConfig;
    const json::Object *config = o->getObject("config");
    const KnownDifference *k = knownDifference(model, exporter);
    int64_t delta = k ? k->delta(config ? *config : noConfig) : 0;
    auto s = statsOf(dir + "/" + file);
    ASSERT_TRUE(!!s) << file << ": " << toString(s.takeError());
    EXPECT_EQ(int64_t(s->numParams), torch + delta)
        << file << ": torch counts " << torch
        << (k ? std::string(", expected difference ") + std::to_string(delta) +
                    " because " + k->reason
              : std::string());
  }
}

// ---- A large mask buffer does not move the budget --------------------------

/// Replaces float buffer \p v by a [1, 1, rows, cols] one holding
/// \p value(row, col), and its value's type.
void setBuffer(Value &v, int64_t rows, int64_t cols,
               function_ref<float(int64_t, int64_t)> value) {
  std::vector<float> data(rows * cols);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      data[r * cols + c] = value(r, c);
  std::string bytes(data.size() * sizeof(float), '\0');
  std::memcpy(bytes.data(), data.data(), bytes.size());
  v.getWeight()->setData({1, 1, rows, cols}, std::move(bytes));
  v.setType(Type::tensor(DataType::Float, Shape{Dim::of(1), Dim::of(1),
                                                Dim::of(rows), Dim::of(cols)}));
}

/// The zoo Llama (2 layers, hidden 32, torch: 31392 parameters) with its
/// causal mask [1,1,64,64] and cos/sin caches [1,1,64,8] enlarged to
/// \p positions, as a model with max_position_embeddings = positions
/// exports them.
Expected<std::unique_ptr<Model>> llamaWithBuffers(int64_t positions) {
  auto m = readModelFile(std::string(ONNXPRUNE_ZOO_DIR) +
                         "/llama_decoder_op17.onnx");
  if (!m)
    return m.takeError();
  fillTypes(**m);
  if (positions == 64)
    return m;
  const float inf = std::numeric_limits<float>::infinity();
  unsigned mask = 0, tables = 0;
  // Initializers or lifted Constants, depending on the exporter's folding.
  for (Value *v : (*m)->getGraph().getValues()) {
    if (!v->isWeight())
      continue;
    ArrayRef<int64_t> dims = v->getWeight()->getDims();
    if (dims.size() != 4 || dims[2] != 64)
      continue;
    if (dims[3] == 64) { // triu(-inf, 1)
      setBuffer(*v, positions, positions,
                [&](int64_t p, int64_t j) { return j > p ? -inf : 0.0f; });
      ++mask;
    } else if (dims[3] == 8) { // cos or sin of pos * inv_freq, head dim 8
      auto old = readAsDoubles(*v->getWeight());
      if (!old)
        return old.takeError();
      bool isCos = (*old)[0] == 1.0; // position 0: cos 1, sin 0
      setBuffer(*v, positions, 8, [&](int64_t p, int64_t j) {
        double f = p * std::pow(10000.0, -double(2 * (j % 4)) / 8);
        return float(isCos ? std::cos(f) : std::sin(f));
      });
      ++tables;
    }
  }
  if (mask != 1 || tables != 2)
    return createStringError(inconvertibleErrorCode(),
                             "llama_decoder_op17: expected one mask and two "
                             "RoPE tables of 64 positions, found %u and %u",
                             mask, tables);
  return m;
}

TEST(TorchParamsTest, MaskBufferDoesNotMoveTheBudget) {
  const int64_t torchParams = 31392; // torch_params.json, llama_decoder
  auto small = llamaWithBuffers(64);
  auto large = llamaWithBuffers(1024);
  ASSERT_TRUE(!!small) << toString(small.takeError());
  ASSERT_TRUE(!!large) << toString(large.takeError());

  ModelStats before = computeStats(**large);
  EXPECT_EQ(int64_t(before.numParams), torchParams);
  // The mask alone is 1024 x 1024; with cos and sin, 1,064,960 buffer
  // elements (plus the model's scalars and shape constants).
  EXPECT_GE(before.numBufferElements, 1024u * 1024 + 2 * 1024 * 8);

  // The same plan with 64 or 1024 positions of buffers.
  auto opts = parsePruneWidthOptions("ratio=0.3");
  ASSERT_TRUE(!!opts) << toString(opts.takeError());
  std::string plans[2];
  size_t removedUnits[2] = {0, 0};
  for (int i = 0; i < 2; ++i) {
    Model &m = i ? **large : **small;
    auto dg = buildDepGraph(m);
    ASSERT_TRUE(!!dg) << toString(dg.takeError());
    std::string log;
    raw_string_ostream os(log);
    auto plan = computePrunePlan(m, *dg, *opts, os);
    ASSERT_TRUE(!!plan) << toString(plan.takeError());
    EXPECT_EQ(os.str(), "") << "no budget warning expected";
    plans[i] = plan->toJSON();
    removedUnits[i] = plan->numRemoved();
  }
  EXPECT_TRUE(plans[1] == plans[0])
      << "the plans differ: " << removedUnits[0] << " units with 64 "
      << "positions, " << removedUnits[1] << " with 1024";

  // Run it: 30% of torch's parameters go, and not much more (the global
  // ranking stops at the first unit past the target; a unit here is an MLP
  // channel of 96 parameters or a KV head group of 1536).
  std::string log;
  raw_string_ostream os(log);
  ModelAnalysisManager am;
  PruneWidthPass pass(*opts, &os);
  auto pa = pass.run(**large, am);
  ASSERT_TRUE(!!pa) << toString(pa.takeError());
  ModelStats after = computeStats(**large);
  double removed = double(before.numParams - after.numParams) / torchParams;
  EXPECT_GE(removed, 0.30) << os.str();
  EXPECT_LT(removed, 0.30 + 1536.0 / torchParams) << os.str();
  // The buffers are still there, whole.
  EXPECT_EQ(after.numBufferElements, before.numBufferElements) << os.str();
}

} // namespace
} // namespace onnxprune
