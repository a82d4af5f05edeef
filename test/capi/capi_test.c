/*===- capi_test.c - The C ABI, from C ------------------------------------===
 *
 * Drives onnxprune/onnxprune.h the way a C program (or any FFI) does:
 * reads a trained model from a path and from bytes, prunes it with
 * calibration data, writes it as a file and as bytes, runs check-numerics
 * on a model that only ever lived in memory, and takes every error path
 * (bad file, bad bytes, bad pipeline, bad options JSON, NULL arguments,
 * external data without a folder) to a status with a one-line message.
 * run_capi_test.sh compares what it wrote with the tool's output.
 *
 * usage: capi_test MODEL CALIBRATION.npz EXTERNAL-DATA-MODEL TMPDIR PIPELINE
 *
 *===----------------------------------------------------------------------===*/
#include <onnxprune/onnxprune.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "capi_test.c:%d: check failed: %s\n", __LINE__, #cond);  \
      ++failures;                                                              \
    }                                                                          \
  } while (0)

/* Succeeds or prints the status and counts a failure. */
#define OK(call)                                                               \
  do {                                                                         \
    onnxprune_status *st_ = (call);                                            \
    if (st_) {                                                                 \
      fprintf(stderr, "capi_test.c:%d: %s failed: %s\n", __LINE__, #call,      \
              onnxprune_status_message(st_));                                  \
      onnxprune_status_free(st_);                                              \
      ++failures;                                                              \
    }                                                                          \
  } while (0)

/* An error status: non-empty, one line, containing \p needle, of the
 * expected kind. Frees it. */
static void expectError(int line, onnxprune_status *s, const char *needle,
                        int inputError) {
  if (!s) {
    fprintf(stderr, "capi_test.c:%d: expected an error, got success\n", line);
    ++failures;
    return;
  }
  const char *msg = onnxprune_status_message(s);
  printf("error (line %d): %s\n", line, msg);
  if (!*msg || strchr(msg, '\n') || !strstr(msg, needle) ||
      onnxprune_status_is_input_error(s) != inputError) {
    fprintf(stderr,
            "capi_test.c:%d: bad error (want '%s', input error %d): '%s' "
            "(input error %d)\n",
            line, needle, inputError, msg, onnxprune_status_is_input_error(s));
    ++failures;
  }
  onnxprune_status_free(s);
}
#define EXPECT_ERROR(call, needle, input)                                      \
  expectError(__LINE__, (call), (needle), (input))

static char *readFile(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = (char *)malloc(n > 0 ? (size_t)n : 1);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  *size = (size_t)n;
  return buf;
}

static int writeFile(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  if (!f)
    return 0;
  fputs(text, f);
  return fclose(f) == 0;
}

static int sameBytes(const void *a, size_t na, const void *b, size_t nb) {
  return na == nb && memcmp(a, b, na) == 0;
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: capi_test MODEL CALIBRATION EXT-MODEL TMPDIR "
                    "PIPELINE\n");
    return 2;
  }
  const char *modelPath = argv[1], *calibration = argv[2], *extModel = argv[3],
             *tmp = argv[4], *pipeline = argv[5];
  char path[4096], options[8400];

  CHECK(strcmp(onnxprune_version(), "") != 0);

  /* 1. The same model from a path and from bytes serializes the same. */
  onnxprune_model *fromPath = NULL, *fromBytes = NULL;
  OK(onnxprune_model_load(modelPath, &fromPath));
  size_t fileSize = 0;
  char *file = readFile(modelPath, &fileSize);
  CHECK(file != NULL);
  OK(onnxprune_model_from_bytes(file, fileSize, &fromBytes));
  void *b1 = NULL, *b2 = NULL;
  size_t n1 = 0, n2 = 0;
  OK(onnxprune_model_to_bytes(fromPath, &b1, &n1));
  OK(onnxprune_model_to_bytes(fromBytes, &b2, &n2));
  CHECK(n1 > 1000 && sameBytes(b1, n1, b2, n2));
  onnxprune_free(b1);
  onnxprune_free(b2);

  /* 2. check-numerics on a model that was never a file: it compares with
   * the bytes it was read from. */
  OK(onnxprune_run(fromBytes, "check-numerics", NULL, NULL));

  /* 3. Prune both with calibration data; the report goes to a file that
   * run_capi_test.sh checks against the tool. The thread options mean what
   * the tool's -j and --calibration-threads mean, and the HTML report is
   * the tool's --report: the script compares both with the tool's. */
  snprintf(options, sizeof options,
           "{\"calibration\": \"%s\", \"calibration-samples\": 128, "
           "\"calibration-batch\": 32, \"threads\": 3, "
           "\"calibration-threads\": 2, \"report\": \"%s/capi-report.html\"}",
           calibration, tmp);
  char *report = NULL;
  OK(onnxprune_run(fromPath, pipeline, options, &report));
  snprintf(options, sizeof options,
           "{\"calibration\": \"%s\", \"calibration-samples\": 128, "
           "\"calibration-batch\": 32}",
           calibration);
  CHECK(report && strstr(report, "\"schema\":\"onnxprune.report\""));
  CHECK(report && strstr(report, "\"version\":1"));
  snprintf(path, sizeof path, "%s/report.json", tmp);
  CHECK(report && writeFile(path, report));
  onnxprune_free(report);
  snprintf(path, sizeof path, "%s/capi.onnx", tmp);
  OK(onnxprune_model_save(fromPath, path));

  OK(onnxprune_run(fromBytes, pipeline, options, NULL));
  OK(onnxprune_model_to_bytes(fromPath, &b1, &n1));
  OK(onnxprune_model_to_bytes(fromBytes, &b2, &n2));
  CHECK(n1 > 1000 && n1 < fileSize && sameBytes(b1, n1, b2, n2));
  snprintf(path, sizeof path, "%s/capi-bytes.onnx", tmp);
  {
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(b2, 1, n2, f) == n2);
    if (f)
      fclose(f);
  }
  onnxprune_free(b1);
  onnxprune_free(b2);

  /* The pruned in-memory model differs from its original: check-numerics
   * now fails (a run-time error, not an input error), naming the output. */
  EXPECT_ERROR(onnxprune_run(fromBytes, "check-numerics", NULL, NULL),
               "differs from the original", 0);

  /* 3b. A latency budget through the C ABI: the library registers ONNX
   * Runtime's latency provider as the tool does. Times vary, so
   * run_capi_test.sh checks that it ran, reported predicted and measured
   * latency and removed something, not the times. */
  {
    onnxprune_model *lat = NULL;
    OK(onnxprune_model_load(modelPath, &lat));
    report = NULL;
    OK(onnxprune_run(lat, "prune-width<latency=0.7>", NULL, &report));
    CHECK(report && strstr(report, "ms predicted, "));
    snprintf(path, sizeof path, "%s/latency-report.json", tmp);
    CHECK(report && writeFile(path, report));
    onnxprune_free(report);
    onnxprune_model_free(lat);
  }

  /* 4. Errors: each a status with one line, outputs left NULL. */
  onnxprune_model *none = (onnxprune_model *)&failures;
  snprintf(path, sizeof path, "%s/no-such-model.onnx", tmp);
  EXPECT_ERROR(onnxprune_model_load(path, &none), "no-such-model.onnx", 1);
  CHECK(none == NULL);
  none = (onnxprune_model *)&failures;
  EXPECT_ERROR(onnxprune_model_from_bytes("not a model at all", 18, &none),
               "model bytes", 1);
  CHECK(none == NULL);
  EXPECT_ERROR(onnxprune_model_from_bytes(file, fileSize / 2, &none),
               "model bytes", 1);
  EXPECT_ERROR(onnxprune_model_from_bytes(NULL, 10, &none), "data is NULL", 1);
  EXPECT_ERROR(onnxprune_model_from_bytes(file, fileSize, NULL), "out is NULL",
               1);
  EXPECT_ERROR(onnxprune_model_load(NULL, &none), "path is NULL", 1);
  EXPECT_ERROR(onnxprune_run(fromPath, "prune-wdth", NULL, NULL), "prune-width",
               1);
  EXPECT_ERROR(onnxprune_run(fromPath, "dce,", NULL, NULL), "dce,", 1);
  EXPECT_ERROR(onnxprune_run(fromPath, "prune-width<ratio=2>", NULL, NULL),
               "ratio", 1);
  EXPECT_ERROR(onnxprune_run(NULL, "dce", NULL, NULL), "model is NULL", 1);
  EXPECT_ERROR(onnxprune_run(fromPath, NULL, NULL, NULL), "pipeline is NULL",
               1);
  report = (char *)&failures;
  EXPECT_ERROR(onnxprune_run(fromPath, "dce", "{\"calibration\": ", &report),
               "options JSON", 1);
  CHECK(report == NULL);
  EXPECT_ERROR(onnxprune_run(fromPath, "dce", "[1, 2]", NULL),
               "expected an object", 1);
  EXPECT_ERROR(onnxprune_run(fromPath, "dce", "{\"no-such-flag\": 1}", NULL),
               "unknown option 'no-such-flag'", 1);
  EXPECT_ERROR(
      onnxprune_run(fromPath, "dce", "{\"calibration-batch\": 0}", NULL),
      "calibration-batch", 1);
  EXPECT_ERROR(
      onnxprune_run(fromPath, "dce", "{\"calibration\": [\"a\"]}", NULL),
      "'calibration' must be", 1);
  EXPECT_ERROR(onnxprune_run(fromPath, "dce",
                             "{\"calibration\": \"/no/such/calib.npz\"}", NULL),
               "/no/such/calib.npz", 1);
  snprintf(path, sizeof path, "%s/no-such-dir/out.onnx", tmp);
  EXPECT_ERROR(onnxprune_model_save(fromPath, path), "no-such-dir", 0);
  EXPECT_ERROR(onnxprune_model_save(NULL, path), "model is NULL", 1);
  b1 = &failures;
  EXPECT_ERROR(onnxprune_model_to_bytes(NULL, &b1, &n1), "model is NULL", 1);
  CHECK(b1 == NULL);
  CHECK(strcmp(onnxprune_status_message(NULL), "") == 0);
  onnxprune_status_free(NULL);

  /* 5. External data: bytes have no folder, so "base-dir" gives one. */
  size_t extSize = 0;
  char *ext = readFile(extModel, &extSize);
  CHECK(ext != NULL);
  EXPECT_ERROR(onnxprune_model_from_bytes(ext, extSize, &none), "external", 1);
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", extModel);
  char *slash = strrchr(dir, '/');
  if (slash)
    *slash = '\0';
  snprintf(options, sizeof options, "{\"base-dir\": \"%s\"}", dir);
  onnxprune_model *extM = NULL;
  OK(onnxprune_model_from_bytes_with_options(ext, extSize, options, &extM));
  onnxprune_model *orig = NULL;
  OK(onnxprune_model_load(modelPath, &orig));
  OK(onnxprune_model_to_bytes(extM, &b1, &n1));
  OK(onnxprune_model_to_bytes(orig, &b2, &n2));
  CHECK(n1 > 1000 && n1 == n2); /* the same weights, now inline */
  onnxprune_free(b1);
  onnxprune_free(b2);
  /* Writing options given to onnxprune_run apply to the next save. */
  OK(onnxprune_run(extM, "dce", "{\"external-data\": \"1K\"}", NULL));
  snprintf(path, sizeof path, "%s/ext-saved.onnx", tmp);
  OK(onnxprune_model_save(extM, path));
  snprintf(path, sizeof path, "%s/ext-saved.onnx.data", tmp);
  {
    size_t dataSize = 0;
    char *data = readFile(path, &dataSize);
    CHECK(data != NULL && dataSize > 100000); /* the conv weights */
    free(data);
  }
  EXPECT_ERROR(onnxprune_run(extM, "dce", "{\"external-data\": \"1Q\"}", NULL),
               "--external-data", 1);
  EXPECT_ERROR(onnxprune_run(extM, "dce", "{\"threads\": -1}", NULL),
               "'threads'", 1);
  char *coverage = NULL;
  OK(onnxprune_coverage(extM, &coverage));
  CHECK(coverage && strstr(coverage, "\"prunable_groups\":"));
  onnxprune_free(coverage);
  EXPECT_ERROR(onnxprune_model_from_bytes_with_options(
                   ext, extSize, "{\"base-dir\": null}", &none),
               "'base-dir' must be", 1);

  onnxprune_model_free(orig);
  onnxprune_model_free(extM);
  onnxprune_model_free(fromPath);
  onnxprune_model_free(fromBytes);
  onnxprune_model_free(NULL);
  free(file);
  free(ext);
  if (failures)
    fprintf(stderr, "capi_test: %d failure(s)\n", failures);
  else
    printf("capi_test: all checks passed\n");
  return failures ? 1 : 0;
}
