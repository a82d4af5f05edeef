//===- PassManagerTest.cpp - Pass manager and pipeline parser tests -------===//
///
/// \file
/// PreservedAnalyses, analysis caching and invalidation, the pass manager's
/// error handling, -verify-each and instrumentation, PassParams, and the
/// pipeline parser: good and bad pipelines with their exact messages, and
/// the print/parse round trip.
///
//===----------------------------------------------------------------------===//

#include "passes/PassManager.h"
#include "passes/PassParams.h"
#include "passes/Pipeline/PassBuilder.h"
#include "passes/StandardInstrumentations.h"
#include "passes/Transforms/DCEPass.h"

#include "lib/Support/Error.h"

#include "gtest/gtest.h"

using namespace onnxprune;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;

namespace {

/// The message of \p err ("" on success), consuming it.
std::string errorText(Error err) {
  if (!err)
    return "";
  return llvm::toString(std::move(err));
}

template <typename T> std::string errorText(Expected<T> &e) {
  if (e)
    return "";
  return llvm::toString(e.takeError());
}

//===----------------------------------------------------------------------===//
// Test passes and analyses
//===----------------------------------------------------------------------===//

/// Counts its runs through a pointer, so tests can watch caching.
struct CountingAnalysis {
  struct Result {
    int value;
    void print(llvm::raw_ostream &os, const Model &) const {
      os << "value: " << value << '\n';
    }
  };
  static inline AnalysisKey Key;
  static StringRef name() { return "counting"; }
  explicit CountingAnalysis(int *runs) : runs(runs) {}
  Result run(const Model &, ModelAnalysisManager &) { return Result{++*runs}; }
  int *runs;
};

/// An analysis that fails.
struct FailingAnalysis {
  struct Result {
    void print(llvm::raw_ostream &, const Model &) const {}
  };
  static inline AnalysisKey Key;
  static StringRef name() { return "failing"; }
  Expected<Result> run(const Model &, ModelAnalysisManager &) {
    return makeError("no shapes");
  }
};

/// An analysis that uses another one.
struct DependentAnalysis {
  struct Result {
    int doubled;
  };
  static inline AnalysisKey Key;
  static StringRef name() { return "dependent"; }
  Expected<Result> run(const Model &m, ModelAnalysisManager &am) {
    auto r = am.getResult<CountingAnalysis>(m);
    if (!r)
      return r.takeError();
    return Result{2 * r->value};
  }
};

/// Returns a fixed PreservedAnalyses and records that it ran.
struct FixedPass {
  explicit FixedPass(PreservedAnalyses pa,
                     std::vector<std::string> *log = nullptr,
                     std::string tag = "")
      : pa(std::move(pa)), log(log), tag(std::move(tag)) {}
  static StringRef name() { return "fixed"; }
  PreservedAnalyses run(Model &, ModelAnalysisManager &) {
    if (log)
      log->push_back(tag);
    return pa;
  }
  PreservedAnalyses pa;
  std::vector<std::string> *log;
  std::string tag;
};

struct FailPass {
  static StringRef name() { return "fail"; }
  Expected<PreservedAnalyses> run(Model &, ModelAnalysisManager &) {
    return makeError("node 'conv_3' (Conv): weight is not a constant");
  }
};

/// A pass with parameters, parsed and printed the standard way.
struct ParamsOptions {
  unsigned samples = 8;
  double rtol = 1e-3;
  bool fast = false;
  std::string mode = "auto";
};

Expected<ParamsOptions> parseParamsOptions(StringRef text) {
  auto params = PassParams::parse("test-params", text);
  if (!params)
    return params.takeError();
  ParamsOptions o;
  if (Error e = params->getUnsigned("samples", o.samples))
    return std::move(e);
  if (Error e = params->getDouble("rtol", o.rtol))
    return std::move(e);
  if (Error e = params->getBool("fast", o.fast))
    return std::move(e);
  if (Error e = params->getString("mode", o.mode))
    return std::move(e);
  if (Error e = params->finish())
    return std::move(e);
  return o;
}

struct ParamsPass {
  static StringRef name() { return "test-params"; }
  PreservedAnalyses run(Model &, ModelAnalysisManager &) {
    return PreservedAnalyses::all();
  }
  void printPipeline(llvm::raw_ostream &os) const {
    PassParamsPrinter p(os, name());
    p.add("samples", uint64_t(opts.samples)).add("rtol", opts.rtol);
    if (opts.fast)
      p.addFlag("fast");
    p.add("mode", opts.mode);
  }
  ParamsOptions opts;
};

PassBuilder makeBuilderWithTestPass() {
  PassBuilder pb;
  pb.registerPipelineParsingCallback(
      [](StringRef name, StringRef params,
         ModelPassManager &mpm) -> Expected<bool> {
        if (name != "test-params")
          return false;
        auto opts = parseParamsOptions(params);
        if (!opts)
          return opts.takeError();
        mpm.addPass(ParamsPass{*opts});
        return true;
      },
      {"test-params"});
  return pb;
}

//===----------------------------------------------------------------------===//
// PreservedAnalyses
//===----------------------------------------------------------------------===//

TEST(PreservedAnalysesTest, AllNoneAndPreserve) {
  EXPECT_TRUE(PreservedAnalyses::all().areAllPreserved());
  EXPECT_TRUE(PreservedAnalyses::all().isPreserved<CountingAnalysis>());
  EXPECT_FALSE(PreservedAnalyses::none().areAllPreserved());
  EXPECT_FALSE(PreservedAnalyses::none().isPreserved<CountingAnalysis>());

  PreservedAnalyses pa = PreservedAnalyses::none();
  pa.preserve<CountingAnalysis>();
  EXPECT_TRUE(pa.isPreserved<CountingAnalysis>());
  EXPECT_FALSE(pa.isPreserved<FailingAnalysis>());
  EXPECT_FALSE(pa.areAllPreserved());

  PreservedAnalyses abandoned = PreservedAnalyses::all();
  abandoned.abandon<CountingAnalysis>();
  EXPECT_FALSE(abandoned.areAllPreserved());
  EXPECT_FALSE(abandoned.isPreserved<CountingAnalysis>());
  EXPECT_TRUE(abandoned.isPreserved<FailingAnalysis>());
}

TEST(PreservedAnalysesTest, Intersect) {
  PreservedAnalyses a = PreservedAnalyses::all();
  a.intersect(PreservedAnalyses::all());
  EXPECT_TRUE(a.areAllPreserved());

  PreservedAnalyses some = PreservedAnalyses::none();
  some.preserve<CountingAnalysis>().preserve<FailingAnalysis>();
  a.intersect(some);
  EXPECT_TRUE(a.isPreserved<CountingAnalysis>());
  EXPECT_FALSE(a.areAllPreserved());

  PreservedAnalyses allButCounting = PreservedAnalyses::all();
  allButCounting.abandon<CountingAnalysis>();
  a.intersect(allButCounting);
  EXPECT_FALSE(a.isPreserved<CountingAnalysis>());
  EXPECT_TRUE(a.isPreserved<FailingAnalysis>());

  a.intersect(PreservedAnalyses::none());
  EXPECT_FALSE(a.isPreserved<FailingAnalysis>());
}

//===----------------------------------------------------------------------===//
// ModelAnalysisManager
//===----------------------------------------------------------------------===//

TEST(AnalysisManagerTest, CachesUntilInvalidated) {
  Model m;
  int runs = 0;
  ModelAnalysisManager am;
  EXPECT_TRUE(am.registerAnalysis(CountingAnalysis(&runs)));
  EXPECT_FALSE(am.registerAnalysis(CountingAnalysis(&runs)));
  EXPECT_EQ(am.getCachedResult<CountingAnalysis>(m), nullptr);

  auto r1 = am.getResult<CountingAnalysis>(m);
  ASSERT_TRUE(bool(r1));
  EXPECT_EQ(r1->value, 1);
  auto r2 = am.getResult<CountingAnalysis>(m);
  ASSERT_TRUE(bool(r2));
  EXPECT_EQ(r2->value, 1);
  EXPECT_EQ(runs, 1);
  ASSERT_NE(am.getCachedResult<CountingAnalysis>(m), nullptr);

  // Preserved: stays cached.
  am.invalidate(m, PreservedAnalyses::all());
  PreservedAnalyses keep = PreservedAnalyses::none();
  keep.preserve<CountingAnalysis>();
  am.invalidate(m, keep);
  EXPECT_NE(am.getCachedResult<CountingAnalysis>(m), nullptr);

  // Not preserved: recomputed on the next request.
  am.invalidate(m, PreservedAnalyses::none());
  EXPECT_EQ(am.getCachedResult<CountingAnalysis>(m), nullptr);
  auto r3 = am.getResult<CountingAnalysis>(m);
  ASSERT_TRUE(bool(r3));
  EXPECT_EQ(r3->value, 2);
  EXPECT_EQ(runs, 2);

  // Results are per model.
  Model other;
  auto r4 = am.getResult<CountingAnalysis>(other);
  ASSERT_TRUE(bool(r4));
  EXPECT_EQ(runs, 3);
  am.clear(other);
  EXPECT_NE(am.getCachedResult<CountingAnalysis>(m), nullptr);
  EXPECT_EQ(am.getCachedResult<CountingAnalysis>(other), nullptr);
}

TEST(AnalysisManagerTest, ErrorsAndDependencies) {
  Model m;
  int runs = 0;
  ModelAnalysisManager am;
  // Default-constructible analyses register themselves on first use.
  auto failed = am.getResult<FailingAnalysis>(m);
  EXPECT_EQ(errorText(failed), "analysis 'failing': no shapes");
  EXPECT_EQ(am.getCachedResult<FailingAnalysis>(m), nullptr);

  // Not default-constructible and not registered.
  auto missing = am.getResult<CountingAnalysis>(m);
  EXPECT_EQ(errorText(missing), "analysis 'counting' is not registered");

  am.registerAnalysis(CountingAnalysis(&runs));
  auto dep = am.getResult<DependentAnalysis>(m);
  ASSERT_TRUE(bool(dep));
  EXPECT_EQ(dep->doubled, 2);
  EXPECT_EQ(runs, 1);
}

TEST(AnalysisManagerTest, PassManagerInvalidates) {
  Model m;
  int runs = 0;
  ModelAnalysisManager am;
  am.registerAnalysis(CountingAnalysis(&runs));

  ModelPassManager mpm;
  mpm.addPass(RequireAnalysisPass<CountingAnalysis>());
  mpm.addPass(FixedPass{PreservedAnalyses::all()}); // Nothing changed.
  mpm.addPass(RequireAnalysisPass<CountingAnalysis>());
  PreservedAnalyses keepCounting = PreservedAnalyses::none();
  keepCounting.preserve<CountingAnalysis>();
  mpm.addPass(FixedPass{keepCounting});
  mpm.addPass(RequireAnalysisPass<CountingAnalysis>());
  auto pa = mpm.run(m, am);
  ASSERT_TRUE(bool(pa)) << errorText(pa);
  EXPECT_EQ(runs, 1);
  EXPECT_FALSE(pa->areAllPreserved());
  EXPECT_TRUE(pa->isPreserved<CountingAnalysis>());

  ModelPassManager mpm2;
  mpm2.addPass(FixedPass{PreservedAnalyses::none()});
  mpm2.addPass(RequireAnalysisPass<CountingAnalysis>());
  mpm2.addPass(InvalidateAnalysisPass<CountingAnalysis>());
  mpm2.addPass(RequireAnalysisPass<CountingAnalysis>());
  ASSERT_TRUE(bool(mpm2.run(m, am)));
  EXPECT_EQ(runs, 3);
}

//===----------------------------------------------------------------------===//
// ModelPassManager
//===----------------------------------------------------------------------===//

TEST(PassManagerTest, StopsAtFirstErrorNamingThePass) {
  Model m;
  ModelAnalysisManager am;
  std::vector<std::string> log;
  ModelPassManager mpm;
  mpm.addPass(FixedPass{PreservedAnalyses::none(), &log, "first"});
  mpm.addPass(FailPass());
  mpm.addPass(FixedPass{PreservedAnalyses::none(), &log, "never"});
  auto pa = mpm.run(m, am);
  EXPECT_EQ(errorText(pa),
            "pass 'fail': node 'conv_3' (Conv): weight is not a constant");
  EXPECT_EQ(log, std::vector<std::string>{"first"});
}

TEST(PassManagerTest, AnalysisErrorsNameThePass) {
  Model m;
  ModelAnalysisManager am;
  ModelPassManager mpm;
  mpm.addPass(PrintAnalysisPass<FailingAnalysis>());
  auto pa = mpm.run(m, am);
  EXPECT_EQ(errorText(pa), "pass 'print<failing>': analysis 'failing': "
                           "no shapes");
}

TEST(PassManagerTest, VerifyEachRunsAfterChangingPasses) {
  Model m;
  ModelAnalysisManager am;
  unsigned calls = 0;
  ModelPassManager mpm;
  mpm.setVerifyEach([&](const Model &) -> Error {
    ++calls;
    return Error::success();
  });
  mpm.addPass(FixedPass{PreservedAnalyses::all()});
  mpm.addPass(FixedPass{PreservedAnalyses::none()});
  mpm.addPass(FixedPass{PreservedAnalyses::none()});
  ASSERT_TRUE(bool(mpm.run(m, am)));
  EXPECT_EQ(calls, 2u);

  ModelPassManager bad;
  bad.setVerifyEach([](const Model &) -> Error {
    return makeError("graph output 'y' is "
                     "not defined");
  });
  bad.addPass(DCEPass());                            // Changes nothing.
  bad.addPass(FixedPass{PreservedAnalyses::none()}); // "Changes" the model.
  auto pa = bad.run(m, am);
  EXPECT_EQ(errorText(pa), "verification failed after pass 'fixed': graph "
                           "output 'y' is not defined");
}

TEST(PassManagerTest, InstrumentationSeesPassesAndAnalyses) {
  Model m;
  int runs = 0;
  ModelAnalysisManager am;
  am.registerAnalysis(CountingAnalysis(&runs));
  PassInstrumentationCallbacks pic;
  std::vector<std::string> events;
  pic.registerBeforePassCallback([&](StringRef name, const Model &) {
    events.push_back(("before " + name).str());
  });
  pic.registerAfterPassCallback(
      [&](StringRef name, const Model &, const PreservedAnalyses &) {
        events.push_back(("after " + name).str());
      });
  pic.registerAfterPassFailedCallback(
      [&](StringRef name) { events.push_back(("failed " + name).str()); });
  pic.registerBeforeAnalysisCallback([&](StringRef name, const Model &) {
    events.push_back(("analysis " + name).str());
  });
  am.setInstrumentation(&pic);
  TimePassesHandler timer;
  timer.registerCallbacks(pic);

  ModelPassManager mpm;
  mpm.addPass(RequireAnalysisPass<CountingAnalysis>());
  mpm.addPass(DCEPass());
  mpm.addPass(DCEPass());
  mpm.addPass(FailPass());
  EXPECT_FALSE(errorText(mpm.run(m, am).takeError()).empty());
  std::vector<std::string> expected = {"before require<counting>",
                                       "analysis counting",
                                       "after require<counting>",
                                       "before dce",
                                       "after dce",
                                       "before dce",
                                       "after dce",
                                       "before fail",
                                       "failed fail"};
  EXPECT_EQ(events, expected);

  std::vector<std::string> rows;
  for (const auto &r : timer.getRecords())
    rows.push_back(r.name + (r.isAnalysis ? " (analysis)" : ""));
  std::vector<std::string> expectedRows = {
      "require<counting>", "counting (analysis)", "dce", "dce #2", "fail"};
  EXPECT_EQ(rows, expectedRows);
  std::string table;
  llvm::raw_string_ostream os(table);
  timer.print(os);
  EXPECT_NE(os.str().find("Pass execution timing report"), std::string::npos);
  EXPECT_NE(os.str().find("dce #2"), std::string::npos);
  EXPECT_GT(getPeakRSSBytes(), 0u);
}

//===----------------------------------------------------------------------===//
// PassParams
//===----------------------------------------------------------------------===//

TEST(PassParamsTest, ParsesTypedValues) {
  auto o = parseParamsOptions("samples=4;rtol=1e-4;fast;mode=a<b;c>");
  ASSERT_TRUE(bool(o)) << errorText(o);
  EXPECT_EQ(o->samples, 4u);
  EXPECT_DOUBLE_EQ(o->rtol, 1e-4);
  EXPECT_TRUE(o->fast);
  EXPECT_EQ(o->mode, "a<b;c>");

  auto defaults = parseParamsOptions("");
  ASSERT_TRUE(bool(defaults));
  EXPECT_EQ(defaults->samples, 8u);
  EXPECT_FALSE(defaults->fast);

  auto off = parseParamsOptions("fast=false");
  ASSERT_TRUE(bool(off));
  EXPECT_FALSE(off->fast);
}

TEST(PassParamsTest, Errors) {
  struct Case {
    const char *text;
    const char *error;
  } cases[] = {
      {"samples=x", "pass 'test-params': parameter 'samples': expected an "
                    "unsigned integer, got 'x'"},
      {"samples=-1", "pass 'test-params': parameter 'samples': expected an "
                     "unsigned integer, got '-1'"},
      {"samples=0x10", "pass 'test-params': parameter 'samples': expected an "
                       "unsigned integer, got '0x10'"},
      {"samples=99999999999", "pass 'test-params': parameter 'samples': value "
                              "99999999999 is too large"},
      {"samples", "pass 'test-params': parameter 'samples': expected a value "
                  "('samples=...')"},
      {"rtol=1e-4x", "pass 'test-params': parameter 'rtol': expected a "
                     "number, got '1e-4x'"},
      {"rtol=inf", "pass 'test-params': parameter 'rtol': expected a number, "
                   "got 'inf'"},
      {"rtol=", "pass 'test-params': parameter 'rtol': expected a number, "
                "got ''"},
      {"fast=maybe", "pass 'test-params': parameter 'fast': expected true or "
                     "false, got 'maybe'"},
      {"sample=4", "pass 'test-params': unknown parameter 'sample' (did you "
                   "mean 'samples'?) (valid: samples, rtol, fast, mode)"},
      {"zzzzzz=1", "pass 'test-params': unknown parameter 'zzzzzz' (expected "
                   "one of: samples, rtol, fast, mode)"},
      {"samples=1;samples=2",
       "pass 'test-params': parameter 'samples' given twice"},
      {"samples=1;;fast",
       "pass 'test-params': empty parameter in 'samples=1;;fast'"},
      {"=3", "pass 'test-params': malformed parameter '=3' (expected "
             "'key=value' or 'flag')"},
  };
  for (const Case &c : cases) {
    auto o = parseParamsOptions(c.text);
    EXPECT_EQ(errorText(o), c.error) << "params: " << c.text;
  }
}

TEST(PassParamsTest, FormatDoubleRoundTrips) {
  EXPECT_EQ(formatParamDouble(0.0001), "0.0001");
  EXPECT_EQ(formatParamDouble(3), "3");
  EXPECT_EQ(formatParamDouble(1e-7), "1e-07");
  EXPECT_EQ(formatParamDouble(0.1), "0.1");
  double third = 1.0 / 3.0;
  EXPECT_EQ(std::strtod(formatParamDouble(third).c_str(), nullptr), third);
}

//===----------------------------------------------------------------------===//
// Pipeline parsing
//===----------------------------------------------------------------------===//

std::string parseAndPrint(const PassBuilder &pb, StringRef text) {
  ModelPassManager mpm;
  if (Error err = pb.parsePassPipeline(mpm, text))
    return "error: " + llvm::toString(std::move(err));
  return mpm.getPipelineText();
}

TEST(PipelineParserTest, GoodPipelines) {
  PassBuilder pb = makeBuilderWithTestPass();
  EXPECT_EQ(parseAndPrint(pb, "dce"), "dce");
  EXPECT_EQ(parseAndPrint(pb, "dce,dce"), "dce,dce");
  EXPECT_EQ(parseAndPrint(pb, " dce , print<stats> "), "dce,print<stats>");
  EXPECT_EQ(parseAndPrint(pb, "dce<>"), "dce");
  EXPECT_EQ(parseAndPrint(pb, "print<shapes>,require<stats>,"
                              "invalidate<stats>"),
            "print<shapes>,require<stats>,invalidate<stats>");
  EXPECT_EQ(parseAndPrint(pb, "test-params"),
            "test-params<samples=8;rtol=0.001;mode=auto>");
  EXPECT_EQ(parseAndPrint(pb, "test-params<rtol=0.0001;samples=4;fast>,dce"),
            "test-params<samples=4;rtol=0.0001;fast;mode=auto>,dce");
  EXPECT_EQ(parseAndPrint(pb, "test-params<mode=x<y;z>>"),
            "test-params<samples=8;rtol=0.001;mode=x<y;z>>");
}

TEST(PipelineParserTest, PassNames) {
  PassBuilder pb = makeBuilderWithTestPass();
  ModelPassManager mpm;
  ASSERT_FALSE(
      errorText(pb.parsePassPipeline(mpm, "print<stats>,test-params<fast>,dce"))
          .size());
  EXPECT_EQ(mpm.getPassNames(),
            (std::vector<StringRef>{"print<stats>", "test-params", "dce"}));
  EXPECT_TRUE(ModelPassManager().getPassNames().empty());
}

TEST(PipelineParserTest, BadPipelines) {
  PassBuilder pb = makeBuilderWithTestPass();
  struct Case {
    const char *text;
    const char *error;
  } cases[] = {
      {"", "empty pipeline"},
      {"  ", "empty pipeline"},
      {"dce,,dce", "invalid pipeline 'dce,,dce': empty pipeline element at "
                   "column 5"},
      {"dce,", "invalid pipeline 'dce,': empty pipeline element at column 5"},
      {",dce", "invalid pipeline ',dce': empty pipeline element at column 1"},
      {"dce<", "invalid pipeline 'dce<': unbalanced '<' at column 4"},
      {"print<stats", "invalid pipeline 'print<stats': unbalanced '<' at "
                      "column 6"},
      {"test-params<mode=a<b>", "invalid pipeline 'test-params<mode=a<b>': "
                                "unbalanced '<' at column 12"},
      {"dce>", "invalid pipeline 'dce>': unmatched '>' at column 4"},
      {"dce<>x", "invalid pipeline 'dce<>x': unexpected text after '>' at "
                 "column 6"},
      {"<x>", "invalid pipeline '<x>': missing pass name at column 1"},
      {"dcee", "unknown pass 'dcee' (did you mean 'dce'?)"},
      {"DCE", "unknown pass 'DCE' (did you mean 'dce'?)"},
      {"prnt<stats>", "unknown pass 'prnt' (did you mean 'print'?)"},
      {"test-param", "unknown pass 'test-param' (did you mean "
                     "'test-params'?)"},
      {"frobnicate", "unknown pass 'frobnicate' (see --list-passes)"},
      {"dce<x>", "pass 'dce' takes no parameters, got 'dce<x>'"},
      {"print", "'print' needs an analysis name: print<NAME>"},
      {"print<>", "'print' needs an analysis name: print<NAME>"},
      {"print<stat>", "unknown analysis 'stat' in 'print<stat>' (did you "
                      "mean 'stats'?)"},
      {"require<nothing-like-it>", "unknown analysis 'nothing-like-it' in "
                                   "'require<nothing-like-it>'"},
      {"dce,test-params<samples=x>", "pass 'test-params': parameter "
                                     "'samples': expected an unsigned "
                                     "integer, got 'x'"},
      {"test-params<bogus>", "pass 'test-params': unknown parameter 'bogus' "
                             "(expected one of: samples, rtol, fast, mode)"},
  };
  for (const Case &c : cases)
    EXPECT_EQ(parseAndPrint(pb, c.text), std::string("error: ") + c.error)
        << "pipeline: '" << c.text << "'";
}

TEST(PipelineParserTest, PrintedPipelineParsesBack) {
  PassBuilder pb = makeBuilderWithTestPass();
  const char *pipelines[] = {
      "dce",
      "print<stats>,dce,print<stats>",
      " test-params < fast ; rtol = 2.5e-5 > , require<shapes> ",
      "test-params<mode=nested<a=1;b>;samples=0>,invalidate<stats>,dce",
  };
  for (const char *text : pipelines) {
    std::string once = parseAndPrint(pb, text);
    ASSERT_EQ(once.rfind("error", 0), std::string::npos) << once;
    EXPECT_EQ(parseAndPrint(pb, once), once) << "pipeline: " << text;
  }
}

TEST(PipelineParserTest, PrintPassWritesToItsStream) {
  std::string out;
  llvm::raw_string_ostream os(out);
  PassBuilder pb(&os);
  ModelPassManager mpm;
  ASSERT_FALSE(errorText(pb.parsePassPipeline(mpm, "print<stats>")).size());
  ModelAnalysisManager am;
  pb.registerAnalyses(am);
  Model m;
  auto pa = mpm.run(m, am);
  ASSERT_TRUE(bool(pa)) << errorText(pa);
  EXPECT_TRUE(pa->areAllPreserved());
  EXPECT_EQ(os.str(), "Printing analysis 'stats':\n"
                      "nodes: 0\n"
                      "weights: 0\n"
                      "params: 0\n"
                      "buffers: 0\n"
                      "weight bytes: 0\n"
                      "FLOPs: 0\n"
                      "ops without a FLOP estimate: 0\n");
}

TEST(PipelineParserTest, RegistryListsEveryEntry) {
  std::vector<std::string> names;
  for (const PassInfo &info : PassBuilder::getRegistry())
    names.push_back(info.name);
  auto has = [&](StringRef n) {
    return std::find(names.begin(), names.end(), n) != names.end();
  };
  EXPECT_TRUE(has("dce"));
  EXPECT_TRUE(has("stats"));
  EXPECT_TRUE(has("shapes"));
  std::string text;
  llvm::raw_string_ostream os(text);
  PassBuilder::printRegistry(os);
  EXPECT_EQ(os.str().rfind("Passes:\n", 0), 0u) << os.str();
  EXPECT_NE(os.str().find("\n  dce\n      remove nodes"), std::string::npos)
      << os.str();
  EXPECT_NE(os.str().find("\n  stats\n      node count"), std::string::npos);

  // Every analysis class answers to the name the registry gives it (the
  // printed pipeline uses CLASS::name()).
  ModelAnalysisManager am;
  PassBuilder().registerAnalyses(am);
  Model m;
  for (const PassInfo &info : PassBuilder::getRegistry()) {
    if (info.kind != PassInfo::Kind::Analysis)
      continue;
    ModelPassManager mpm;
    std::string text = "require<" + info.name + ">";
    ASSERT_EQ(errorText(PassBuilder().parsePassPipeline(mpm, text)), "");
    EXPECT_EQ(mpm.getPipelineText(), text);
    auto pa = mpm.run(m, am);
    // `latency` times the model on an injected runtime, and none is here.
    if (info.name == "latency")
      EXPECT_NE(errorText(pa).find("needs a runtime to time the model"),
                std::string::npos)
          << errorText(pa);
    else
      EXPECT_TRUE(bool(pa)) << errorText(pa);
  }
}

} // namespace
