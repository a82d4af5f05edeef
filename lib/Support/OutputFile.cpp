//===- OutputFile.cpp - Write an output all at once or not at all ---------===//

#include "lib/Support/OutputFile.h"
#include "lib/Support/Error.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <optional>
#include <sys/stat.h>
#include <unistd.h>

using namespace llvm;

namespace onnxprune {

namespace {

/// Paths that name an already open file descriptor: opening them reaches
/// whatever the descriptor is (a pipe, a terminal, a file the shell
/// redirected to), which must be written in place, never renamed over.
bool isDescriptorPath(StringRef path) {
  return path == "/dev/stdout" || path == "/dev/stderr" ||
         path.startswith("/dev/fd/") || path.startswith("/proc/");
}

/// Follows symbolic links to the file they finally name, so that writing
/// through a link replaces the target and keeps the link. A dangling link
/// resolves to the name it points at (the file is created there).
Expected<std::string> resolveOutputPath(StringRef path) {
  std::string p = path.str();
  for (int hops = 0; hops < 40; ++hops) {
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0 || !S_ISLNK(st.st_mode))
      return p;
    char buf[PATH_MAX];
    ssize_t n = ::readlink(p.c_str(), buf, sizeof(buf) - 1);
    if (n < 0)
      return makeError("cannot read symbolic link '" + p +
                       "': " + std::strerror(errno));
    StringRef target(buf, n);
    if (sys::path::is_absolute(target)) {
      p = target.str();
    } else {
      SmallString<256> next(sys::path::parent_path(p));
      sys::path::append(next, target);
      p = std::string(next.str());
    }
  }
  return makeError("cannot write '" + path +
                   "': too many levels of symbolic links");
}

/// The folder that holds \p path ("." for a bare name).
std::string parentFolder(StringRef path) {
  StringRef dir = sys::path::parent_path(path);
  return dir.empty() ? "." : dir.str();
}

/// Prefix of the named temporaries of \p dest: "NAME.tmp-".
std::string tempPrefix(StringRef dest) {
  return (sys::path::filename(dest) + ".tmp-").str();
}

/// Removes temporaries that an earlier run writing \p dest left behind when
/// it was killed: names "NAME.tmp-PID-XXXXXX" whose PID is not a live
/// process. Anything else, and the temporaries of live runs, stay.
void removeStaleTemporaries(StringRef dest) {
  std::string dir = parentFolder(dest), prefix = tempPrefix(dest);
  DIR *d = ::opendir(dir.c_str());
  if (!d)
    return;
  while (struct dirent *e = ::readdir(d)) {
    StringRef name(e->d_name);
    if (!name.consume_front(prefix))
      continue;
    auto [pidText, rest] = name.split('-');
    unsigned long long pid;
    if (rest.size() != 6 || getAsUnsignedInteger(pidText, 10, pid) ||
        pid == 0 || pid > INT_MAX)
      continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH)
      continue; // alive, or not ours to judge
    SmallString<256> stale(dir);
    sys::path::append(stale, e->d_name);
    ::unlink(stale.c_str());
  }
  ::closedir(d);
}

/// A fresh temporary name beside \p dest, unique among existing files.
std::string makeTempName(StringRef dest) {
  SmallString<256> model(parentFolder(dest));
  sys::path::append(model, tempPrefix(dest) + Twine(::getpid()) + "-%%%%%%");
  SmallString<256> out;
  sys::fs::createUniquePath(model, out, /*MakeAbsolute=*/false);
  return std::string(out.str());
}

} // namespace

bool OutputFile::writesInPlace(StringRef destPath) {
  if (destPath == "-" || isDescriptorPath(destPath))
    return true;
  struct stat st;
  // stat follows links: a link to /dev/null is written in place too.
  return ::stat(std::string(destPath).c_str(), &st) == 0 &&
         !S_ISREG(st.st_mode);
}

Error OutputFile::writeWhole(StringRef destPath, StringRef data) {
  auto f = create(destPath);
  if (!f)
    return f.takeError();
  if (Error e = f->write(data))
    return e;
  return f->commit();
}

Expected<OutputFile> OutputFile::create(StringRef destPath) {
  auto cannotCreate = [&](const Twine &why) {
    return makeError("cannot create output file '" + destPath + "': " + why);
  };
  if (writesInPlace(destPath)) {
    int fd;
    if (destPath == "-") {
      fd = ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0);
    } else {
      struct stat st;
      bool regular = ::stat(std::string(destPath).c_str(), &st) == 0 &&
                     S_ISREG(st.st_mode);
      // A FIFO blocks here until a reader opens it, as `cat > fifo` does.
      fd = ::open(std::string(destPath).c_str(),
                  O_WRONLY | O_CLOEXEC | (regular ? O_TRUNC : 0));
    }
    if (fd < 0)
      return cannotCreate(std::strerror(errno));
    return OutputFile(destPath == "-" ? "<stdout>" : destPath.str(), "", fd,
                      Mode::InPlace);
  }

  auto target = resolveOutputPath(destPath);
  if (!target)
    return target.takeError();
  removeStaleTemporaries(*target);
  // An anonymous temporary has no name until commit, so a run killed at any
  // point before it leaves nothing behind. Filesystems without O_TMPFILE,
  // or a system without /proc to link it through, get a named temporary.
  if (sys::fs::exists("/proc/self/fd")) {
    int fd = ::open(parentFolder(*target).c_str(),
                    O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
    if (fd >= 0)
      return OutputFile(*target, "", fd, Mode::Anonymous);
  }
  std::string tmp = makeTempName(*target);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    return cannotCreate(std::strerror(errno));
  return OutputFile(*target, tmp, fd, Mode::Named);
}

OutputFile::OutputFile(OutputFile &&o) noexcept
    : destPath(std::move(o.destPath)), tmpPath(std::move(o.tmpPath)),
      fdNum(o.fdNum), mode(o.mode), written(o.written), committed(o.committed) {
  o.fdNum = -1;
  o.committed = true;
}

OutputFile::~OutputFile() {
  if (fdNum >= 0)
    ::close(fdNum);
  if (!committed && mode == Mode::Named)
    ::unlink(tmpPath.c_str());
}

Error OutputFile::ioError(const Twine &what) const {
  return makeError("cannot write '" + destPath + "': " + what + ": " +
                   std::strerror(errno));
}

namespace {
/// Writes all of \p data to \p fd, at \p offset when given (pwrite) or at
/// the file position, retrying short writes and EINTR. False with errno
/// set on failure.
bool writeFully(int fd, StringRef data, std::optional<uint64_t> offset) {
  const char *p = data.data();
  size_t left = data.size();
  while (left) {
    ssize_t n = offset ? ::pwrite(fd, p, left, *offset) : ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    p += n;
    left -= n;
    if (offset)
      *offset += n;
  }
  return true;
}
} // namespace

Error OutputFile::write(StringRef data) {
  if (!writeFully(fdNum, data, std::nullopt))
    return ioError("write");
  written += data.size();
  return Error::success();
}

Error OutputFile::writeAt(uint64_t offset, StringRef data) {
  assert(mode != Mode::InPlace && "positional writes need a regular file");
  if (!writeFully(fdNum, data, offset))
    return ioError("write");
  return Error::success();
}

Error OutputFile::copyFromAt(int srcFd, uint64_t srcOffset, uint64_t length,
                             uint64_t dstOffset) {
  assert(mode != Mode::InPlace && "positional writes need a regular file");
  loff_t in = srcOffset, out = dstOffset;
  while (length) {
    ssize_t n = ::copy_file_range(srcFd, &in, fdNum, &out,
                                  std::min<uint64_t>(length, 1u << 30), 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      // Not supported across these files (another filesystem on an old
      // kernel, or a short source): fall back to a bounded buffer so
      // memory stays flat for any tensor size.
      std::string buf(std::min<uint64_t>(length, 8u << 20), '\0');
      while (length) {
        size_t want = std::min<uint64_t>(length, buf.size());
        ssize_t r = ::pread(srcFd, buf.data(), want, in);
        if (r < 0 && errno == EINTR)
          continue;
        if (r <= 0)
          return makeError("cannot copy external data into '" + destPath +
                           "': source file is shorter than expected");
        if (Error e = writeAt(out, StringRef(buf.data(), r)))
          return e;
        in += r;
        out += r;
        length -= r;
      }
      return Error::success();
    }
    length -= n;
  }
  return Error::success();
}

Error OutputFile::setSize(uint64_t size) {
  assert(mode != Mode::InPlace && "positional writes need a regular file");
  struct stat st;
  if (::fstat(fdNum, &st) != 0)
    return ioError("stat");
  if ((uint64_t)st.st_size < size && ::ftruncate(fdNum, size) != 0)
    return ioError("truncate");
  if (::lseek(fdNum, size, SEEK_SET) < 0)
    return ioError("seek");
  written = size;
  return Error::success();
}

Error OutputFile::commit() {
  assert(!committed && "committed twice");
  if (mode != Mode::InPlace && ::fchmod(fdNum, 0644) != 0)
    return ioError("chmod");
  if (mode == Mode::Anonymous) {
    // Give the anonymous file a temporary name, then rename that over the
    // destination: linkat cannot replace an existing file, rename can, and
    // atomically. Through /proc/self/fd any user can link; AT_EMPTY_PATH
    // needs CAP_DAC_READ_SEARCH and is the fallback.
    std::string fdLink = "/proc/self/fd/" + std::to_string(fdNum);
    for (int tries = 0;; ++tries) {
      tmpPath = makeTempName(destPath);
      if (::linkat(AT_FDCWD, fdLink.c_str(), AT_FDCWD, tmpPath.c_str(),
                   AT_SYMLINK_FOLLOW) == 0 ||
          ::linkat(fdNum, "", AT_FDCWD, tmpPath.c_str(), AT_EMPTY_PATH) == 0)
        break;
      if (errno != EEXIST || tries == 10)
        return ioError("link");
    }
    mode = Mode::Named;
  }
  int fd = fdNum;
  fdNum = -1;
  if (::close(fd) != 0)
    return ioError("close");
  if (mode == Mode::Named && ::rename(tmpPath.c_str(), destPath.c_str()) != 0)
    return ioError("rename");
  committed = true;
  return Error::success();
}

} // namespace onnxprune
