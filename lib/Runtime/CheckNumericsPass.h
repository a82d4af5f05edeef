//===- CheckNumericsPass.h - Compare the model with the original -*- C++
//-*-===//
///
/// \file
/// `check-numerics<samples=N;rtol=R;atol=A;seed=S;inputs=PATH>` runs the
/// original model (the file the tool read, `Model::sourcePath`) and the
/// current model in ONNX Runtime on N seeded random input sets and compares
/// every output element-wise: |cur - orig| <= atol + rtol * |orig|. It
/// changes nothing and preserves every analysis; when outputs differ it
/// fails with the output, the sample and the first differing element.
///
/// Parameters (all optional):
///   samples  input sets to try (default 2, at least 1)
///   rtol     relative tolerance (default 1e-4)
///   atol     absolute tolerance (default 1e-5)
///   seed     seed of the random inputs (default 0); sample k uses a seed
///            derived from (seed, k)
///   inputs   an ONNX model file (binary or text) whose main-graph
///            initializers give fixed values for graph inputs of the same
///            name (e.g. shape or mask inputs that random data would break);
///            the other inputs stay random. Their shapes also fix the
///            symbolic dims they carry.
///
/// Random shapes: a non-static dim is 1 at axis 0 and 8 elsewhere (one value
/// per symbol name); floats are uniform in [-1, 1), integers in [0, 4), bools
/// 0/1.
///
/// Output on stderr (or the stream given to the constructor), two lines:
///
///   check-numerics: PASS: 2 samples, 1 output
///   check-numerics: max abs err 1.19e-07, max rel err 2.4e-06 (rtol=0.0001,
///   atol=1e-05)
///
/// The first line is stable (for lit CHECK lines); on failure it reads
/// `check-numerics: FAIL: output 'NAME', sample K` and the pass returns the
/// error.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_RUNTIME_CHECKNUMERICSPASS_H
#define ONNXPRUNE_RUNTIME_CHECKNUMERICSPASS_H

#include "passes/PassManager.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <string>

namespace onnxprune {

/// The parameters of check-numerics (see the file comment).
struct CheckNumericsOptions {
  unsigned samples = 2;
  double rtol = 1e-4;
  double atol = 1e-5;
  uint64_t seed = 0;
  std::string inputsPath;
  /// Report how far the outputs moved instead of failing (after pruning,
  /// outputs are expected to move; the model must still load and run with
  /// the same inputs and outputs).
  bool report = false;
  /// Size given to dynamic dims other than the first (batch, which is 1):
  /// e.g. 32 for detectors whose feature maps halve five times.
  unsigned dim = 8;

  /// Parses the text between `check-numerics<` and `>` ("" for defaults).
  static llvm::Expected<CheckNumericsOptions> parse(llvm::StringRef params);
};

/// The registry's PARSE_FN (passes/Pipeline/PassRegistry.def).
inline llvm::Expected<CheckNumericsOptions>
parseCheckNumericsOptions(llvm::StringRef params) {
  return CheckNumericsOptions::parse(params);
}

class CheckNumericsPass {
public:
  using Options = CheckNumericsOptions;

  CheckNumericsPass() = default;
  /// \p log receives the summary lines (not owned; null means llvm::errs()).
  explicit CheckNumericsPass(Options opts, llvm::raw_ostream *log = nullptr)
      : opts(std::move(opts)), log(log) {}

  static llvm::StringRef name() { return "check-numerics"; }
  llvm::Expected<PreservedAnalyses> run(Model &m, ModelAnalysisManager &am);
  /// `check-numerics<samples=2;rtol=0.0001;atol=1e-05;seed=0>` (inputs= only
  /// when set).
  void printPipeline(llvm::raw_ostream &os) const;

  const Options &getOptions() const { return opts; }

private:
  Options opts;
  llvm::raw_ostream *log = nullptr;
};

} // namespace onnxprune

#endif // ONNXPRUNE_RUNTIME_CHECKNUMERICSPASS_H
