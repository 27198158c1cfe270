"""Tests of //eval/tracking:html_report: files, references, CSV contents, no external URLs."""
import csv
import html.parser
import os
import re
import tempfile
import time

from absl.testing import absltest

from eval.tracking import formatting
from eval.tracking import html_report
from eval.tracking import model_result
from eval.tracking import why_ap_lost
from eval.tracking.testing import synthetic_results


class _Refs(html.parser.HTMLParser):

  def __init__(self):
    super().__init__()
    self.refs = []

  def handle_starttag(self, tag, attrs):
    for name, value in attrs:
      if name in ("href", "src", "action", "data", "poster", "srcset") and value is not None:
        self.refs.append((tag, name, value))


def _read_csv(path):
  with open(path, newline="") as f:
    return list(csv.reader(f))


class HtmlReportTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.out = tempfile.mkdtemp(dir=absltest.get_default_test_tmpdir())
    # Three models written as //eval:evaluate_model writes them, one model only in memory.
    cls.results = synthetic_results.write_synthetic_results(cls.out, ["d0", "d3", "d7"])
    info = synthetic_results.efficientdet_info("d1")
    cls.results.append(
        model_result.ModelResult(
            info, synthetic_results.synthetic_run(info, no_ground_truth=("hair drier",))))
    start = time.monotonic()
    cls.index = html_report.write_report(cls.out, cls.results)
    cls.seconds = time.monotonic() - start
    cls.report_dir = os.path.join(cls.out, "report")
    with open(cls.index) as f:
      cls.page = f.read()
    parser = _Refs()
    parser.feed(cls.page)
    cls.refs = parser.refs

  def test_no_why_section_without_analysis_or_bootstrap(self):
    self.assertNotIn("Why AP is lost", self.page)
    self.assertNotIn("tide_vs_phi.png", self.page)

  def test_no_measured_latency_section_without_measurements(self):
    self.assertNotIn("accuracy_vs_measured_latency.png", self.page)
    self.assertNotIn("From the latencies measured", self.page)

  def test_files_exist(self):
    self.assertEqual(self.index, os.path.join(self.report_dir, "index.html"))
    names = set(os.listdir(self.report_dir))
    for name in ("index.html", "models_stats.csv", "category_ap_by_model.csv",
                 "per_category_all_models.csv", "overall_vs_phi.png", "accuracy_vs_speed.png",
                 "per_category_heatmap.png", "per_category_small_multiples.png",
                 "selected_categories.png"):
      self.assertIn(name, names)
    self.assertFalse([n for n in names if n.endswith(".tmp")], "temporary files left")
    for name in names:
      if name.endswith(".png"):
        with open(os.path.join(self.report_dir, name), "rb") as f:
          self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n", name)
    self.assertLess(self.seconds, 30)

  def test_index_references_every_png_and_csv(self):
    hrefs = {v for tag, name, v in self.refs if tag == "a" and name == "href"}
    for name in os.listdir(self.report_dir):
      if name.endswith((".png", ".csv")):
        self.assertIn(name, hrefs)
    # ... and every figure is embedded too, so index.html alone shows everything.
    embedded = [v for tag, name, v in self.refs if tag == "img"]
    self.assertLen(embedded, 5)
    for src in embedded:
      self.assertTrue(src.startswith("data:image/png;base64,"), src[:40])

  def test_no_external_urls(self):
    for tag, name, value in self.refs:
      self.assertFalse(
          re.match(r"^\s*([a-z][a-z0-9+.-]*:|//)", value, re.I)
          and not value.startswith("data:image/png;base64,"), f"<{tag} {name}={value[:60]}>")
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", self.page)
    self.assertNotRegex(text, r"(?i)(https?:|ftp:|//[a-z0-9-]+\.[a-z]|@import|url\()")

  def test_relative_links_resolve(self):
    for _, _, value in self.refs:
      if value.startswith("data:"):
        continue
      path = os.path.normpath(os.path.join(self.report_dir, value))
      self.assertTrue(os.path.exists(path), value)
    for key in ("d0", "d3", "d7"):
      task = synthetic_results.efficientdet_info(key).task_name
      self.assertIn(f'href="../{task}/metrics.json"', self.page)
      self.assertIn(f'href="../{task}/per_category.csv"', self.page)
    # The in-memory model has no files: shown as missing, not linked.
    self.assertIn("metrics.json (missing)", self.page)

  def test_models_csv_matches_input(self):
    rows = _read_csv(os.path.join(self.report_dir, "models_stats.csv"))
    header, body = rows[0], rows[1:]
    self.assertEqual(header[:3], ["model", "task_name", "phi"])
    self.assertEqual([r[0] for r in body], ["d0", "d1", "d3", "d7"])  # ordered by phi
    by_key = {r.info.key: r for r in self.results}
    for row in body:
      result = by_key[row[0]]
      self.assertEqual(row[1], result.info.task_name)
      self.assertEqual(int(row[2]), result.info.phi)
      self.assertEqual(float(row[4]), result.info.published_map)
      for name, value in zip(result.stat_names, result.stats):
        self.assertEqual(float(row[header.index(name)]), value, (row[0], name))

  def test_category_csv_matches_input(self):
    rows = _read_csv(os.path.join(self.report_dir, "category_ap_by_model.csv"))
    header, body = rows[0], rows[1:]
    self.assertEqual(header, ["category_id", "category", "supercategory", "d0", "d1", "d3", "d7"])
    self.assertLen(body, 80)
    by_key = {r.info.key: r for r in self.results}
    for row in body:
      for key in ("d0", "d1", "d3", "d7"):
        expected = next(c for c in by_key[key].per_category if c.name == row[1])
        self.assertEqual(int(row[0]), expected.id)
        self.assertEqual(row[2], expected.supercategory)  # the ground truth's
        self.assertEqual(float(row[header.index(key)]), expected.stats[0])
    hair_drier = next(r for r in body if r[1] == "hair drier")
    self.assertEqual(hair_drier[3:], ["-1.0"] * 4)  # the CSV keeps the evaluator's -1
    long_rows = _read_csv(os.path.join(self.report_dir, "per_category_all_models.csv"))
    self.assertLen(long_rows, 1 + 4 * 80)
    self.assertEqual(long_rows[0][4:], list(formatting.STAT_NAMES))

  def test_readable(self):
    self.assertIn("<title>EfficientDet D0-D7 on COCO", self.page)
    self.assertRegex(self.page, r"Generated \d{4}-\d\d-\d\d \d\d:\d\d UTC")
    self.assertIn("Sweet spot.", self.page)
    self.assertIn("Most accuracy per ms: D0", self.page)
    self.assertIn("Knee of the AP-vs-speed curve", self.page)
    self.assertIn("4 model(s)", self.page)
    # -1 is shown as a dash: hair drier has no ground truth in these results.
    row = re.search(r"<tr><td>hair drier</td>.*?</tr>", self.page).group(0)
    self.assertEqual(
        row, "<tr><td>hair drier</td><td>indoor</td>"
        + f'<td class="num">{formatting.MISSING}</td>' * 5 + "</tr>")
    self.assertNotIn(">-1", self.page)
    self.assertNotIn(">-100.0", self.page)
    # Category table sorted by the most accurate model's mAP (D7), best first.
    d7 = next(r for r in self.results if r.info.key == "d7")
    best_first = sorted((c for c in d7.per_category if c.stats[0] >= 0), key=lambda c: -c.stats[0])
    positions = [self.page.index(f"<td>{c.name}</td><td>") for c in best_first[:5]]
    self.assertEqual(positions, sorted(positions))

  def test_regenerate_from_out(self):
    results = html_report.results_from_out(self.out)
    self.assertEqual([r.info.key for r in results], ["d0", "d3", "d7"])
    self.assertTrue(results[0].per_category_csv.endswith("per_category.csv"))


class MeasuredLatencyTest(absltest.TestCase):
  """Results whose metrics.json has a speed section: AP against the measured latency too."""

  def test_measured_latency_figure_table_and_sweet_spot(self):
    out = self.create_tempdir().full_path
    # Measured ms per image chosen so that D1 has the most AP per measured ms (published: D0).
    measured = {"d0": 400.0, "d1": 200.0, "d3": 900.0, "d7": 5000.0}
    results = []
    for key, ms in measured.items():
      info = synthetic_results.efficientdet_info(key)
      results.append(
          model_result.ModelResult(info, synthetic_results.synthetic_run(info, measured_ms=ms)))
    with open(html_report.write_report(out, results)) as f:
      page = f.read()
    self.assertTrue(os.path.isfile(os.path.join(out, "report", "accuracy_vs_measured_latency.png")))
    self.assertIn("Accuracy vs measured latency", page)
    self.assertIn("synthetic CPU, 1 TF thread", page)
    self.assertIn("From the latencies measured in this run:</b> ", page)
    self.assertIn("Most accuracy per ms: D1 (", page)
    self.assertIn("AP points per measured ms", page)
    rows = _read_csv(os.path.join(out, "report", "models_stats.csv"))
    column = rows[0].index("measured_ms_p50")
    self.assertEqual({r[0]: float(r[column]) for r in rows[1:]}, measured)


class WhyApLostSectionTest(absltest.TestCase):
  """TIDE vs phi, AP with bootstrap intervals, consecutive models' significance and the F1
  thresholds, from analysis.json (D1, D3, D7; D0 is an older run without one) and the sweep's
  bootstrap (synthetic values)."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.out = tempfile.mkdtemp(dir=absltest.get_default_test_tmpdir())
    cls.results = synthetic_results.write_synthetic_results(cls.out, ["d0", "d1", "d3", "d7"])
    cls.analyses = {
        r.info.key: synthetic_results.write_synthetic_analysis(r) for r in cls.results[1:]
    }
    cls.intervals, cls.pairs = synthetic_results.synthetic_bootstrap(cls.results)
    # D1 -> D3's AP gain made not significant: its interval straddles 0.
    ap = cls.pairs[1]["stats"][0]
    ap.update(lo=-0.001, hi=ap["delta"] + 0.01, significant=False)
    why = why_ap_lost.load(cls.results, intervals=cls.intervals, pairs=cls.pairs)
    cls.index = html_report.write_report(cls.out, cls.results, why=why)
    cls.report_dir = os.path.join(cls.out, "report")
    with open(cls.index) as f:
      cls.page = f.read()
    parser = _Refs()
    parser.feed(cls.page)
    cls.refs = parser.refs

  def test_section_figures_and_files(self):
    self.assertIn("<h2>Why AP is lost</h2>", self.page)
    self.assertIn("No analysis for D0 (runs from before the analysis existed)", self.page)
    for name in ("tide_vs_phi.png", "category_ap_intervals.png"):
      with open(os.path.join(self.report_dir, name), "rb") as f:
        self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n", name)
    self.assertLen([v for tag, _, v in self.refs if tag == "img"], 7)
    hrefs = {v for tag, name, v in self.refs if tag == "a" and name == "href"}
    for name in os.listdir(self.report_dir):
      if name.endswith((".png", ".csv")):
        self.assertIn(name, hrefs)

  def test_tide_table_and_csv(self):
    rows = _read_csv(os.path.join(self.report_dir, "tide_by_model.csv"))
    self.assertEqual(rows[0][:3], ["model", "phi", "AP (TIDE)"])
    self.assertEqual([r[0] for r in rows[1:]], ["d1", "d3", "d7"])  # D0 has no analysis
    for row in rows[1:]:
      tide = self.analyses[row[0]]["tide"]
      self.assertEqual(float(row[2]), tide["ap"])
      for k, error in enumerate(why_ap_lost.TIDE_ERRORS + why_ap_lost.TIDE_SUMMARIES):
        self.assertEqual(float(row[3 + k]), tide["delta_ap"][error], (row[0], error))
    loc = self.analyses["d3"]["tide"]["delta_ap"]["Loc"]
    self.assertRegex(
        self.page, r"<td>D3</td><td class=\"num\">3</td>.*?"
        + re.escape(f'<td class="num">{loc * 100:+.2f}</td>'))

  def test_intervals_csv(self):
    rows = _read_csv(os.path.join(self.report_dir, "category_ap_intervals.csv"))
    header, body = rows[0], rows[1:]
    self.assertEqual(header[:8],
                     ["model", "phi", "category_id", "category", "statistic", "value", "lo", "hi"])
    person = [r for r in body if r[3] == "person"]
    self.assertEqual([r[0] for r in person], ["d0", "d1", "d3", "d7"])
    for row in person:
      want = next(c for c in self.intervals[synthetic_results.efficientdet_info(row[0]).task_name]
                  ["per_category"] if c["name"] == "person")
      self.assertEqual([float(v) for v in row[5:8]], [want["ap"], want["lo"], want["hi"]])
    self.assertNotIn("hair drier", [r[3] for r in body])  # no ground truth: no interval

  def test_significance_table(self):
    # One row per consecutive pair and statistic; D1 -> D3's AP gain is not significant.
    table = re.search(r'<table class="significance">.*?</table>', self.page, re.S).group(0)
    self.assertEqual(table.count("<tr><td>"), 3 * 12)
    for pair in self.pairs:
      a = synthetic_results.efficientdet_info(pair["a"]["directory"].split("_")[1])
      ap = pair["stats"][0]
      row = re.search(rf"<tr><td>{a.key.upper()} -&gt; [A-Z0-9]+</td><td>AP</td>.*?</tr>",
                      table).group(0)
      self.assertIn(f'<td class="num">{ap["delta"] * 100:+.2f}</td>', row)
      self.assertIn(f"[{ap['lo'] * 100:+.2f}, {ap['hi'] * 100:+.2f}]", row)
      self.assertTrue(
          row.endswith(
              ("<b>yes</b></td></tr>" if ap["significant"] else '<td class="num">no</td></tr>')),
          row)
    self.assertFalse(self.pairs[1]["stats"][0]["significant"])
    rows = _read_csv(os.path.join(self.report_dir, "consecutive_models_significance.csv"))
    self.assertEqual(rows[0],
                     ["model pair", "statistic", "a", "b", "delta", "lo", "hi", "significant"])
    self.assertEqual(len(rows) - 1, sum(12 + len(p["per_category"]) for p in self.pairs))
    self.assertIn([
        "d1 -> d3", "AP",
        repr(self.pairs[1]["stats"][0]["a"]),
        repr(self.pairs[1]["stats"][0]["b"]),
        repr(self.pairs[1]["stats"][0]["delta"]), "-0.001",
        repr(self.pairs[1]["stats"][0]["hi"]), "no"
    ], rows)

  def test_f1_threshold_table(self):
    rows = _read_csv(os.path.join(self.report_dir, "f1_thresholds_by_model.csv"))
    self.assertEqual(rows[0], [
        "category", "d1 score", "d1 precision", "d1 recall", "d3 score", "d3 precision",
        "d3 recall", "d7 score", "d7 precision", "d7 recall"
    ])
    self.assertLen(rows, 1 + 80)
    dog = next(r for r in rows if r[0] == "dog")
    for k, key in enumerate(("d1", "d3", "d7")):
      want = next(f for f in self.analyses[key]["f1_thresholds"]
                  if f["name"] == "dog" and f["iou"] == 0.5)
      self.assertEqual([float(v) for v in dog[1 + 3 * k:4 + 3 * k]],
                       [want["score"], want["precision"], want["recall"]])
    hair_drier = next(r for r in rows if r[0] == "hair drier")
    self.assertEqual(hair_drier[1:], [""] * 9)  # no ground truth: no threshold
    table = re.search(r'<table class="f1">.*?</table>', self.page, re.S).group(0)
    self.assertIn("<th>D7 score</th><th>D7 precision</th><th>D7 recall</th>", table)
    want = next(f for f in self.analyses["d7"]["f1_thresholds"]
                if f["name"] == "dog" and f["iou"] == 0.5)
    self.assertIn(
        f'<td class="num">{want["score"]:.3f}</td><td class="num">'
        f'{want["precision"]:.3f}</td><td class="num">{want["recall"]:.3f}</td></tr>', table)


if __name__ == "__main__":
  absltest.main()
