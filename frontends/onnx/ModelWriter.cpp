//===- ModelWriter.cpp - Write the IR back to ONNX files ------------------===//

#include "frontends/onnx/ModelWriter.h"
#include "frontends/onnx/ProtoConvert.h"
#include "frontends/onnx/TextFormat.h"
#include "lib/Support/Error.h"
#include "lib/Support/OutputFile.h"
#include "lib/Support/Parallel.h"
#include "lib/Support/Progress.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <fcntl.h>
#include <mutex>
#include <unistd.h>

using namespace llvm;

namespace onnxprune {

namespace {

/// Protobuf refuses messages of 2 GB or more; stay clear of the edge.
constexpr uint64_t kProtoLimit = (2ull << 30) - (64ull << 20);
/// Big tensors start on a page boundary so runtimes can map them.
constexpr uint64_t kPageAlign = 4096, kSmallAlign = 64;

/// Sum of the bytes of weights that would be written inline.
uint64_t inlineBytes(const Model &model,
                     const std::function<TensorPlacement(const Tensor &)> &p) {
  uint64_t total = 0;
  model.forEachGraph([&](const Graph &g) {
    for (const Value *v : g.getValues())
      if (v->isWeight() && p(*v->getWeight()) == TensorPlacement::Inline)
        total += v->getWeight()->getByteSize();
  });
  return total;
}

/// Collects external tensors while the proto is built, then streams their
/// bytes into the data file: unchanged external tensors are copied file to
/// file (never mapped, so memory stays flat), others written from memory.
class ExternalSink {
public:
  explicit ExternalSink(std::string location) : location(std::move(location)) {}

  Error add(const Tensor &t, onnx::TensorProto &tp) {
    uint64_t align = t.getByteSize() >= (1u << 20) ? kPageAlign : kSmallAlign;
    offset = (offset + align - 1) / align * align;
    tp.set_data_location(onnx::TensorProto::EXTERNAL);
    auto put = [&](StringRef k, StringRef v) {
      auto *kv = tp.add_external_data();
      kv->set_key(k.str());
      kv->set_value(v.str());
    };
    put("location", location);
    put("offset", std::to_string(offset));
    put("length", std::to_string(t.getByteSize()));
    pending.push_back({&t, offset});
    offset += t.getByteSize();
    return Error::success();
  }

  bool empty() const { return pending.empty(); }

  /// Writes every pending tensor at its offset. Tensors are independent
  /// tasks run on getThreadCount() threads (slicing a pruned weight is
  /// compute, a copy is the kernel's), each writing only its own range, so
  /// the bytes are the same for any number of threads.
  Error write(OutputFile &out) {
    struct Task {
      size_t first, last; ///< pending[first, last]: one tensor, or a run
      uint64_t length;    ///< bytes to write
    };
    std::vector<Task> tasks;
    for (size_t i = 0; i < pending.size();) {
      const Tensor &t = *pending[i].tensor;
      size_t j = i + 1;
      uint64_t length = t.getByteSize();
      if (t.hasExternalData()) {
        const ExternalLocation &loc = t.getExternal();
        // Coalesce a run of tensors that sit back to back in both files
        // into one kernel copy: a model written by us or by a framework
        // usually is one such run, and then this is as fast as `cp`.
        length = loc.length;
        for (; j < pending.size(); ++j) {
          const Tensor &n = *pending[j].tensor;
          if (!n.hasExternalData() || n.getExternal().file != loc.file ||
              n.getExternal().offset != loc.offset + length ||
              pending[j].offset != pending[i].offset + length)
            break;
          length += n.getExternal().length;
        }
      }
      tasks.push_back({i, j - 1, length});
      i = j;
    }
    uint64_t end = pending.empty() ? 0
                                   : pending.back().offset +
                                         pending.back().tensor->getByteSize();
    std::mutex fdMu;
    DenseMap<const ExternalFile *, int> fds;
    auto closeAll = make_scope_exit([&] {
      for (auto &kv : fds)
        ::close(kv.second);
    });
    Progress progress("writing", end);
    if (Error e = parallelForEach(tasks.size(), [&](size_t k) -> Error {
          const Task &task = tasks[k];
          const Entry &entry = pending[task.first];
          const Tensor &t = *entry.tensor;
          if (t.hasExternalData()) {
            const ExternalLocation &loc = t.getExternal();
            int fd;
            {
              std::lock_guard<std::mutex> lock(fdMu);
              int &slot = fds[loc.file.get()];
              if (!slot) {
                slot =
                    ::open(loc.file->getPath().c_str(), O_RDONLY | O_CLOEXEC);
                if (slot < 0) {
                  slot = 0;
                  return makeError("cannot open external data '" +
                                   loc.file->getPath() + "'");
                }
              }
              fd = slot;
            }
            if (Error err =
                    out.copyFromAt(fd, loc.offset, task.length, entry.offset))
              return err;
            progress.add(task.length);
            return Error::success();
          }
          if (t.hasLazySlice()) {
            // A pruned external weight: stream its kept rows from the
            // source.
            uint64_t at = entry.offset;
            return t.streamLazySlice([&](StringRef piece) -> Error {
              if (Error err = out.writeAt(at, piece))
                return err;
              at += piece.size();
              progress.add(piece.size());
              return Error::success();
            });
          }
          auto bytes = t.getBytes();
          if (!bytes)
            return bytes.takeError();
          progress.add(bytes->size());
          return out.writeAt(entry.offset,
                             StringRef(bytes->data(), bytes->size()));
        }))
      return e;
    return out.setSize(end);
  }

private:
  struct Entry {
    const Tensor *tensor;
    uint64_t offset;
  };
  std::string location;
  uint64_t offset = 0;
  std::vector<Entry> pending;
};

/// Writes \p bytes to \p path and commits.
Error writeWhole(StringRef path, StringRef bytes) {
  auto out = OutputFile::create(path);
  if (!out)
    return out.takeError();
  if (Error e = out->write(bytes))
    return e;
  return out->commit();
}

} // namespace

Expected<std::string> serializeModel(const Model &model,
                                     ArrayRef<std::string> extraOutputs,
                                     ArrayRef<std::string> gates,
                                     ArrayRef<std::string> taps) {
  onnx::ModelProto proto;
  ExportOptions opts;
  opts.extraOutputs.assign(extraOutputs.begin(), extraOutputs.end());
  opts.gates.assign(gates.begin(), gates.end());
  opts.taps.assign(taps.begin(), taps.end());
  if (Error e = exportModel(model, proto, opts))
    return std::move(e);
  if (proto.ByteSizeLong() >= kProtoLimit)
    return makeError("the model is too large to serialize in one piece "
                     "(over 2 GB); write it with external data");
  return proto.SerializeAsString();
}

Error writeModelFile(const Model &model, StringRef path,
                     const WriteOptions &wopts) {
  // Stdout, /dev/null, a FIFO...: written in place, with no sidecar file
  // beside it, so every weight goes inline.
  bool inPlace = OutputFile::writesInPlace(path);
  if (wopts.format == ModelFormat::Text) {
    if (wopts.externalThreshold)
      return makeError("the text format cannot hold external data; drop "
                       "--external-data or write binary");
    onnx::ModelProto proto;
    ExportOptions textOpts;
    textOpts.restoreConstants = false;
    if (Error e = exportModel(model, proto, textOpts))
      return e;
    unsigned renamed = 0;
    auto text = printModelText(proto, &renamed);
    if (!text)
      return text.takeError();
    if (renamed)
      WithColor::warning(errs(), "onnx-prune")
          << "text format: " << renamed
          << " value names are not identifiers of the text format and were "
             "renamed (e.g. '.' and ':' became '_')\n";
    return writeWhole(path, *text);
  }

  // Where each tensor goes: the user's threshold, else where it came from,
  // else external when the protobuf would pass 2 GB.
  std::function<TensorPlacement(const Tensor &)> placement;
  if (inPlace) {
    if (wopts.externalThreshold)
      WithColor::warning(errs(), "onnx-prune")
          << "'" << path
          << "' is not a regular file: external data is ignored and every "
             "weight is written inline\n";
    placement = [](const Tensor &) { return TensorPlacement::Inline; };
  } else if (wopts.externalThreshold) {
    uint64_t th = *wopts.externalThreshold;
    placement = [th](const Tensor &t) {
      return t.getDataType() != DataType::String && t.getByteSize() >= th
                 ? TensorPlacement::External
                 : TensorPlacement::Inline;
    };
  } else {
    placement = [](const Tensor &t) {
      return t.hasExternalData() || t.hasLazySlice() ? TensorPlacement::External
                                                     : TensorPlacement::Inline;
    };
    if (inlineBytes(model, placement) >= kProtoLimit)
      placement = [prev = placement](const Tensor &t) {
        if (t.getDataType() != DataType::String &&
            t.getByteSize() >= (1u << 20))
          return TensorPlacement::External;
        return prev(t);
      };
  }

  std::string dataName = wopts.externalFileName;
  if (dataName.empty())
    dataName = (sys::path::filename(path) + ".data").str();
  if (sys::path::is_absolute(dataName) || StringRef(dataName).contains(".."))
    return makeError("external data file name '" + dataName +
                     "' must be a plain name inside the output's folder");
  ExternalSink sink(dataName);
  ExportOptions opts;
  opts.placement = placement;
  opts.extraOutputs = wopts.extraOutputs;
  opts.gates = wopts.gates;
  opts.taps = wopts.taps;
  opts.external = [&](const Tensor &t, onnx::TensorProto &tp) {
    return sink.add(t, tp);
  };
  onnx::ModelProto proto;
  if (Error e = exportModel(model, proto, opts))
    return e;
  if (proto.ByteSizeLong() >= kProtoLimit)
    return makeError(
        inPlace ? "cannot write '" + path +
                      "': the model is over 2 GB, which only fits with an "
                      "external data file, and this output is not a regular "
                      "file; write it to a regular file"
                : Twine("the model is over 2 GB even with external data"));
  std::string bytes = proto.SerializeAsString();
  if (inPlace)
    return writeWhole(path, bytes);
  // Data first, model last: a model file never points at missing data.
  std::optional<OutputFile> dataFile;
  if (!sink.empty()) {
    // Beside the path as given, where readers (ours, onnx, ONNX Runtime)
    // look for it: the folder of a symlink, not of its target.
    SmallString<256> dataPath(path);
    sys::path::remove_filename(dataPath);
    sys::path::append(dataPath, dataName);
    auto df = OutputFile::create(dataPath);
    if (!df)
      return df.takeError();
    dataFile.emplace(std::move(*df));
    if (Error e = sink.write(*dataFile))
      return e;
  }
  auto out = OutputFile::create(path);
  if (!out)
    return out.takeError();
  if (Error e = out->write(bytes))
    return e;
  if (dataFile)
    if (Error e = dataFile->commit())
      return e;
  return out->commit();
}

} // namespace onnxprune
