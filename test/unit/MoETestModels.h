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

inline std::string moeTextModel(MoEExport form, int64_t e = 4, int64_t h = 5,
                                int64_t i = 3, int64_t k = 2) {
  using std::to_string;
  bool dynamo = form == MoEExport::Dynamo;
  std::vector<std::string> inits = {dynamo ? textTensor("R", {e, h}, -1, 1)
                                           : textTensor("Rt", {h, e}, -1, 1),
                                    textTensor("GU", {e, 2 * i, h}),
                                    textTensor("D", {e, h, i}),
                                    textInts("k", {k}),
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
  std::string router = dynamo ? "  L = Gemm<transB = 1>(X, R)\n"
                              : "  L0 = MatMul(X, Rt)\n"
                                "  L = Cast<to = 1>(L0)\n";
  std::string pick = dynamo ? "  Ix = Unsqueeze(C, m1)\n"
                              "  Wg = GatherND<batch_dims = 0>(GU, Ix)\n"
                            : "  Wg = Gather<axis = 0>(GU, C)\n";
  std::string halves = dynamo
                           ? "  G, U = Split<axis = 1, num_outputs = 2>(Hs)\n"
                           : "  G = Slice(Hs, s0, s1, m1)\n"
                             "  U = Slice(Hs, s1, s2, m1)\n";
  std::string down = dynamo ? "  Wd = GatherND<batch_dims = 0>(D, Ix)\n"
                            : "  Wd = Gather<axis = 0>(D, C)\n";
  std::string body = router +
                     "  P = Softmax<axis = -1>(L)\n"
                     "  V, Idx = TopK<axis = -1>(P, k)\n"
                     "  S = ReduceSum<keepdims = 1>(V, m1)\n"
                     "  Wt = Div(V, S)\n"
                     "  Xu = Unsqueeze(X, one)\n"
                     "  Xe = Expand(Xu, rep)\n"
                     "  Xr = Reshape(Xe, flat)\n"
                     "  If = Reshape(Idx, m1)\n"
                     "  C = Clip(If, zero, emax)\n" +
                     pick +
                     "  Xc = Unsqueeze(Xr, m1)\n"
                     "  Hm = MatMul(Wg, Xc)\n"
                     "  Hs = Squeeze(Hm, m1)\n" +
                     halves +
                     "  Sg = Sigmoid(G)\n"
                     "  A = Mul(G, Sg)\n"
                     "  Hh = Mul(A, U)\n" +
                     down +
                     "  Hc = Unsqueeze(Hh, m1)\n"
                     "  O = MatMul(Wd, Hc)\n"
                     "  Os = Squeeze(O, m1)\n"
                     "  Wf = Reshape(Wt, m1)\n"
                     "  Ww = Unsqueeze(Wf, m1)\n"
                     "  Ow = Mul(Os, Ww)\n"
                     "  O3 = Reshape(Ow, back)\n"
                     "  Y = ReduceSum<keepdims = 0>(O3, one)\n";
  std::string sig = "moe (float[T," + to_string(h) + "] X) => (float[T," +
                    to_string(h) + "] Y)";
  return textModel(dynamo ? "\"\" : 18" : "\"\" : 17", sig, inits, body);
}

} // namespace test
} // namespace onnxprune

#endif // ONNXPRUNE_TEST_UNIT_MOETESTMODELS_H
