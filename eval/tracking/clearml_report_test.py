"""Tests of //eval/tracking:clearml_report: real ClearML SDK, offline, read back from metrics.jsonl.

Two fake models (D0, D1: 80 COCO categories, "hair drier" without ground truth) are logged to
one task each, then compared in a third task. The SDK's read-back calls do not work offline, so
the checks read the session folders' metrics.jsonl and task.json.
"""
import json
import os
import tempfile
import time
import zipfile

from absl.testing import absltest
from PIL import Image

import cocoeval_cc
from eval.analysis import analyze
from eval.tracking import clearml_report
from eval.tracking import clearml_session
from eval.tracking import formatting
from eval.tracking import model_result
from eval.tracking import why_ap_lost
from eval.tracking.testing import synthetic_results

_FIXTURES = os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", "third_party", "coco_fixtures"))
_ENV = ("CLEARML_API_HOST", "CLEARML_API_ACCESS_KEY", "CLEARML_API_SECRET_KEY",
        "CLEARML_AUTH_TOKEN", "CLEARML_OFFLINE_MODE", "TRAINS_OFFLINE_MODE", "CLEARML_CONFIG_FILE",
        "TRAINS_CONFIG_FILE")


def _events(session_folder):
  events = []
  with open(os.path.join(session_folder, "metrics.jsonl")) as f:
    for line in f:
      if line.strip():
        events.extend(json.loads(line))
  return events


def _scalars(events):
  return {(e["metric"], e["variant"]): e for e in events
          if e["type"] == "training_stats_scalar" and e["metric"] != "Summary"}


def _plots(events):
  return {(e["metric"], e["variant"]): json.loads(e["plot_str"]) for e in events
          if e["type"] == "plot"}


def _summary(events):
  return {
      e["variant"]: e["value"] for e in events
      if e["type"] == "training_stats_scalar" and e["metric"] == "Summary"
  }


class ClearMLReportTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.root = tempfile.mkdtemp(dir=absltest.get_default_test_tmpdir())
    for k in _ENV:
      os.environ.pop(k, None)
    os.environ["HOME"] = os.path.join(cls.root, "home")
    os.makedirs(os.environ["HOME"])
    os.environ["CLEARML_CACHE_DIR"] = os.path.join(cls.root, "cache")
    start = time.monotonic()
    cls.results = synthetic_results.write_synthetic_results(os.path.join(cls.root, "out"),
                                                            ["d0", "d1"])
    cls.closed = {}
    tracker = clearml_session.ClearMLTracker()
    for result in cls.results:
      session = tracker.start_task(result.info.task_name, project="tracking-test")
      cls.scalar_count = clearml_report.report_model(session, result)
      cls.closed[result.info.key] = session.close()
    session = tracker.start_task("efficientdet comparison", project="tracking-test", task_type="qc")
    cls.spot = clearml_report.report_comparison(session, cls.results)
    cls.closed["comparison"] = session.close()
    cls.seconds = time.monotonic() - start
    cls.events = {k: _events(c.session_folder) for k, c in cls.closed.items()}

  def test_offline_sessions_closed_fast_with_zip(self):
    self.assertLess(self.seconds, 45)
    for key, closed in self.closed.items():
      self.assertTrue(closed.offline, key)
      self.assertLess(closed.seconds, 5.0, f"{key}: close() took {closed.seconds:.1f} s")
      self.assertTrue(os.path.isfile(closed.session_zip), key)
      with zipfile.ZipFile(closed.session_zip) as z:
        self.assertIn("metrics.jsonl", z.namelist())
        self.assertIn("task.json", z.namelist())
      self.assertIn("--import-offline-session", closed.upload_command)

  def test_every_metric_is_a_scalar_split_at_first_slash(self):
    for result in self.results:
      scalars = _scalars(self.events[result.info.key])
      self.assertLen(scalars, len(result.metrics))
      self.assertEqual(self.scalar_count, len(result.metrics))
      event = scalars[("DetectionBoxes_Precision", "mAP")]
      self.assertEqual(event["iter"], 0)
      self.assertAlmostEqual(event["value"], result.stat("AP"), places=6)
      self.assertAlmostEqual(scalars[("DetectionBoxes_Recall", "AR@100 (small)")]["value"],
                             result.stat("AR_small"), places=6)
      self.assertAlmostEqual(
          scalars[("DetectionBoxes_PerformanceByCategory", "mAP/person")]["value"],
          result.category_stat("person"), places=6)
      self.assertAlmostEqual(
          scalars[("DetectionBoxes_Precision", "mAP@.75IOU ByCategory/dog")]["value"],
          result.category_stat("dog", "AP75"), places=6)
      self.assertEqual(scalars[("DetectionBoxes_PerformanceByCategory", "mAP/hair drier")]["value"],
                       -1.0)

  def test_per_category_table_and_bars(self):
    for result in self.results:
      plots = _plots(self.events[result.info.key])
      table = plots[("per-category statistics", "bbox")]["data"][0]
      self.assertEqual(table["type"], "table")
      header = table["header"]["values"]
      self.assertEqual(header,
                       ["category id", "category", "supercategory"] + list(formatting.STAT_NAMES))
      columns = table["cells"]["values"]  # column-major
      names = columns[1]
      self.assertLen(names, 80)
      ap = dict(zip(names, columns[3]))
      supercategory = dict(zip(names, columns[2]))  # the ground truth's
      self.assertEqual((supercategory["dog"], supercategory["hair drier"]), ("animal", "indoor"))
      self.assertAlmostEqual(ap["person"], round(result.category_stat("person"), 4))
      self.assertEqual(ap["hair drier"], formatting.MISSING)
      self.assertEqual(names[-1], "hair drier")  # sorted by AP, no ground truth last
      valid = [v for v in columns[3] if v != formatting.MISSING]
      self.assertEqual(valid, sorted(valid, reverse=True))
      bars = plots[("per-category AP", "AP")]["data"][0]
      self.assertEqual(bars["type"], "bar")
      self.assertLen(bars["x"], 79)
      self.assertNotIn("hair drier", bars["x"])
      self.assertEqual(bars["y"][bars["x"].index("person")], result.category_stat("person"))
      area = plots[("AP and AR by object area", "AP")]["data"][0]
      self.assertEqual(area["x"], ["small", "medium", "large"])
      self.assertEqual(area["y"],
                       [result.stat("AP_small"),
                        result.stat("AP_medium"),
                        result.stat("AP_large")])
      summary = _summary(self.events[result.info.key])
      self.assertAlmostEqual(summary["AP"], result.stat("AP"))
      self.assertEqual(summary["phi"], result.info.phi)
      self.assertEqual(summary["published COCO mAP (%)"], result.info.published_map)

  def test_artifacts(self):
    for result in self.results:
      with open(os.path.join(self.closed[result.info.key].session_folder, "task.json")) as f:
        task = json.load(f)
      names = {a["key"] for a in task["execution"]["artifacts"]}
      self.assertEqual(names, {"metrics.json", "per_category.csv"})

  def test_comparison_series(self):
    plots = _plots(self.events["comparison"])
    d0, d1 = self.results
    measured = plots[("mAP vs compound scaling factor", "measured")]["data"][0]
    self.assertEqual(measured["x"], [0, 1])
    self.assertEqual(measured["y"], [d0.stat("AP"), d1.stat("AP")])
    self.assertIn("lines", measured["mode"])
    published = plots[("mAP vs compound scaling factor", "published (TF2 zoo)")]["data"][0]
    self.assertEqual(published["y"], [0.336, 0.384])
    ap75 = plots[("AP vs compound scaling factor", "AP75")]["data"][0]
    self.assertEqual(ap75["y"], [d0.stat("AP75"), d1.stat("AP75")])
    ar100 = plots[("AR vs compound scaling factor", "AR100")]["data"][0]
    self.assertEqual(ar100["y"], [d0.stat("AR100"), d1.stat("AR100")])
    small = plots[("AP by object area vs compound scaling factor", "AP_small")]["data"][0]
    self.assertEqual(small["y"], [d0.stat("AP_small"), d1.stat("AP_small")])

    per_category = {
        v: p for (m, v), p in plots.items() if m == "per-category mAP vs scaling factor"
    }
    self.assertLen(per_category, 79)  # every category with ground truth
    for name in ("person", "toothbrush", "traffic light"):
      series = per_category[name]["data"][0]
      self.assertEqual(series["x"], [0, 1])
      self.assertEqual(series["y"], [d0.category_stat(name), d1.category_stat(name)])
    animals = {v for (m, v) in plots if m == "per-category mAP vs scaling factor: animal"}
    self.assertEqual(animals, {n for _, n, s in synthetic_results.COCO_CATEGORIES if s == "animal"})

    table = plots[("models x statistics", "bbox")]["data"][0]
    columns = table["cells"]["values"]
    self.assertEqual(columns[0], ["d0", "d1"])
    header = table["header"]["values"]
    self.assertEqual(columns[header.index("AP")],
                     [round(d0.stat("AP"), 4), round(d1.stat("AP"), 4)])
    by_model = plots[("per-category mAP by model", "bbox")]["data"][0]
    self.assertEqual(by_model["header"]["values"][:4], ["category", "supercategory", "d0", "d1"])
    self.assertLen(by_model["cells"]["values"][0], 80)

    speed = plots[("accuracy vs published speed", "measured mAP")]["data"][0]
    self.assertEqual(speed["x"], [39, 54])
    self.assertEqual(speed["y"], [d0.stat("AP"), d1.stat("AP")])
    summary = _summary(self.events["comparison"])
    self.assertEqual(summary["models compared"], 2)
    self.assertEqual(summary["most accurate (phi)"], 1)
    self.assertEqual(self.spot.most_accurate, "d1")

  def test_comparison_with_measured_latency(self):
    measured = {"d0": 250.0, "d1": 180.0}  # D1 measured faster than D0
    results = [
        model_result.ModelResult(
            r.info, synthetic_results.synthetic_run(r.info, measured_ms=measured[r.info.key]))
        for r in self.results
    ]
    tracker = clearml_session.ClearMLTracker()
    session = tracker.start_task("model with speed", project="tracking-test")
    clearml_report.report_model(session, results[0], upload_files=False)
    summary = _summary(_events(session.close().session_folder))
    self.assertEqual(summary["measured latency p50 (ms)"], 250.0)
    self.assertEqual(summary["measured latency p90 (ms)"], 300.0)
    session = tracker.start_task("comparison with speed", project="tracking-test", task_type="qc")
    clearml_report.report_comparison(session, results)
    plots = _plots(_events(session.close().session_folder))
    series = plots[("accuracy vs measured latency", "measured mAP")]["data"][0]
    self.assertEqual(series["x"], [180.0, 250.0])
    self.assertEqual(series["y"], [results[1].stat("AP"), results[0].stat("AP")])
    table = plots[("models x statistics", "bbox")]["data"][0]
    header = table["header"]["values"]
    self.assertEqual(table["cells"]["values"][header.index("measured ms (p50)")], [250.0, 180.0])
    self.assertEqual(table["cells"]["values"][header.index("measured on")],
                     ["synthetic CPU, 1 TF thread"] * 2)

  def test_comparison_why_ap_lost(self):
    out = os.path.join(self.root, "why")
    results = synthetic_results.write_synthetic_results(out, ["d0", "d1", "d2"])
    analyses = {r.info.key: synthetic_results.write_synthetic_analysis(r) for r in results[1:]}
    intervals, pairs = synthetic_results.synthetic_bootstrap(results)
    why = why_ap_lost.load(results, intervals=intervals, pairs=pairs)
    tracker = clearml_session.ClearMLTracker()
    session = tracker.start_task("comparison why", project="tracking-test", task_type="qc")
    clearml_report.report_comparison(session, results, why=why)
    events = _events(session.close().session_folder)
    plots = _plots(events)

    # TIDE error types vs phi: D0 (no analysis.json) left out.
    loc = plots[("TIDE error types vs compound scaling factor", "Loc (localization)")]["data"][0]
    self.assertEqual(loc["x"], [1, 2])
    self.assertEqual(
        loc["y"],
        [analyses["d1"]["tide"]["delta_ap"]["Loc"], analyses["d2"]["tide"]["delta_ap"]["Loc"]])
    tide = plots[("TIDE delta AP by model", "bbox")]["data"][0]
    header = tide["header"]["values"]
    self.assertEqual(tide["cells"]["values"][0], ["d1", "d2"])
    self.assertEqual(tide["cells"]["values"][header.index("Bkg (background)")],
                     [round(analyses[k]["tide"]["delta_ap"]["Bkg"], 4) for k in ("d1", "d2")])

    # Per-category AP with each model's interval as error bars.
    figure = plots[("per-category AP vs scaling factor with bootstrap intervals", "AP")]
    traces = {t["name"]: t for t in figure["data"]}
    self.assertLen(traces, 1 + 79)  # overall, then every category with ground truth
    person = traces["person"]
    want = [
        next(c for c in intervals[r.info.task_name]["per_category"] if c["name"] == "person")
        for r in results
    ]
    self.assertEqual(person["x"], [0, 1, 2])
    self.assertEqual(person["y"], [w["ap"] for w in want])
    self.assertEqual(person["error_y"]["array"], [w["hi"] - w["ap"] for w in want])
    self.assertEqual(person["error_y"]["arrayminus"], [w["ap"] - w["lo"] for w in want])

    # Consecutive models' gains: pair, statistic, a, b, delta, interval, significant.
    table = plots[("consecutive models: significance", "bbox")]["data"][0]
    columns = table["cells"]["values"]
    self.assertEqual(table["header"]["values"],
                     ["model pair", "statistic", "a", "b", "delta", "lo", "hi", "significant"])
    self.assertEqual(columns[0], ["d0 -> d1"] * 12 + ["d1 -> d2"] * 12)
    ap = pairs[0]["stats"][0]
    self.assertEqual([c[0] for c in columns[1:]], [
        "AP",
        round(ap["a"], 4),
        round(ap["b"], 4),
        round(ap["delta"], 4),
        round(ap["lo"], 4),
        round(ap["hi"], 4), "yes" if ap["significant"] else "no"
    ])
    counts = plots[("consecutive models: categories", "bbox")]["data"][0]["cells"]["values"]
    self.assertEqual(counts[0], ["d0 -> d1", "d1 -> d2"])
    self.assertEqual(
        counts[2][0],
        sum(1 for c in pairs[0]["per_category"] if c["significant"] and c["delta"] > 0))

    # F1 thresholds: category x model (score, precision, recall).
    f1 = plots[("F1 thresholds by model (IoU 0.5)", "bbox")]["data"][0]
    header = f1["header"]["values"]
    self.assertEqual(header, [
        "category", "d1 score", "d1 precision", "d1 recall", "d2 score", "d2 precision", "d2 recall"
    ])
    names = f1["cells"]["values"][0]
    dog = next(r for r in analyses["d2"]["f1_thresholds"] if r["name"] == "dog" and r["iou"] == 0.5)
    self.assertEqual(f1["cells"]["values"][header.index("d2 recall")][names.index("dog")],
                     dog["recall"])
    self.assertEqual(f1["cells"]["values"][1][names.index("hair drier")], formatting.MISSING)

    # Without `why`: the analyses are read from the models' folders (no bootstrap cached here).
    session = tracker.start_task("comparison why default", project="tracking-test", task_type="qc")
    clearml_report.report_comparison(session, results)
    plots = _plots(_events(session.close().session_folder))
    self.assertIn(("TIDE delta AP by model", "bbox"), plots)
    self.assertNotIn(("consecutive models: significance", "bbox"), plots)

  def test_split_key(self):
    self.assertEqual(clearml_report.split_key("DetectionBoxes_Precision/mAP"),
                     ("DetectionBoxes_Precision", "mAP"))
    self.assertEqual(clearml_report.split_key("DetectionBoxes_PerformanceByCategory/mAP/a/b"),
                     ("DetectionBoxes_PerformanceByCategory", "mAP/a/b"))
    self.assertEqual(clearml_report.split_key("loss"), ("loss", "loss"))


class ReportAnalysisTest(absltest.TestCase):
  """A model folder with a real error analysis (the COCO fixture's, eval/analysis) reaches the
  model's offline session: tables, native plots, the PNGs and gallery, the artifact."""

  def test_analysis_reaches_the_session(self):
    root = tempfile.mkdtemp(dir=absltest.get_default_test_tmpdir())
    for k in _ENV:
      os.environ.pop(k, None)
    os.environ["HOME"] = os.path.join(root, "home")
    os.makedirs(os.environ["HOME"])
    os.environ["CLEARML_CACHE_DIR"] = os.path.join(root, "cache")
    result = synthetic_results.write_synthetic_results(os.path.join(root, "out"), ["d0"])[0]
    fixture = os.path.join(_FIXTURES, "instances_val2014_100.json")
    evaluated = cocoeval_cc.evaluate_files(
        fixture, os.path.join(_FIXTURES, "instances_val2014_fakebbox100_results.json"))
    analysis = analyze.compute(evaluated)
    folder = os.path.join(os.path.dirname(result.metrics_path), analyze.ANALYSIS_DIR)
    analyze.write(folder, analysis)
    os.makedirs(os.path.join(folder, analyze.GALLERY_DIR))  # two images stand in for a gallery
    for name in ("01_image_208.png", "02_image_724.png"):
      Image.new("RGB", (64, 48)).save(os.path.join(folder, analyze.GALLERY_DIR, name))

    session = clearml_session.ClearMLTracker().start_task("with analysis", project="tracking-test")
    clearml_report.report_model(session, result)
    closed = session.close()
    self.assertLess(closed.seconds, 5.0)  # the debug images keep close() fast (offline)
    events = _events(closed.session_folder)
    plots = _plots(events)

    tide = plots[("TIDE errors", "bbox")]["data"][0]["cells"]["values"]  # column-major
    self.assertEqual(tide[0], ["Cls", "Loc", "Both", "Dupe", "Bkg", "Miss", "FP", "FN"])
    self.assertEqual(tide[1], [round(100 * analysis["tide"]["delta_ap"][k], 3) for k in tide[0]])
    self.assertEqual(tide[2][:6], [analysis["tide"]["counts"][k] for k in tide[0][:6]])
    bars = plots[("TIDE: AP gained by fixing each error type", "dAP")]["data"][0]
    self.assertEqual(bars["x"], tide[0])
    f1 = plots[("F1-optimal score thresholds", "bbox")]["data"][0]["cells"]["values"]
    self.assertLen(f1[0], len(analysis["f1_thresholds"]))
    person = analysis["f1_thresholds"][0]
    self.assertEqual((f1[1][0], f1[2][0], f1[3][0]),
                     (person["name"], 0.5, round(person["score"], 4)))
    confusion = plots[("confusion", "IoU 0.5, score >= 0.5")]["data"][0]
    self.assertEqual(confusion["type"], "heatmap")
    self.assertEqual((confusion["x"][-1], confusion["y"][-1]), ("missed", "background"))
    labels, matrix, _ = analyze.confusion_subset(analysis["confusion"], top=30)
    self.assertEqual(confusion["y"][:-1], labels)
    self.assertEqual(confusion["z"], matrix.tolist())  # rows: ground truth
    reliability = plots[("reliability diagram", "accuracy")]["data"][0]
    filled = [b for b in analysis["calibration"]["bins"] if b["count"]]
    self.assertEqual(reliability["y"], [b["accuracy"] for b in filled])
    pr = plots[("PR curves @ IoU 0.50", "all categories")]["data"][0]
    self.assertLen(pr["x"], 101)
    summary = _summary(events)
    self.assertAlmostEqual(summary["ECE"], analysis["calibration"]["ece"])
    self.assertAlmostEqual(summary["TIDE dAP Miss"], 100 * analysis["tide"]["delta_ap"]["Miss"])
    images = {(e["metric"], e["variant"]) for e in events if e["type"] == "training_debug_image"}
    self.assertEqual(images, {("analysis plots", k)
                              for k in analyze.PNGS} | {("worst images", "01_image_208"),
                                                        ("worst images", "02_image_724")})
    with open(os.path.join(closed.session_folder, "task.json")) as f:
      artifacts = {a["key"] for a in json.load(f)["execution"]["artifacts"]}
    self.assertEqual(artifacts, {"metrics.json", "per_category.csv", "analysis.json"})


if __name__ == "__main__":
  absltest.main()
