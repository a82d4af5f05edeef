//===- Pipeline.cpp - Pipelines built in code -----------------------------===//
///
/// \file
/// onnxprune::api::Pass and Pipeline (OnnxPrune.h): a pipeline built in
/// code renders to the -passes text and runs through the same parser, so
/// the two forms cannot drift apart (one grammar, one set of parameter
/// checks, one canonical form).
///
//===----------------------------------------------------------------------===//

#include "lib/Facade/FacadeInternal.h"
#include "onnxprune/OnnxPrune.h"
#include "passes/PassManager.h"
#include "passes/PassParams.h"
#include "passes/Pipeline/PassBuilder.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

namespace onnxprune {
namespace api {

Pass Pass::print(const std::string &analysis) {
  return Pass("print<" + analysis + ">");
}

Pass Pass::require(const std::string &analysis) {
  return Pass("require<" + analysis + ">");
}

Pass &Pass::set(const std::string &key, const std::string &value) {
  params.emplace_back(key, value);
  isFlag.push_back(false);
  return *this;
}

Pass &Pass::set(const std::string &key, int64_t value) {
  return set(key, std::to_string(value));
}

Pass &Pass::set(const std::string &key, double value) {
  return set(key, formatParamDouble(value));
}

Pass &Pass::flag(const std::string &key) {
  params.emplace_back(key, "");
  isFlag.push_back(true);
  return *this;
}

std::string Pass::text() const {
  std::string out = passName;
  if (params.empty())
    return out;
  out += '<';
  for (size_t i = 0; i < params.size(); ++i) {
    if (i)
      out += ';';
    out += params[i].first;
    if (!isFlag[i])
      out += '=' + params[i].second;
  }
  return out + '>';
}

std::string Pipeline::text() const {
  std::string out;
  for (const Pass &p : passes)
    out += (out.empty() ? "" : ",") + p.text();
  return out;
}

Status Pipeline::validate(std::string *canonical) const {
  // A key or value holding the grammar's separators would parse as
  // something else: refuse it by name rather than run another pipeline.
  for (const Pass &p : passes) {
    if (p.passName.empty())
      return Status::inputErrorOf("pipeline: a pass without a name");
    for (auto &[key, value] : p.params)
      if (StringRef(key).find_first_of(";,<>=") != StringRef::npos ||
          key.empty() ||
          StringRef(value).find_first_of(";<>") != StringRef::npos)
        return Status::inputErrorOf(
            "pass '" + p.passName + "': parameter '" + key + "=" + value +
            "' cannot be written as pipeline text (a key needs a name "
            "without ';,<>=', a value no ';', '<' or '>')");
  }
  PassBuilder pb;
  addPluginPassCallbacks(pb);
  ModelPassManager mpm;
  if (Error err = pb.parsePassPipeline(mpm, text()))
    return toStatus(std::move(err), /*inputError=*/true);
  if (canonical) {
    canonical->clear();
    raw_string_ostream os(*canonical);
    mpm.printPipeline(os);
  }
  return Status();
}

std::vector<PassDesc> Pipeline::registered() {
  std::vector<PassDesc> out;
  for (const PassInfo &info : PassBuilder::getRegistry())
    out.push_back({info.kind == PassInfo::Kind::Analysis, info.name,
                   info.paramDoc, info.description});
  return out;
}

Status Model::run(const Pipeline &pipeline, const Options &opts,
                  Report *report) {
  if (Status s = pipeline.validate(); !s)
    return s;
  return run(pipeline.text(), opts, report);
}

} // namespace api
} // namespace onnxprune
