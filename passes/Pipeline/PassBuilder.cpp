//===- PassBuilder.cpp - Build pipelines from text ------------------------===//
///
/// \file
/// The pipeline parser and the registry listing, both generated from
/// PassRegistry.def. This is the one file that includes every pass header.
///
//===----------------------------------------------------------------------===//

#include "passes/Pipeline/PassBuilder.h"

#include "lib/Support/Error.h"
#include "passes/Analysis/DepGroupsAnalysis.h"
#include "passes/Analysis/Latency.h"
#include "passes/Analysis/ResidualUnits.h"
#include "passes/Analysis/ShapesAnalysis.h"
#include "passes/Analysis/StatsAnalysis.h"
#include "passes/Criteria/Criterion.h"
#include "passes/PassParams.h"
#include "passes/Transforms/BiasCorrectPass.h"
#include "passes/Transforms/DCEPass.h"
#include "passes/Transforms/DropLayersPass.h"
#include "passes/Transforms/FoldShapesPass.h"
#include "passes/Transforms/PruneExpertsPass.h"
#include "passes/Transforms/PruneWidthPass.h"
#include "passes/Transforms/RecalibrateBNPass.h"

// Passes that live in other libraries; each is listed in the registry only
// when its header is there.
#include "frontends/onnx/VerifyPass.h"
#ifdef ONNXPRUNE_HAVE_ORT
#include "lib/Runtime/CheckNumericsPass.h"
#include "lib/Runtime/ModelSession.h"
#define ONNXPRUNE_HAVE_CHECK_NUMERICS_PASS 1
#endif

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"

#include <algorithm>

using namespace llvm;

namespace onnxprune {

/// `verify` with ONNX Runtime as the fallback check for models the local
/// ONNX library is too old to judge (when the tool is built with it).
static VerifyPass makeVerifyPass() {
#ifdef ONNXPRUNE_HAVE_ORT
  return VerifyPass([](const Model &m) -> llvm::Error {
    auto session = openModelSession(m);
    return session ? llvm::Error::success() : session.takeError();
  });
#else
  return VerifyPass();
#endif
}

namespace {

/// Names of passes (and the analysis adaptors) for "did you mean".
std::vector<std::string> passNames() {
  std::vector<std::string> names = {"print", "require", "invalidate"};
#define MODEL_PASS(NAME, CLASS, CONSTRUCT_EXPR, DESCRIPTION)                   \
  names.push_back(NAME);
#define MODEL_PASS_WITH_PARAMS(NAME, CLASS, CREATE_FN, PARSE_FN, PARAM_DOC,    \
                               DESCRIPTION)                                    \
  names.push_back(NAME);
#include "passes/Pipeline/PassRegistry.def"
  return names;
}

std::vector<std::string> analysisNames() {
  std::vector<std::string> names;
#define MODEL_ANALYSIS(NAME, CLASS, CONSTRUCT_EXPR, DESCRIPTION)               \
  names.push_back(NAME);
#include "passes/Pipeline/PassRegistry.def"
  return names;
}

std::string didYouMean(StringRef name, ArrayRef<std::string> candidates) {
  std::string near = suggestNearest(name, candidates);
  return near.empty() ? std::string() : " (did you mean '" + near + "'?)";
}

/// One top-level element of the pipeline text: [begin, end) in the text.
struct Element {
  size_t begin;
  size_t end;
};

} // namespace

void PassBuilder::registerAnalyses(ModelAnalysisManager &am) const {
#define MODEL_ANALYSIS(NAME, CLASS, CONSTRUCT_EXPR, DESCRIPTION)               \
  am.registerAnalysis<CLASS>(CONSTRUCT_EXPR);
#include "passes/Pipeline/PassRegistry.def"
}

void PassBuilder::registerPipelineParsingCallback(
    PipelineParsingCallback cb, std::vector<std::string> names) {
  callbacks.push_back(std::move(cb));
  for (std::string &n : names)
    callbackNames.push_back(std::move(n));
}

Error PassBuilder::parsePassPipeline(ModelPassManager &mpm,
                                     StringRef text) const {
  if (text.trim().empty())
    return makeError("empty pipeline");
  auto syntaxError = [&](const Twine &msg, size_t pos) {
    return makeError("invalid pipeline '" + text + "': " + msg + " at column " +
                     Twine(pos + 1));
  };

  // Split at top-level commas, checking that brackets balance.
  SmallVector<Element, 8> elements;
  SmallVector<size_t, 4> open;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '<') {
      open.push_back(i);
    } else if (c == '>') {
      if (open.empty())
        return syntaxError("unmatched '>'", i);
      open.pop_back();
    } else if (c == ',' && open.empty()) {
      elements.push_back({start, i});
      start = i + 1;
    }
  }
  if (!open.empty())
    return syntaxError("unbalanced '<'", open.back());
  elements.push_back({start, text.size()});

  for (const Element &el : elements) {
    StringRef raw = text.slice(el.begin, el.end);
    size_t lead = raw.size() - raw.ltrim().size();
    StringRef elem = raw.trim();
    size_t pos = el.begin + lead; // Column of the element's first char.
    if (elem.empty())
      return syntaxError("empty pipeline element", el.begin);

    size_t lt = elem.find('<');
    StringRef name = elem.substr(0, lt).rtrim();
    if (name.empty())
      return syntaxError("missing pass name", pos);
    StringRef params;
    bool hasParams = lt != StringRef::npos;
    if (hasParams) {
      // Find the '>' matching the first '<'; nothing may follow it.
      unsigned depth = 0;
      size_t close = StringRef::npos;
      for (size_t i = lt; i < elem.size(); ++i) {
        if (elem[i] == '<')
          ++depth;
        else if (elem[i] == '>' && --depth == 0) {
          close = i;
          break;
        }
      }
      assert(close != StringRef::npos && "brackets were checked above");
      if (close + 1 != elem.size())
        return syntaxError("unexpected text after '>'", pos + close + 1);
      params = elem.slice(lt + 1, close);
    }
    if (Error err = parseElement(mpm, name, params, hasParams, elem))
      return err;
  }
  return Error::success();
}

Error PassBuilder::parseElement(ModelPassManager &mpm, StringRef name,
                                StringRef params, bool hasParams,
                                StringRef elementText) const {
  // print<NAME>, require<NAME>, invalidate<NAME>.
  if (name == "print" || name == "require" || name == "invalidate") {
    StringRef analysis = params.trim();
    if (analysis.empty())
      return makeError("'" + name + "' needs an analysis name: " + name +
                       "<NAME>");
#define MODEL_ANALYSIS(NAME, CLASS, CONSTRUCT_EXPR, DESCRIPTION)               \
  if (analysis == NAME) {                                                      \
    if (name == "print")                                                       \
      mpm.addPass(PrintAnalysisPass<CLASS>(printStream));                      \
    else if (name == "require")                                                \
      mpm.addPass(RequireAnalysisPass<CLASS>());                               \
    else                                                                       \
      mpm.addPass(InvalidateAnalysisPass<CLASS>());                            \
    return Error::success();                                                   \
  }
#include "passes/Pipeline/PassRegistry.def"
    return makeError("unknown analysis '" + analysis + "' in '" + elementText +
                     "'" + didYouMean(analysis, analysisNames()));
  }

#define MODEL_PASS(NAME, CLASS, CONSTRUCT_EXPR, DESCRIPTION)                   \
  if (name == NAME) {                                                          \
    if (!params.trim().empty())                                                \
      return makeError("pass '" + name + "' takes no parameters, got '" +      \
                       elementText + "'");                                     \
    mpm.addPass(CONSTRUCT_EXPR);                                               \
    return Error::success();                                                   \
  }
#define MODEL_PASS_WITH_PARAMS(NAME, CLASS, CREATE_FN, PARSE_FN, PARAM_DOC,    \
                               DESCRIPTION)                                    \
  if (name == NAME) {                                                          \
    auto opts = PARSE_FN(params);                                              \
    if (!opts)                                                                 \
      return opts.takeError();                                                 \
    auto create = CREATE_FN;                                                   \
    mpm.addPass(create(std::move(*opts)));                                     \
    return Error::success();                                                   \
  }
#include "passes/Pipeline/PassRegistry.def"

  for (const PipelineParsingCallback &cb : callbacks) {
    Expected<bool> handled = cb(name, params, mpm);
    if (!handled)
      return handled.takeError();
    if (*handled)
      return Error::success();
  }

  std::vector<std::string> candidates = passNames();
  candidates.insert(candidates.end(), callbackNames.begin(),
                    callbackNames.end());
  std::string hint = didYouMean(name, candidates);
  return makeError("unknown pass '" + name + "'" +
                   (hint.empty() ? std::string(" (see --list-passes)") : hint));
}

std::vector<PassInfo> PassBuilder::getRegistry() {
  std::vector<PassInfo> infos;
#define MODEL_PASS(NAME, CLASS, CONSTRUCT_EXPR, DESCRIPTION)                   \
  infos.push_back({PassInfo::Kind::Pass, NAME, "", DESCRIPTION});
#define MODEL_PASS_WITH_PARAMS(NAME, CLASS, CREATE_FN, PARSE_FN, PARAM_DOC,    \
                               DESCRIPTION)                                    \
  infos.push_back({PassInfo::Kind::Pass, NAME, PARAM_DOC, DESCRIPTION});
#define MODEL_ANALYSIS(NAME, CLASS, CONSTRUCT_EXPR, DESCRIPTION)               \
  infos.push_back({PassInfo::Kind::Analysis, NAME, "", DESCRIPTION});
#include "passes/Pipeline/PassRegistry.def"
  std::stable_sort(infos.begin(), infos.end(),
                   [](const PassInfo &a, const PassInfo &b) {
                     if (a.kind != b.kind)
                       return a.kind == PassInfo::Kind::Pass;
                     return a.name < b.name;
                   });
  return infos;
}

void PassBuilder::printRegistry(raw_ostream &os) {
  std::vector<PassInfo> infos = getRegistry();
  os << "Passes:\n";
  for (const PassInfo &info : infos) {
    if (info.kind != PassInfo::Kind::Pass)
      continue;
    os << "  " << info.name;
    if (!info.paramDoc.empty())
      os << '<' << info.paramDoc << '>';
    os << "\n      " << info.description << '\n';
  }
  os << "\nCriteria (criterion=NAME of prune-width and prune-experts; "
        "each takes the keys shown, with their defaults, and scores the unit "
        "kinds in brackets: width for prune-width, expert for "
        "prune-experts):\n";
  for (const CriterionInfo &c : CriteriaRegistry::list()) {
    os << "  " << c.name;
    if (auto crit = CriteriaRegistry::create(c.name)) {
      std::string keys;
      raw_string_ostream ks(keys);
      {
        PassParamsPrinter pp(ks, "");
        (*crit)->printParams(pp, CriterionOptions());
      }
      os << ks.str();
    } else {
      consumeError(crit.takeError());
    }
    os << "  [" << c.kinds << "]"
       << (c.needsData ? " (needs --calibration)" : "") << "\n      "
       << c.description << '\n';
  }
  os << "\nAnalyses (use as print<NAME>, require<NAME> or "
        "invalidate<NAME>):\n";
  for (const PassInfo &info : infos) {
    if (info.kind != PassInfo::Kind::Analysis)
      continue;
    os << "  " << info.name << "\n      " << info.description << '\n';
  }
}

} // namespace onnxprune
