//===- CouplingBuilder.cpp - How op handlers state couplings --------------===//
///
/// \file
/// The parts of CouplingBuilder that need no graph: sizes and ranks read
/// from value types, and what counts as shape data.
///
//===----------------------------------------------------------------------===//

#include "passes/OpHandlers/CouplingBuilder.h"

namespace onnxprune {

CouplingBuilder::~CouplingBuilder() = default;

bool isShapeData(const Value *v) {
  if (!v)
    return false;
  const Type &t = v->getType();
  if (!t.isTensor() || !t.hasRank() || t.rank() > 1)
    return false;
  switch (t.elemType) {
  case DataType::Int64:
  case DataType::Int32:
  case DataType::Int16:
  case DataType::Int8:
  case DataType::UInt64:
  case DataType::UInt32:
  case DataType::UInt16:
  case DataType::UInt8:
  case DataType::Bool:
    return true;
  default:
    return false;
  }
}

int64_t CouplingBuilder::size(AxisRef a) {
  if (!a.value)
    return -1;
  const Type &t = a.value->getType();
  if (!t.hasRank() || a.axis >= t.shape->size())
    return -1;
  const Dim &d = (*t.shape)[a.axis];
  return d.isStatic() ? d.value : -1;
}

int64_t CouplingBuilder::rank(const Value *v) {
  return v ? v->getType().rank() : -1;
}

} // namespace onnxprune
