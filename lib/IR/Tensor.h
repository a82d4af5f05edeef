//===- Tensor.h - Weight tensors and where their bytes live -----*- C++ -*-===//
///
/// \file
/// A Tensor is a weight: an initializer, a tensor lifted from a `Constant`
/// node, or a tensor-valued attribute. Its bytes live in one of two places:
///
///   * in memory: raw_data moved out of the protobuf (no copy), typed fields
///     converted once to little-endian raw bytes, or a buffer a pass made;
///   * an external data file: (file, offset, length), mapped lazily the
///     first time someone reads the bytes. A tensor nobody reads or changes
///     is never mapped: the writer copies its bytes file-to-file.
///
/// The tensor remembers how the model stored it (raw or typed field,
/// external location, the Constant attribute it came from) so an unchanged
/// model writes back as it was.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_IR_TENSOR_H
#define ONNXPRUNE_IR_TENSOR_H

#include "lib/IR/Type.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/FileSystem.h"

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace onnxprune {

/// One external data file, opened once per model and mapped on first read.
class ExternalFile {
public:
  ExternalFile(std::string path, uint64_t size)
      : path(std::move(path)), size(size) {}
  ~ExternalFile();
  const std::string &getPath() const { return path; }
  uint64_t getSize() const { return size; }
  /// Bytes [offset, offset+length) of the file; maps the file on first use.
  llvm::Expected<llvm::ArrayRef<char>> read(uint64_t offset, uint64_t length);
  /// Drops the mapped pages of a range from memory (they are read again on
  /// the next access): streaming over a model bigger than RAM.
  void release(uint64_t offset, uint64_t length);
  /// Asks the kernel to start reading a range that will be read soon
  /// (readahead while the current range is being worked on).
  void prefetch(uint64_t offset, uint64_t length);

private:
  std::string path;
  uint64_t size;
  std::mutex mu;
  std::unique_ptr<llvm::sys::fs::mapped_file_region> region;
};

/// Where an external tensor's bytes are, as the model said it.
struct ExternalLocation {
  std::string location; ///< As written in the model (relative path).
  uint64_t offset = 0;
  uint64_t length = 0;
  /// Other external_data entries (e.g. "checksum"), kept in order.
  std::vector<std::pair<std::string, std::string>> extra;
  std::shared_ptr<ExternalFile> file;
};

class Tensor {
public:
  /// How the model held the values: raw_data, or the typed repeated field
  /// (float_data, int64_data...) which the frontend decoded.
  enum class Encoding : uint8_t { Raw, Typed };

  Tensor(std::string name, DataType dtype, llvm::ArrayRef<int64_t> dims)
      : name(std::move(name)), dtype(dtype), dims(dims.begin(), dims.end()) {}

  const std::string &getName() const { return name; }
  void setName(std::string n) { name = std::move(n); }
  DataType getDataType() const { return dtype; }
  llvm::ArrayRef<int64_t> getDims() const { return dims; }
  uint64_t getNumElements() const;
  /// Size of the values in bytes (raw layout); 0 for string tensors.
  uint64_t getByteSize() const { return storageBytes(dtype, getNumElements()); }

  /// The raw little-endian bytes. Maps external data on first call; a
  /// lazily sliced tensor is materialised in memory here.
  llvm::Expected<llvm::ArrayRef<char>> getBytes() const;
  /// Hint: the caller is done with the bytes of an external tensor; its
  /// mapped pages may leave memory.
  void releaseBytes() const;
  /// The same for bytes [\p offset, \p offset + \p length) of the tensor:
  /// a reader streaming through a big weight lets the pages it has read
  /// go as it moves on.
  void releaseBytes(uint64_t offset, uint64_t length) const;
  /// Hint: bytes [\p offset, \p offset + \p length) of this external
  /// tensor will be read soon; the kernel starts reading them.
  void prefetchBytes(uint64_t offset, uint64_t length) const;
  /// String values (dtype == String only).
  const std::vector<std::string> &getStrings() const { return strings; }

  /// Replaces the contents (a pass sliced or rewrote the tensor). The tensor
  /// becomes in-memory and modified: the writer will not copy old bytes.
  void setData(llvm::ArrayRef<int64_t> newDims, std::string rawBytes);
  /// Builds an in-memory tensor from bytes the frontend already owns.
  void setInlineBytes(std::string rawBytes) { bytes = std::move(rawBytes); }
  void setInlineStrings(std::vector<std::string> values) {
    strings = std::move(values);
  }
  void setExternal(ExternalLocation loc) {
    external = std::move(loc);
    isExternal = true;
  }

  /// True when the bytes are exactly an unchanged range of an external file
  /// (the writer copies them file to file).
  bool hasExternalData() const { return isExternal && !lazy; }

  /// One axis of a lazy slice: the kept indices along it.
  struct SliceAxis {
    unsigned axis;
    std::vector<int64_t> kept;
  };
  /// Makes this external tensor a slice of its own bytes without reading
  /// them: the writer streams the kept rows straight from the source file,
  /// so a multi-GB model is pruned with little memory. \p axes in any order.
  void setLazySlice(llvm::ArrayRef<int64_t> newDims,
                    std::vector<SliceAxis> axes);
  bool hasLazySlice() const { return lazy != nullptr; }
  /// Streams the bytes of a lazily sliced tensor to \p sink in order, in
  /// pieces of bounded size.
  llvm::Error
  streamLazySlice(llvm::function_ref<llvm::Error(llvm::StringRef)> sink) const;
  const ExternalLocation &getExternal() const { return external; }
  bool isModified() const { return modified; }

  /// True when every element has the same bytes (a zero bias, a unit norm
  /// weight) and there are at least two. Exporters merge such tensors when
  /// they are bit-identical, so sharing one says nothing about the model.
  /// Reads the bytes (maps external data); false for strings.
  bool isSplat() const;
  /// A copy named \p newName with the same contents and storage record
  /// (external location, lazy slice, encoding): an external tensor's bytes
  /// stay in their file, in-memory bytes are copied.
  std::unique_ptr<Tensor> clone(std::string newName) const;

  Encoding encoding = Encoding::Raw;
  std::string docString;
  /// Non-empty when the tensor was lifted from a `Constant` node attribute:
  /// "value", "value_float", "value_floats", "value_int", "value_ints".
  std::string liftedFromAttr;
  /// doc_string of that attribute.
  std::string attrDocString;
  /// Serialized protobuf fields this IR does not model (segment, fields of
  /// newer ONNX versions), merged back by the writer.
  std::string unknownFields;

private:
  struct LazySlice {
    llvm::SmallVector<int64_t, 4> sourceDims;
    std::vector<SliceAxis> axes;
  };

  std::string name;
  DataType dtype;
  llvm::SmallVector<int64_t, 4> dims;
  /// In-memory raw bytes (when !isExternal, or a materialised lazy slice).
  mutable std::string bytes;
  mutable std::unique_ptr<LazySlice> lazy;
  std::vector<std::string> strings;
  mutable ExternalLocation external;
  mutable bool isExternal = false;
  bool modified = false;
};

/// Gathers \p kept indices along \p axis of a row-major tensor of \p dims
/// with \p elemSize-byte elements (slicing weights, lazily or not).
std::string gatherAxis(llvm::StringRef bytes, llvm::ArrayRef<int64_t> dims,
                       unsigned elemSize, unsigned axis,
                       llvm::ArrayRef<int64_t> kept);

/// Element access helpers for passes and analyses: read any numeric tensor
/// as doubles / int64s (converting float16, bfloat16, ints).
llvm::Expected<std::vector<double>> readAsDoubles(const Tensor &t);
llvm::Expected<std::vector<int64_t>> readAsInt64s(const Tensor &t);

} // namespace onnxprune

#endif // ONNXPRUNE_IR_TENSOR_H
