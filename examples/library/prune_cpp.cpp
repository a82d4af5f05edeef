// prune_cpp.cpp - prune a model through the C++ library, with calibration
// data made in memory.
//
//   prune_cpp IN.onnx OUT.onnx PIPELINE [SAMPLES]
//
// Makes SAMPLES (default 64) seeded Gaussian samples for every float input
// of IN (dims that are not static are 1, axis 0 counts samples), runs
// PIPELINE with them as calibration data, prints the width of every group
// and the parameters and FLOPs before and after, writes OUT, and measures
// how far the outputs moved with check-numerics<report>, which compares
// with the model as it was read, in memory.
#include <onnxprune/OnnxPrune.h>

#include <cstdlib>
#include <iostream>
#include <random>

using namespace onnxprune::api;

static int fail(const Status &s) {
  std::cerr << "prune_cpp: error: " << s.message() << '\n';
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 4 || argc > 5) {
    std::cerr << "usage: prune_cpp IN OUT PIPELINE [SAMPLES]\n";
    return 2;
  }
  Model model;
  if (Status s = Model::load(argv[1], model); !s)
    return fail(s);

  Options opts;
  int64_t samples = argc == 5 ? std::atoll(argv[4]) : 64;
  std::mt19937 rng(0);
  std::normal_distribution<float> normal;
  for (const TensorDesc &in : model.inputs()) {
    if (in.type != ElementType::Float || in.shape.empty())
      continue;
    Array x;
    x.name = in.name;
    x.shape = in.shape;
    x.shape[0] = samples;
    int64_t numel = 1;
    for (int64_t &d : x.shape)
      numel *= d = d < 0 ? 1 : d;
    std::vector<float> values(numel);
    for (float &v : values)
      v = normal(rng);
    x.data.assign(reinterpret_cast<const char *>(values.data()),
                  values.size() * sizeof(float));
    opts.calibrationArrays.push_back(std::move(x));
  }

  Report report;
  if (Status s = model.run(argv[3], opts, &report); !s)
    return fail(s);
  for (const GroupWidth &g : report.groups)
    std::cout << "group " << g.group << " " << g.tensor << "[" << g.axis
              << "]: " << g.before << " -> " << g.after << '\n';
  std::cout << "params: " << report.before.params << " -> "
            << report.after.params << '\n';
  std::cout << "FLOPs: " << report.before.flops << " -> " << report.after.flops
            << '\n';
  if (Status s = model.save(argv[2]); !s)
    return fail(s);
  if (Status s = model.run("check-numerics<report>"); !s)
    return fail(s);
  return 0;
}
