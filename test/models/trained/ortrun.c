// ortrun MODEL IN_NAME {f32|i64} IN.bin OUT.bin D0 [D1 ...]: runs MODEL in ONNX Runtime (1 thread, no graph
// optimisation) on the raw little-endian tensor IN.bin of shape D0xD1x..., writes its first output as raw float32 to OUT.bin.
#include <onnxruntime_c_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static const OrtApi* g;
#define CK(x) do { OrtStatus* s = (x); if (s) { fprintf(stderr, "ORT error: %s\n", g->GetErrorMessage(s)); exit(1);} } while (0)
int main(int argc, char** argv) {
  if (argc < 7) { fprintf(stderr, "usage: ortrun model in_name f32|i64 in.bin out.bin d0 [d1 ...]\n"); return 2; }
  g = OrtGetApiBase()->GetApi(ORT_API_VERSION);
  const char *model = argv[1], *in_name = argv[2], *dt = argv[3], *inp = argv[4], *outp = argv[5];
  int nd = argc - 6; int64_t dims[8]; size_t n = 1;
  for (int i = 0; i < nd; i++) { dims[i] = atoll(argv[6 + i]); n *= dims[i]; }
  int is_f = strcmp(dt, "f32") == 0; size_t es = is_f ? 4 : 8;
  void* buf = malloc(n * es); FILE* f = fopen(inp, "rb"); if (fread(buf, es, n, f) != n) { fprintf(stderr, "short read\n"); return 1; } fclose(f);
  OrtEnv* env; CK(g->CreateEnv(ORT_LOGGING_LEVEL_WARNING, "ortrun", &env));
  OrtSessionOptions* so; CK(g->CreateSessionOptions(&so));
  CK(g->SetIntraOpNumThreads(so, 1)); CK(g->SetInterOpNumThreads(so, 1));
  CK(g->SetSessionGraphOptimizationLevel(so, ORT_DISABLE_ALL));
  OrtSession* sess; CK(g->CreateSession(env, model, so, &sess));
  OrtMemoryInfo* mi; CK(g->CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &mi));
  OrtValue* in = NULL;
  CK(g->CreateTensorWithDataAsOrtValue(mi, buf, n * es, dims, nd, is_f ? ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT : ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, &in));
  OrtAllocator* al; CK(g->GetAllocatorWithDefaultOptions(&al));
  char* oname; CK(g->SessionGetOutputName(sess, 0, al, &oname));
  const char* inames[1] = {in_name}; const char* onames[1] = {oname};
  OrtValue* out = NULL;
  CK(g->Run(sess, NULL, inames, (const OrtValue* const*)&in, 1, onames, 1, &out));
  OrtTensorTypeAndShapeInfo* ti; CK(g->GetTensorTypeAndShape(out, &ti));
  size_t cnt; CK(g->GetTensorShapeElementCount(ti, &cnt));
  size_t ond; CK(g->GetDimensionsCount(ti, &ond)); int64_t od[8]; CK(g->GetDimensions(ti, od, ond));
  float* od_data; CK(g->GetTensorMutableData(out, (void**)&od_data));
  FILE* fo = fopen(outp, "wb"); fwrite(od_data, 4, cnt, fo); fclose(fo);
  fprintf(stderr, "output %s shape", oname); for (size_t i = 0; i < ond; i++) fprintf(stderr, " %lld", (long long)od[i]); fprintf(stderr, "\n");
  return 0;
}
