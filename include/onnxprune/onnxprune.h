/*===- onnxprune/onnxprune.h - The onnx-prune C ABI ------------------------===
 *
 * A C interface to the onnx-prune library, for any language with a C FFI.
 * No C++ type or exception crosses it: every call returns NULL on success
 * or a status holding a one-line message (free it with
 * onnxprune_status_free). Strings and buffers the library returns are
 * freed with onnxprune_free; models with onnxprune_model_free.
 *
 *   onnxprune_model *m = NULL;
 *   onnxprune_status *s = onnxprune_model_load("in.onnx", &m);
 *   char *report = NULL;
 *   if (!s) s = onnxprune_run(m, "prune-width<ratio=0.3>,dce", NULL, &report);
 *   if (!s) s = onnxprune_model_save(m, "out.onnx");
 *   if (s) { fprintf(stderr, "%s\n", onnxprune_status_message(s));
 *            onnxprune_status_free(s); }
 *   onnxprune_free(report);
 *   onnxprune_model_free(m);
 *
 * options_json: an object whose keys are the tool's long flag names without
 * dashes ("calibration", "calibration-samples", "calibration-batch",
 * "threads", "calibration-threads", "report", "verify-each",
 * "external-data", "external-data-file", "text", "base-dir"), meaning what
 * the tool's flags mean with the same defaults ("threads" is -j: every core
 * unless set; process-wide, and the output does not depend on it; "report"
 * writes the HTML report, or the SVG width chart for a .svg name); values
 * are strings, numbers or booleans. The writing ones
 * (external-data, external-data-file, text) apply to the model's next
 * onnxprune_model_save. A model read from bytes has no folder: its external
 * data needs "base-dir" at onnxprune_model_from_bytes_with_options.
 *
 * report_json: the report, schema "onnxprune.report" version
 * ONNXPRUNE_REPORT_SCHEMA_VERSION (docs/library.md).
 *
 * Thread safety: distinct models may be used from distinct threads; one
 * model from one thread at a time.
 *
 *===----------------------------------------------------------------------===*/
#ifndef ONNXPRUNE_C_ONNXPRUNE_H
#define ONNXPRUNE_C_ONNXPRUNE_H

#include <stddef.h>

#if defined(__GNUC__) || defined(__clang__)
#define ONNXPRUNE_C_EXPORT __attribute__((visibility("default")))
#else
#define ONNXPRUNE_C_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

/** Version of the C ABI: raised when a declaration here changes. */
#define ONNXPRUNE_C_API_VERSION 1
/** Version of the report JSON schema. */
#define ONNXPRUNE_REPORT_SCHEMA_VERSION 1

typedef struct onnxprune_model onnxprune_model;
typedef struct onnxprune_status onnxprune_status; /* NULL means success */

/** Reads a binary .onnx (external data beside it) or text model. */
ONNXPRUNE_C_EXPORT onnxprune_status *
onnxprune_model_load(const char *path, onnxprune_model **out);
/** Reads a model (binary or text) from memory; the bytes are copied. */
ONNXPRUNE_C_EXPORT onnxprune_status *
onnxprune_model_from_bytes(const void *data, size_t size,
                           onnxprune_model **out);
/** The same, with options (only "base-dir" applies). */
ONNXPRUNE_C_EXPORT onnxprune_status *
onnxprune_model_from_bytes_with_options(const void *data, size_t size,
                                        const char *options_json,
                                        onnxprune_model **out);
/** Writes the model (atomically; nothing is left behind on failure). */
ONNXPRUNE_C_EXPORT onnxprune_status *
onnxprune_model_save(const onnxprune_model *m, const char *path);
/** The binary model, every weight inline; free *data with onnxprune_free. */
ONNXPRUNE_C_EXPORT onnxprune_status *
onnxprune_model_to_bytes(const onnxprune_model *m, void **data, size_t *size);
/** Runs a pipeline (the tool's -passes text). options_json and report_json
 * may be NULL; *report_json is set only on success (free it with
 * onnxprune_free). */
ONNXPRUNE_C_EXPORT onnxprune_status *onnxprune_run(onnxprune_model *m,
                                                   const char *pipeline,
                                                   const char *options_json,
                                                   char **report_json);
/** The groups summary of --coverage as JSON (free with onnxprune_free). */
ONNXPRUNE_C_EXPORT onnxprune_status *onnxprune_coverage(onnxprune_model *m,
                                                        char **coverage_json);

ONNXPRUNE_C_EXPORT const char *
onnxprune_status_message(const onnxprune_status *s);
/** 1 when the error is about the caller's input (file, bytes, pipeline,
 * options), 0 when something failed while running. */
ONNXPRUNE_C_EXPORT int
onnxprune_status_is_input_error(const onnxprune_status *s);
ONNXPRUNE_C_EXPORT void onnxprune_status_free(onnxprune_status *s);
ONNXPRUNE_C_EXPORT void onnxprune_model_free(onnxprune_model *m);
/** Frees bytes and strings the library returned. */
ONNXPRUNE_C_EXPORT void onnxprune_free(void *p);
ONNXPRUNE_C_EXPORT const char *onnxprune_version(void);

#ifdef __cplusplus
}
#endif

#endif /* ONNXPRUNE_C_ONNXPRUNE_H */
