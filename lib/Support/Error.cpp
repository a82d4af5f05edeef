//===- Error.cpp - Error helpers for onnx-prune ---------------------------===//

#include "lib/Support/Error.h"

using namespace llvm;

namespace onnxprune {

Error addContext(Error err, const Twine &context) {
  if (!err)
    return Error::success();
  std::string ctx = context.str();
  return makeError(ctx + ": " + toString(std::move(err)));
}

std::string oneLine(StringRef msg) {
  std::string out;
  out.reserve(msg.size());
  for (size_t i = 0; i < msg.size(); ++i) {
    char c = msg[i];
    if (c == '\n' || c == '\r') {
      // Collapse runs of line breaks and trailing spaces into one separator.
      while (!out.empty() && out.back() == ' ')
        out.pop_back();
      if (!out.empty() && i + 1 < msg.size())
        out += "; ";
      while (i + 1 < msg.size() &&
             (msg[i + 1] == '\n' || msg[i + 1] == '\r' || msg[i + 1] == ' '))
        ++i;
      continue;
    }
    out += c;
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == ';'))
    out.pop_back();
  return out;
}

} // namespace onnxprune
