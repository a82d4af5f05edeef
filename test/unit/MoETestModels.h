//===- MoETestModels.h - Tiny Mixture-of-Experts text models ----*- C++ -*-===//
///
/// \file
/// Mixtral-style MoE blocks as the two torch exporters write them, small
/// enough to read, for the GatherND handler and prune-experts tests:
///
///   router:  L = Gemm<transB=1>(X, R[E,H])          (dynamo)
///            L = Cast(MatMul(X, Rt[H,E]))           (TorchScript)
///            P = Softmax(L); V, Idx = TopK(P, k); Wt = V / sum(V)
///   experts: C = Clip(Reshape(Idx, [-1]), 0, E-1)
///            W = GatherND(GU[E,2I,H], Unsqueeze(C, -1))   (dynamo)
///            W = Gather<axis=0>(GU[E,2I,H], C)            (TorchScript)
///            h = W @ x; g, u = halves of h (Split / two Slices)
///            o = GatherND|Gather(D[E,H,I], ...) @ (silu(g) * u)
///            Y = sum over the k picks of o * Wt
///
/// Tokens are the symbolic dim T of X[T,H]; every size is a parameter.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_TEST_UNIT_MOETESTMODELS_H
#define ONNXPRUNE_TEST_UNIT_MOETESTMODELS_H

#include "test/unit/PruneTestUtil.h"

#include <cstdint>
#include <string>

namespace onnxprune {
namespace test {

enum class MoEExport { Dynamo, TorchScript };

/// \p blocks MoE blocks in a row (block b > 0 names its values with a
/// suffix `_b`, weights too unless \p shareWeights: then every block reads
/// the first block's router and expert weights, as an exporter that merged
/// equal tensors would write them).
inline std::string moeTextModel(MoEExport form, int64_t e = 4, int64_t h = 5,
                                int64_t i = 3, int64_t k = 2,
                                unsigned blocks = 1,
                                bool shareWeights = false) {
  using std::to_string;
  bool dynamo = form == MoEExport::Dynamo;
  std::vector<std::string> inits = {textInts("k", {k}),
                                    textInts("m1", {-1}),
                                    textInts("one", {1}),
                                    "int64 zero = {0}",
                                    "int64 emax = {" + to_string(e - 1) + "}",
                                    textInts("rep", {1, k, 1}),
                                    textInts("flat", {-1, h}),
                                    textInts("back", {-1, k, h}),
                                    textInts("s0", {0}),
                                    textInts("s1", {i}),
                                    textInts("s2", {2 * i})};
  std::string body;
  for (unsigned b = 0; b < blocks; ++b) {
    std::string sfx = b ? "_" + to_string(b) : "";
    std::string wsfx = shareWeights ? "" : sfx;
    if (b == 0 || !shareWeights) {
      inits.push_back(dynamo ? textTensor("R" + wsfx, {e, h}, -1, 1)
                             : textTensor("Rt" + wsfx, {h, e}, -1, 1));
      inits.push_back(textTensor("GU" + wsfx, {e, 2 * i, h}));
      inits.push_back(textTensor("D" + wsfx, {e, h, i}));
    }
    // Value names of this block; weights by wsfx.
    auto v = [&](const char *name) { return std::string(name) + sfx; };
    auto w = [&](const char *name) { return std::string(name) + wsfx; };
    std::string x = b ? "Y_" + to_string(b - 1) : "X";
    std::string y = b + 1 == blocks ? "Y" : "Y_" + to_string(b);
    if (dynamo)
      body +=
          "  " + v("L") + " = Gemm<transB = 1>(" + x + ", " + w("R") + ")\n";
    else
      body += "  " + v("L0") + " = MatMul(" + x + ", " + w("Rt") + ")\n" +
              "  " + v("L") + " = Cast<to = 1>(" + v("L0") + ")\n";
    body += "  " + v("P") + " = Softmax<axis = -1>(" + v("L") + ")\n" + "  " +
            v("V") + ", " + v("Idx") + " = TopK<axis = -1>(" + v("P") +
            ", k)\n" + "  " + v("S") + " = ReduceSum<keepdims = 1>(" + v("V") +
            ", m1)\n" + "  " + v("Wt") + " = Div(" + v("V") + ", " + v("S") +
            ")\n" + "  " + v("Xu") + " = Unsqueeze(" + x + ", one)\n" + "  " +
            v("Xe") + " = Expand(" + v("Xu") + ", rep)\n" + "  " + v("Xr") +
            " = Reshape(" + v("Xe") + ", flat)\n" + "  " + v("If") +
            " = Reshape(" + v("Idx") + ", m1)\n" + "  " + v("C") + " = Clip(" +
            v("If") + ", zero, emax)\n";
    std::string idx = dynamo ? v("Ix") : v("C");
    std::string gather =
        dynamo ? "GatherND<batch_dims = 0>(" : "Gather<axis = 0>(";
    if (dynamo)
      body += "  " + v("Ix") + " = Unsqueeze(" + v("C") + ", m1)\n";
    body += "  " + v("Wg") + " = " + gather + w("GU") + ", " + idx + ")\n" +
            "  " + v("Xc") + " = Unsqueeze(" + v("Xr") + ", m1)\n" + "  " +
            v("Hm") + " = MatMul(" + v("Wg") + ", " + v("Xc") + ")\n" + "  " +
            v("Hs") + " = Squeeze(" + v("Hm") + ", m1)\n";
    if (dynamo)
      body += "  " + v("G") + ", " + v("U") +
              " = Split<axis = 1, num_outputs = 2>(" + v("Hs") + ")\n";
    else
      body += "  " + v("G") + " = Slice(" + v("Hs") + ", s0, s1, m1)\n" + "  " +
              v("U") + " = Slice(" + v("Hs") + ", s1, s2, m1)\n";
    body += "  " + v("Sg") + " = Sigmoid(" + v("G") + ")\n" + "  " + v("A") +
            " = Mul(" + v("G") + ", " + v("Sg") + ")\n" + "  " + v("Hh") +
            " = Mul(" + v("A") + ", " + v("U") + ")\n" + "  " + v("Wd") +
            " = " + gather + w("D") + ", " + idx + ")\n" + "  " + v("Hc") +
            " = Unsqueeze(" + v("Hh") + ", m1)\n" + "  " + v("O") +
            " = MatMul(" + v("Wd") + ", " + v("Hc") + ")\n" + "  " + v("Os") +
            " = Squeeze(" + v("O") + ", m1)\n" + "  " + v("Wf") +
            " = Reshape(" + v("Wt") + ", m1)\n" + "  " + v("Ww") +
            " = Unsqueeze(" + v("Wf") + ", m1)\n" + "  " + v("Ow") + " = Mul(" +
            v("Os") + ", " + v("Ww") + ")\n" + "  " + v("O3") + " = Reshape(" +
            v("Ow") + ", back)\n" + "  " + y + " = ReduceSum<keepdims = 0>(" +
            v("O3") + ", one)\n";
  }
  std::string sig = "moe (float[T," + to_string(h) + "] X) => (float[T," +
                    to_string(h) + "] Y)";
  return textModel(dynamo ? "\"\" : 18" : "\"\" : 17", sig, inits, body);
}

} // namespace test
} // namespace onnxprune

#endif // ONNXPRUNE_TEST_UNIT_MOETESTMODELS_H
