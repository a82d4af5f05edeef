//===- PruneTestAsserts.h - GoogleTest macros over PruneTestUtil -*- C++
//-*-===//
///
/// \file
/// The assertions the handler tests share (PruneTestUtil itself stays free
/// of GoogleTest).
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_TEST_UNIT_PRUNETESTASSERTS_H
#define ONNXPRUNE_TEST_UNIT_PRUNETESTASSERTS_H

#include "test/unit/PruneTestUtil.h"

#include <gtest/gtest.h>

/// Fails the test with the error's message when the Expected \p x failed.
#define ASSERT_OK(x) ASSERT_TRUE(!!(x)) << llvm::toString((x).takeError())

/// Masks and prunes the units \p selector picks in the text model \p text,
/// runs both in ONNX Runtime (the result in \p r): the outputs must match
/// and the pruned model must be smaller.
#define CHECK_PROPERTY(r, text, selector)                                      \
  auto r = checkMaskedEqualsPruned(text, selector);                            \
  ASSERT_OK(r);                                                                \
  EXPECT_TRUE(r->compare.match);                                               \
  EXPECT_LT(r->paramsAfter, r->paramsBefore)

#endif // ONNXPRUNE_TEST_UNIT_PRUNETESTASSERTS_H
