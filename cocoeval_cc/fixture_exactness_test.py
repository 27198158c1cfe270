"""The real COCO fixture: our results equal pycocotools 2.0.11 and the published values."""
import contextlib
import io
import json
import os

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np
from pycocotools import coco as pc_coco
from pycocotools import cocoeval as pc_cocoeval

import cocoeval_cc

_FIXTURES = os.path.join(os.path.dirname(__file__), "..", "third_party", "coco_fixtures")
_GT = os.path.join(_FIXTURES, "instances_val2014_100.json")
_RESULTS = {
    "bbox": os.path.join(_FIXTURES, "instances_val2014_fakebbox100_results.json"),
    "segm": os.path.join(_FIXTURES, "instances_val2014_fakesegm100_results.json")
}
_CUSTOM_AREAS = ([[0, 1e10], [0, 8 ** 2], [8 ** 2, 16 ** 2], [16 ** 2, 32 ** 2], [32 ** 2, 96 ** 2],
                  [96 ** 2, 1e5 ** 2]], ["all", "nano", "micro", "small", "medium", "large"])


def _expected():
  with open(os.path.join(_FIXTURES, "expected_stats.json")) as f:
    return json.load(f)


def _run(module, iou_type, area_ranges=None):
  """Runs COCO/COCOeval of `module` (pycocotools or ours) quietly; returns the evaluator."""
  with contextlib.redirect_stdout(io.StringIO()):
    gt = module.COCO(_GT)
    dt = gt.loadRes(_RESULTS[iou_type])
    cocoeval = module.COCOeval(gt, dt, iou_type)
    if area_ranges:
      cocoeval.params.areaRng, cocoeval.params.areaRngLbl = area_ranges
    cocoeval.evaluate()
    cocoeval.accumulate()
    cocoeval.summarize()
  return cocoeval


def _mean(s):
  """pycocotools summarize()'s mean over the entries > -1."""
  s = s[s > -1]
  return np.mean(s) if len(s) else -1


class _Pycocotools:
  COCO = pc_coco.COCO
  COCOeval = pc_cocoeval.COCOeval


def _per_category_reference(cocoeval):
  """The TF OD API patch's category_stats, from pycocotools' own arrays and summarize()."""
  k_count = cocoeval.eval["precision"].shape[2]
  out = np.full((len(cocoeval.stats), k_count), -1.0)
  saved = cocoeval.eval
  for k in range(k_count):
    cocoeval.eval = dict(saved, precision=saved["precision"][:, :, k:k + 1],
                         recall=saved["recall"][:, k:k + 1])
    with contextlib.redirect_stdout(io.StringIO()):
      cocoeval.summarize()
    out[:, k] = cocoeval.stats
  cocoeval.eval = saved
  return out


class FixtureExactnessTest(parameterized.TestCase):

  @parameterized.parameters("bbox", "segm")
  def test_stats_equal_published_values(self, iou_type):
    ours = _run(cocoeval_cc, iou_type)
    expected = _expected()[iou_type]["stats"]
    if iou_type == "segm":  # the published AP_small is faster-coco-eval's; pycocotools' differs
      expected[3] = _expected()["segm"]["pycocotools_2_0_11_AP_small"]
    self.assertEqual([float(v) for v in ours.stats], expected)

  @parameterized.parameters("bbox", "segm")
  def test_arrays_equal_pycocotools(self, iou_type):
    ours, theirs = _run(cocoeval_cc, iou_type), _run(_Pycocotools, iou_type)
    for key in ("precision", "recall", "scores"):
      self.assertEqual(ours.eval[key].shape, theirs.eval[key].shape, key)
      np.testing.assert_array_equal(ours.eval[key], theirs.eval[key], err_msg=key)
    np.testing.assert_array_equal(ours.stats, theirs.stats)

  @parameterized.parameters("bbox", "segm")
  def test_custom_area_ranges_equal_pycocotools_and_published_values(self, iou_type):
    ours = _run(cocoeval_cc, iou_type, _CUSTOM_AREAS)
    theirs = _run(_Pycocotools, iou_type, _CUSTOM_AREAS)
    p, r = theirs.eval["precision"], theirs.eval["recall"]
    areas = range(1, len(_CUSTOM_AREAS[0]))
    reference = ([_mean(p[:, :, :, 0, -1]),
                  _mean(p[0, :, :, 0, -1]),
                  _mean(p[5, :, :, 0, -1])] + [_mean(p[:, :, :, a, -1]) for a in areas]
                 + [_mean(r[:, :, 0, m])
                    for m in range(3)] + [_mean(r[:, :, a, -1]) for a in areas])
    self.assertEqual([float(v) for v in ours.stats], [float(v) for v in reference])
    # The published values come from faster-coco-eval, whose sums differ in the last bit.
    np.testing.assert_allclose(ours.stats,
                               _expected()["custom_area_ranges"][iou_type], rtol=1e-15, atol=0)

  @parameterized.parameters("bbox", "segm")
  def test_per_category_stats_equal_patched_pycocotools(self, iou_type):
    ours, theirs = _run(cocoeval_cc, iou_type), _run(_Pycocotools, iou_type)
    np.testing.assert_array_equal(ours.category_stats, _per_category_reference(theirs))

  @parameterized.parameters("bbox", "segm")
  def test_fast_path_equals_drop_in_api(self, iou_type):
    fast = cocoeval_cc.evaluate_files(_GT, _RESULTS[iou_type], iou_type)
    drop_in = _run(cocoeval_cc, iou_type)
    np.testing.assert_array_equal(fast.stats, drop_in.stats)
    np.testing.assert_array_equal(fast.precision, drop_in.eval["precision"])
    np.testing.assert_array_equal(fast.category_stats, drop_in.category_stats)
    metrics = fast.tf_metrics()
    prefix = "DetectionBoxes_" if iou_type == "bbox" else "DetectionMasks_"
    self.assertEqual(metrics[prefix + "Precision/mAP"], fast.stats[0])
    self.assertEqual(metrics[prefix + "Recall/AR@100 (large)"], fast.stats[11])
    person = fast.category_names.index("person")
    self.assertEqual(metrics[prefix + "PerformanceByCategory/mAP/person"],
                     fast.category_stats[0, person])
    self.assertEqual(metrics[prefix + "Precision/mAP (small) ByCategory/person"],
                     fast.category_stats[3, person])

  def test_evaluate_loaded_on_the_native_data_of_coco_objects(self):
    """COCO.native_ground_truth / native_detections feed the fast path (as evaluate_model does)."""
    gt = cocoeval_cc.COCO(_GT)
    dt = gt.loadRes(_RESULTS["bbox"])
    self.assertIs(dt.native_ground_truth, gt.native_ground_truth)
    self.assertIsNone(gt.native_detections)
    result = cocoeval_cc.evaluation.evaluate_loaded(gt.native_ground_truth, dt.native_detections,
                                                    "bbox", None, 0)
    np.testing.assert_array_equal(result.stats, _run(cocoeval_cc, "bbox").stats)

  def test_results_from_list_and_array_equal_results_from_file(self):
    with open(_RESULTS["bbox"]) as f:
      results = json.load(f)
    gt = cocoeval_cc.COCO(_GT)
    rows = np.array([[r["image_id"], *r["bbox"], r["score"], r["category_id"]] for r in results])
    from_file = _run(cocoeval_cc, "bbox")
    for source in (results, rows):
      cocoeval = cocoeval_cc.COCOeval(gt, gt.loadRes(source), "bbox")
      cocoeval.evaluate()
      cocoeval.accumulate()
      cocoeval.summarize(verbose=False)
      np.testing.assert_array_equal(cocoeval.eval["precision"], from_file.eval["precision"])


if __name__ == "__main__":
  absltest.main()
