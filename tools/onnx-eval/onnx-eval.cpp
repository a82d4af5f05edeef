//===- onnx-eval.cpp - Accuracy and perplexity of a model in ORT ----------===//
///
/// \file
/// A small utility beside onnx-prune: how good is a (pruned) model on
/// labelled data? It runs the model in ONNX Runtime over the samples of a
/// data file (the formats --calibration reads) and prints one line:
///
///   onnx-eval model.onnx --data=eval.npz --metric=accuracy
///     the data holds the model's inputs and `labels` (int64 [N]); output 0
///     is [N, classes]: "accuracy 0.9123 (9123/10000)"
///   onnx-eval lm.onnx --data=text.npz --metric=perplexity
///     the data holds the token input ([N, T+1] int64: the model reads the
///     first T, the last T are the targets); output 0 is [N, T, vocab]:
///     "perplexity 4.7300 (nll 1.5539 over 4096 tokens)"
///
/// docs/quality.md and test/bench/quality.sh use it to measure criteria.
///
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ModelReader.h"
#include "lib/Runtime/CalibrationData.h"
#include "lib/Runtime/OrtCalibration.h"
#include "lib/Runtime/OrtSession.h"
#include "lib/Support/Error.h"
#include "passes/OpHandlers/ShapeInference.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

using namespace llvm;
using namespace onnxprune;

namespace {

cl::OptionCategory evalCategory("onnx-eval options");

cl::opt<std::string> modelPath(cl::Positional, cl::desc("<model.onnx>"),
                               cl::Required, cl::cat(evalCategory));
cl::opt<std::string> dataPath("data", cl::desc("Samples (.npz, .npy, folder)"),
                              cl::Required, cl::cat(evalCategory));
cl::opt<std::string> metric("metric", cl::desc("accuracy | perplexity"),
                            cl::init("accuracy"), cl::cat(evalCategory));
cl::opt<std::string> labelsName("labels",
                                cl::desc("Array of int64 labels (accuracy)"),
                                cl::init("labels"), cl::cat(evalCategory));
cl::opt<int64_t> batchSize("batch", cl::desc("Samples per run"), cl::init(64),
                           cl::cat(evalCategory));
cl::opt<int64_t> maxSamples("samples", cl::desc("Use the first N (0: all)"),
                            cl::init(0), cl::cat(evalCategory));
cl::opt<int> threads("ort-threads", cl::desc("ONNX Runtime intra-op threads"),
                     cl::init(1), cl::cat(evalCategory));

int fail(Error e) {
  errs() << "onnx-eval: error: " << toString(std::move(e)) << "\n";
  return 1;
}

/// Runs every batch: \p fn gets the data's tensors and the model's output 0.
Error forEachBatch(
    OrtSession &session, const CalibrationData &data,
    llvm::function_ref<std::vector<NamedTensor>(std::vector<NamedTensor> &)>
        feedsOf,
    llvm::function_ref<Error(ArrayRef<NamedTensor>, const HostTensor &)> fn) {
  int64_t n = data.getNumSamples();
  int64_t b = data.getFixedBatch() ? data.getFixedBatch() : batchSize;
  for (int64_t begin = 0; begin < n; begin += b) {
    auto batch = data.getBatch(begin, std::min(n, begin + b));
    if (!batch)
      return batch.takeError();
    std::vector<NamedTensor> feeds = feedsOf(*batch);
    auto outs = session.run(feeds);
    if (!outs)
      return outs.takeError();
    if (Error e = fn(*batch, (*outs)[0].tensor))
      return e;
  }
  return Error::success();
}

int run() {
  auto model = readModelFile(modelPath);
  if (!model)
    return fail(model.takeError());
  fillTypes(**model);
  std::vector<TensorInfo> inputs = describeModelInputs(**model);
  RuntimeOptions ro;
  ro.intraOpThreads = threads;
  auto session = OrtSession::createFromFile(modelPath, ro);
  if (!session)
    return fail(session.takeError());

  if (metric == "accuracy") {
    TensorInfo labels;
    labels.name = labelsName;
    labels.dtype = DataType::Int64;
    labels.shape = {-1};
    labels.symbolicDims = {""};
    std::vector<TensorInfo> all = inputs;
    all.push_back(labels);
    auto data = CalibrationData::open(dataPath, all);
    if (!data)
      return fail(data.takeError());
    if (maxSamples > 0)
      data->limitSamples(maxSamples);
    int64_t correct = 0, total = 0;
    Error e = forEachBatch(
        **session, *data,
        [&](std::vector<NamedTensor> &batch) {
          return std::vector<NamedTensor>(batch.begin(), batch.end() - 1);
        },
        [&](ArrayRef<NamedTensor> batch, const HostTensor &logits) -> Error {
          const HostTensor &y = batch.back().tensor;
          int64_t rows = y.getNumElements();
          if (logits.shape.size() != 2 || logits.shape[0] != rows)
            return makeError("output 0 is " + logits.describe() +
                             ", not [samples, classes]");
          int64_t classes = logits.shape[1];
          for (int64_t r = 0; r < rows; ++r) {
            int64_t best = 0;
            for (int64_t c = 1; c < classes; ++c)
              if (logits.getAsDouble(r * classes + c) >
                  logits.getAsDouble(r * classes + best))
                best = c;
            correct += best == y.getAsInt64(r);
            ++total;
          }
          return Error::success();
        });
    if (e)
      return fail(std::move(e));
    outs() << format("accuracy %.4f (%lld/%lld)\n",
                     total ? double(correct) / total : 0.0, (long long)correct,
                     (long long)total);
    return 0;
  }
  if (metric == "perplexity") {
    if (inputs.size() != 1 || inputs[0].shape.size() != 2)
      return fail(makeError("perplexity needs a model with one [N, T] token "
                            "input"));
    auto data = CalibrationData::open(dataPath, inputs);
    if (!data)
      return fail(data.takeError());
    if (maxSamples > 0)
      data->limitSamples(maxSamples);
    double nll = 0;
    int64_t tokens = 0;
    Error e = forEachBatch(
        **session, *data,
        [&](std::vector<NamedTensor> &batch) {
          // ids[:, :-1] is the input; ids[:, 1:] the targets.
          HostTensor &ids = batch[0].tensor;
          int64_t n = ids.shape[0], t = ids.shape[1] - 1;
          std::vector<int64_t> in;
          for (int64_t r = 0; r < n; ++r)
            for (int64_t c = 0; c < t; ++c)
              in.push_back(ids.getAsInt64(r * (t + 1) + c));
          return std::vector<NamedTensor>{
              {batch[0].name, HostTensor::fromInt64s({n, t}, in)}};
        },
        [&](ArrayRef<NamedTensor> batch, const HostTensor &logits) -> Error {
          const HostTensor &ids = batch[0].tensor;
          int64_t n = ids.shape[0], t = ids.shape[1] - 1;
          if (logits.shape.size() != 3 || logits.shape[0] != n ||
              logits.shape[1] != t)
            return makeError("output 0 is " + logits.describe() +
                             ", not [samples, tokens, vocab]");
          int64_t v = logits.shape[2];
          for (int64_t r = 0; r < n; ++r)
            for (int64_t c = 0; c < t; ++c) {
              int64_t base = (r * t + c) * v;
              double mx = -INFINITY;
              for (int64_t k = 0; k < v; ++k)
                mx = std::max(mx, logits.getAsDouble(base + k));
              double sum = 0;
              for (int64_t k = 0; k < v; ++k)
                sum += std::exp(logits.getAsDouble(base + k) - mx);
              int64_t target = ids.getAsInt64(r * (t + 1) + c + 1);
              if (target < 0 || target >= v)
                return makeError("target token " + Twine(target) +
                                 " is outside the vocabulary");
              nll += mx + std::log(sum) - logits.getAsDouble(base + target);
              ++tokens;
            }
          return Error::success();
        });
    if (e)
      return fail(std::move(e));
    double mean = tokens ? nll / tokens : 0;
    outs() << format("perplexity %.4f (nll %.4f over %lld tokens)\n",
                     std::exp(mean), mean, (long long)tokens);
    return 0;
  }
  return fail(
      makeError("unknown metric '" + metric + "' (accuracy, perplexity)"));
}

} // namespace

int main(int argc, char **argv) {
  cl::HideUnrelatedOptions(evalCategory);
  cl::ParseCommandLineOptions(argc, argv,
                              "onnx-eval: accuracy or perplexity of an ONNX "
                              "model in ONNX Runtime\n");
  return run();
}
