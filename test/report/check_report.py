#!/usr/bin/python3
"""The report people look at, checked the way people look at it.

usage: check_report.py ONNX-PRUNE MODEL TMPDIR [SCREENSHOT-COPY]

Prunes MODEL (ResNet-18 of the zoo) with a width pass and a depth pass and
writes --report as HTML and SVG, then checks:
- both parse as XML (python's xml parser), the SVG is an <svg> document;
- the HTML holds what the tool printed: the parameter counts of --stats,
  one width-chart row per prunable group (print<dep-groups>), one score
  histogram per scored group, the dropped residual unit, the frozen
  causes of --coverage;
- the same command gives the same bytes;
- --report=/dev/null writes through the device and leaves it one; a
  report that cannot be written, or a pipeline that fails, leaves neither
  the model nor the report (one error line);
- Debian's chromium renders the HTML headless: the screenshot is a PNG of
  the size asked for, with the chart's kept and removed colours in it.
Everything it writes stays under TMPDIR (chromium's profile included).
"""
import os
import re
import shutil
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET

tool, model, tmp = sys.argv[1:4]
copy_to = sys.argv[4] if len(sys.argv) > 4 else None
shutil.rmtree(tmp, ignore_errors=True)
os.makedirs(tmp)

KEPT = (0x3B, 0x7D, 0xD8)     # HtmlReport.cpp's colours
REMOVED = (0xE4, 0x57, 0x2E)
PIPELINE = ("prune-width<criterion=magnitude;ratio=0.3>,"
            "drop-layers<criterion=magnitude;count=1;kind=block>")


def run(*args):
    p = subprocess.run([tool, *args], capture_output=True, text=True)
    if p.returncode:
        sys.exit(f"FAIL: onnx-prune {' '.join(args)}: {p.stderr.strip()}")
    return p


html = os.path.join(tmp, "report.html")
svg = os.path.join(tmp, "widths.svg")
p = run(model, f"-passes={PIPELINE}", "--stats", "--coverage",
        f"--report={html}", "-o", os.path.join(tmp, "out.onnx"))
run(model, f"-passes={PIPELINE}", f"--report={svg}")
again = os.path.join(tmp, "again.html")
run(model, f"-passes={PIPELINE}", f"--report={again}")
if open(html, "rb").read() != open(again, "rb").read():
    sys.exit("FAIL: the same command wrote different report bytes")

# --- Structure: XML, and the numbers the tool printed ---------------------
root = ET.parse(html).getroot()
svg_root = ET.parse(svg).getroot()
assert root.tag == "html", root.tag
assert svg_root.tag == "{http://www.w3.org/2000/svg}svg", svg_root.tag
for el in root.iter():
    assert el.tag != "script", "the report must not need a script"
    for k, v in el.attrib.items():
        assert "http" not in v or k == "xmlns", f"network reference {k}={v}"

text = open(html).read()
stats = p.stderr
before, after = (int(x) for x in re.search(
    r"^\s+params\s+(\d+)\s+(\d+)", stats, re.M).groups())
size_rows = {tr.find("td").text: [td.text for td in tr.findall("td")]
             for tr in root.iter("tr") if tr.find("td") is not None}
assert size_rows["parameters"][1:3] == [str(before), str(after)], \
    (size_rows["parameters"], before, after)
assert after < before

groups = run(model, "-passes=print<dep-groups>").stdout
n_prunable = sum(1 for m in re.finditer(r"^group \d+: \d+ units, (\d+) prunable",
                                        groups, re.M) if int(m.group(1)) > 0)
html_chart = next(s for s in root.iter("svg") if s.get("class") == "chart")
rows = [g for g in html_chart.iter("g")]
svg_rows = [g for g in svg_root.iter("{http://www.w3.org/2000/svg}g")]
assert len(rows) == n_prunable == len(svg_rows), (len(rows), n_prunable,
                                                   len(svg_rows))
# Some rows lost width (red), some stayed whole.
red = [g for g in rows if any(r.get("fill") == "#e4572e" for r in g.iter("rect"))]
assert 0 < len(red) <= len(rows), len(red)

hists = [s for s in root.iter("svg") if s.get("class") == "hist"]
cuts = [s for s in hists if any(l.get("class") == "cut" for l in s.iter("line"))]
assert len(hists) == n_prunable, (len(hists), n_prunable)
assert cuts, "no histogram shows a cut"

m = re.search(r"drop-layers: block '([^']+)'", stats)
assert m, stats
dropped = [tr for tr in root.iter("tr") if tr.get("class") == "dropped"]
assert len(dropped) == 1 and dropped[0].find("td").text == m.group(1), \
    [ET.tostring(t) for t in dropped]

for cause in re.findall(r"^  frozen \d+x: (.*)$", stats, re.M):
    assert any(td.text == cause for td in root.iter("td")), cause

# --- /dev/null stays a device ----------------------------------------------
run(model, "-passes=dce", "--report=/dev/null")
assert stat.S_ISCHR(os.stat("/dev/null").st_mode), "/dev/null was replaced"

# --- Failures leave nothing behind ------------------------------------------
def fails(*args):
    p = subprocess.run([tool, *args], capture_output=True, text=True)
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 1 and len(lines) == 1 and \
        lines[0].startswith("onnx-prune: error: "), (args, p.returncode, lines)
    return lines[0]
out = os.path.join(tmp, "bad.onnx")
msg = fails(model, "-passes=dce", "--report=" + os.path.join(tmp, "no", "r.html"),
            "-o", out)
assert "cannot write report" in msg and not os.path.exists(out), msg
bad_report = os.path.join(tmp, "bad.html")
fails(model, "-passes=prune-width<plan-in=" + os.path.join(tmp, "no.json") + ">",
      "--report=" + bad_report)
assert not os.path.exists(bad_report)
leftovers = [f for f in os.listdir(tmp) if ".tmp-" in f]
assert not leftovers, leftovers

# --- A real browser ----------------------------------------------------------
chromium = shutil.which("chromium")
if not chromium:
    sys.exit("FAIL: chromium is not installed; the report test renders the "
             "HTML in Debian's headless chromium (scripts/setup.sh installs "
             "it: apt-get install chromium)")
png = os.path.join(tmp, "report.png")
home = os.path.join(tmp, "home")
os.makedirs(home)
env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=home, XDG_CACHE_HOME=home)
r = subprocess.run(
    [chromium, "--headless", "--no-sandbox", "--disable-gpu",
     "--disable-extensions", "--no-first-run", "--hide-scrollbars",
     f"--user-data-dir={os.path.join(tmp, 'profile')}",
     f"--crash-dumps-dir={os.path.join(tmp, 'crash')}",
     f"--screenshot={png}", "--window-size=1200,2000",
     "file://" + os.path.abspath(html)],
    capture_output=True, text=True, env=env, timeout=120)
if r.returncode or not os.path.exists(png):
    sys.exit(f"FAIL: chromium could not render the report: "
             f"{r.stderr.strip().splitlines()[-1:]}")

from PIL import Image  # python3-pil, with python3-torchvision
img = Image.open(png)
assert img.format == "PNG" and img.size == (1200, 2000), (img.format, img.size)
rgb = img.convert("RGB")
w, h = rgb.size
px = rgb.load()
def near(c, want):
    return all(abs(a - b) <= 8 for a, b in zip(c, want))
kept_rows, removed_rows = set(), set()
for y in range(0, h, 2):
    for x in range(0, w, 3):
        c = px[x, y]
        if near(c, KEPT):
            kept_rows.add(y)
        elif near(c, REMOVED):
            removed_rows.add(y)
# Bars of the width chart are drawn in both colours over many rows.
assert len(kept_rows) > 50 and len(removed_rows) > 10, \
    (len(kept_rows), len(removed_rows))
background = sum(1 for y in range(0, h, 4) for x in range(0, w, 4)
                 if px[x, y] == (255, 255, 255))
assert background < (w // 4) * (h // 4), "the page rendered blank"
if copy_to:
    shutil.copyfile(png, copy_to)
print(f"report: {n_prunable} groups charted ({len(red)} cut), "
      f"{len(hists)} histograms ({len(cuts)} with a cut), params "
      f"{before} -> {after}, unit '{m.group(1)}' dropped; screenshot "
      f"{w}x{h}, kept colour on {len(kept_rows)} rows, removed on "
      f"{len(removed_rows)}")
print("check_report: PASS")
