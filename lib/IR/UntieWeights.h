//===- UntieWeights.h - One logical copy of a merged weight per reader -*- C++
//-*-===//
///
/// \file
/// Both torch exporters merge bit-identical tensors, and Hugging Face
/// initialises every bias to 0 and every norm weight to 1: one zero tensor
/// ends up as the bias of every LayerNorm and of the q projection, and
/// layer 1's q-bias is layer 0's. Such sharing says nothing about the
/// model, but a dependency analysis reading it would couple the attention
/// heads to the hidden size and tie every layer's MLP together.
///
/// untieSharedSplats() gives every extra reader of a shared *splat*
/// initializer (all elements equal, so any two slices of it are equal too)
/// its own logical copy:
///
///   before: b[64] = zeros;  Add(x, b)   Add(y, b)   Identity(b)
///   after:  b[64], b_1[64], b_2[64] (tieGroup 1); Add(x, b) Add(y, b_1)
///           Identity(b_2)
///
/// A non-splat tensor read twice (a tied embedding and LM head) is a real
/// tie and stays shared, as do initializers that are graph inputs or
/// outputs and those read inside subgraphs. The writer writes the copies
/// whose contents are still equal once, under the first one's name
/// (frontends/onnx/ProtoExport.cpp), so an unchanged model round-trips
/// byte for byte and identically pruned copies are stored once.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_IR_UNTIEWEIGHTS_H
#define ONNXPRUNE_IR_UNTIEWEIGHTS_H

#include "lib/IR/Model.h"

namespace onnxprune {

/// Unties the shared splat initializers of every graph of \p m; returns the
/// number of copies made.
unsigned untieSharedSplats(Model &m);

} // namespace onnxprune

#endif // ONNXPRUNE_IR_UNTIEWEIGHTS_H
