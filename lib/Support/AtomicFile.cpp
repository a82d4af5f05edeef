//===- AtomicFile.cpp - Write a file all at once or not at all ------------===//

#include "lib/Support/AtomicFile.h"
#include "lib/Support/Error.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace llvm;

namespace onnxprune {

Expected<AtomicFile> AtomicFile::create(StringRef destPath) {
  SmallString<256> model(destPath);
  model += ".tmp-%%%%%%%%";
  int fd;
  SmallString<256> tmp;
  if (std::error_code ec = sys::fs::createUniqueFile(model, fd, tmp))
    return makeError("cannot create output file '" + destPath +
                     "': " + ec.message());
  return AtomicFile(destPath.str(), std::string(tmp.str()), fd);
}

AtomicFile::AtomicFile(AtomicFile &&o) noexcept
    : destPath(std::move(o.destPath)), tmpPath(std::move(o.tmpPath)),
      fdNum(o.fdNum), written(o.written), committed(o.committed) {
  o.fdNum = -1;
  o.committed = true;
}

AtomicFile::~AtomicFile() {
  if (fdNum >= 0)
    ::close(fdNum);
  if (!committed)
    sys::fs::remove(tmpPath);
}

static Error ioError(StringRef path, const Twine &what) {
  return makeError("cannot write '" + path + "': " + what + ": " +
                   std::strerror(errno));
}

Error AtomicFile::write(StringRef data) {
  const char *p = data.data();
  size_t left = data.size();
  while (left) {
    ssize_t n = ::write(fdNum, p, left);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return ioError(destPath, "write");
    }
    p += n;
    left -= n;
    written += n;
  }
  return Error::success();
}

Error AtomicFile::padTo(uint64_t size) {
  static const char zeros[4096] = {};
  while (written < size) {
    uint64_t chunk = std::min<uint64_t>(sizeof(zeros), size - written);
    if (Error e = write(StringRef(zeros, chunk)))
      return e;
  }
  return Error::success();
}

Error AtomicFile::copyFrom(int srcFd, uint64_t srcOffset, uint64_t length) {
  loff_t in = srcOffset;
  while (length) {
    ssize_t n = ::copy_file_range(srcFd, &in, fdNum, nullptr,
                                  std::min<uint64_t>(length, 1u << 30), 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      // Not supported across these files (or a short source): fall back to
      // a bounded buffer so memory stays flat for any tensor size.
      std::string buf(std::min<uint64_t>(length, 8u << 20), '\0');
      while (length) {
        size_t want = std::min<uint64_t>(length, buf.size());
        ssize_t r = ::pread(srcFd, buf.data(), want, in);
        if (r < 0 && errno == EINTR)
          continue;
        if (r <= 0)
          return makeError("cannot copy external data into '" + destPath +
                           "': source file is shorter than expected");
        if (Error e = write(StringRef(buf.data(), r)))
          return e;
        in += r;
        length -= r;
      }
      return Error::success();
    }
    written += n;
    length -= n;
  }
  return Error::success();
}

Error AtomicFile::commit() {
  if (::fchmod(fdNum, 0644) != 0)
    return ioError(destPath, "chmod");
  if (::close(fdNum) != 0) {
    fdNum = -1;
    return ioError(destPath, "close");
  }
  fdNum = -1;
  if (std::error_code ec = sys::fs::rename(tmpPath, destPath))
    return makeError("cannot write '" + destPath + "': " + ec.message());
  committed = true;
  return Error::success();
}

} // namespace onnxprune
