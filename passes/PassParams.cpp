//===- PassParams.cpp - Parse and print pass parameters -------------------===//
///
/// \file
/// The shared `<k=v;flag>` parameter syntax of all passes.
///
//===----------------------------------------------------------------------===//

#include "passes/PassParams.h"

#include "lib/Support/Error.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/Regex.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

using namespace llvm;

namespace onnxprune {

Expected<PassParams> PassParams::parse(StringRef passName, StringRef text) {
  PassParams params;
  params.passName = passName.str();
  if (text.empty())
    return params;

  // Split at ';' outside nested <...>.
  SmallVector<StringRef, 8> parts;
  unsigned depth = 0;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '<')
      ++depth;
    else if (c == '>' && depth > 0)
      --depth;
    else if (c == ';' && depth == 0) {
      parts.push_back(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push_back(text.substr(start));

  for (StringRef part : parts) {
    StringRef trimmed = part.trim();
    if (trimmed.empty())
      return makeError("pass '" + passName + "': empty parameter in '" + text +
                       "'");
    Entry e;
    size_t eq = trimmed.find('=');
    StringRef key = trimmed.substr(0, eq).trim();
    if (eq != StringRef::npos) {
      e.hasValue = true;
      e.value = trimmed.substr(eq + 1).trim().str();
    }
    if (key.empty())
      return makeError("pass '" + passName + "': malformed parameter '" +
                       trimmed + "' (expected 'key=value' or 'flag')");
    if (params.has(key))
      return makeError("pass '" + passName + "': parameter '" + key +
                       "' given twice");
    e.key = key.str();
    params.items.push_back(std::move(e));
  }
  return params;
}

bool PassParams::has(StringRef key) const {
  return any_of(items, [&](const Entry &e) { return e.key == key; });
}

PassParams::Entry *PassParams::find(StringRef key) {
  if (!is_contained(knownKeys, key))
    knownKeys.push_back(key.str());
  for (Entry &e : items)
    if (e.key == key) {
      e.used = true;
      return &e;
    }
  return nullptr;
}

Error PassParams::makeParamError(StringRef key, const Twine &msg) const {
  return makeError("pass '" + passName + "': parameter '" + key + "': " + msg);
}

Error PassParams::needValue(Entry &e) const {
  if (!e.hasValue)
    return makeParamError(e.key, "expected a value ('" + e.key + "=...')");
  return Error::success();
}

Error PassParams::getUnsigned(StringRef key, uint64_t &out) {
  Entry *e = find(key);
  if (!e)
    return Error::success();
  if (Error err = needValue(*e))
    return err;
  uint64_t v;
  // getAsInteger accepts "0x" and other radix prefixes; insist on decimal.
  if (e->value.empty() || !all_of(e->value, isDigit) ||
      StringRef(e->value).getAsInteger(10, v))
    return makeParamError(key, "expected an unsigned integer, got '" +
                                   e->value + "'");
  out = v;
  return Error::success();
}

Error PassParams::getUnsigned(StringRef key, unsigned &out) {
  uint64_t v = out;
  if (Error err = getUnsigned(key, v))
    return err;
  if (v > UINT32_MAX)
    return makeParamError(key, "value " + Twine(v) + " is too large");
  out = static_cast<unsigned>(v);
  return Error::success();
}

Error PassParams::getDouble(StringRef key, double &out) {
  Entry *e = find(key);
  if (!e)
    return Error::success();
  if (Error err = needValue(*e))
    return err;
  const std::string &s = e->value;
  char *end = nullptr;
  errno = 0;
  double v = s.empty() ? 0 : std::strtod(s.c_str(), &end);
  // Reject "", trailing junk, inf/nan, hex floats and overflow.
  bool plain = all_of(s, [](char c) {
    return isDigit(c) || c == '.' || c == '-' || c == '+' || c == 'e' ||
           c == 'E';
  });
  if (s.empty() || !plain || end != s.c_str() + s.size() || errno == ERANGE ||
      !std::isfinite(v))
    return makeParamError(key, "expected a number, got '" + s + "'");
  out = v;
  return Error::success();
}

Error PassParams::getBool(StringRef key, bool &out) {
  Entry *e = find(key);
  if (!e)
    return Error::success();
  if (!e->hasValue) {
    out = true;
    return Error::success();
  }
  if (e->value == "true" || e->value == "1")
    out = true;
  else if (e->value == "false" || e->value == "0")
    out = false;
  else
    return makeParamError(key,
                          "expected true or false, got '" + e->value + "'");
  return Error::success();
}

Error PassParams::getString(StringRef key, std::string &out) {
  Entry *e = find(key);
  if (!e)
    return Error::success();
  if (Error err = needValue(*e))
    return err;
  out = e->value;
  return Error::success();
}

Error PassParams::getPath(StringRef key, std::string &out) {
  if (Error e = getString(key, out))
    return e;
  if (has(key) && out.empty())
    return makeParamError(key, "needs a file path");
  return Error::success();
}

Error PassParams::getRegex(StringRef key, std::string &out) {
  if (Error e = getString(key, out))
    return e;
  if (!has(key))
    return Error::success();
  std::string err;
  if (out.empty() || !llvm::Regex(out).isValid(err))
    return makeParamError(key, "invalid regular expression '" + out + "'" +
                                   (err.empty() ? "" : ": " + err));
  return Error::success();
}

Error PassParams::finish() const {
  for (const Entry &e : items) {
    if (e.used)
      continue;
    std::string msg =
        "pass '" + passName + "': unknown parameter '" + e.key + "'";
    if (knownKeys.empty())
      msg += " (the pass takes no parameters)";
    else if (std::string near = suggestNearest(e.key, knownKeys); !near.empty())
      msg += " (did you mean '" + near +
             "'?) (valid: " + join(knownKeys, ", ") + ")";
    else
      msg += " (expected one of: " + join(knownKeys, ", ") + ")";
    return makeError(msg);
  }
  return Error::success();
}

//===----------------------------------------------------------------------===//
// Printing
//===----------------------------------------------------------------------===//

void PassParamsPrinter::sep() {
  os << (opened ? ';' : '<');
  opened = true;
}

PassParamsPrinter &PassParamsPrinter::add(StringRef key, StringRef value) {
  sep();
  os << key << '=' << value;
  return *this;
}

PassParamsPrinter &PassParamsPrinter::add(StringRef key, uint64_t value) {
  sep();
  os << key << '=' << value;
  return *this;
}

PassParamsPrinter &PassParamsPrinter::add(StringRef key, double value) {
  sep();
  os << key << '=' << formatParamDouble(value);
  return *this;
}

PassParamsPrinter &PassParamsPrinter::addBool(StringRef key, bool value) {
  sep();
  os << key;
  if (!value)
    os << "=false";
  return *this;
}

PassParamsPrinter &PassParamsPrinter::addFlag(StringRef key) {
  sep();
  os << key;
  return *this;
}

std::string formatParamDouble(double value) {
  char buf[64];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, value);
    if (std::strtod(buf, nullptr) == value)
      break;
  }
  return buf;
}

std::string suggestNearest(StringRef name, ArrayRef<std::string> candidates) {
  std::string best;
  unsigned bestDist = ~0u;
  std::string lowered = name.lower();
  for (const std::string &c : candidates) {
    unsigned d = StringRef(lowered).edit_distance(StringRef(c).lower(),
                                                  /*AllowReplacements=*/true);
    if (d < bestDist) {
      bestDist = d;
      best = c;
    }
  }
  // A plausible typo: at most a third of the name, and at least 2 edits for
  // short names.
  unsigned limit = std::max<unsigned>(2, name.size() / 3);
  return bestDist <= limit ? best : std::string();
}

} // namespace onnxprune
