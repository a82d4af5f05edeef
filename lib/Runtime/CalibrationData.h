//===- CalibrationData.h - Calibration samples from files -------*- C++ -*-===//
///
/// \file
/// Calibration criteria run the model on real inputs. CalibrationData reads
/// them from what users have at hand and serves them in batches:
///
///   - a `.npz` (numpy.savez), one array per graph input, named after it;
///     numpy.savez_compressed (deflate) files too when built with zlib;
///   - a `.npy`, for models with exactly one graph input;
///   - a folder in ONNX's test-data layout: test_data_set_0/,
///     test_data_set_1/, ... each holding input_0.pb, input_1.pb, ...
///     (serialized TensorProtos), or one such set folder itself.
///
/// Axis 0 of every array counts samples. Everything is checked on open
/// against the model's inputs (element type, rank, static dims, symbolic
/// dims that must agree, equal sample counts), so a bad file fails before
/// any run, with a one-line message naming the file and the input.
///
/// Memory stays bounded by the batch, not the file: .npy files and stored
/// .npz entries are mapped and only the rows of a batch are copied; raw
/// TensorProto data is read from its file per batch. Two things are held in
/// memory whole from open on: deflated .npz entries (inflated once; they
/// cost their uncompressed size) and TensorProtos written with typed fields
/// (float_data, int64_data...) rather than raw_data.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_RUNTIME_CALIBRATIONDATA_H
#define ONNXPRUNE_RUNTIME_CALIBRATIONDATA_H

#include "lib/Runtime/HostTensor.h"
#include "lib/Runtime/OrtSession.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace onnxprune {

/// Calibration samples for a model: per graph input, samples along axis 0.
class CalibrationData {
public:
  /// Opens \p path: a .npz, a .npy or a test-data folder (see the file
  /// comment; files are told apart by their first bytes, not their names).
  /// \p modelInputs are the graph inputs that have no initializer, as the
  /// runtime describes them.
  ///
  /// In a test-data folder, sets are ordered by number (test_data_set_10
  /// after test_data_set_9) and so are the input_K.pb files of a set; a
  /// tensor's name field names the graph input it feeds, or, when empty,
  /// its position K names modelInputs[K]. Every set must feed every input,
  /// with the same number of samples for each; the sets' tensors are
  /// concatenated along axis 0 in set order, so their other dims must agree.
  ///
  /// Axis 0 of the model's inputs is the sample axis: its static size, if
  /// any, is the batch size (see getFixedBatch), and its symbol is not
  /// compared with other dims. A symbol past axis 0 must have one size
  /// across all inputs.
  ///
  /// Fails with a one-line message naming the file (for a folder, the set
  /// or .pb file) and the input on: a model input the data does not feed,
  /// an array that is no model input, a wrong element type, a wrong rank, a
  /// static model dim past axis 0 that the data does not match, a symbolic
  /// dim whose name takes two sizes, unequal sample counts, no samples, and
  /// any empty, truncated, corrupt or unsupported file (big-endian,
  /// Fortran-ordered or object .npy arrays, encrypted zip entries...).
  static llvm::Expected<CalibrationData>
  open(llvm::StringRef path, llvm::ArrayRef<TensorInfo> modelInputs);

  /// The same checks on arrays held in memory (the library's calibration
  /// batches): one per model input, named after it, axis 0 = samples. The
  /// bytes are copied. \p displayName stands for the path in messages and
  /// getPath() ("calibration arrays").
  static llvm::Expected<CalibrationData>
  fromArrays(llvm::StringRef displayName, llvm::ArrayRef<NamedTensor> arrays,
             llvm::ArrayRef<TensorInfo> modelInputs);

  CalibrationData(CalibrationData &&) = default;
  CalibrationData &operator=(CalibrationData &&) = default;
  ~CalibrationData();

  /// The path given to open().
  const std::string &getPath() const { return path; }

  /// Samples that batches may cover: the data's samples, or the first N of
  /// them after limitSamples(N), rounded down to a whole number of batches
  /// when getFixedBatch() is not 0 (the remainder is never used).
  int64_t getNumSamples() const { return numSamples; }

  /// Samples the data holds, before any limit or rounding.
  int64_t getNumSamplesInData() const { return totalSamples; }

  /// The batch size the model requires when an input has a static axis 0
  /// (e.g. float[1,3,224,224] gives 1); 0 when the caller picks freely.
  int64_t getFixedBatch() const { return fixedBatch; }

  /// Samples [\p begin, \p end) of every model input, in the order of the
  /// modelInputs given to open(), each a HostTensor with axis 0 of size
  /// end - begin. The range must be non-empty, within getNumSamples(), and
  /// exactly getFixedBatch() long when that is not 0. Copies only the rows
  /// asked for. Safe to call from several threads at once.
  llvm::Expected<std::vector<NamedTensor>> getBatch(int64_t begin,
                                                    int64_t end) const;

  /// Uses only the first \p n samples (the --calibration-samples flag);
  /// replaces an earlier limit, and an \p n past the data keeps them all.
  void limitSamples(int64_t n);

private:
  class Loader;

  CalibrationData() = default;

  /// A run of consecutive samples of one input, stored contiguously.
  struct Chunk {
    /// Index of the chunk's first sample among all samples.
    int64_t firstSample = 0;
    int64_t numSamples = 0;
    /// The chunk's bytes in memory (mapped or owned), or null when they
    /// are read from `file` at `fileOffset` per batch.
    const char *data = nullptr;
    std::string file;
    uint64_t fileOffset = 0;
  };

  /// What the data holds for one model input.
  struct Input {
    TensorInfo info;
    /// The data's element type (Undefined until the first array is seen)
    /// and dims past axis 0.
    DataType dtype = DataType::Undefined;
    std::vector<int64_t> sampleShape;
    uint64_t sampleBytes = 0;
    /// Ordered by firstSample, covering [0, total) without gaps.
    std::vector<Chunk> chunks;
    int64_t total = 0;
  };

  /// Sets numSamples from totalSamples, the limit and the fixed batch.
  void updateNumSamples();

  std::string path;
  std::vector<Input> inputs;
  int64_t totalSamples = 0;
  int64_t numSamples = 0;
  int64_t limit = -1;
  int64_t fixedBatch = 0;
  /// Storage that chunks point into (stable addresses: moving the object
  /// keeps the pointers valid).
  std::vector<std::unique_ptr<llvm::MemoryBuffer>> buffers;
  std::vector<std::unique_ptr<char[]>> owned;
};

} // namespace onnxprune

#endif // ONNXPRUNE_RUNTIME_CALIBRATIONDATA_H
