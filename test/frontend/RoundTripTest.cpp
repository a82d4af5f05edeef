//===- RoundTripTest.cpp - read -> write keeps models intact --------------===//
///
/// \file
/// Round trip (read, then write with an empty pipeline) must keep every
/// weight byte, node, attribute, opset import, function and metadata entry.
/// Checked the strictest way: the written ModelProto equals the one parsed
/// from the original file, field by field (protobuf's MessageDifferencer).
/// Runs over every model of Debian's libonnx-testdata and of the project's
/// zoo, plus the PP-OCRv4 models when they were fetched.
///
//===----------------------------------------------------------------------===//

#include "frontends/onnx/ModelReader.h"
#include "frontends/onnx/ModelWriter.h"
#include "frontends/onnx/OnnxChecks.h"
#include "passes/OpHandlers/ShapeInference.h"
#include "test/frontend/TestModels.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include "onnx/checker.h"
#include "onnx/onnx_pb.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

using namespace onnxprune;

namespace {

std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Reads \p path with onnx-prune, writes it back, and compares protos.
void checkRoundTrip(const std::string &path) {
  SCOPED_TRACE(path);
  auto model = readModelFile(path);
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  fillTypes(**model);
  auto bytes = serializeModel(**model);
  ASSERT_TRUE(bool(bytes)) << llvm::toString(bytes.takeError());
  onnx::ModelProto original, written;
  ASSERT_TRUE(original.ParseFromString(readFile(path)));
  ASSERT_TRUE(written.ParseFromString(*bytes));
  std::string diff;
  google::protobuf::util::MessageDifferencer differ;
  differ.ReportDifferencesToString(&diff);
  // proto2 presence of an empty string is not meaning: "" == unset.
  differ.set_message_field_comparison(
      google::protobuf::util::MessageDifferencer::EQUIVALENT);
  EXPECT_TRUE(differ.Compare(original, written)) << diff.substr(0, 2000);
  // Checker-valid before means checker-valid after.
  bool validBefore = true;
  try {
    onnx::checker::check_model(original);
  } catch (const std::exception &) {
    validBefore = false;
  }
  if (validBefore) {
    try {
      onnx::checker::check_model(written);
    } catch (const std::exception &e) {
      ADD_FAILURE() << "the written model fails the checker: " << e.what();
    }
  }
  // Writing is deterministic: the same model gives the same bytes.
  auto again = serializeModel(**model);
  ASSERT_TRUE(bool(again));
  EXPECT_EQ(*bytes, *again);
}

class TestData : public ::testing::TestWithParam<std::string> {};

TEST_P(TestData, RoundTripKeepsEverything) {
  std::vector<std::string> models = findModels(GetParam());
  if (models.empty())
    GTEST_SKIP() << "no models under " << GetParam();
  for (const std::string &m : models)
    checkRoundTrip(m);
  std::cout << "[ round trip ] " << models.size() << " models under "
            << GetParam() << "\n";
}

/// The project's zoo and the PP-OCRv4 models must be there: a skipped run
/// would hide a regression on the models users actually have.
class RealModels : public ::testing::TestWithParam<std::string> {};

TEST_P(RealModels, RoundTripKeepsEverything) {
  std::vector<std::string> models = findModels(GetParam());
  ASSERT_FALSE(models.empty()) << "no models under " << GetParam();
  for (const std::string &m : models)
    checkRoundTrip(m);
  std::cout << "[ round trip ] " << models.size() << " models under "
            << GetParam() << "\n";
}

/// The PP-OCRv4 files come back byte for byte: Paddle keeps every weight in
/// a Constant node, which the reader lifts and the writer restores.
TEST(RealModels, PaddleOcrIsByteIdentical) {
  for (const char *name :
       {"ch_PP-OCRv4_det_infer.onnx", "ch_PP-OCRv4_rec_infer.onnx",
        "ch_ppocr_mobile_v2.0_cls_infer.onnx"}) {
    std::string path = std::string(ONNXPRUNE_OCR_DIR) + "/" + name;
    SCOPED_TRACE(path);
    auto model = readModelFile(path);
    ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
    unsigned lifted = 0;
    for (const Node &n : (*model)->getGraph().getNodes())
      lifted += n.isLiftedConstant();
    EXPECT_GT(lifted, 50u) << "weights in Constant nodes were not lifted";
    auto bytes = serializeModel(**model);
    ASSERT_TRUE(bool(bytes)) << llvm::toString(bytes.takeError());
    EXPECT_TRUE(*bytes == readFile(path));
  }
}

INSTANTIATE_TEST_SUITE_P(Zoo, RealModels,
                         ::testing::Values(ONNXPRUNE_ZOO_DIR,
                                           ONNXPRUNE_OCR_DIR),
                         [](const auto &info) {
                           return info.index == 0 ? std::string("zoo")
                                                  : std::string("ppocr");
                         });

INSTANTIATE_TEST_SUITE_P(
    OnnxBackendData, TestData,
    ::testing::Values("/usr/share/libonnx-testdata/data/node",
                      "/usr/share/libonnx-testdata/data/pytorch-converted",
                      "/usr/share/libonnx-testdata/data/pytorch-operator",
                      "/usr/share/libonnx-testdata/data/simple"),
    [](const auto &info) {
      return llvm::sys::path::filename(info.param).str() == "pytorch-converted"
                 ? std::string("pytorch_converted")
             : llvm::sys::path::filename(info.param).str() == "pytorch-operator"
                 ? std::string("pytorch_operator")
                 : llvm::sys::path::filename(info.param).str();
    });

} // namespace
