//===- ShapeInferenceCrossCheckTest.cpp - Ours vs libonnx's inference -----===//
///
/// \file
/// Cross-checks onnx-prune's shape inference against libonnx 1.12's on every
/// model of Debian's libonnx-testdata (node, pytorch-converted,
/// pytorch-operator, simple) and of the project's zoo (opsets <= 17, which
/// libonnx knows). Each model is read twice, once with libonnx's inference
/// and once without; ours runs on the second. Wherever both give a static
/// shape they must agree exactly, and ours must not fail on a model libonnx
/// accepts. The test prints how many values each side inferred and, for the
/// zoo, the share of libonnx's static shapes ours also finds (coverage).
///
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ModelReader.h"
#include "frontends/onnx/OnnxChecks.h"
#include "passes/OpHandlers/ShapeInference.h"
#include "test/frontend/TestModels.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

using namespace onnxprune;

namespace {

/// Every value of every graph of \p m by name.
llvm::StringMap<Value *> valuesByName(Model &m) {
  llvm::StringMap<Value *> out;
  m.forEachGraph([&](Graph &g) {
    for (Value *v : g.getValues())
      out[v->getName()] = v;
  });
  return out;
}

/// Values where libonnx 1.12 is provably wrong, as "model-file:value". Each
/// entry says why. (None needed so far.)
const llvm::StringSet<> &knownOnnxBugs() {
  static const llvm::StringSet<> bugs;
  return bugs;
}

struct Counts {
  unsigned models = 0, skipped = 0;
  unsigned open = 0; ///< Values the file left without a static shape.
  unsigned onnx = 0; ///< Of those, with a shape after libonnx's inference.
  unsigned ours = 0; ///< Of those, with a shape after ours.
  /// Of onnx, ours has the same rank and every dim libonnx has static.
  unsigned covered = 0;
  unsigned onnxStatic = 0, oursStatic = 0; ///< Fully static shapes.
  unsigned disagree = 0;
  void add(const Counts &o) {
    models += o.models, skipped += o.skipped, open += o.open, onnx += o.onnx,
        ours += o.ours, covered += o.covered, onnxStatic += o.onnxStatic,
        oursStatic += o.oursStatic, disagree += o.disagree;
  }
};

bool modelWithinLibonnx(const Model &m) {
  for (const OpsetImport &o : m.opsetImports)
    if ((o.domain.empty() || o.domain == "ai.onnx") &&
        o.version > maxKnownOpset())
      return false;
  return true;
}

/// How the second read is prepared before our inference runs.
enum class Mode {
  AsRead,   ///< Types as the file declares them (value_info, outputs).
  Stripped, ///< Every type but graph inputs' and weights' dropped.
};

void stripTypes(Model &m) {
  m.forEachGraph([](Graph &g) {
    for (Value *v : g.getValues())
      if (!v->isGraphInput() && !v->isWeight())
        v->setType(Type());
  });
}

/// "" when \p ours does not contradict \p onnx: same rank, and equal dims
/// wherever both are static (symbols may differ: libonnx 1.12 drops some).
std::string contradiction(const Type &onnx, const Type &ours) {
  if (!onnx.hasRank() || !ours.hasRank())
    return "";
  bool bad =
      onnx.rank() != ours.rank() ||
      (onnx.elemType != ours.elemType && onnx.elemType != DataType::Undefined &&
       ours.elemType != DataType::Undefined);
  for (int64_t i = 0; !bad && i < onnx.rank(); ++i) {
    const Dim &a = (*onnx.shape)[i], &b = (*ours.shape)[i];
    bad = a.isStatic() && b.isStatic() && a.value != b.value;
  }
  return bad ? "libonnx " + typeToString(onnx) + ", ours " + typeToString(ours)
             : "";
}

/// True when \p ours knows every static dim \p onnx knows.
bool covers(const Type &onnx, const Type &ours) {
  if (!ours.hasRank() || ours.rank() != onnx.rank())
    return false;
  for (int64_t i = 0; i < onnx.rank(); ++i)
    if ((*onnx.shape)[i].isStatic() && !(*ours.shape)[i].isStatic())
      return false;
  return true;
}

/// Cross-checks one model; adds to \p counts.
void crossCheck(const std::string &path, Mode mode, Counts &counts) {
  SCOPED_TRACE(path);
  auto withOnnx = readModelFile(path);
  auto mine = readModelFile(path);
  if (!withOnnx || !mine) {
    // Unreadable models are the round-trip test's business.
    llvm::consumeError(withOnnx.takeError());
    llvm::consumeError(mine.takeError());
    ++counts.skipped;
    return;
  }
  if (!modelWithinLibonnx(**mine)) {
    ++counts.skipped;
    return;
  }
  {
    // libonnx's types where it knows the model (run in a child process:
    // it crashes on some malformed models), ours where it gave up.
    CheckReport report;
    llvm::Error err = inferShapesWithOnnx(**withOnnx, report);
    if (err || !report.skipped.empty())
      fillTypes(**withOnnx);
    llvm::consumeError(std::move(err));
  }
  ++counts.models;
  if (mode == Mode::Stripped)
    stripTypes(**mine);
  llvm::StringSet<> declaredStatic;
  for (auto &kv : valuesByName(**mine))
    if (kv.second->getType().isStaticShape())
      declaredStatic.insert(kv.getKey());
  llvm::Error err = inferShapes(**mine);
  ASSERT_FALSE(bool(err)) << llvm::toString(std::move(err));

  llvm::StringMap<Value *> ours = valuesByName(**mine);
  std::string key =
      llvm::sys::path::filename(llvm::sys::path::parent_path(path)).str() +
      "/" + llvm::sys::path::filename(path).str() + ":";
  for (auto &kv : valuesByName(**withOnnx)) {
    auto it = ours.find(kv.getKey());
    if (it == ours.end() || declaredStatic.count(kv.getKey()))
      continue;
    const Type &a = kv.second->getType(), &b = it->second->getType();
    ++counts.open;
    counts.onnx += a.hasRank();
    counts.ours += b.hasRank();
    counts.onnxStatic += a.isStaticShape();
    counts.oursStatic += b.isStaticShape();
    std::string why = contradiction(a, b);
    if (why.empty()) {
      bool ok = a.hasRank() && covers(a, b);
      counts.covered += ok;
      // ONNXPRUNE_XCHECK_VERBOSE=1 lists what libonnx shapes and ours not.
      if (a.hasRank() && !ok && std::getenv("ONNXPRUNE_XCHECK_VERBOSE")) {
        Node *p = it->second->getProducer();
        std::printf("[shape-xcheck] uncovered %s%s (%s): libonnx %s, ours %s\n",
                    key.c_str(), kv.getKey().str().c_str(),
                    p ? p->getOpType().c_str() : "-", typeToString(a).c_str(),
                    typeToString(b).c_str());
      }
      continue;
    }
    if (knownOnnxBugs().count(key + kv.getKey().str()))
      continue;
    ++counts.disagree;
    Node *producer = it->second->getProducer();
    ADD_FAILURE() << "value '" << kv.getKey().str() << "'"
                  << (producer ? " of node " + producer->describe() : "")
                  << ": " << why;
  }
}

void printCounts(const std::string &title, const Counts &c) {
  std::printf("[shape-xcheck] %s: %u models (%u skipped); %u values open: "
              "shaped by libonnx %u, by ours %u; fully static libonnx %u, "
              "ours %u; coverage of libonnx's shapes %.1f%%; "
              "disagreements %u\n",
              title.c_str(), c.models, c.skipped, c.open, c.onnx, c.ours,
              c.onnxStatic, c.oursStatic,
              c.onnx ? 100.0 * c.covered / c.onnx : 100.0, c.disagree);
  std::fflush(stdout);
}

class CrossCheck : public ::testing::TestWithParam<std::string> {
protected:
  void run(Mode mode, const char *what) {
    std::vector<std::string> models = findModels(GetParam());
    if (models.empty())
      GTEST_SKIP() << "no models under " << GetParam();
    bool perModel = GetParam().find("zoo") != std::string::npos;
    Counts total;
    for (const std::string &m : models) {
      Counts c;
      crossCheck(m, mode, c);
      if (perModel && c.models)
        printCounts(
            std::string(what) + " " + llvm::sys::path::filename(m).str(), c);
      total.add(c);
    }
    printCounts(std::string(what) + " " + GetParam(), total);
  }
};

/// The files' declared types kept: ours fills what they leave open.
TEST_P(CrossCheck, AsRead) { run(Mode::AsRead, "as-read"); }

/// Every intermediate type dropped first: ours recomputes the whole model
/// from its inputs and weights, a much wider check of the handlers.
TEST_P(CrossCheck, Stripped) { run(Mode::Stripped, "stripped"); }

INSTANTIATE_TEST_SUITE_P(
    Models, CrossCheck,
    ::testing::Values("/usr/share/libonnx-testdata/data/node",
                      "/usr/share/libonnx-testdata/data/pytorch-converted",
                      "/usr/share/libonnx-testdata/data/pytorch-operator",
                      "/usr/share/libonnx-testdata/data/simple",
                      ONNXPRUNE_ZOO_DIR),
    [](const ::testing::TestParamInfo<std::string> &info) {
      std::string name = llvm::sys::path::filename(info.param).str();
      std::replace(name.begin(), name.end(), '-', '_');
      return name;
    });

} // namespace
