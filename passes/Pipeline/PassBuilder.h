//===- PassBuilder.h - Build pipelines from text ----------------*- C++ -*-===//
///
/// \file
/// Parses pipeline text in LLVM's grammar into a ModelPassManager and
/// registers the analyses, all from PassRegistry.def:
///
/// \code
///   pipeline ::= element (',' element)*
///   element  ::= name | name '<' params '>'
///   params   ::= any text with balanced '<' '>'   (a pass reads it with
///                PassParams: "k=v;flag;k2=v2")
/// \endcode
///
/// Analyses are used as `print<NAME>` (print the result), `require<NAME>`
/// (compute and cache) and `invalidate<NAME>` (drop the cached result).
/// Errors are one line: unknown names get a "did you mean" from the
/// registry; syntax errors quote the pipeline and give a 1-based column.
/// ModelPassManager::printPipeline() prints text this parser reads back to
/// the same pipeline.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_PASSES_PIPELINE_PASSBUILDER_H
#define ONNXPRUNE_PASSES_PIPELINE_PASSBUILDER_H

#include "passes/PassManager.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <functional>
#include <string>
#include <vector>

namespace onnxprune {

/// One entry of the registry, for listings and docs.
struct PassInfo {
  enum class Kind { Pass, Analysis };
  Kind kind;
  std::string name;
  /// Parameter grammar ("samples=N;rtol=R"); empty when none.
  std::string paramDoc;
  std::string description;
};

class PassBuilder {
public:
  /// Handles a pipeline element the registry does not know (out-of-tree
  /// passes, registered explicitly): returns false when \p name is not its
  /// pass, true after adding the pass to \p mpm, or an error for bad
  /// parameters. \p params is the text between '<' and '>' ("" if none).
  using PipelineParsingCallback = std::function<llvm::Expected<bool>(
      llvm::StringRef name, llvm::StringRef params, ModelPassManager &mpm)>;

  /// \p printStream receives the output of print<NAME> passes (not owned;
  /// null means llvm::outs()).
  explicit PassBuilder(llvm::raw_ostream *printStream = nullptr)
      : printStream(printStream) {}

  /// Registers every analysis of the registry with \p am.
  void registerAnalyses(ModelAnalysisManager &am) const;

  /// Parses \p text and appends its passes to \p mpm. On error \p mpm may
  /// hold some of the passes.
  llvm::Error parsePassPipeline(ModelPassManager &mpm,
                                llvm::StringRef text) const;

  /// Adds a parser for passes outside the registry (see
  /// PipelineParsingCallback); \p names are offered in "did you mean".
  void registerPipelineParsingCallback(PipelineParsingCallback cb,
                                       std::vector<std::string> names = {});

  /// Every registered pass and analysis, sorted by kind then name.
  static std::vector<PassInfo> getRegistry();
  /// Prints the registry for --list-passes, --help and the docs:
  /// passes (with their parameter grammar) and analyses, each with its
  /// description.
  static void printRegistry(llvm::raw_ostream &os);

private:
  llvm::Error parseElement(ModelPassManager &mpm, llvm::StringRef name,
                           llvm::StringRef params, bool hasParams,
                           llvm::StringRef elementText) const;

  llvm::raw_ostream *printStream;
  std::vector<PipelineParsingCallback> callbacks;
  std::vector<std::string> callbackNames;
};

} // namespace onnxprune

#endif // ONNXPRUNE_PASSES_PIPELINE_PASSBUILDER_H
