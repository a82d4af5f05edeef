//===- PassParams.h - Parse and print pass parameters -----------*- C++ -*-===//
///
/// \file
/// Every pass with parameters parses its `<k=v;flag>` text the same way,
/// through PassParams: the text is split into ordered key/value entries
/// (nested `<...>` in a value are kept whole), typed getters convert a value
/// and name the pass and key when they cannot, and finish() rejects keys no
/// getter asked for (with a "did you mean" hint). A pass's PARSE_FN in
/// PassRegistry.def typically reads:
///
/// \code
///   llvm::Expected<MyOptions> parseMyOptions(llvm::StringRef text) {
///     auto params = PassParams::parse("my-pass", text);
///     if (!params)
///       return params.takeError();
///     MyOptions o;
///     if (llvm::Error e = params->getUnsigned("samples", o.samples))
///       return std::move(e);
///     if (llvm::Error e = params->finish())
///       return std::move(e);
///     return o;
///   }
/// \endcode
///
/// and its printPipeline() uses PassParamsPrinter so the canonical text
/// parses back to the same options.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_PASSES_PASSPARAMS_H
#define ONNXPRUNE_PASSES_PASSPARAMS_H

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <string>

namespace onnxprune {

/// The parsed parameters of one pass: "k=v;flag;k2=v2".
class PassParams {
public:
  /// One `key` or `key=value` entry.
  struct Entry {
    std::string key;
    std::string value;
    bool hasValue = false; ///< False for a bare flag.
    bool used = false;     ///< Set by the getters.
  };

  /// Splits \p text (the part between the pass's `<` and `>`) at top-level
  /// `;`. Errors: an empty entry, an empty key, a key given twice.
  /// \p passName is only used in messages.
  static llvm::Expected<PassParams> parse(llvm::StringRef passName,
                                          llvm::StringRef text);

  llvm::StringRef getPassName() const { return passName; }
  llvm::ArrayRef<Entry> entries() const { return items; }
  bool empty() const { return items.empty(); }
  /// True when \p key was given (does not mark it used).
  bool has(llvm::StringRef key) const;

  /// Sets \p out from `key=N` (decimal, non-negative); leaves it unchanged
  /// when the key is absent.
  llvm::Error getUnsigned(llvm::StringRef key, uint64_t &out);
  llvm::Error getUnsigned(llvm::StringRef key, unsigned &out);
  /// Sets \p out from `key=R` (a finite decimal or exponent number).
  llvm::Error getDouble(llvm::StringRef key, double &out);
  /// Sets \p out from `key` (true), `key=true|false|1|0`.
  llvm::Error getBool(llvm::StringRef key, bool &out);
  /// Sets \p out from `key=text` (text may be empty or hold nested `<>`).
  llvm::Error getString(llvm::StringRef key, std::string &out);
  /// getString for a file path: `key=` with no path is an error.
  llvm::Error getPath(llvm::StringRef key, std::string &out);
  /// getString for a regular expression (llvm::Regex, searched): an empty
  /// or invalid one is an error naming it.
  llvm::Error getRegex(llvm::StringRef key, std::string &out);

  /// Fails when an entry was never asked for by a getter: "pass 'P': unknown
  /// parameter 'k' (did you mean 'key'?)".
  llvm::Error finish() const;

  /// An error "pass 'P': parameter 'k': MSG".
  llvm::Error makeParamError(llvm::StringRef key, const llvm::Twine &msg) const;

private:
  Entry *find(llvm::StringRef key);
  llvm::Error needValue(Entry &e) const;

  std::string passName;
  llvm::SmallVector<Entry, 4> items;
  /// Every key a getter asked for, for "did you mean".
  llvm::SmallVector<std::string, 8> knownKeys;
};

/// Prints `name<k=v;flag>` (or just `name` when no parameter is printed) in
/// the canonical form PassParams parses. Parameters at their default value
/// may be skipped by the caller; everything printed must parse back.
class PassParamsPrinter {
public:
  PassParamsPrinter(llvm::raw_ostream &os, llvm::StringRef passName) : os(os) {
    os << passName;
  }
  ~PassParamsPrinter() {
    if (opened)
      os << '>';
  }
  PassParamsPrinter &add(llvm::StringRef key, llvm::StringRef value);
  PassParamsPrinter &add(llvm::StringRef key, uint64_t value);
  /// Prints the shortest decimal text that reads back as \p value.
  PassParamsPrinter &add(llvm::StringRef key, double value);
  /// Prints `key` when true and `key=false` when false.
  PassParamsPrinter &addBool(llvm::StringRef key, bool value);
  /// Prints a bare `flag`.
  PassParamsPrinter &addFlag(llvm::StringRef key);

private:
  void sep();
  llvm::raw_ostream &os;
  bool opened = false;
};

/// The shortest decimal text that parses back to exactly \p value
/// ("0.0001", "1e-07", "3").
std::string formatParamDouble(double value);

/// The candidate closest to \p name by edit distance, or "" when none is
/// close enough to be a plausible typo.
std::string suggestNearest(llvm::StringRef name,
                           llvm::ArrayRef<std::string> candidates);

} // namespace onnxprune

#endif // ONNXPRUNE_PASSES_PASSPARAMS_H
