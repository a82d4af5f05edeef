//===- AtomicFile.h - Write a file all at once or not at all ----*- C++ -*-===//
///
/// \file
/// Output is written to a temporary file beside the destination and renamed
/// into place by commit(). If commit() is never reached (an error, an early
/// return) the temporary is removed: a failing run leaves no partial file and
/// never clobbers an existing one.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_SUPPORT_ATOMICFILE_H
#define ONNXPRUNE_SUPPORT_ATOMICFILE_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>

namespace onnxprune {

class AtomicFile {
public:
  /// Creates the temporary file for \p destPath.
  static llvm::Expected<AtomicFile> create(llvm::StringRef destPath);
  AtomicFile(AtomicFile &&o) noexcept;
  AtomicFile &operator=(AtomicFile &&) = delete;
  ~AtomicFile();

  int fd() const { return fdNum; }
  const std::string &tempPath() const { return tmpPath; }
  /// Writes all of \p data at the current end.
  llvm::Error write(llvm::StringRef data);
  /// Appends zero bytes until the file is \p size bytes long.
  llvm::Error padTo(uint64_t size);
  /// Appends \p length bytes of file \p srcFd starting at \p srcOffset
  /// (kernel copy where possible; no user-space buffer of the whole range).
  llvm::Error copyFrom(int srcFd, uint64_t srcOffset, uint64_t length);
  uint64_t size() const { return written; }
  /// Flushes, closes and renames the temporary onto the destination.
  llvm::Error commit();

private:
  AtomicFile(std::string dest, std::string tmp, int fd)
      : destPath(std::move(dest)), tmpPath(std::move(tmp)), fdNum(fd) {}
  std::string destPath;
  std::string tmpPath;
  int fdNum = -1;
  uint64_t written = 0;
  bool committed = false;
};

} // namespace onnxprune

#endif // ONNXPRUNE_SUPPORT_ATOMICFILE_H
