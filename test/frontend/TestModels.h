//===- TestModels.h - Finding the models the frontend tests read -*- C++
//-*-===//
///
/// \file
/// Shared by the round-trip and shape-inference cross-check tests.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_TEST_FRONTEND_TESTMODELS_H
#define ONNXPRUNE_TEST_FRONTEND_TESTMODELS_H

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <string>
#include <vector>

namespace onnxprune {

/// Every .onnx file below \p root, sorted (a stable test order).
inline std::vector<std::string> findModels(const std::string &root) {
  std::vector<std::string> out;
  std::error_code ec;
  for (llvm::sys::fs::recursive_directory_iterator it(root, ec), end;
       it != end && !ec; it.increment(ec))
    if (llvm::sys::path::extension(it->path()) == ".onnx")
      out.push_back(it->path());
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace onnxprune

#endif // ONNXPRUNE_TEST_FRONTEND_TESTMODELS_H
