//===- HtmlReport.cpp - The report people look at -------------------------===//
///
/// \file
/// HTML and SVG written by hand (HtmlReport.h). Every number goes through
/// a fixed printf format and every coordinate is rounded to 0.1 px, so the
/// bytes depend only on the summary.
///
//===----------------------------------------------------------------------===//

#include "lib/Report/HtmlReport.h"

#include "lib/Support/Error.h"
#include "lib/Support/OutputFile.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>

using namespace llvm;

namespace onnxprune {

namespace {

// Colours of kept and removed width, used by every chart and the legend.
constexpr const char *keptColour = "#3b7dd8";
constexpr const char *removedColour = "#e4572e";

// Long models stay readable: charts stop after this many rows or panels
// and say how many they left out.
constexpr size_t maxWidthRows = 400;
constexpr size_t maxHistograms = 60;
constexpr size_t maxTableRows = 500;

std::string esc(StringRef text) {
  std::string out;
  for (char c : text) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    case '\'':
      out += "&#39;";
      break;
    default:
      // Control characters are not allowed in XML 1.0.
      out += (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t')
                 ? ' '
                 : c;
    }
  }
  return out;
}

/// \p text shortened to \p n characters, keeping both ends (layer names
/// differ at the end: "model.layers.11.mlp.down_proj.weight").
std::string shorten(StringRef text, size_t n) {
  if (text.size() <= n)
    return text.str();
  size_t tail = (n - 3) * 2 / 3, head = n - 3 - tail;
  // Do not cut a UTF-8 sequence in two.
  while (head > 0 && (text[head] & 0xC0) == 0x80)
    --head;
  size_t from = text.size() - tail;
  while (from < text.size() && (text[from] & 0xC0) == 0x80)
    ++from;
  return (text.take_front(head) + "..." + text.drop_front(from)).str();
}

std::string num(double v, const char *fmt = "%.1f") {
  std::string out;
  raw_string_ostream(out) << format(fmt, v);
  return out;
}

std::string pct(double part, double whole) {
  return whole > 0 ? num(100.0 * part / whole) + "%" : "-";
}

// ---- The width chart --------------------------------------------------------

/// The chart as an <svg> element (\p standalone: with the XML namespace and
/// a white background, for a file of its own).
void widthChart(raw_ostream &os, const RunSummary &s, bool standalone) {
  std::vector<const GroupWidthRow *> rows;
  for (const GroupWidthRow &g : s.groups)
    if (g.before > 0)
      rows.push_back(&g);
  size_t shown = std::min(rows.size(), maxWidthRows);
  int64_t widest = 1;
  for (size_t i = 0; i < shown; ++i)
    widest = std::max(widest, rows[i]->before);

  const double labelW = 330, barW = 520, textW = 150, rowH = 18, top = 44;
  const double width = labelW + barW + textW + 20;
  const double height =
      top + rowH * double(shown) + (shown < rows.size() ? rowH : 0) + 12;
  os << "<svg";
  if (standalone)
    os << " xmlns=\"http://www.w3.org/2000/svg\"";
  os << " class=\"chart\" width=\"" << num(width) << "\" height=\""
     << num(height) << "\" viewBox=\"0 0 " << num(width) << " " << num(height)
     << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  if (standalone)
    os << "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";
  os << "<text x=\"10\" y=\"16\" font-size=\"14\" font-weight=\"bold\">Width "
        "per layer: "
     << esc(shorten(s.title, 60)) << "</text>\n";
  // Legend.
  os << "<rect x=\"" << num(labelW) << "\" y=\"24\" width=\"12\" "
     << "height=\"10\" fill=\"" << keptColour << "\"/><text x=\""
     << num(labelW + 16) << "\" y=\"33\">kept</text>\n";
  os << "<rect x=\"" << num(labelW + 70) << "\" y=\"24\" width=\"12\" "
     << "height=\"10\" fill=\"" << removedColour << "\"/><text x=\""
     << num(labelW + 86) << "\" y=\"33\">removed</text>\n";
  if (rows.empty())
    os << "<text x=\"10\" y=\"" << num(top + 12)
       << "\">no prunable groups</text>\n";
  for (size_t i = 0; i < shown; ++i) {
    const GroupWidthRow &g = *rows[i];
    double y = top + rowH * double(i);
    double full = barW * double(g.before) / double(widest);
    double kept = barW * double(std::min(g.after, g.before)) / double(widest);
    const std::string &label = g.layer.empty() ? g.tensor : g.layer;
    os << "<g><title>" << esc(label) << ": " << esc(g.tensor) << " axis "
       << g.axis << ", " << g.before << " -> " << g.after << "</title>\n";
    os << "<text x=\"" << num(labelW - 6) << "\" y=\"" << num(y + 13)
       << "\" text-anchor=\"end\">" << esc(shorten(label, 48)) << "</text>";
    if (kept > 0)
      os << "<rect x=\"" << num(labelW) << "\" y=\"" << num(y + 3)
         << "\" width=\"" << num(kept) << "\" height=\"" << num(rowH - 5)
         << "\" fill=\"" << keptColour << "\"/>";
    if (full > kept)
      os << "<rect x=\"" << num(labelW + kept) << "\" y=\"" << num(y + 3)
         << "\" width=\"" << num(full - kept) << "\" height=\"" << num(rowH - 5)
         << "\" fill=\"" << removedColour << "\"/>";
    os << "<text x=\"" << num(labelW + barW + 8) << "\" y=\"" << num(y + 13)
       << "\">" << g.after << " / " << g.before;
    if (g.after == 0)
      os << " (gone)";
    else if (g.after < g.before)
      os << " (-" << pct(double(g.before - g.after), double(g.before)) << ")";
    os << "</text></g>\n";
  }
  if (shown < rows.size())
    os << "<text x=\"10\" y=\"" << num(top + rowH * double(shown) + 13)
       << "\">... and " << rows.size() - shown << " more groups</text>\n";
  os << "</svg>\n";
}

// ---- Score histograms
// ---------------------------------------------------------

/// One group's score distribution: kept units stacked over removed ones,
/// the cut as a dashed line.
void histogram(raw_ostream &os, const PrunePlan::GroupScores &g,
               const RunSummary &s) {
  const double w = 250, h = 120, x0 = 10, x1 = 240, y0 = 34, y1 = 96;
  constexpr unsigned bins = 20;
  ArrayRef<double> scores = g.scores;
  size_t removed = std::min<size_t>(g.removed, scores.size());
  double lo = *std::min_element(scores.begin(), scores.end());
  double hi = *std::max_element(scores.begin(), scores.end());
  // Scores spanning many decades (OBS's loss increases) read better on a
  // log axis.
  bool logAxis = lo > 0 && hi / lo > 1e3;
  auto t = [&](double v) { return logAxis ? std::log10(v) : v; };
  double tlo = t(lo), thi = t(hi);
  double span = thi > tlo ? thi - tlo : 1;
  auto binOf = [&](double v) {
    if (!std::isfinite(v))
      return v > 0 ? bins - 1 : 0u;
    double f = (t(v) - tlo) / span;
    return std::min(bins - 1, unsigned(std::max(0.0, f * bins)));
  };
  unsigned keptIn[bins] = {}, removedIn[bins] = {};
  for (size_t i = 0; i < scores.size(); ++i)
    ++(i < removed ? removedIn : keptIn)[binOf(scores[i])];
  unsigned tallest = 1;
  for (unsigned b = 0; b < bins; ++b)
    tallest = std::max(tallest, keptIn[b] + removedIn[b]);

  os << "<svg class=\"hist\" width=\"" << num(w) << "\" height=\"" << num(h)
     << "\" viewBox=\"0 0 " << num(w) << " " << num(h)
     << "\" font-family=\"sans-serif\" font-size=\"10\">\n";
  auto reader = s.readerOf.find(g.weight);
  const std::string &label =
      reader == s.readerOf.end() ? g.weight : reader->second;
  os << "<title>" << esc(label) << ": " << esc(g.weight) << " axis " << g.axis
     << "</title>\n";
  os << "<text x=\"" << num(x0) << "\" y=\"12\" font-weight=\"bold\">"
     << esc(shorten(label, 40)) << "</text>\n";
  os << "<text x=\"" << num(x0) << "\" y=\"26\">removed " << removed << " of "
     << scores.size() << " candidates";
  if (g.numUnits != scores.size())
    os << " (" << g.numUnits << " units)";
  if (g.unitWidth > 1)
    os << ", " << g.unitWidth << " ch/unit";
  os << "</text>\n";
  double bw = (x1 - x0) / bins;
  for (unsigned b = 0; b < bins; ++b) {
    double x = x0 + bw * b;
    double hr = (y1 - y0) * removedIn[b] / tallest;
    double hk = (y1 - y0) * keptIn[b] / tallest;
    if (removedIn[b])
      os << "<rect x=\"" << num(x) << "\" y=\"" << num(y1 - hr) << "\" width=\""
         << num(bw - 1) << "\" height=\"" << num(hr) << "\" fill=\""
         << removedColour << "\"/>";
    if (keptIn[b])
      os << "<rect x=\"" << num(x) << "\" y=\"" << num(y1 - hr - hk)
         << "\" width=\"" << num(bw - 1) << "\" height=\"" << num(hk)
         << "\" fill=\"" << keptColour << "\"/>";
  }
  os << "\n<line x1=\"" << num(x0) << "\" y1=\"" << num(y1) << "\" x2=\""
     << num(x1) << "\" y2=\"" << num(y1) << "\" stroke=\"#555555\"/>\n";
  if (removed > 0 && removed < scores.size()) {
    // The cut: between the highest removed score and the lowest kept one
    // when the ranking was by score; at the highest removed score when the
    // criterion chose jointly (OBS) and the two overlap.
    double maxRemoved =
        *std::max_element(scores.begin(), scores.begin() + removed);
    double minKept = *std::min_element(scores.begin() + removed, scores.end());
    double cut = maxRemoved <= minKept ? (t(maxRemoved) + t(minKept)) / 2
                                       : t(maxRemoved);
    if (std::isfinite(cut)) {
      double x = x0 + (x1 - x0) * std::clamp((cut - tlo) / span, 0.0, 1.0);
      os << "<line class=\"cut\" x1=\"" << num(x) << "\" y1=\"" << num(y0 - 4)
         << "\" x2=\"" << num(x) << "\" y2=\"" << num(y1 + 2)
         << "\" stroke=\"#222222\" stroke-width=\"1.5\" "
            "stroke-dasharray=\"4 3\"/>\n";
    }
  }
  os << "<text x=\"" << num(x0) << "\" y=\"" << num(y1 + 13) << "\">"
     << num(lo, "%.3g") << "</text><text x=\"" << num(x1) << "\" y=\""
     << num(y1 + 13) << "\" text-anchor=\"end\">" << num(hi, "%.3g")
     << (logAxis ? " (log)" : "") << "</text>\n";
  os << "</svg>\n";
}

void scoresSection(raw_ostream &os, const RunSummary &s) {
  os << "<section id=\"scores\"><h2>Scores and cuts</h2>\n";
  if (s.record.width.empty())
    os << "<p>No prune-width pass ran.</p>\n";
  for (const PrunePlan &plan : s.record.width) {
    os << "<h3><code>" << esc(plan.pass) << "</code></h3>\n<p>criterion <b>"
       << esc(plan.criterion.empty() ? "(plan)" : plan.criterion)
       << "</b>, budget <code>" << esc(plan.budget) << "</code>";
    if (!plan.source.empty())
      os << ", " << esc(plan.source);
    os << "; " << plan.numRemoved() << " units removed in "
       << plan.groups.size() << " groups.</p>\n";
    if (plan.scores.empty()) {
      os << "<p>Replayed plan: only the removed units' scores are known "
            "(see the plan file).</p>\n";
      continue;
    }
    os << "<p class=\"note\">Each panel is one group: the candidates' scores "
          "(lower = less important), removed units in red, kept ones in "
          "blue, the cut dashed.</p>\n<div class=\"panels\">\n";
    size_t shown = 0;
    for (const PrunePlan::GroupScores &g : plan.scores) {
      if (g.scores.empty())
        continue;
      if (shown++ == maxHistograms)
        break;
      histogram(os, g, s);
    }
    os << "</div>\n";
    if (shown > maxHistograms)
      os << "<p>... and " << plan.scores.size() - maxHistograms
         << " more groups.</p>\n";
  }
  os << "</section>\n";
}

// ---- Tables
// -------------------------------------------------------------------

void sizeSection(raw_ostream &os, const RunSummary &s) {
  os << "<section id=\"size\"><h2>Size</h2>\n<table>\n<tr><th></th>"
        "<th>before</th><th>after</th><th>after / before</th></tr>\n";
  auto row = [&](StringRef what, uint64_t b, uint64_t a) {
    os << "<tr><td>" << esc(what) << "</td><td class=\"n\">" << b
       << "</td><td class=\"n\">" << a << "</td><td class=\"n\">"
       << pct(double(a), double(b)) << "</td></tr>\n";
  };
  row("parameters", s.before.numParams, s.after.numParams);
  row(s.before.flopsLabel(), s.before.flops, s.after.flops);
  row("nodes", s.before.numNodes, s.after.numNodes);
  row("weight bytes", s.before.weightBytes, s.after.weightBytes);
  os << "</table>\n<p>" << s.removedNodes.size() << " nodes and "
     << s.removedWeights.size() << " weights removed, "
     << s.slicedWeights.size() << " weights sliced.</p>\n</section>\n";
}

void depthSection(raw_ostream &os, const RunSummary &s) {
  os << "<section id=\"depth\"><h2>Depth units</h2>\n";
  if (s.record.depth.empty())
    os << "<p>No drop-layers pass ran.</p>\n";
  for (const PruneRecord::DepthRun &run : s.record.depth) {
    size_t dropped = llvm::count_if(
        run.units, [](const DepthCandidate &c) { return c.dropped; });
    os << "<h3><code>" << esc(run.pass) << "</code></h3>\n<p>" << dropped
       << " of " << run.units.size() << " residual units dropped";
    if (!run.criterion.empty())
      os << " by <b>" << esc(run.criterion) << "</b>";
    os << ".</p>\n<table>\n<tr><th>unit</th><th>kind</th><th>params</th>"
          "<th>outcome</th></tr>\n";
    size_t n = 0;
    for (const DepthCandidate &c : run.units) {
      if (n++ == maxTableRows)
        break;
      os << "<tr" << (c.dropped ? " class=\"dropped\"" : "") << "><td>"
         << esc(c.unit) << "</td><td>" << esc(c.kind) << "</td><td class=\"n\">"
         << c.params << "</td><td>";
      if (c.dropped)
        os << "dropped (score " << num(c.score, "%.6g") << ")";
      else if (!c.blocker.empty())
        os << "not droppable: " << esc(c.blocker);
      else
        os << "kept";
      os << "</td></tr>\n";
    }
    os << "</table>\n";
    if (run.units.size() > maxTableRows)
      os << "<p>... and " << run.units.size() - maxTableRows
         << " more units.</p>\n";
  }
  os << "</section>\n";
}

void frozenSection(raw_ostream &os, const RunSummary &s) {
  os << "<section id=\"frozen\"><h2>Frozen</h2>\n";
  if (s.freezeCounts.empty() && s.unhandledOps.empty()) {
    os << "<p>Nothing with weights is frozen.</p>\n</section>\n";
    return;
  }
  os << "<p>Spaces with weights that no pass may prune, by cause (a space "
        "coupled to a frozen one is frozen too):</p>\n<table>\n<tr><th>"
        "spaces</th><th>cause</th></tr>\n";
  for (auto &[why, count] : s.freezeCounts)
    os << "<tr><td class=\"n\">" << count << "</td><td>" << esc(why)
       << "</td></tr>\n";
  os << "</table>\n";
  if (!s.unhandledOps.empty()) {
    os << "<p>Ops without a handler (everything they touch is frozen):";
    for (auto &[op, count] : s.unhandledOps)
      os << " <code>" << esc(op) << "</code> x" << count;
    os << "</p>\n";
  }
  if (!s.frozen.empty()) {
    os << "<table>\n<tr><th>weight</th><th>axis</th><th>size</th><th>op</th>"
          "<th>rule</th><th>node</th></tr>\n";
    size_t n = 0;
    for (const FrozenSpaceRow &f : s.frozen) {
      if (n++ == maxTableRows)
        break;
      os << "<tr><td>" << esc(f.weight) << "</td><td class=\"n\">" << f.axis
         << "</td><td class=\"n\">" << f.size << "</td><td>" << esc(f.op)
         << "</td><td>" << esc(f.rule) << "</td><td>" << esc(f.node)
         << "</td></tr>\n";
    }
    os << "</table>\n";
    if (s.frozen.size() > maxTableRows)
      os << "<p>... and " << s.frozen.size() - maxTableRows
         << " more frozen spaces.</p>\n";
  }
  os << "</section>\n";
}

constexpr const char *style =
    R"(body { font-family: sans-serif; margin: 24px; color: #222222; max-width: 1100px; }
h1 { font-size: 22px; margin-bottom: 4px; }
h2 { font-size: 18px; border-bottom: 1px solid #cccccc; padding-bottom: 4px; margin-top: 28px; }
h3 { font-size: 13px; font-weight: normal; }
code { font-size: 12px; word-break: break-all; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th, td { border: 1px solid #dddddd; padding: 3px 8px; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.dropped td { background: #fbe3dc; }
.panels { display: flex; flex-wrap: wrap; gap: 6px; }
svg.hist { border: 1px solid #eeeeee; }
.note { color: #555555; font-size: 13px; }
)";

} // namespace

std::string renderWidthChartSvg(const RunSummary &s) {
  std::string out;
  raw_string_ostream os(out);
  os << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  widthChart(os, s, /*standalone=*/true);
  return os.str();
}

std::string renderHtmlReport(const RunSummary &s) {
  std::string out;
  raw_string_ostream os(out);
  // Written as well-formed XML too (self-closed void elements, no named
  // entities beyond XML's), so the tests can parse it.
  os << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta "
        "charset=\"utf-8\"/>\n<title>onnx-prune report: "
     << esc(s.title) << "</title>\n<style>\n"
     << style << "</style>\n</head>\n<body>\n";
  os << "<h1>onnx-prune report: " << esc(s.title) << "</h1>\n<p><code>"
     << esc(s.pipeline) << "</code></p>\n";
  sizeSection(os, s);
  os << "<section id=\"widths\"><h2>Width per layer</h2>\n<p "
        "class=\"note\">Each row is a prunable dependency group, named after "
        "the layer that reads its first weight; the bar is its width before "
        "the run, blue what is kept, red what is removed.</p>\n";
  widthChart(os, s, /*standalone=*/false);
  os << "</section>\n";
  scoresSection(os, s);
  depthSection(os, s);
  frozenSection(os, s);
  os << "</body>\n</html>\n";
  return os.str();
}

std::string renderReport(StringRef path, const RunSummary &s) {
  return path.endswith_insensitive(".svg") ? renderWidthChartSvg(s)
                                           : renderHtmlReport(s);
}

std::string reportTitle(StringRef sourcePath) {
  StringRef name = sys::path::filename(sourcePath);
  return name.empty() || name == "-" ? "model" : name.str();
}

Error writeReport(StringRef path, const RunSummary &s) {
  if (Error e = OutputFile::writeWhole(path, renderReport(path, s)))
    return addContext(std::move(e), "cannot write report '" + path + "'");
  return Error::success();
}

} // namespace onnxprune
