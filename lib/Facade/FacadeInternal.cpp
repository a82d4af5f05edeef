//===- FacadeInternal.cpp - Pieces the library faces share ----------------===//

#include "lib/Facade/FacadeInternal.h"

#include "frontends/onnx/OnnxChecks.h"
#include "lib/IR/IRVerifier.h"
#include "lib/Support/Error.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/WithColor.h"

#include <memory>

using namespace llvm;

namespace onnxprune {

Expected<uint64_t> parseSizeOption(StringRef text) {
  StringRef s = text.trim();
  size_t digits = 0;
  while (digits < s.size() && isDigit(s[digits]))
    ++digits;
  StringRef number = s.substr(0, digits);
  std::string unit = s.substr(digits).trim().lower();
  uint64_t value;
  uint64_t scale;
  if (unit.empty() || unit == "b")
    scale = 1;
  else if (unit == "k" || unit == "kb" || unit == "kib")
    scale = 1ULL << 10;
  else if (unit == "m" || unit == "mb" || unit == "mib")
    scale = 1ULL << 20;
  else if (unit == "g" || unit == "gb" || unit == "gib")
    scale = 1ULL << 30;
  else
    scale = 0;
  if (number.empty() || number.getAsInteger(10, value) || scale == 0 ||
      value > UINT64_MAX / scale)
    return makeError("--external-data: expected a size such as 1024 or 1MB, "
                     "got '" +
                     text + "'");
  return value * scale;
}

ModelVerifierFn makeModelVerifier(raw_ostream *remarks, StringRef who) {
  auto notedSkips = std::make_shared<StringSet<>>();
  std::string name = who.str();
  return [notedSkips, remarks, name](const Model &m) -> Error {
    if (Error err = verifyModelStructure(m))
      return err;
    CheckReport report;
    if (Error err = runOnnxChecker(m, report))
      return err;
    if (remarks)
      for (const std::string &s : report.skipped)
        if (notedSkips->insert(s).second)
          WithColor::remark(*remarks, name)
              << "verify-each: skipped " << s << '\n';
    return Error::success();
  };
}

} // namespace onnxprune
