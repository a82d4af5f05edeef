//===- HtmlReport.h - The report people look at -----------------*- C++ -*-===//
///
/// \file
/// Renders a RunSummary as one self-contained HTML file (inline SVG charts
/// and CSS, no script, no network) or the per-layer width chart alone as
/// SVG: what `onnx-prune --report=out.html|out.svg` and the library's
/// `report` option write. Made by our own code: no plotting dependency.
///
/// Both outputs are well-formed XML (the tests parse them) and depend only
/// on the summary: same input and options, same bytes (no timestamps, no
/// addresses, every list in a fixed order, numbers printed with fixed
/// formats).
///
/// The HTML shows, top to bottom: parameters, FLOPs, nodes and weight bytes
/// before and after; the width chart (every prunable group's root, kept
/// and removed width); each prune-width run's score histograms (per group,
/// removed units in red, the cut as a dashed line); the residual units of
/// each drop-layers run (dropped, kept, or why not droppable); the frozen
/// spaces with their reasons.
///
//===----------------------------------------------------------------------===//
#ifndef ONNXPRUNE_LIB_REPORT_HTMLREPORT_H
#define ONNXPRUNE_LIB_REPORT_HTMLREPORT_H

#include "lib/Report/RunSummary.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>

namespace onnxprune {

/// The whole report as an HTML document.
std::string renderHtmlReport(const RunSummary &s);
/// The per-layer width chart as a standalone SVG document.
std::string renderWidthChartSvg(const RunSummary &s);

/// The report's bytes for \p path: the width chart alone for a name ending
/// in `.svg`, the HTML report otherwise.
std::string renderReport(llvm::StringRef path, const RunSummary &s);

/// What a report calls a model read from \p sourcePath: the file's name,
/// "model" for one read from memory or stdin.
std::string reportTitle(llvm::StringRef sourcePath);

/// Writes the report to \p path atomically (through OutputFile: a device
/// such as /dev/null is written in place, never replaced): the width chart
/// alone for a name ending in `.svg`, the HTML report otherwise.
llvm::Error writeReport(llvm::StringRef path, const RunSummary &s);

} // namespace onnxprune

#endif // ONNXPRUNE_LIB_REPORT_HTMLREPORT_H
