//===- Attribute.cpp - Node attributes ------------------------------------===//

#include "lib/IR/Attribute.h"
#include "lib/IR/Graph.h"
#include "lib/IR/Tensor.h"

namespace onnxprune {

Attribute::~Attribute() = default;
Attribute::Attribute(Attribute &&) noexcept = default;
Attribute &Attribute::operator=(Attribute &&) noexcept = default;

Attribute Attribute::ofInt(llvm::StringRef n, int64_t v) {
  Attribute a(n.str(), AttrKind::Int);
  a.i = v;
  return a;
}
Attribute Attribute::ofFloat(llvm::StringRef n, float v) {
  Attribute a(n.str(), AttrKind::Float);
  a.f = v;
  return a;
}
Attribute Attribute::ofString(llvm::StringRef n, llvm::StringRef v) {
  Attribute a(n.str(), AttrKind::String);
  a.s = v.str();
  return a;
}
Attribute Attribute::ofInts(llvm::StringRef n, llvm::ArrayRef<int64_t> v) {
  Attribute a(n.str(), AttrKind::Ints);
  a.ints.assign(v.begin(), v.end());
  return a;
}
Attribute Attribute::ofFloats(llvm::StringRef n, llvm::ArrayRef<float> v) {
  Attribute a(n.str(), AttrKind::Floats);
  a.floats.assign(v.begin(), v.end());
  return a;
}

} // namespace onnxprune
