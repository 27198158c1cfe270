"""//eval:compare_models end to end on real files, and the sweep's cached comparisons.

Two "models" on the shared fixture (third_party/coco_fixtures: 100 val2014 images): cocoapi's
fake results, and a deterministic perturbation of them (boxes moved, scores changed, some
dropped). Each is written as an evaluate_model output folder (metrics.json from the fast path
with evaluate_model's parameters, detections.json); pycocotools gives the reference statistics.
"""
import copy
import json
import os
import shutil
import subprocess
from unittest import mock

from absl.testing import absltest
import hypothesis
from hypothesis import strategies as st
import numpy as np
from pycocotools.coco import COCO as PyCOCO
from pycocotools.cocoeval import COCOeval as PyCOCOeval

import cocoeval_cc
from cocoeval_cc import evaluation
from eval import model_comparison
from eval.data import second_model
from eval import results
from eval.tracking import model_result
from eval.tracking import why_ap_lost

_FIXTURES = os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "third_party", "coco_fixtures"))
_GT = os.path.join(_FIXTURES, "instances_val2014_100.json")
_DT = os.path.join(_FIXTURES, "instances_val2014_fakebbox100_results.json")
_BINARY = os.path.join(os.path.dirname(__file__), "compare_models")


def _ground_truth(max_images=None):
  with open(_GT) as f:
    gt = json.load(f)
  if max_images is not None:
    keep = {im["id"] for im in gt["images"][:max_images]}
    gt = {
        **gt, "images": gt["images"][:max_images],
        "annotations": [a for a in gt["annotations"] if a["image_id"] in keep]
    }
  return gt


def write_output(directory, detections, max_images=None):
  """An evaluate_model output folder: detections.json and metrics.json (evaluate_model's
  parameters: every ground-truth image and category)."""
  os.makedirs(directory, exist_ok=True)
  gt = _ground_truth(max_images)
  images = {im["id"] for im in gt["images"]}
  detections = [d for d in detections if d["image_id"] in images]  # inference ran on those only
  gt_coco = cocoeval_cc.COCO(copy.deepcopy(gt))
  params = cocoeval_cc.Params("bbox")
  params.imgIds = gt_coco.sorted_image_ids()
  params.catIds = gt_coco.sorted_category_ids()
  dt = gt_coco.loadRes(copy.deepcopy(detections))
  result = evaluation.evaluate_loaded(gt_coco.native_ground_truth, dt.native_detections, "bbox",
                                      params, 0)
  with open(os.path.join(directory, results.DETECTIONS), "w") as f:
    json.dump(detections, f)
  run = results.ModelRunResult(
      evaluations=(results.IouTypeResult.from_evaluation(result),), metrics=result.tf_metrics(),
      model={"name": os.path.basename(directory)},
      input={"annotations": {"path": _GT, "sha256": model_comparison.file_sha256(_GT)}},
      annotations=_GT, detections=os.path.join(directory, results.DETECTIONS))
  results.write_model_result(os.path.join(directory, results.METRICS), run)
  return model_comparison.read_output(directory)


def _pycocotools(detections, max_images=None):
  """pycocotools' stats and per-category AP (id -> AP, -1 without ground truth)."""
  gt = PyCOCO()
  gt.dataset = _ground_truth(max_images)
  gt.createIndex()
  images = set(gt.getImgIds())
  dt = gt.loadRes([copy.deepcopy(d) for d in detections if d["image_id"] in images])
  ev = PyCOCOeval(gt, dt, "bbox")
  ev.evaluate()
  ev.accumulate()
  ev.summarize()
  per_category = {}
  for k, cid in enumerate(ev.params.catIds):
    p = ev.eval["precision"][:, :, k, 0, -1]
    per_category[cid] = float(np.mean(p[p > -1])) if (p > -1).any() else -1.0
  return list(ev.stats), per_category


def _run(*args):
  return subprocess.run([_BINARY, *args], capture_output=True, text=True)


class CompareModelsTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.root = absltest.get_default_test_tmpdir()
    with open(_DT) as f:
      cls.dets_a = json.load(f)
    cls.dets_b = second_model.perturbed_detections(cls.dets_a)
    cls.a = write_output(os.path.join(cls.root, "model_a"), cls.dets_a)
    cls.b = write_output(os.path.join(cls.root, "model_b"), cls.dets_b)
    cls.out_json = os.path.join(cls.root, "cmp.json")
    cls.proc = _run(f"--a={cls.a.directory}", f"--b={cls.b.directory}", "--n_bootstrap=200",
                    "--seed=3", f"--output_json={cls.out_json}")
    with open(cls.out_json) as f:
      cls.data = json.load(f)

  def test_statistics_are_pycocotools_and_delta_is_b_minus_a(self):
    self.assertEqual(self.proc.returncode, 0, self.proc.stderr)
    stats_a, cats_a = _pycocotools(self.dets_a)
    stats_b, cats_b = _pycocotools(self.dets_b)
    self.assertEqual((self.data["n_bootstrap"], self.data["seed"], self.data["confidence"]),
                     (200, 3, 0.95))
    self.assertEqual(self.data["num_images"], 100)
    self.assertEqual(self.data["iou_type"], "bbox")
    self.assertEqual(self.data["a"]["directory"], self.a.directory)
    self.assertLen(self.data["stats"], 12)
    for row, ra, rb in zip(self.data["stats"], stats_a, stats_b):
      self.assertAlmostEqual(row["a"], ra, places=12, msg=row["name"])
      self.assertAlmostEqual(row["b"], rb, places=12, msg=row["name"])
      self.assertAlmostEqual(row["delta"], rb - ra, places=12, msg=row["name"])
    self.assertNotEqual(self.data["stats"][0]["delta"], 0.0)  # the perturbation costs AP
    for row in self.data["per_category"]:
      self.assertAlmostEqual(row["a"], cats_a[row["id"]], places=12, msg=row["name"])
      self.assertAlmostEqual(row["b"], cats_b[row["id"]], places=12, msg=row["name"])
    with_gt = {cid for cid, ap in cats_a.items() if ap > -1}
    self.assertEqual({r["id"] for r in self.data["per_category"]}, with_gt)

  def test_significance_and_order(self):
    for row in self.data["stats"] + self.data["per_category"]:
      self.assertLessEqual(row["lo"], row["hi"], row["name"])
      self.assertEqual(row["significant"], not row["lo"] <= 0.0 <= row["hi"], row["name"])
    deltas = [abs(r["delta"]) for r in self.data["per_category"]]
    self.assertEqual(deltas, sorted(deltas, reverse=True))  # largest |delta| first

  def test_printed_table(self):
    out = self.proc.stdout
    self.assertIn("200 paired bootstrap resamples (seed 3)", out)
    first = self.data["stats"][0]
    line = next(ln for ln in out.splitlines() if ln.startswith("AP "))
    self.assertEqual(line.split()[:4], [
        "AP", f"{first['a'] * 100:.2f}", f"{first['b'] * 100:.2f}", f"{first['delta'] * 100:+.2f}"
    ])
    self.assertTrue(line.endswith("yes" if first["significant"] else "no"), line)
    for name in ("AP50", "AP_small", "AR100", "AR_large"):
      self.assertTrue(any(ln.startswith(name + " ") for ln in out.splitlines()), name)
    names = [r["name"] for r in self.data["per_category"]]
    positions = [out.index(f"\n{n} ") for n in names[:5]]
    self.assertEqual(positions, sorted(positions))  # categories by |delta|
    self.assertEqual([n for n in os.listdir(self.root) if n.endswith(".tmp")], [])

  def test_a_model_against_itself_differs_nowhere(self):
    data = model_comparison.compare_outputs(self.a, self.a, n_bootstrap=50)
    for row in data["stats"] + data["per_category"]:
      self.assertEqual((row["delta"], row["lo"], row["hi"], row["significant"]),
                       (0.0, 0.0, 0.0, False), row["name"])

  def test_first_images_only(self):
    # As --max_images evaluates them: the ground truth restricted to the first 40 images.
    a = write_output(os.path.join(self.root, "first40_a"), self.dets_a, max_images=40)
    b = write_output(os.path.join(self.root, "first40_b"), self.dets_b, max_images=40)
    data = model_comparison.compare_outputs(a, b, n_bootstrap=20)
    self.assertEqual(data["num_images"], 40)
    stats_a, _ = _pycocotools(self.dets_a, max_images=40)
    self.assertAlmostEqual(data["stats"][0]["a"], stats_a[0], places=12)
    with self.assertRaisesRegex(
        model_comparison.ComparisonError,
        r"different images \(number evaluated\): .*model_a.* 100.*"
        r"first40_b.* 40"):
      model_comparison.compare_outputs(self.a, b)

  def test_model_intervals_are_the_bootstrap_against_no_detections(self):
    gt_coco = model_comparison.ground_truth_for(self.a, _GT)
    result = model_comparison.evaluate_output(self.a, gt_coco, "bbox")
    params = self.a.run.primary.params
    nothing = model_comparison.evaluate(gt_coco, "bbox", params, None)
    raw = cocoeval_cc.compare(result, nothing, n_bootstrap=100, seed=1)
    for row in raw["stats"] + raw["per_category"]:  # the premise: b is 0 in every resample
      self.assertEqual(row["b"], 0.0, row["name"])
      self.assertEqual(row["delta"], -row["a"], row["name"])
    intervals = model_comparison.category_intervals(result, gt_coco, n_bootstrap=100, seed=1)
    self.assertLen(intervals["per_category"], len(raw["per_category"]))
    for row, r in zip(intervals["per_category"], raw["per_category"]):
      self.assertEqual((row["id"], row["ap"], row["lo"], row["hi"]),
                       (r["id"], r["a"], -r["hi"], -r["lo"]))
      self.assertLessEqual(row["lo"], row["hi"])
    ap = intervals["stats"][0]
    self.assertEqual(ap["name"], "AP")
    self.assertLess(ap["lo"], ap["value"])
    self.assertGreater(ap["hi"], ap["value"])

  def test_sweep_comparisons_are_cached_and_recomputed_when_detections_change(self):
    out = self.create_tempdir().full_path
    outputs = [
        write_output(os.path.join(out, name), dets)
        for name, dets in (("m0", self.dets_b), ("m1", self.dets_a), ("m2", self.dets_b))
    ]
    gt = _ground_truth()
    intervals, pairs = model_comparison.sweep_comparisons(out, outputs, gt, n_bootstrap=30)
    self.assertEqual(sorted(intervals), ["m0", "m1", "m2"])
    self.assertEqual([(p["a"]["model"], p["b"]["model"]) for p in pairs], [("m0", "m1"),
                                                                           ("m1", "m2")])
    self.assertAlmostEqual(pairs[0]["stats"][0]["delta"], -pairs[1]["stats"][0]["delta"], 12)
    files = sorted(os.listdir(os.path.join(out, "comparison")))
    self.assertEqual(files, [
        "m0.intervals.json", "m0__m1.json", "m1.intervals.json", "m1__m2.json", "m2.intervals.json"
    ])
    direct = model_comparison.compare_outputs(outputs[0], outputs[1], n_bootstrap=30)
    self.assertEqual(pairs[0]["stats"], direct["stats"])
    self.assertEqual(pairs[0]["per_category"], direct["per_category"])

    # Cached: nothing is evaluated or resampled again.
    refuse = mock.Mock(side_effect=AssertionError("computed again"))
    with mock.patch.object(cocoeval_cc, "compare",
                           refuse), mock.patch.object(model_comparison, "evaluate_output", refuse):
      again = model_comparison.sweep_comparisons(out, outputs, gt, n_bootstrap=30)
    self.assertEqual(again, (intervals, pairs))

    # m2's detections change: its intervals and the m1 -> m2 pair are computed again.
    outputs[2] = write_output(outputs[2].directory, self.dets_a)
    mtimes = {n: os.path.getmtime(os.path.join(out, "comparison", n)) for n in files}
    _, pairs = model_comparison.sweep_comparisons(out, outputs, gt, n_bootstrap=30)
    self.assertEqual(pairs[1]["stats"][0]["delta"], 0.0)
    changed = {
        n for n in files if os.path.getmtime(os.path.join(out, "comparison", n)) != mtimes[n]
    }
    self.assertEqual(changed, {"m1__m2.json", "m2.intervals.json"})
    # m1's detections no longer match its metrics.json: m1 and its pairs are left out (logged).
    with open(outputs[1].detections_path("bbox"), "w") as f:
      json.dump(self.dets_b, f)
    logged = []
    intervals, pairs = model_comparison.sweep_comparisons(
        out, outputs, gt, n_bootstrap=30, log=lambda *a: logged.append(a[0] % a[1:]))
    self.assertEqual(sorted(intervals), ["m0", "m2"])
    self.assertEqual(pairs, [])
    self.assertTrue(any("m1" in m and "again gives AP" in m for m in logged), logged)
    outputs[1] = write_output(outputs[1].directory, self.dets_a)
    # Other parameters: computed again too.
    _, pairs = model_comparison.sweep_comparisons(out, outputs, gt, n_bootstrap=31)
    self.assertEqual(pairs[0]["n_bootstrap"], 31)

  def test_report_reads_the_cached_bootstrap_of_the_current_detections(self):
    out = self.create_tempdir().full_path
    outputs = [
        write_output(os.path.join(out, name), dets)
        for name, dets in (("m0", self.dets_b), ("m1", self.dets_a))
    ]
    intervals, pairs = model_comparison.sweep_comparisons(out, outputs, _ground_truth(),
                                                          n_bootstrap=20)

    def reports():
      return [
          model_result.ModelResult(model_result.ModelInfo(key=o.name, task_name=o.name, phi=i),
                                   model_comparison.read_output(o.directory).run,
                                   os.path.join(o.directory, results.METRICS))
          for i, o in enumerate(outputs)
      ]

    why = why_ap_lost.load(reports(), out)  # nothing computed: OUT/comparison/ read back
    self.assertEqual(why.intervals, intervals)
    self.assertLen(why.pairs, 1)
    self.assertEqual((why.pairs[0]["a_key"], why.pairs[0]["b_key"]), ("m0", "m1"))
    self.assertEqual(why.pairs[0]["stats"], pairs[0]["stats"])
    self.assertEqual(
        why.category_interval("m1", "person")[0],
        next(c["ap"] for c in intervals["m1"]["per_category"] if c["name"] == "person"))
    # m1's detections change: its cached intervals and the pair no longer describe it.
    outputs[1] = write_output(outputs[1].directory, self.dets_b)
    why = why_ap_lost.load(reports(), out)
    self.assertEqual(sorted(why.intervals), ["m0"])
    self.assertEqual(why.pairs, [])

  @hypothesis.settings(max_examples=8, deadline=None, derandomize=True)
  @hypothesis.given(seed=st.integers(0,
                                     2 ** 16), max_images=st.one_of(st.none(), st.integers(1, 100)),
                    n_bootstrap=st.integers(1, 40), boot_seed=st.integers(0, 2 ** 31))
  def test_folders_compare_as_the_evaluations_themselves(self, seed, max_images, n_bootstrap,
                                                         boot_seed):
    # The folder route (metrics.json's ground truth, first images, stored parameters, checked
    # re-evaluation) gives what cocoeval_cc.compare gives on COCOeval objects made directly.
    root = self.create_tempdir().full_path
    dets_b = second_model.perturbed_detections(self.dets_a, seed=seed)
    a = write_output(os.path.join(root, "a"), self.dets_a, max_images=max_images)
    b = write_output(os.path.join(root, "b"), dets_b, max_images=max_images)
    data = model_comparison.compare_outputs(a, b, n_bootstrap=n_bootstrap, seed=boot_seed)
    gt = cocoeval_cc.COCO(_ground_truth(max_images))
    images = set(gt.getImgIds())
    evals = []
    for dets in (self.dets_a, dets_b):
      ev = cocoeval_cc.COCOeval(gt, gt.loadRes([d for d in dets if d["image_id"] in images]),
                                "bbox")
      ev.evaluate()
      evals.append(ev)
    direct = cocoeval_cc.compare(*evals, n_bootstrap=n_bootstrap, seed=boot_seed)
    self.assertEqual(data["num_images"], len(images))
    self.assertEqual(data["stats"], direct["stats"])
    by_id = {r["id"]: r for r in direct["per_category"]}
    self.assertEqual({r["id"] for r in data["per_category"]}, set(by_id))
    for row in data["per_category"]:
      self.assertEqual(row, by_id[row["id"]])

  def test_errors_name_the_folders(self):
    missing = os.path.join(self.root, "nowhere")
    proc = _run(f"--a={missing}", f"--b={self.b.directory}")
    self.assertNotEqual(proc.returncode, 0)
    self.assertIn(f"compare_models: {missing}: not a folder", proc.stderr)

    empty = self.create_tempdir().full_path
    proc = _run(f"--a={self.a.directory}", f"--b={empty}")
    self.assertIn(f"{empty}: no metrics.json: not an //eval:evaluate_model output", proc.stderr)

    # Another ground truth (its sha256 differs).
    other = os.path.join(self.root, "other_gt")
    shutil.copytree(self.b.directory, other)
    with open(os.path.join(other, "metrics.json")) as f:
      metrics = json.load(f)
    metrics["input"]["annotations"]["sha256"] = "0" * 64
    with open(os.path.join(other, "metrics.json"), "w") as f:
      json.dump(metrics, f)
    proc = _run(f"--a={self.a.directory}", f"--b={other}")
    self.assertRegex(
        proc.stderr, r"different ground truth \(annotations sha256\): "
        rf"{self.a.directory} has '[0-9a-f]{{64}}', {other} has '0{{64}}'")

    # No segm evaluation in either folder.
    proc = _run(f"--a={self.a.directory}", f"--b={self.b.directory}", "--iou_type=segm")
    self.assertIn(f"{self.a.directory}: no segm evaluation (it has bbox)", proc.stderr)

    # Detections that are no longer the ones metrics.json was computed from.
    stale = os.path.join(self.root, "stale")
    shutil.copytree(self.b.directory, stale)
    with open(os.path.join(stale, "detections.json"), "w") as f:
      json.dump(self.dets_a, f)
    proc = _run(f"--a={self.a.directory}", f"--b={stale}")
    self.assertIn(f"{stale}: evaluating detections.json again gives AP", proc.stderr)

    # Ground truth that moved: --annotations is needed, and then works.
    moved = os.path.join(self.root, "moved")
    shutil.copytree(self.b.directory, moved)
    with open(os.path.join(moved, "metrics.json")) as f:
      metrics = json.load(f)
    metrics["annotations"] = metrics["input"]["annotations"]["path"] = "/nonexistent/gt.json"
    with open(os.path.join(moved, "metrics.json"), "w") as f:
      json.dump(metrics, f)
    proc = _run(f"--a={moved}", f"--b={self.a.directory}", "--n_bootstrap=5")
    self.assertIn(f"/nonexistent/gt.json: the ground truth of {moved} is not there", proc.stderr)
    proc = _run(f"--a={moved}", f"--b={self.a.directory}", "--n_bootstrap=5",
                f"--annotations={_GT}")
    self.assertEqual(proc.returncode, 0, proc.stderr)

    # Bad parameters.
    proc = _run(f"--a={self.a.directory}", f"--b={self.b.directory}", "--confidence=1.5")
    self.assertIn("--confidence must be in (0, 1)", proc.stderr)
    proc = _run(f"--a={self.a.directory}", f"--b={self.b.directory}", "--n_bootstrap=0")
    self.assertNotEqual(proc.returncode, 0)
    with self.assertRaisesRegex(ValueError, r"n_bootstrap must be a positive integer, got 0"):
      model_comparison.compare_outputs(self.a, self.b, n_bootstrap=0)
    with self.assertRaisesRegex(ValueError, r"confidence must be in \(0, 1\), got 1.0"):
      model_comparison.compare_outputs(self.a, self.b, confidence=1.0)


if __name__ == "__main__":
  absltest.main()
