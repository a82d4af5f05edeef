//===- OutputFile.h - Write an output all at once or not at all -*- C++ -*-===//
///
/// \file
/// Every file the project writes goes through this class, which picks how to
/// write from what the path names (as LLVM's ToolOutputFile does):
///
/// - a regular file, or a name that does not exist yet: the bytes go to an
///   anonymous temporary in the same folder (O_TMPFILE, or a named
///   `NAME.tmp-PID-XXXXXX` where the filesystem has none) that commit()
///   renames over the destination. A failing or killed run leaves the old
///   file as it was and, with O_TMPFILE, no name at all behind. A symlink to
///   a regular file replaces its target, never the link.
/// - anything else (`-`, a character or block device such as /dev/null, a
///   FIFO, a socket, /dev/stdout, /proc/self/fd/N): opened and written in
///   place. Renaming a temporary over /dev/null would replace the device
///   with a regular file, which is what this class exists to never do.
///
/// Writers that also put a sidecar file next to the output (external data)
/// ask isRegular() first: a stream has no folder to put it in.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_SUPPORT_OUTPUTFILE_H
#define ONNXPRUNE_SUPPORT_OUTPUTFILE_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>

namespace onnxprune {

class OutputFile {
public:
  /// True when \p destPath would be written in place (stdout, a device, a
  /// FIFO, a socket, a /proc or /dev/fd link): no temporary, no sidecar.
  static bool writesInPlace(llvm::StringRef destPath);

  /// Opens \p destPath for writing as described in the file comment.
  static llvm::Expected<OutputFile> create(llvm::StringRef destPath);
  /// Writes all of \p data to \p destPath and commits: the whole file or,
  /// on failure, nothing.
  static llvm::Error writeWhole(llvm::StringRef destPath, llvm::StringRef data);
  OutputFile(OutputFile &&o) noexcept;
  OutputFile &operator=(OutputFile &&) = delete;
  /// Without commit(), removes the temporary (regular files) or just closes.
  ~OutputFile();

  /// False when the output is written in place (see writesInPlace).
  bool isRegular() const { return mode != Mode::InPlace; }
  /// Writes all of \p data at the current end.
  llvm::Error write(llvm::StringRef data);
  /// Writes \p data at byte \p offset of a regular file, leaving the end
  /// that write() appends at alone. Safe to call from several threads at
  /// once for disjoint ranges: writers that know every offset in advance
  /// produce the same bytes in any order. Call setSize() when done.
  llvm::Error writeAt(uint64_t offset, llvm::StringRef data);
  /// Copies \p length bytes of file \p srcFd from \p srcOffset to
  /// \p dstOffset of a regular file (kernel copy where possible; no
  /// user-space buffer of the whole range); thread-safe as writeAt.
  llvm::Error copyFromAt(int srcFd, uint64_t srcOffset, uint64_t length,
                         uint64_t dstOffset);
  /// Makes a regular file \p size bytes long (gaps read as zeros) and
  /// moves the end write() appends at there.
  llvm::Error setSize(uint64_t size);
  uint64_t size() const { return written; }
  /// Regular files: flushes, closes and renames the temporary onto the
  /// destination. In place: closes.
  llvm::Error commit();

private:
  enum class Mode {
    Anonymous, ///< O_TMPFILE, linked to a name at commit
    Named,     ///< a NAME.tmp-PID-XXXXXX file, renamed at commit
    InPlace,   ///< the destination itself (device, FIFO, stdout...)
  };
  OutputFile(std::string dest, std::string tmp, int fd, Mode mode)
      : destPath(std::move(dest)), tmpPath(std::move(tmp)), fdNum(fd),
        mode(mode) {}
  llvm::Error ioError(const llvm::Twine &what) const;

  /// Where the bytes finally go (symlinks resolved) and the name shown in
  /// messages.
  std::string destPath;
  /// The named temporary (Mode::Named only).
  std::string tmpPath;
  int fdNum = -1;
  Mode mode;
  uint64_t written = 0;
  bool committed = false;
};

} // namespace onnxprune

#endif // ONNXPRUNE_SUPPORT_OUTPUTFILE_H
