/* prune_c.c - prune a model through the C ABI (onnxprune/onnxprune.h).
 *
 *   prune_c IN.onnx OUT.onnx PIPELINE [OPTIONS-JSON]
 *
 * Reads IN, runs PIPELINE, writes OUT and prints the report JSON on stdout;
 * errors print onnx-prune's one-line message and exit 1. */
#include <onnxprune/onnxprune.h>

#include <stdio.h>

static int fail(onnxprune_status *s) {
  fprintf(stderr, "prune_c: error: %s\n", onnxprune_status_message(s));
  onnxprune_status_free(s);
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 4 || argc > 5) {
    fprintf(stderr, "usage: prune_c IN OUT PIPELINE [OPTIONS-JSON]\n");
    return 2;
  }
  onnxprune_model *m = NULL;
  onnxprune_status *s = onnxprune_model_load(argv[1], &m);
  if (s)
    return fail(s);
  char *report = NULL;
  s = onnxprune_run(m, argv[3], argc == 5 ? argv[4] : NULL, &report);
  if (!s)
    s = onnxprune_model_save(m, argv[2]);
  onnxprune_model_free(m);
  if (s)
    return fail(s);
  printf("%s\n", report);
  onnxprune_free(report);
  return 0;
}
