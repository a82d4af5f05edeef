//===- ShapeInferenceOpsRecurrent.cpp - LSTM, GRU and RNN shapes ----------===//
///
/// \file
/// Output shapes of the recurrent ops (the coupling of their axes is in
/// passes/OpHandlers/RecurrentHandlers.cpp):
///
///   layout=0: X[seq, batch, in] -> Y[seq, dirs, batch, H], Y_h/Y_c[dirs,
///   batch, H] layout=1: X[batch, seq, in] -> Y[batch, seq, dirs, H],
///   Y_h/Y_c[batch, dirs, H]
///
/// dirs is 2 for `bidirectional`, else 1; H is `hidden_size`, else R's last
/// dim. The ranks are always known (sequence and batch may not be), so the
/// pruner never loses a rank at a recurrent op.
///
//===----------------------------------------------------------------------===//

#include "passes/OpHandlers/ShapeInferenceImpl.h"

using namespace llvm;

namespace onnxprune {
namespace shapeinf {

Error inferRecurrent(NodeContext &ctx) {
  const Type &xt = ctx.inType(0);
  if (!xt.isTensor())
    return Error::success();
  int64_t layout = ctx.intAttr("layout", 0);
  if (layout != 0 && layout != 1)
    return ctx.error("layout must be 0 or 1, not " + Twine(layout));
  std::string dir = ctx.stringAttr("direction", "forward");
  if (dir != "forward" && dir != "reverse" && dir != "bidirectional")
    return ctx.error("unknown direction '" + dir + "'");
  Dim dirs = Dim::of(dir == "bidirectional" ? 2 : 1);
  Dim hidden = Dim::unknown();
  int64_t h = ctx.intAttr("hidden_size", -1);
  if (h > 0)
    hidden = Dim::of(h);
  else if (const Shape *r = ctx.inShape(2); r && r->size() == 3)
    hidden = (*r)[2];
  const Shape *x = ctx.inShape(0);
  if (x && x->size() != 3)
    return ctx.error("input X must have rank 3, not " + Twine(x->size()));
  Dim seq = x ? (*x)[layout ? 1 : 0] : Dim::unknown();
  Dim batch = x ? (*x)[layout ? 0 : 1] : Dim::unknown();
  if (ctx.hasOutput(0))
    ctx.setOutput(0, xt.elemType,
                  layout ? Shape{batch, seq, dirs, hidden}
                         : Shape{seq, dirs, batch, hidden});
  Shape state =
      layout ? Shape{batch, dirs, hidden} : Shape{dirs, batch, hidden};
  for (unsigned i = 1; i < ctx.numOutputs(); ++i)
    if (ctx.hasOutput(i))
      ctx.setOutput(i, xt.elemType, state);
  return Error::success();
}

} // namespace shapeinf
} // namespace onnxprune
