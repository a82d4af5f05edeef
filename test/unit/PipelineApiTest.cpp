//===- PipelineApiTest.cpp - Pipelines built in code, and the options ----===//
///
/// \file
/// onnxprune::api::Pipeline against the -passes text it stands for: the
/// same model bytes, report and HTML report on a zoo model; the registry
/// listing; the refusals (unknown pass, misspelt parameter, a value the
/// text cannot hold). And Options' keys for what the tool's flags mean
/// (threads, calibration-threads, report). Only the public header is used.
///
//===----------------------------------------------------------------------===//

#include "onnxprune/OnnxPrune.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

using namespace onnxprune::api;

namespace {

const std::string resnet =
    std::string(ONNXPRUNE_SOURCE_DIR) + "/test/models/zoo/resnet18_op17.onnx";

std::string readAll(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// A fresh folder of this test's own under gtest's temporary folder.
std::string makeTempDir() {
  std::string dir = testing::TempDir() + "pipeline-api-XXXXXX";
  EXPECT_NE(mkdtemp(dir.data()), nullptr);
  return dir;
}

Pipeline obsLikePipeline() {
  Pipeline p;
  p.add(Pass("prune-width")
            .set("criterion", "magnitude")
            .set("p", 1)
            .set("per-group", 0.3)
            .set("round-to", 1))
      .add(Pass::print("stats"))
      .add(Pass("dce"));
  return p;
}

const char *const obsLikeText =
    "prune-width<criterion=magnitude;p=1;per-group=0.3;round-to=1>,"
    "print<stats>,dce";

TEST(PipelineApi, RendersAsPipelineText) {
  Pipeline p = obsLikePipeline();
  EXPECT_EQ(p.text(), obsLikeText);
  std::string canonical;
  ASSERT_TRUE(p.validate(&canonical)) << p.validate().message();
  // The canonical form spells out the defaults and keeps the choices.
  EXPECT_EQ(canonical.rfind("prune-width<criterion=magnitude;p=1;", 0), 0u)
      << canonical;
  EXPECT_NE(canonical.find("per-group=0.3;"), std::string::npos) << canonical;
  EXPECT_NE(canonical.find(">,print<stats>,dce"), std::string::npos)
      << canonical;
  // Doubles print as the shortest text that reads back to them.
  EXPECT_EQ(Pass("x").set("r", 0.1).text(), "x<r=0.1>");
  EXPECT_EQ(Pass("x").flag("global").set("n", int64_t(-3)).text(),
            "x<global;n=-3>");
}

TEST(PipelineApi, SameBytesAsTheText) {
  std::string dir = makeTempDir();
  Model a, b;
  ASSERT_TRUE(Model::load(resnet, a));
  ASSERT_TRUE(Model::load(resnet, b));
  Options oa, ob;
  oa.report = dir + "/text.html";
  ob.report = dir + "/built.html";
  ob.threads = 2; // Output does not depend on it.
  Report ra, rb;
  Status sa = a.run(obsLikeText, oa, &ra);
  ASSERT_TRUE(sa) << sa.message();
  Status sb = b.run(obsLikePipeline(), ob, &rb);
  ASSERT_TRUE(sb) << sb.message();
  std::string bytesA, bytesB;
  ASSERT_TRUE(a.toBytes(bytesA));
  ASSERT_TRUE(b.toBytes(bytesB));
  EXPECT_EQ(bytesA, bytesB);
  EXPECT_EQ(ra.toJson(), rb.toJson());
  // The model lost width: 30% of every group, in params and in the report.
  EXPECT_LT(ra.after.params, ra.before.params);
  ASSERT_FALSE(ra.groups.empty());
  for (const GroupWidth &g : ra.groups)
    EXPECT_EQ(g.after, g.before - g.before * 3 / 10) << g.tensor;
  std::string html = readAll(oa.report);
  EXPECT_EQ(html, readAll(ob.report));
  EXPECT_NE(html.find("<title>onnx-prune report: resnet18_op17.onnx</title>"),
            std::string::npos);
  EXPECT_NE(html.find("<td>parameters</td><td class=\"n\">" +
                      std::to_string(ra.before.params) +
                      "</td><td class=\"n\">" +
                      std::to_string(ra.after.params) + "</td>"),
            std::string::npos);
  std::remove(oa.report.c_str());
  std::remove(ob.report.c_str());
  rmdir(dir.c_str());
}

TEST(PipelineApi, Refusals) {
  Pipeline unknown;
  unknown.add(Pass("prune-wdth"));
  Status s = unknown.validate();
  EXPECT_FALSE(s);
  EXPECT_TRUE(s.isInputError());
  EXPECT_NE(s.message().find("prune-wdth"), std::string::npos) << s.message();

  Pipeline misspelt;
  misspelt.add(Pass("prune-width").set("per-grup", 0.3));
  s = misspelt.validate();
  EXPECT_FALSE(s);
  EXPECT_NE(s.message().find("per-grup"), std::string::npos) << s.message();

  // A value with ';' would end the parameter: refused by name, never run
  // as something else.
  Pipeline smuggled;
  smuggled.add(Pass("prune-width").set("protect", "conv1;per-group=0.9"));
  s = smuggled.validate();
  EXPECT_FALSE(s);
  EXPECT_NE(s.message().find("'protect=conv1;per-group=0.9'"),
            std::string::npos)
      << s.message();
  // Refused before anything runs: the model is as it was read.
  Model m;
  ASSERT_TRUE(Model::load(resnet, m));
  Counts before = m.counts();
  EXPECT_FALSE(m.run(smuggled));
  EXPECT_EQ(m.counts().params, before.params);
  EXPECT_EQ(m.counts().nodes, before.nodes);
}

TEST(PipelineApi, Registry) {
  std::vector<PassDesc> all = Pipeline::registered();
  auto find = [&](const std::string &name) {
    return std::find_if(all.begin(), all.end(),
                        [&](const PassDesc &d) { return d.name == name; });
  };
  auto pw = find("prune-width");
  ASSERT_NE(pw, all.end());
  EXPECT_FALSE(pw->isAnalysis);
  EXPECT_NE(pw->params.find("per-group=R"), std::string::npos);
  auto dg = find("dep-groups");
  ASSERT_NE(dg, all.end());
  EXPECT_TRUE(dg->isAnalysis);
  // Every listed pass parses on its own (those that need parameters say
  // so in their own words, naming themselves).
  for (const PassDesc &d : all) {
    Pipeline p;
    p.add(d.isAnalysis ? Pass::print(d.name) : Pass(d.name));
    Status s = p.validate();
    if (!s)
      EXPECT_NE(s.message().find(d.name), std::string::npos) << s.message();
  }
}

TEST(PipelineApi, ThreadAndReportOptions) {
  std::vector<std::string> keys = Options::keys();
  for (const char *k : {"threads", "calibration-threads", "report"})
    EXPECT_NE(std::find(keys.begin(), keys.end(), k), keys.end()) << k;
  Options o;
  EXPECT_EQ(o.threads, 0);            // The tool's -j: every core.
  EXPECT_EQ(o.calibrationThreads, 0); // Those of threads.
  EXPECT_TRUE(o.set("threads", "3"));
  EXPECT_TRUE(o.set("calibration-threads", "2"));
  EXPECT_TRUE(o.set("report", "r.html"));
  EXPECT_EQ(o.threads, 3);
  EXPECT_EQ(o.calibrationThreads, 2);
  EXPECT_EQ(o.report, "r.html");
  EXPECT_FALSE(o.set("threads", "-1"));
  EXPECT_FALSE(o.set("calibration-threads", "x"));
}

} // namespace
