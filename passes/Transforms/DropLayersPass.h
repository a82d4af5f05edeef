//===- DropLayersPass.h - Depth pruning: remove residual units --*- C++ -*-===//
///
/// \file
/// `drop-layers`: scores the residual units of the model (ResidualUnits.h:
/// attention and MLP sub-layers, transformer layers, conv blocks) with a
/// depth criterion, drops the lowest under a budget and cleans up with dce.
/// Dropping a unit rewires its Add to the stream:
///
/// \code
///   before:                            after:
///     h = Add(x, Attn(Norm(x)))          (h's readers read x; the Add and
///     y = Add(h, Mlp(Norm(h)))            the attention branch are gone)
///                                        y = Add(x, Mlp(Norm(x)))
/// \endcode
///
/// which equals, exactly, the original with the branch's output zeroed
/// (its last projection and bias at 0). A post-norm layout (BERT) keeps the
/// norm: `LayerNorm(x + f(x))` becomes `LayerNorm(x)`, exact against the
/// zeroed branch too, but the norm then renormalises a normalised stream;
/// print<residual-units> says so. An Add whose output is a graph output
/// becomes Identity(x), so outputs keep their names.
///
/// Parameters (defaults first):
///   criterion=similarity|finercut|magnitude|random  (Criteria.def; each
///                  reads its own keys: finercut distance, output...)
///   budget, exactly one of:
///     count=N      drop N units
///     ratio=R      drop units until at most (1 - R) of the parameters of
///                  the model the pipeline started from remain (counted as
///                  the framework counts them; units are whole, so a little
///                  more may go); nothing when earlier passes already did it
///   kind=any|attn|mlp|block  candidates: any (default) = every sub-layer
///                  (attention, MLP) and conv block; block = whole
///                  transformer layers (attention + MLP), parallel layers
///                  and conv blocks
///   protect=REGEX  units whose id, nodes or weights match (searched) stay
///   plan-out=PATH  write the plan (JSON): the dropped units by id
///   plan-in=PATH   drop the units a saved plan lists instead of scoring
///
/// Prints one line per dropped unit and a summary to the log (stderr).
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_PASSES_TRANSFORMS_DROPLAYERSPASS_H
#define ONNXPRUNE_PASSES_TRANSFORMS_DROPLAYERSPASS_H

#include "passes/Analysis/ResidualUnits.h"
#include "passes/Criteria/Criterion.h"
#include "passes/PassManager.h"

#include <optional>
#include <string>
#include <vector>

namespace onnxprune {

/// Which residual units drop-layers may drop.
enum class DepthFilter : uint8_t { Any, Attention, Mlp, Block };

struct DropLayersOptions {
  std::string criterion = "similarity";
  CriterionOptions criterionOptions;
  /// The criterion's own keys, as parameter text (to configure it again).
  std::string criterionParams;
  enum class Budget : uint8_t { None, Count, Ratio };
  Budget budget = Budget::None;
  unsigned count = 0;
  double ratio = 0;
  DepthFilter kind = DepthFilter::Any;
  std::string protect;
  std::string planOut;
  std::string planIn;

  /// Parses the text between `drop-layers<` and `>`.
  static llvm::Expected<DropLayersOptions> parse(llvm::StringRef params);
  /// A configured instance of the criterion.
  llvm::Expected<std::unique_ptr<Criterion>> makeCriterion() const;
};

/// The registry's PARSE_FN (passes/Pipeline/PassRegistry.def).
inline llvm::Expected<DropLayersOptions>
parseDropLayersOptions(llvm::StringRef params) {
  return DropLayersOptions::parse(params);
}

/// Drops the sub-layers of unit \p u of \p units (its parts, for a
/// two-part block) from \p m: each Add rewired to its stream. No dce.
/// Fails, naming the unit, when its Add is not where \p units says.
llvm::Error dropResidualUnit(Model &m, const ResidualUnits &units,
                             const ResidualUnit &u);

class DropLayersPass {
public:
  using Options = DropLayersOptions;
  /// \p log receives the report (not owned; null means llvm::errs()).
  explicit DropLayersPass(Options opts, llvm::raw_ostream *log = nullptr)
      : opts(std::move(opts)), log(log) {}

  static llvm::StringRef name() { return "drop-layers"; }
  llvm::Expected<PreservedAnalyses> run(Model &m, ModelAnalysisManager &am);
  void printPipeline(llvm::raw_ostream &os) const;

private:
  Options opts;
  llvm::raw_ostream *log = nullptr;
};

} // namespace onnxprune

#endif // ONNXPRUNE_PASSES_TRANSFORMS_DROPLAYERSPASS_H
