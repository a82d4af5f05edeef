//===- CApi.cpp - The C ABI over the C++ facade ---------------------------===//
///
/// \file
/// onnxprune/onnxprune.h. Each entry point checks its pointers, calls the
/// facade (onnxprune/OnnxPrune.h) and turns its Status into a heap status;
/// a catch-all keeps C++ exceptions (std::bad_alloc included) from
/// crossing into C. Options JSON is parsed here with llvm::json; its keys
/// go to Options::set, so the C ABI, the Python module and the tool take
/// the same names.
///
//===----------------------------------------------------------------------===//

#include "onnxprune/OnnxPrune.h"
#include "onnxprune/onnxprune.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <vector>

using namespace onnxprune;

struct onnxprune_model {
  api::Model model;
  /// What the last options JSON said about writing (external-data,
  /// external-data-file, text): onnxprune_model_save has no options of its
  /// own.
  api::Options saveOptions;
};

namespace {
void rememberSaveOptions(onnxprune_model &m, const api::Options &opts) {
  m.saveOptions.externalData = opts.externalData;
  m.saveOptions.externalDataFile = opts.externalDataFile;
  m.saveOptions.text = opts.text;
}
} // namespace

struct onnxprune_status {
  std::string message;
  bool inputError = false;
};

namespace {

/// A status that cannot be allocated still must not read as success: this
/// one is returned instead (onnxprune_status_free leaves it alone).
onnxprune_status outOfMemory{"out of memory", false};

onnxprune_status *makeStatus(std::string msg, bool inputError) {
  onnxprune_status *s = nullptr;
  try {
    s = new onnxprune_status{std::move(msg), inputError};
  } catch (...) {
    return &outOfMemory;
  }
  return s;
}

onnxprune_status *fromStatus(const api::Status &s) {
  if (s)
    return nullptr;
  return makeStatus(s.message(), s.isInputError());
}

onnxprune_status *badArgument(const char *fn, const char *what) {
  return makeStatus(std::string(fn) + ": " + what + " is NULL", true);
}

/// Runs \p fn with exceptions turned into a status.
template <typename Fn> onnxprune_status *guarded(Fn fn) {
  try {
    return fn();
  } catch (const std::bad_alloc &) {
    return makeStatus("out of memory", false);
  } catch (const std::exception &e) {
    return makeStatus(std::string("unexpected exception: ") + e.what(), false);
  } catch (...) {
    return makeStatus("unexpected exception", false);
  }
}

/// A copy of \p s in malloc'd memory (freed by onnxprune_free).
char *copyString(const std::string &s) {
  char *p = static_cast<char *>(std::malloc(s.size() + 1));
  if (p)
    std::memcpy(p, s.c_str(), s.size() + 1);
  return p;
}

/// Parses options JSON into \p opts ("" or NULL: defaults).
api::Status parseOptions(const char *text, api::Options &opts) {
  if (!text || !*text)
    return api::Status();
  llvm::Expected<llvm::json::Value> v = llvm::json::parse(text);
  if (!v)
    return api::Status::inputErrorOf("options JSON: " +
                                     llvm::toString(v.takeError()));
  const llvm::json::Object *obj = v->getAsObject();
  if (!obj)
    return api::Status::inputErrorOf("options JSON: expected an object");
  // Sorted keys: the first bad key reported does not depend on hashing.
  std::vector<std::string> keys;
  for (const auto &kv : *obj)
    keys.push_back(kv.first.str());
  std::sort(keys.begin(), keys.end());
  for (const std::string &key : keys) {
    const llvm::json::Value &val = *obj->get(key);
    std::string text;
    if (auto s = val.getAsString())
      text = s->str();
    else if (auto b = val.getAsBoolean())
      text = *b ? "true" : "false";
    else if (auto i = val.getAsInteger())
      text = std::to_string(*i);
    else
      return api::Status::inputErrorOf("options JSON: '" + key +
                                       "' must be a string, an integer or "
                                       "a boolean");
    if (api::Status s = opts.set(key, text); !s)
      return api::Status::inputErrorOf("options JSON: " + s.message());
  }
  return api::Status();
}

onnxprune_status *fromBytes(const void *data, size_t size,
                            const char *optionsJson, onnxprune_model **out) {
  const char *fn = "onnxprune_model_from_bytes";
  if (!out)
    return badArgument(fn, "out");
  *out = nullptr;
  if (!data)
    return badArgument(fn, "data");
  return guarded([&]() -> onnxprune_status * {
    api::Options opts;
    if (api::Status s = parseOptions(optionsJson, opts); !s)
      return fromStatus(s);
    auto m = std::make_unique<onnxprune_model>();
    if (api::Status s = api::Model::fromBytes(
            std::string(static_cast<const char *>(data), size), m->model,
            opts.baseDir);
        !s)
      return fromStatus(s);
    rememberSaveOptions(*m, opts);
    *out = m.release();
    return nullptr;
  });
}

} // namespace

extern "C" {

onnxprune_status *onnxprune_model_load(const char *path,
                                       onnxprune_model **out) {
  if (!out)
    return badArgument("onnxprune_model_load", "out");
  *out = nullptr;
  if (!path)
    return badArgument("onnxprune_model_load", "path");
  return guarded([&]() -> onnxprune_status * {
    auto m = std::make_unique<onnxprune_model>();
    if (api::Status s = api::Model::load(path, m->model); !s)
      return fromStatus(s);
    *out = m.release();
    return nullptr;
  });
}

onnxprune_status *onnxprune_model_from_bytes(const void *data, size_t size,
                                             onnxprune_model **out) {
  return fromBytes(data, size, nullptr, out);
}

onnxprune_status *
onnxprune_model_from_bytes_with_options(const void *data, size_t size,
                                        const char *options_json,
                                        onnxprune_model **out) {
  return fromBytes(data, size, options_json, out);
}

onnxprune_status *onnxprune_model_save(const onnxprune_model *m,
                                       const char *path) {
  if (!m)
    return badArgument("onnxprune_model_save", "model");
  if (!path)
    return badArgument("onnxprune_model_save", "path");
  return guarded(
      [&] { return fromStatus(m->model.save(path, m->saveOptions)); });
}

onnxprune_status *onnxprune_model_to_bytes(const onnxprune_model *m,
                                           void **data, size_t *size) {
  const char *fn = "onnxprune_model_to_bytes";
  if (!data || !size)
    return badArgument(fn, data ? "size" : "data");
  *data = nullptr;
  *size = 0;
  if (!m)
    return badArgument(fn, "model");
  return guarded([&]() -> onnxprune_status * {
    std::string bytes;
    if (api::Status s = m->model.toBytes(bytes); !s)
      return fromStatus(s);
    // malloc(0) may return NULL: keep one byte so success has a pointer.
    void *p = std::malloc(bytes.size() ? bytes.size() : 1);
    if (!p)
      return makeStatus("out of memory", false);
    std::memcpy(p, bytes.data(), bytes.size());
    *data = p;
    *size = bytes.size();
    return nullptr;
  });
}

onnxprune_status *onnxprune_run(onnxprune_model *m, const char *pipeline,
                                const char *options_json, char **report_json) {
  if (report_json)
    *report_json = nullptr;
  if (!m)
    return badArgument("onnxprune_run", "model");
  if (!pipeline)
    return badArgument("onnxprune_run", "pipeline");
  return guarded([&]() -> onnxprune_status * {
    api::Options opts;
    if (api::Status s = parseOptions(options_json, opts); !s)
      return fromStatus(s);
    rememberSaveOptions(*m, opts);
    api::Report report;
    if (api::Status s =
            m->model.run(pipeline, opts, report_json ? &report : nullptr);
        !s)
      return fromStatus(s);
    if (report_json) {
      *report_json = copyString(report.toJson());
      if (!*report_json)
        return makeStatus("out of memory", false);
    }
    return nullptr;
  });
}

onnxprune_status *onnxprune_coverage(onnxprune_model *m, char **coverage_json) {
  if (!coverage_json)
    return badArgument("onnxprune_coverage", "coverage_json");
  *coverage_json = nullptr;
  if (!m)
    return badArgument("onnxprune_coverage", "model");
  return guarded([&]() -> onnxprune_status * {
    api::Coverage c;
    if (api::Status s = m->model.coverage(c); !s)
      return fromStatus(s);
    *coverage_json = copyString(c.toJson());
    if (!*coverage_json)
      return makeStatus("out of memory", false);
    return nullptr;
  });
}

const char *onnxprune_status_message(const onnxprune_status *s) {
  return s ? s->message.c_str() : "";
}

int onnxprune_status_is_input_error(const onnxprune_status *s) {
  return s && s->inputError ? 1 : 0;
}

void onnxprune_status_free(onnxprune_status *s) {
  if (s != &outOfMemory)
    delete s;
}

void onnxprune_model_free(onnxprune_model *m) { delete m; }

void onnxprune_free(void *p) { std::free(p); }

const char *onnxprune_version(void) { return api::version(); }

} // extern "C"
