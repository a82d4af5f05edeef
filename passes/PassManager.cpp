//===- PassManager.cpp - Model passes, analyses and their managers --------===//
///
/// \file
/// The non-template parts of the pass and analysis managers.
///
//===----------------------------------------------------------------------===//

#include "passes/PassManager.h"

#include "lib/Support/Error.h"

using namespace llvm;

namespace onnxprune {

//===----------------------------------------------------------------------===//
// PreservedAnalyses
//===----------------------------------------------------------------------===//

void PreservedAnalyses::intersect(const PreservedAnalyses &other) {
  if (other.areAllPreserved())
    return;
  if (areAllPreserved()) {
    *this = other;
    return;
  }
  for (AnalysisKey *key : other.abandoned) {
    preserved.erase(key);
    abandoned.insert(key);
  }
  if (other.allPreserved)
    return; // Only other's abandoned set narrows ours.
  if (allPreserved) {
    // all() minus our abandoned set, intersected with other's explicit set.
    allPreserved = false;
    for (AnalysisKey *key : other.preserved)
      if (!abandoned.count(key))
        preserved.insert(key);
    return;
  }
  SmallVector<AnalysisKey *, 4> drop;
  for (AnalysisKey *key : preserved)
    if (!other.preserved.count(key))
      drop.push_back(key);
  for (AnalysisKey *key : drop)
    preserved.erase(key);
}

//===----------------------------------------------------------------------===//
// PassInstrumentationCallbacks
//===----------------------------------------------------------------------===//

void PassInstrumentationCallbacks::runBeforePass(StringRef passName,
                                                 const Model &m) const {
  for (const auto &fn : beforePass)
    fn(passName, m);
}

void PassInstrumentationCallbacks::runAfterPass(
    StringRef passName, const Model &m, const PreservedAnalyses &pa) const {
  for (const auto &fn : afterPass)
    fn(passName, m, pa);
}

void PassInstrumentationCallbacks::runAfterPassFailed(
    StringRef passName) const {
  for (const auto &fn : afterPassFailed)
    fn(passName);
}

void PassInstrumentationCallbacks::runBeforeAnalysis(StringRef analysisName,
                                                     const Model &m) const {
  for (const auto &fn : beforeAnalysis)
    fn(analysisName, m);
}

void PassInstrumentationCallbacks::runAfterAnalysis(StringRef analysisName,
                                                    const Model &m) const {
  for (const auto &fn : afterAnalysis)
    fn(analysisName, m);
}

//===----------------------------------------------------------------------===//
// ModelAnalysisManager
//===----------------------------------------------------------------------===//

Expected<detail::AnalysisResultConcept &>
ModelAnalysisManager::getResultImpl(AnalysisKey *key, StringRef name,
                                    const Model &m) {
  ResultKey rk{key, &m};
  auto cached = results.find(rk);
  if (cached != results.end())
    return *cached->second;

  auto it = analyses.find(key);
  if (it == analyses.end())
    return makeError("analysis '" + name + "' is not registered");
  if (!inFlight.insert(rk).second)
    return makeError("analysis '" + name + "' depends on itself");

  if (instrumentation)
    instrumentation->runBeforeAnalysis(name, m);
  auto r = it->second->run(m, *this);
  if (instrumentation)
    instrumentation->runAfterAnalysis(name, m);
  inFlight.erase(rk);
  if (!r)
    return addContext(r.takeError(), "analysis '" + name + "'");
  // Insert after running: the analysis may have asked for others, which
  // can grow the map and move its buckets.
  auto &slot = results[rk];
  slot = std::move(*r);
  return *slot;
}

void ModelAnalysisManager::invalidate(const Model &m,
                                      const PreservedAnalyses &pa) {
  if (pa.areAllPreserved())
    return;
  SmallVector<ResultKey, 8> dead;
  for (const auto &entry : results)
    if (entry.first.second == &m && !pa.isPreserved(entry.first.first))
      dead.push_back(entry.first);
  for (const ResultKey &rk : dead)
    results.erase(rk);
}

void ModelAnalysisManager::clear(const Model &m) {
  SmallVector<ResultKey, 8> dead;
  for (const auto &entry : results)
    if (entry.first.second == &m)
      dead.push_back(entry.first);
  for (const ResultKey &rk : dead)
    results.erase(rk);
}

//===----------------------------------------------------------------------===//
// ModelPassManager
//===----------------------------------------------------------------------===//

Expected<PreservedAnalyses> ModelPassManager::run(Model &m,
                                                  ModelAnalysisManager &am) {
  PreservedAnalyses total = PreservedAnalyses::all();
  PassInstrumentationCallbacks *pic = am.getInstrumentation();
  for (auto &pass : passes) {
    StringRef passName = pass->name();
    if (pic)
      pic->runBeforePass(passName, m);
    Expected<PreservedAnalyses> pa = pass->run(m, am);
    if (!pa) {
      if (pic)
        pic->runAfterPassFailed(passName);
      // A failed pass may have changed the model half-way.
      am.clear(m);
      // A nested pass manager already named the failing pass.
      if (passName == ModelPassManager::name())
        return pa.takeError();
      return addContext(pa.takeError(), "pass '" + passName + "'");
    }
    if (pic)
      pic->runAfterPass(passName, m, *pa);
    am.invalidate(m, *pa);
    if (verifyEach && !pa->areAllPreserved())
      if (Error err = verifyEach(m))
        return addContext(std::move(err),
                          "verification failed after pass '" + passName + "'");
    total.intersect(*pa);
  }
  return total;
}

void ModelPassManager::printPipeline(raw_ostream &os) const {
  bool first = true;
  for (const auto &pass : passes) {
    if (!first)
      os << ',';
    first = false;
    pass->printPipeline(os);
  }
}

std::vector<StringRef> ModelPassManager::getPassNames() const {
  std::vector<StringRef> names;
  for (const auto &pass : passes)
    names.push_back(pass->name());
  return names;
}

std::string ModelPassManager::getPipelineText() const {
  std::string text;
  raw_string_ostream os(text);
  printPipeline(os);
  return os.str();
}

} // namespace onnxprune
