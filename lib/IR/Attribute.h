//===- Attribute.h - Node attributes ----------------------------*- C++ -*-===//
///
/// \file
/// A node attribute. Scalars, lists, tensors and subgraphs (If/Loop/Scan
/// bodies) are modelled; sparse tensors and type protos are kept as
/// serialized protobuf so they round-trip untouched.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_IR_ATTRIBUTE_H
#define ONNXPRUNE_IR_ATTRIBUTE_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace onnxprune {

class Graph;
class Tensor;

/// Numbered as ONNX's AttributeProto::AttributeType.
enum class AttrKind : uint8_t {
  Undefined = 0,
  Float = 1,
  Int = 2,
  String = 3,
  Tensor = 4,
  Graph = 5,
  SparseTensor = 11,
  TypeProto = 13,
  Floats = 6,
  Ints = 7,
  Strings = 8,
  Tensors = 9,
  Graphs = 10,
  SparseTensors = 12,
  TypeProtos = 14,
};

class Attribute {
public:
  Attribute() = default;
  Attribute(std::string name, AttrKind kind)
      : name(std::move(name)), kind(kind) {}
  ~Attribute();
  Attribute(Attribute &&) noexcept;
  Attribute &operator=(Attribute &&) noexcept;
  Attribute(const Attribute &) = delete;
  Attribute &operator=(const Attribute &) = delete;

  static Attribute ofInt(llvm::StringRef n, int64_t v);
  static Attribute ofFloat(llvm::StringRef n, float v);
  static Attribute ofString(llvm::StringRef n, llvm::StringRef v);
  static Attribute ofInts(llvm::StringRef n, llvm::ArrayRef<int64_t> v);
  static Attribute ofFloats(llvm::StringRef n, llvm::ArrayRef<float> v);

  std::string name;
  AttrKind kind = AttrKind::Undefined;
  std::string docString;
  /// Set inside function bodies: the attribute refers to a function attr.
  std::string refAttrName;

  float f = 0;
  int64_t i = 0;
  std::string s;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::vector<std::shared_ptr<Tensor>> tensors; ///< Tensor / Tensors.
  std::vector<std::unique_ptr<Graph>> graphs;   ///< Graph / Graphs.
  /// Serialized SparseTensorProto / TypeProto values.
  std::vector<std::string> opaque;
};

} // namespace onnxprune

#endif // ONNXPRUNE_IR_ATTRIBUTE_H
