//===- PassManager.h - Passes, analyses and their managers ------*- C++ -*-===//
///
/// \file
/// The pass infrastructure, in the spirit of LLVM's new pass manager:
///
///   * A *pass* is a value type with `static llvm::StringRef name()` and
///     `llvm::Expected<PreservedAnalyses> run(Model &, ModelAnalysisManager &)`
///     (a pass that cannot fail may return a plain PreservedAnalyses). A pass
///     with parameters also has `void printPipeline(llvm::raw_ostream &) const`
///     printing its canonical pipeline text (`check-numerics<samples=4>`);
///     without it, name() is printed. There is no common base class: the
///     managers erase the type with a concept/model pair.
///   * An *analysis* is a value type with `static llvm::StringRef name()`,
///     `static AnalysisKey Key` (its identity), `using Result = ...` and
///     `Result run(const Model &, ModelAnalysisManager &)` (or
///     `Expected<Result>`): analyses never change the model, not even for
///     a while (what-if questions use side tables).
///     Each Result has `void print(llvm::raw_ostream &, const Model &) const`
///     so `print<NAME>` works for every analysis.
///   * ModelAnalysisManager computes analyses lazily, caches the results per
///     model and drops those a pass did not preserve.
///   * ModelPassManager runs passes in order, stops at the first error
///     (prefixed with the pass name), can verify the model after every pass
///     (-verify-each) and reports to instrumentation callbacks (progress,
///     -time-passes).
///
/// Passes keep no state across runs and touch no global state (MLIR's rule),
/// so a pipeline can run on many models.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_PASSES_PASSMANAGER_H
#define ONNXPRUNE_PASSES_PASSMANAGER_H

#include "lib/IR/Model.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace onnxprune {

class ModelAnalysisManager;

/// The identity of an analysis: its address. Declare one per analysis as
/// `static inline AnalysisKey Key;` (or define it in the .cpp).
struct alignas(8) AnalysisKey {};

//===----------------------------------------------------------------------===//
// PreservedAnalyses
//===----------------------------------------------------------------------===//

/// The set of analyses whose cached results stay valid after a pass.
class PreservedAnalyses {
public:
  /// Nothing changed: every analysis stays valid.
  static PreservedAnalyses all() {
    PreservedAnalyses pa;
    pa.allPreserved = true;
    return pa;
  }
  /// Everything may have changed: no analysis stays valid.
  static PreservedAnalyses none() { return PreservedAnalyses(); }

  /// Marks analysis \p AnalysisT as still valid.
  template <typename AnalysisT> PreservedAnalyses &preserve() {
    return preserve(&AnalysisT::Key);
  }
  PreservedAnalyses &preserve(AnalysisKey *key) {
    abandoned.erase(key);
    if (!allPreserved)
      preserved.insert(key);
    return *this;
  }
  /// Marks analysis \p AnalysisT as invalid, even on top of all().
  template <typename AnalysisT> PreservedAnalyses &abandon() {
    return abandon(&AnalysisT::Key);
  }
  PreservedAnalyses &abandon(AnalysisKey *key) {
    preserved.erase(key);
    abandoned.insert(key);
    return *this;
  }

  /// True when the result of \p AnalysisT stays valid.
  template <typename AnalysisT> bool isPreserved() const {
    return isPreserved(&AnalysisT::Key);
  }
  bool isPreserved(AnalysisKey *key) const {
    return !abandoned.count(key) && (allPreserved || preserved.count(key));
  }
  /// True for all() (nothing abandoned): the pass changed nothing.
  bool areAllPreserved() const { return allPreserved && abandoned.empty(); }

  /// Keeps only what both this and \p other preserve (the effect of running
  /// two passes one after the other).
  void intersect(const PreservedAnalyses &other);

private:
  bool allPreserved = false;
  /// Preserved on top of none(); empty when allPreserved.
  llvm::SmallPtrSet<AnalysisKey *, 4> preserved;
  /// Not preserved even when allPreserved.
  llvm::SmallPtrSet<AnalysisKey *, 2> abandoned;
};

//===----------------------------------------------------------------------===//
// Instrumentation
//===----------------------------------------------------------------------===//

/// Callbacks run around every pass and every analysis computation: the tool
/// hangs progress output (-debug-pass-manager) and timing (-time-passes) on
/// them. Callbacks must not change the model.
class PassInstrumentationCallbacks {
public:
  using BeforePassFn = std::function<void(llvm::StringRef, const Model &)>;
  using AfterPassFn = std::function<void(llvm::StringRef, const Model &,
                                         const PreservedAnalyses &)>;
  using AfterPassFailedFn = std::function<void(llvm::StringRef)>;
  using AnalysisFn = std::function<void(llvm::StringRef, const Model &)>;

  void registerBeforePassCallback(BeforePassFn fn) {
    beforePass.push_back(std::move(fn));
  }
  void registerAfterPassCallback(AfterPassFn fn) {
    afterPass.push_back(std::move(fn));
  }
  /// Called instead of the after-pass callbacks when a pass fails.
  void registerAfterPassFailedCallback(AfterPassFailedFn fn) {
    afterPassFailed.push_back(std::move(fn));
  }
  void registerBeforeAnalysisCallback(AnalysisFn fn) {
    beforeAnalysis.push_back(std::move(fn));
  }
  /// Called after an analysis ran, whether it succeeded or not.
  void registerAfterAnalysisCallback(AnalysisFn fn) {
    afterAnalysis.push_back(std::move(fn));
  }

  void runBeforePass(llvm::StringRef passName, const Model &m) const;
  void runAfterPass(llvm::StringRef passName, const Model &m,
                    const PreservedAnalyses &pa) const;
  void runAfterPassFailed(llvm::StringRef passName) const;
  void runBeforeAnalysis(llvm::StringRef analysisName, const Model &m) const;
  void runAfterAnalysis(llvm::StringRef analysisName, const Model &m) const;

private:
  std::vector<BeforePassFn> beforePass;
  std::vector<AfterPassFn> afterPass;
  std::vector<AfterPassFailedFn> afterPassFailed;
  std::vector<AnalysisFn> beforeAnalysis;
  std::vector<AnalysisFn> afterAnalysis;
};

//===----------------------------------------------------------------------===//
// Type erasure
//===----------------------------------------------------------------------===//

namespace detail {

template <typename T> struct IsExpected : std::false_type {};
template <typename T> struct IsExpected<llvm::Expected<T>> : std::true_type {};

template <typename T, typename = void>
struct HasPrintPipeline : std::false_type {};
template <typename T>
struct HasPrintPipeline<
    T, std::void_t<decltype(std::declval<const T &>().printPipeline(
           std::declval<llvm::raw_ostream &>()))>> : std::true_type {};

/// The interface every pass is seen through.
struct PassConcept {
  virtual ~PassConcept() = default;
  virtual llvm::Expected<PreservedAnalyses> run(Model &m,
                                                ModelAnalysisManager &am) = 0;
  virtual llvm::StringRef name() const = 0;
  virtual void printPipeline(llvm::raw_ostream &os) const = 0;
};

template <typename PassT> struct PassModel final : PassConcept {
  explicit PassModel(PassT pass) : pass(std::move(pass)) {}
  llvm::Expected<PreservedAnalyses> run(Model &m,
                                        ModelAnalysisManager &am) override {
    // Accepts both `PreservedAnalyses run(...)` and `Expected<...> run(...)`.
    return pass.run(m, am);
  }
  llvm::StringRef name() const override { return PassT::name(); }
  void printPipeline(llvm::raw_ostream &os) const override {
    if constexpr (HasPrintPipeline<PassT>::value)
      pass.printPipeline(os);
    else
      os << PassT::name();
  }
  PassT pass;
};

/// A cached analysis result, type-erased.
struct AnalysisResultConcept {
  virtual ~AnalysisResultConcept() = default;
};

template <typename ResultT>
struct AnalysisResultModel final : AnalysisResultConcept {
  explicit AnalysisResultModel(ResultT r) : result(std::move(r)) {}
  ResultT result;
};

/// A registered analysis, type-erased.
struct AnalysisPassConcept {
  virtual ~AnalysisPassConcept() = default;
  virtual llvm::Expected<std::unique_ptr<AnalysisResultConcept>>
  run(const Model &m, ModelAnalysisManager &am) = 0;
  virtual llvm::StringRef name() const = 0;
};

template <typename AnalysisT>
struct AnalysisPassModel final : AnalysisPassConcept {
  using ResultT = typename AnalysisT::Result;
  explicit AnalysisPassModel(AnalysisT a) : analysis(std::move(a)) {}
  llvm::Expected<std::unique_ptr<AnalysisResultConcept>>
  run(const Model &m, ModelAnalysisManager &am) override {
    auto r = analysis.run(m, am);
    if constexpr (IsExpected<decltype(r)>::value) {
      if (!r)
        return r.takeError();
      return std::make_unique<AnalysisResultModel<ResultT>>(std::move(*r));
    } else {
      return std::make_unique<AnalysisResultModel<ResultT>>(std::move(r));
    }
  }
  llvm::StringRef name() const override { return AnalysisT::name(); }
  AnalysisT analysis;
};

} // namespace detail

//===----------------------------------------------------------------------===//
// ModelAnalysisManager
//===----------------------------------------------------------------------===//

/// Computes analyses on demand and caches their results per model until a
/// pass invalidates them.
class ModelAnalysisManager {
public:
  ModelAnalysisManager() = default;
  ModelAnalysisManager(ModelAnalysisManager &&) = default;
  ModelAnalysisManager &operator=(ModelAnalysisManager &&) = default;

  /// Registers \p analysis (how to construct it). Returns false and keeps the
  /// first registration when \p AnalysisT is already registered.
  template <typename AnalysisT> bool registerAnalysis(AnalysisT analysis) {
    auto &slot = analyses[&AnalysisT::Key];
    if (slot)
      return false;
    slot = std::make_unique<detail::AnalysisPassModel<AnalysisT>>(
        std::move(analysis));
    return true;
  }
  template <typename AnalysisT> bool isRegistered() const {
    return analyses.count(&AnalysisT::Key);
  }

  /// The result of \p AnalysisT on \p m, computed now unless cached. An
  /// analysis that was never registered is registered default-constructed
  /// when it can be. The reference stays valid until the result is
  /// invalidated.
  template <typename AnalysisT>
  llvm::Expected<typename AnalysisT::Result &> getResult(const Model &m) {
    if constexpr (std::is_default_constructible_v<AnalysisT>)
      if (!isRegistered<AnalysisT>())
        registerAnalysis(AnalysisT());
    auto r = getResultImpl(&AnalysisT::Key, AnalysisT::name(), m);
    if (!r)
      return r.takeError();
    using ResultModelT =
        detail::AnalysisResultModel<typename AnalysisT::Result>;
    return static_cast<ResultModelT &>(*r).result;
  }

  /// The cached result of \p AnalysisT on \p m, or null (never computes).
  template <typename AnalysisT>
  typename AnalysisT::Result *getCachedResult(const Model &m) const {
    auto it = results.find({&AnalysisT::Key, &m});
    if (it == results.end())
      return nullptr;
    using ResultModelT =
        detail::AnalysisResultModel<typename AnalysisT::Result>;
    return &static_cast<ResultModelT &>(*it->second).result;
  }

  /// Drops the cached results on \p m that \p pa does not preserve.
  void invalidate(const Model &m, const PreservedAnalyses &pa);
  /// Drops every cached result on \p m (call before destroying a model).
  void clear(const Model &m);
  /// Drops every cached result.
  void clear() { results.clear(); }

  /// Callbacks notified around analysis runs (and used by the pass manager
  /// around passes). Not owned; may be null.
  void setInstrumentation(PassInstrumentationCallbacks *pic) {
    instrumentation = pic;
  }
  PassInstrumentationCallbacks *getInstrumentation() const {
    return instrumentation;
  }

private:
  llvm::Expected<detail::AnalysisResultConcept &>
  getResultImpl(AnalysisKey *key, llvm::StringRef name, const Model &m);

  using ResultKey = std::pair<AnalysisKey *, const Model *>;
  llvm::DenseMap<AnalysisKey *, std::unique_ptr<detail::AnalysisPassConcept>>
      analyses;
  llvm::DenseMap<ResultKey, std::unique_ptr<detail::AnalysisResultConcept>>
      results;
  /// Analyses being computed now, to report a dependency cycle rather than
  /// recurse forever.
  llvm::DenseSet<ResultKey> inFlight;
  PassInstrumentationCallbacks *instrumentation = nullptr;
};

//===----------------------------------------------------------------------===//
// ModelPassManager
//===----------------------------------------------------------------------===//

/// Checks a model between passes (-verify-each); returns an error naming
/// what is broken.
using ModelVerifierFn = std::function<llvm::Error(const Model &)>;

/// Runs a sequence of passes on a model. It is itself a pass, so pipelines
/// nest.
class ModelPassManager {
public:
  ModelPassManager() = default;
  ModelPassManager(ModelPassManager &&) = default;
  ModelPassManager &operator=(ModelPassManager &&) = default;

  static llvm::StringRef name() { return "ModelPassManager"; }

  /// Appends \p pass to the pipeline.
  template <typename PassT> void addPass(PassT pass) {
    passes.push_back(
        std::make_unique<detail::PassModel<PassT>>(std::move(pass)));
  }

  bool isEmpty() const { return passes.empty(); }
  size_t size() const { return passes.size(); }
  /// The name() of every pass, in order ("print<stats>", "prune-width").
  std::vector<llvm::StringRef> getPassNames() const;

  /// Calls \p verifier after every pass that changed the model; a failure
  /// stops the pipeline with "verification failed after pass 'NAME': ...".
  void setVerifyEach(ModelVerifierFn verifier) {
    verifyEach = std::move(verifier);
  }

  /// Runs the passes in order, invalidating analyses in \p am after each.
  /// Stops at the first failure with "pass 'NAME': <message>". Returns what
  /// the whole pipeline preserved.
  llvm::Expected<PreservedAnalyses> run(Model &m, ModelAnalysisManager &am);

  /// Prints the canonical pipeline text: comma-separated passes with their
  /// parameters. It parses back to the same pipeline.
  void printPipeline(llvm::raw_ostream &os) const;
  /// printPipeline() into a string.
  std::string getPipelineText() const;

private:
  std::vector<std::unique_ptr<detail::PassConcept>> passes;
  ModelVerifierFn verifyEach;
};

//===----------------------------------------------------------------------===//
// Generic passes over analyses
//===----------------------------------------------------------------------===//

/// `print<NAME>`: computes analysis \p AnalysisT and prints its result.
template <typename AnalysisT> class PrintAnalysisPass {
public:
  /// Prints to \p os (not owned); null means llvm::outs().
  explicit PrintAnalysisPass(llvm::raw_ostream *os = nullptr) : os(os) {}

  static llvm::StringRef name() {
    static const std::string n = ("print<" + AnalysisT::name() + ">").str();
    return n;
  }
  llvm::Expected<PreservedAnalyses> run(Model &m, ModelAnalysisManager &am) {
    auto r = am.getResult<AnalysisT>(m);
    if (!r)
      return r.takeError();
    llvm::raw_ostream &out = os ? *os : llvm::outs();
    out << "Printing analysis '" << AnalysisT::name() << "':\n";
    r->print(out, m);
    out.flush();
    return PreservedAnalyses::all();
  }

private:
  llvm::raw_ostream *os;
};

/// `require<NAME>`: computes analysis \p AnalysisT (and caches it).
template <typename AnalysisT> class RequireAnalysisPass {
public:
  static llvm::StringRef name() {
    static const std::string n = ("require<" + AnalysisT::name() + ">").str();
    return n;
  }
  llvm::Expected<PreservedAnalyses> run(Model &m, ModelAnalysisManager &am) {
    auto r = am.getResult<AnalysisT>(m);
    if (!r)
      return r.takeError();
    return PreservedAnalyses::all();
  }
};

/// `invalidate<NAME>`: drops the cached result of analysis \p AnalysisT.
template <typename AnalysisT> class InvalidateAnalysisPass {
public:
  static llvm::StringRef name() {
    static const std::string n =
        ("invalidate<" + AnalysisT::name() + ">").str();
    return n;
  }
  PreservedAnalyses run(Model &, ModelAnalysisManager &) {
    // Changes nothing but the cache: every other analysis stays valid.
    return PreservedAnalyses::all().abandon<AnalysisT>();
  }
};

} // namespace onnxprune

#endif // ONNXPRUNE_PASSES_PASSMANAGER_H
