//===- ShapeInferenceImpl.h - Internals of shape inference ------*- C++ -*-===//
///
/// \file
/// Private to passes/OpHandlers/ShapeInference*.cpp: the per-node context that
/// handlers see, the shape helpers they share (broadcasting, axis
/// normalisation, dim arithmetic), and the handler declarations that
/// ShapeInferenceOps.def maps op types to.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_PASSES_OPHANDLERS_SHAPEINFERENCEIMPL_H
#define ONNXPRUNE_PASSES_OPHANDLERS_SHAPEINFERENCEIMPL_H

#include "lib/IR/Model.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace onnxprune {
namespace shapeinf {

/// One element of a small integer tensor whose values are tracked: a
/// constant (any sign: -1 in a Reshape shape), a symbolic dim read from a
/// shape, or unknown.
struct SymInt {
  std::optional<int64_t> value;
  std::string param;

  static SymInt of(int64_t v) { return SymInt{v, {}}; }
  static SymInt unknown() { return SymInt{}; }
  /// The element that reads dim \p d of a shape.
  static SymInt fromDim(const Dim &d) {
    return d.isStatic() ? of(d.value) : SymInt{std::nullopt, d.param};
  }
  /// The dim this element sizes (negative constants give unknown).
  Dim toDim() const {
    if (value)
      return *value >= 0 ? Dim::of(*value) : Dim::unknown();
    return param.empty() ? Dim::unknown() : Dim::symbol(param);
  }
  bool isConst() const { return value.has_value(); }
  bool isSymbolic() const { return !value && !param.empty(); }
  bool operator==(const SymInt &o) const {
    return value == o.value && param == o.param;
  }
};

/// Known element values of a scalar or 1-D integer tensor.
using ValueVec = llvm::SmallVector<SymInt, 4>;

/// Values larger than this are not tracked element by element.
constexpr int64_t MaxKnownElements = 1024;

/// State shared by the whole run: the known-values side table. A node-based
/// map: handlers hold pointers to one input's values while reading another's.
struct InferenceState {
  std::unordered_map<const Value *, ValueVec> known;
  /// Weights already looked at (known or not), so each is read once.
  llvm::DenseMap<const Value *, bool> weightRead;
  /// Types to read instead of the ones values have in the IR (a side
  /// table: evaluating "what would this chain compute if x had type T"
  /// leaves the model untouched), or null.
  const llvm::DenseMap<const Value *, Type> *typeOverrides = nullptr;
};

/// What a handler sees of one node: typed access to inputs, attributes, the
/// known values of inputs, and slots for the inferred output types.
class NodeContext {
public:
  NodeContext(InferenceState &state, Node &node, int64_t opset)
      : state(state), node(node), opset(opset), outTypes(node.getNumOutputs()),
        outValues(node.getNumOutputs()) {}

  Node &getNode() const { return node; }
  /// The opset imported for the node's domain.
  int64_t getOpset() const { return opset; }

  unsigned numInputs() const { return node.getNumInputs(); }
  unsigned numOutputs() const { return node.getNumOutputs(); }
  bool hasInput(unsigned i) const { return node.getInput(i) != nullptr; }
  bool hasOutput(unsigned i) const { return node.getOutput(i) != nullptr; }
  /// The type of input \p i (Kind::None when absent).
  const Type &inType(unsigned i) const;
  /// The shape of input \p i, or null when its rank is unknown.
  const Shape *inShape(unsigned i) const;
  DataType inElem(unsigned i) const { return inType(i).elemType; }
  int64_t inRank(unsigned i) const { return inType(i).rank(); }

  /// Known element values of input \p i (propagated or read from a small
  /// integer weight), or null.
  const ValueVec *inValues(unsigned i);
  /// Known values of input \p i when all of them are static.
  std::optional<llvm::SmallVector<int64_t, 8>> inInts(unsigned i);
  /// The elements of a weight input \p i of any numeric type (scales).
  std::optional<std::vector<double>> inDoubles(unsigned i) const;

  int64_t intAttr(llvm::StringRef name, int64_t dflt) const {
    return node.getIntAttr(name, dflt);
  }
  std::optional<std::vector<int64_t>> intsAttr(llvm::StringRef name) const {
    return node.getIntsAttr(name);
  }
  std::string stringAttr(llvm::StringRef name, llvm::StringRef dflt) const {
    return node.getStringAttr(name, dflt);
  }

  /// Records the inferred type of output \p i.
  void setOutput(unsigned i, Type t) {
    if (i < outTypes.size())
      outTypes[i] = std::move(t);
  }
  void setOutput(unsigned i, DataType elem, std::optional<Shape> shape) {
    setOutput(i, Type::tensor(elem, std::move(shape)));
  }
  /// Records known element values of output \p i (its type must say it is a
  /// scalar or 1-D integer tensor of as many elements).
  void setOutputValues(unsigned i, ValueVec values) {
    if (i < outValues.size() && (int64_t)values.size() <= MaxKnownElements)
      outValues[i] = std::move(values);
  }

  /// A user-input error about this node: "node 'x' (Op): MSG".
  llvm::Error error(const llvm::Twine &msg) const;

  const std::vector<Type> &getOutputTypes() const { return outTypes; }
  const std::vector<std::optional<ValueVec>> &getOutputValues() const {
    return outValues;
  }

private:
  InferenceState &state;
  Node &node;
  int64_t opset;
  std::vector<Type> outTypes;
  std::vector<std::optional<ValueVec>> outValues;
};

/// A shape handler fills the output types of one node.
using ShapeHandler = llvm::Error (*)(NodeContext &);

// ---- Shared helpers --------------------------------------------------------

/// Prints a shape as "[2,N,?]".
std::string shapeToString(llvm::ArrayRef<Dim> shape);
/// Numpy broadcasting of \p shapes; an error naming both shapes when two
/// static dims differ and neither is 1.
llvm::Expected<Shape> broadcastShapes(NodeContext &ctx,
                                      llvm::ArrayRef<const Shape *> shapes);
/// Normalises a possibly negative \p axis of a rank-\p rank tensor; an error
/// when out of range.
llvm::Expected<int64_t> normalizeAxis(NodeContext &ctx, int64_t axis,
                                      int64_t rank);
/// A shape of \p rank unknown dims.
Shape unknownShape(int64_t rank);
/// A shape of static dims.
Shape staticShape(llvm::ArrayRef<int64_t> dims);
/// a*b, a+b, ... on dims: static when both are, symbolic when one side is
/// the identity (x*1, x+0), unknown otherwise.
Dim mulDims(const Dim &a, const Dim &b);
Dim addDims(const Dim &a, const Dim &b);
Dim subDims(const Dim &a, const Dim &b);
/// Integer division (floor) of dims, static only (x/1 keeps x).
Dim divDims(const Dim &a, const Dim &b);
/// Two dims known to be equal: keeps the more precise one.
Dim mergeDims(const Dim &a, const Dim &b);

// ---- Handlers (see ShapeInferenceOps.def) ----------------------------------

#define SI_HANDLER(FN) llvm::Error FN(NodeContext &ctx);
#define SI_OP(DOMAIN, OP, FN)
#include "passes/OpHandlers/ShapeInferenceOps.def"

} // namespace shapeinf
} // namespace onnxprune

#endif // ONNXPRUNE_PASSES_OPHANDLERS_SHAPEINFERENCEIMPL_H
