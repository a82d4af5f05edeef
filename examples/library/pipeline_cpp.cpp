// pipeline_cpp.cpp - a pipeline built in code rather than written as text.
//
//   pipeline_cpp IN.onnx OUT.onnx CALIBRATION.npz REPORT.html
//
// Builds prune-width (OBS with compensation, 30% of every group, no
// rounding) followed by dce with onnxprune::api::Pipeline, prints it as
// the tool's -passes text and in canonical form, runs it on IN with 128
// calibration samples and writes OUT and the HTML report. The output is
// byte for byte what
//   onnx-prune IN --calibration=CALIBRATION --calibration-samples=128 \
//     -passes='prune-width<criterion=obs;compensate;per-group=0.3;round-to=1>,dce'
//     \
//     --report=REPORT.html -o OUT
// writes (test/install/run_install_test.sh compares them).
#include <onnxprune/OnnxPrune.h>

#include <iostream>

using namespace onnxprune::api;

static int fail(const Status &s) {
  std::cerr << "pipeline_cpp: error: " << s.message() << '\n';
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    std::cerr << "usage: pipeline_cpp IN OUT CALIBRATION REPORT\n";
    return 2;
  }
  Pipeline pipeline;
  pipeline
      .add(Pass("prune-width")
               .set("criterion", "obs")
               .flag("compensate")
               .set("per-group", 0.3)
               .set("round-to", 1))
      .add(Pass("dce"));
  std::string canonical;
  if (Status s = pipeline.validate(&canonical); !s)
    return fail(s);
  std::cout << "pipeline: " << pipeline.text() << '\n';
  std::cout << "canonical: " << canonical << '\n';

  // A misspelt parameter fails before anything runs, as in the tool.
  Pipeline bad;
  bad.add(Pass("prune-width").set("per-grup", 0.3));
  if (Status s = bad.validate(); !s)
    std::cout << "refused: " << s.message() << '\n';
  else
    return fail(Status::error("a misspelt parameter was accepted"));

  size_t passes = 0;
  for (const PassDesc &d : Pipeline::registered())
    passes += !d.isAnalysis;
  std::cout << "registered passes: " << passes << '\n';

  Model model;
  if (Status s = Model::load(argv[1], model); !s)
    return fail(s);
  Options opts;
  opts.calibration = argv[3];
  opts.calibrationSamples = 128;
  opts.report = argv[4];
  Report report;
  if (Status s = model.run(pipeline, opts, &report); !s)
    return fail(s);
  if (Status s = model.save(argv[2]); !s)
    return fail(s);
  std::cout << "params: " << report.before.params << " -> "
            << report.after.params << '\n';
  return 0;
}
