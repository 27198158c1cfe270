"""Keypoints (OKS): cocoeval_cc equals pycocotools 2.0.11 bit for bit.

Hypothesis generates small person-keypoint problems that hit the corners of computeOks and
evaluateImg for keypoints: visibilities 0 / 1 / 2, ground truth without any labelled keypoint
(OKS against the box enlarged to 3x), crowd, `num_keypoints == 0` (ignored), areas on the
area-range bounds, integer and float coordinates, custom sigmas and keypoint counts, results with
a bbox (loadRes' bbox branch: area = w*h) or without (keypoints branch: bbox and area from the
keypoints' extent), score ties, more detections than maxDets, custom parameters and useCats=0
(where pycocotools matches no keypoint detection). `stats`, `precision`, `recall`, `scores` must be
np.array_equal to pycocotools', and each column of `category_stats` must equal pycocotools' stats
for that category alone (params.catIds = [k]). Sharded and multi-threaded evaluation must not
change anything.
"""
import contextlib
import copy
import io
import json

from absl.testing import absltest
import hypothesis
from hypothesis import strategies as st
import numpy as np
from pycocotools import coco as pc_coco
from pycocotools import cocoeval as pc_cocoeval

import cocoeval_cc
from cocoeval_cc import per_image_testing
from cocoeval_cc import _cocoeval_cc as native

_SETTINGS = dict(database=None, derandomize=True, deadline=None, print_blob=True,
                 suppress_health_check=list(hypothesis.HealthCheck))
_COCO_SIGMAS = np.array(
    [.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89]) / 10.0
_SCORES = [0.1, 0.5, 0.5, 0.5, 0.9, 1.0]
_SPECIAL_AREAS = [0.0, 1.0, 32.0 ** 2, 96.0 ** 2, 5000.0, 1e5]
_DEFAULT_IOU = np.linspace(.5, 0.95, 10)


# ------------------------------------------------------------------ strategies
def _number(draw, lo, hi):
  """A coordinate: an integer (JSON int), a coarse grid value (ties) or any float."""
  return draw(
      st.one_of(st.integers(int(lo), int(hi)),
                st.integers(int(lo), int(hi)).map(lambda v: v + 0.5),
                st.floats(lo, hi, allow_nan=False, width=64)))


def _gt_keypoints(draw, box, k):
  """k (x, y, v) triples inside or near the box; invisible ones usually at (0, 0)."""
  kp = []
  for _ in range(k):
    v = draw(st.sampled_from([0, 0, 1, 2, 2]))
    if v == 0 and draw(st.integers(0, 3)):
      kp += [0, 0, 0]
    else:
      kp += [
          _number(draw, box[0] - 5, box[0] + box[2] + 5),
          _number(draw, box[1] - 5, box[1] + box[3] + 5), v
      ]
  return kp


def _dt_keypoints(draw, k, w, h, near=None):
  """k (x, y, score) triples: a jittered copy of ground truth, or anywhere in (or off) the image."""
  kp = []
  for j in range(k):
    if near is not None and draw(st.integers(0, 4)):
      jitter = draw(st.sampled_from([0.0, 0.0, 1.0, -2.0, 0.25, 7.0]))
      x, y = near[3 * j] + jitter, near[3 * j + 1] - jitter
    else:
      x, y = _number(draw, -10, w + 10), _number(draw, -10, h + 10)
    kp += [x, y, draw(st.sampled_from([0, 1, 2, 0.7]))]
  return kp


@st.composite
def keypoint_problems(draw):
  """(ground-truth dict, results list, sigmas or None for COCO's 17)."""
  k = draw(st.sampled_from([17, 17, 1, 3, 5]))
  sigmas = None
  if k != 17 or draw(st.integers(0, 3)) == 0:
    sigmas = np.array(draw(st.lists(st.floats(0.01, 1.5), min_size=k, max_size=k)))
  n_img = draw(st.integers(1, 4))
  n_cat = draw(st.integers(1, 3))
  images = [{"id": i + 1, "width": 200, "height": 150} for i in range(n_img)]
  cat_ids = list(range(1, n_cat + 1))
  categories = [{"id": c, "name": f"c{c}", "keypoints": [str(j) for j in range(k)]}
                for c in cat_ids]
  anns = []
  for img in images:
    for _ in range(draw(st.integers(0, 5))):
      box = [
          _number(draw, 0, 150),
          _number(draw, 0, 100),
          _number(draw, 0, 120),
          _number(draw, 0, 90)
      ]
      box = [float(b) for b in box[:2]] + [abs(float(b)) for b in box[2:]]
      iscrowd = int(draw(st.integers(0, 6)) == 0)
      kp = [0] * (3 * k) if iscrowd and draw(st.booleans()) else _gt_keypoints(draw, box, k)
      visible = sum(1 for v in kp[2::3] if v > 0)
      num_keypoints = draw(st.sampled_from([visible, visible, visible, 0, 1]))
      area = draw(
          st.one_of(st.just(box[2] * box[3]), st.sampled_from(_SPECIAL_AREAS),
                    st.floats(0, 2e4, allow_nan=False)))
      anns.append({
          "id": len(anns) + 1, "image_id": img["id"], "category_id": draw(st.sampled_from(cat_ids)),
          "bbox": box, "area": area, "iscrowd": iscrowd, "keypoints": kp,
          "num_keypoints": num_keypoints
      })
  gt = {"images": images, "categories": categories, "annotations": draw(st.permutations(anns))}

  with_bbox = draw(st.sampled_from(["none", "all", "later"]))
  results = []
  for img in images:
    own = [a for a in anns if a["image_id"] == img["id"]]
    for cat in cat_ids:
      for _ in range(draw(st.integers(0, 8))):
        src = draw(st.sampled_from(own)) if own and draw(st.integers(0, 3)) else None
        kp = _dt_keypoints(draw, k, img["width"], img["height"], src["keypoints"] if src else None)
        r = {
            "image_id": img["id"], "category_id": cat, "keypoints": kp,
            "score": draw(st.one_of(st.sampled_from(_SCORES), st.floats(0, 1)))
        }
        if with_bbox == "all" or (with_bbox == "later" and results):
          # bbox first: loadRes takes its bbox branch (area = w*h, as TF OD API results have
          # it); bbox later: the keypoints branch replaces it with the keypoints' extent.
          r["bbox"] = [
              float(_number(draw, 0, 150)),
              float(_number(draw, 0, 100)),
              float(draw(st.integers(0, 120))),
              float(draw(st.integers(0, 90)))
          ]
        results.append(r)
  if not results:
    results.append({
        "image_id": 1, "category_id": 1, "score": 0.5,
        "keypoints": _dt_keypoints(draw, k, 200, 150)
    })
  return gt, results, sigmas


@st.composite
def keypoint_params(draw, gt):
  """Custom Params (None for a field keeps setKpParams' default)."""
  p = {}
  if draw(st.booleans()):
    p["iouThrs"] = draw(
        st.one_of(
            st.lists(st.sampled_from(list(_DEFAULT_IOU)), min_size=1, max_size=10,
                     unique=True).map(lambda t: np.array(sorted(t))),
            st.just(np.array([0.1, 0.5, 0.75])), st.just(np.array([0.0, 1.0]))))
  if draw(st.booleans()):
    p["maxDets"] = draw(st.sampled_from([[1, 5], [3], [20, 50], [1, 10, 100], [0, 2]]))
  if draw(st.booleans()):
    p["areaRng"], p["areaRngLbl"] = draw(
        st.sampled_from([
            ([[0, 1e10], [0, 32 ** 2], [32 ** 2, 96 ** 2],
              [96 ** 2, 1e10]], ["all", "small", "medium", "large"]),
            ([[0, 1e10], [32 ** 2, 32 ** 2], [96 ** 2, 96 ** 2]], ["all", "medium", "large"]),
            ([[1, 100], [0, 1e10]], ["few", "all"]),
            ([[0, 1e10]], ["all"]),
        ]))
  if draw(st.integers(0, 3)) == 0:
    p["useCats"] = 0
  img_ids = [i["id"] for i in gt["images"]]
  if draw(st.integers(0, 2)) == 0:
    p["imgIds"] = draw(st.lists(st.sampled_from(img_ids), min_size=1, unique=True))
  if draw(st.integers(0, 2)) == 0:
    p["catIds"] = draw(
        st.lists(st.sampled_from([c["id"] for c in gt["categories"]]), min_size=1, unique=True))
  return p


# ------------------------------------------------------------------ running both
def _apply(cocoeval, p, sigmas):
  if sigmas is not None:
    cocoeval.params.kpt_oks_sigmas = np.array(sigmas)
  for key, value in p.items():
    setattr(cocoeval.params, key, copy.deepcopy(value))


def run_pycocotools(gt_dict, results, p, sigmas):
  with contextlib.redirect_stdout(io.StringIO()):
    gt = pc_coco.COCO()
    gt.dataset = copy.deepcopy(gt_dict)
    gt.createIndex()
    dt = gt.loadRes(copy.deepcopy(results))
    e = pc_cocoeval.COCOeval(gt, dt, "keypoints")
    _apply(e, p, sigmas)
    e.evaluate()
    e.accumulate()
    e.summarize()  # _summarizeKps never fails: absent labels / maxDets give -1
  return e


def run_ours(gt_dict, results, p, sigmas, num_threads=0):
  gt = cocoeval_cc.COCO(copy.deepcopy(gt_dict))
  dt = gt.loadRes(copy.deepcopy(results))
  e = cocoeval_cc.COCOeval(gt, dt, "keypoints", num_threads=num_threads)
  _apply(e, p, sigmas)
  e.evaluate()
  e.accumulate()
  e.summarize(verbose=False)
  return e


def _is_default_layout(params):
  return (np.array_equal(params.iouThrs, _DEFAULT_IOU) and list(params.maxDets) == [20]
          and list(params.areaRngLbl) == ["all", "medium", "large"])


def _mean_above_minus_one(s):
  s = s[s > -1]
  return np.mean(s) if len(s) else -1.0


def reference_stats(e):
  """pycocotools' _summarizeKps generalised as the core defines it (the last maxDets, every
  non-'all' area label), computed with pycocotools' own _summarize arithmetic on its arrays."""
  p = e.params
  top = sorted(p.maxDets)[-1]
  out = []
  for ap in (1, 0):
    specs = [(None, "all"), (.5, "all"), (.75, "all")]
    specs += [(None, a) for a in p.areaRngLbl if a != "all"]
    for thr, area in specs:
      aind = [i for i, lbl in enumerate(p.areaRngLbl) if lbl == area]
      mind = [i for i, m in enumerate(p.maxDets) if m == top]
      s = e.eval["precision"] if ap else e.eval["recall"]
      if thr is not None:
        s = s[np.where(thr == p.iouThrs)[0]]
      s = s[:, :, :, aind, mind] if ap else s[:, :, aind, mind]
      out.append(_mean_above_minus_one(s))
  return np.array(out, dtype=np.float64)


class KeypointsTest(absltest.TestCase):

  def assert_arrays_identical(self, ours, theirs):
    for key in ("precision", "recall", "scores"):
      a, b = np.asarray(ours.eval[key]), np.asarray(theirs.eval[key])
      self.assertEqual(a.shape, b.shape, key)
      if not np.array_equal(a, b):
        diff = np.argwhere(a != b)
        self.fail(f"{key} differs at {len(diff)} positions, first {diff[0].tolist()}: "
                  f"ours {a[tuple(diff[0])]!r} vs pycocotools {b[tuple(diff[0])]!r}")

  @hypothesis.settings(max_examples=120, **_SETTINGS)
  @hypothesis.given(keypoint_problems())
  def test_default_params_equal_pycocotools(self, problem):
    """Default keypoint parameters: arrays, the 10 stats and per-category stats are identical."""
    gt, results, sigmas = problem
    theirs = run_pycocotools(gt, results, {}, sigmas)
    ours = run_ours(gt, results, {}, sigmas)
    self.assert_arrays_identical(ours, theirs)
    self.assertLen(ours.stats, 10)
    self.assertTrue(np.array_equal(ours.stats, theirs.stats), (ours.stats, theirs.stats))
    # Each category alone, as the TF OD API's per-category keypoint evaluators run it.
    for k, cat_id in enumerate(ours.category_ids):
      alone = run_pycocotools(gt, results, {"catIds": [cat_id]}, sigmas)
      self.assertTrue(np.array_equal(ours.category_stats[:, k], alone.stats),
                      (cat_id, ours.category_stats[:, k], alone.stats))

  @hypothesis.settings(max_examples=120, **_SETTINGS)
  @hypothesis.given(st.data())
  def test_custom_params_equal_pycocotools(self, data):
    """Custom iouThrs / maxDets / area ranges / useCats / id subsets: arrays are identical, and
    the stats equal pycocotools' (default layout) or its arithmetic on its own arrays."""
    gt, results, sigmas = data.draw(keypoint_problems())
    p = data.draw(keypoint_params(gt))
    theirs = run_pycocotools(gt, results, p, sigmas)
    ours = run_ours(gt, results, p, sigmas)
    self.assert_arrays_identical(ours, theirs)
    if _is_default_layout(theirs.params):
      self.assertTrue(np.array_equal(ours.stats, theirs.stats), (ours.stats, theirs.stats))
    self.assertTrue(np.array_equal(ours.stats, reference_stats(theirs)),
                    (ours.stats, reference_stats(theirs)))

  @hypothesis.settings(max_examples=40, **_SETTINGS)
  @hypothesis.given(st.data(), st.booleans())
  def test_eval_imgs_ious_and_evaluate_img_equal_pycocotools(self, data, custom):
    """evalImgs (None positions, keys, values, array dtypes), ious, computeOks and evaluateImg
    equal pycocotools', default or custom parameters (useCats 0 included)."""
    gt, results, sigmas = data.draw(keypoint_problems())
    p = data.draw(keypoint_params(gt)) if custom else {}
    theirs = run_pycocotools(gt, results, p, sigmas)
    ours = run_ours(gt, results, p, sigmas)
    per_image_testing.assert_per_image_equal(self, ours, theirs)

  @hypothesis.settings(max_examples=30, **_SETTINGS)
  @hypothesis.given(keypoint_problems(), st.integers(1, 4))
  def test_shards_and_threads_change_nothing(self, problem, num_shards):
    """Shards merged in reverse order, and one thread, give what one evaluate() gives."""
    gt, results, sigmas = problem
    whole = run_ours(gt, results, {}, sigmas)
    one_thread = run_ours(gt, results, {}, sigmas, num_threads=1)
    coco = cocoeval_cc.COCO(copy.deepcopy(gt))
    sharded = cocoeval_cc.COCOeval(coco, coco.loadRes(copy.deepcopy(results)), "keypoints")
    _apply(sharded, {}, sigmas)
    img_ids = [i["id"] for i in gt["images"]]
    states = [sharded.evaluate_images(img_ids[s::num_shards]) for s in range(num_shards)]
    sharded.set_state(cocoeval_cc.merge_states(states[::-1]))
    sharded.accumulate()
    sharded.summarize(verbose=False)
    for other in (one_thread, sharded):
      for key in ("precision", "recall", "scores"):
        np.testing.assert_array_equal(other.eval[key], whole.eval[key], err_msg=key)
      np.testing.assert_array_equal(other.stats, whole.stats)

  @hypothesis.settings(max_examples=30, **_SETTINGS)
  @hypothesis.given(keypoint_problems())
  def test_both_results_parsers_agree(self, problem):
    """The fast scanner and the simdjson parser (forced by an escaped key) load the same."""
    gt, results, sigmas = problem
    params = native.Params("keypoints")
    if sigmas is not None:
      params.kpt_oks_sigmas = [float(v) for v in sigmas]
    native_gt = cocoeval_cc.COCO(copy.deepcopy(gt)).native_ground_truth
    text = json.dumps(results)
    fast = native.load_results_bytes(native_gt, text)
    general = native.load_results_bytes(native_gt, text.replace("{", '{"\\u0078": 0, '))
    self.assertEqual(fast.keypoint_mode, general.keypoint_mode)
    np.testing.assert_array_equal(fast.boxes, general.boxes)
    np.testing.assert_array_equal(fast.areas, general.areas)
    for dt in (fast, general):
      e = native.Evaluator(native_gt, dt, params, num_threads=1)
      e.evaluate()
      e.accumulate()
      e.summarize()
      if dt is fast:
        reference = np.array(e.precision)
      else:
        np.testing.assert_array_equal(e.precision, reference)

  def test_states_with_other_sigmas_do_not_merge(self):
    gt = {
        "images": [{"id": 1}, {"id": 2}], "categories": [{"id": 1, "name": "person"}],
        "annotations": [{
            "id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "area": 100,
            "iscrowd": 0, "keypoints": [5, 5, 2], "num_keypoints": 1
        }]
    }
    results = [{"image_id": 1, "category_id": 1, "keypoints": [5, 6, 1], "score": 0.5}]
    coco = cocoeval_cc.COCO(gt)
    states = []
    for sigma in (0.1, 0.2):
      e = cocoeval_cc.COCOeval(coco, coco.loadRes(results), "keypoints")
      e.params.kpt_oks_sigmas = np.array([sigma])
      states.append(e.evaluate_images([1 if sigma == 0.1 else 2]))
    with self.assertRaisesRegex(ValueError, "different parameters"):
      cocoeval_cc.merge_states(states)
    with self.assertRaisesRegex(ValueError, "different parameters"):
      e.set_state(states[0])

  def test_params_match_pycocotools(self):
    ours, theirs = cocoeval_cc.cocoeval.Params("keypoints"), pc_cocoeval.Params("keypoints")
    for key in ("iouThrs", "recThrs", "maxDets", "areaRng", "areaRngLbl", "useCats",
                "kpt_oks_sigmas", "useSegm", "iouType"):
      np.testing.assert_array_equal(getattr(ours, key), getattr(theirs, key), err_msg=key)
    ours.setDetParams()
    theirs.setDetParams()
    for key in ("imgIds", "catIds", "maxDets", "areaRng", "areaRngLbl"):
      self.assertEqual(getattr(ours, key), getattr(theirs, key), key)

  def test_use_segm_overrides_iou_type(self):
    """pycocotools' deprecated useSegm: 1 evaluates segm, 0 bbox, whatever iouType says."""
    gt = {
        "images": [{"id": 1, "width": 20, "height": 20}], "categories": [{"id": 1, "name": "a"}],
        "annotations": [{
            "id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "area": 100,
            "iscrowd": 0, "segmentation": [[0, 0, 10, 0, 10, 10, 0, 10]]
        }]
    }
    coco = cocoeval_cc.COCO(gt)
    e = cocoeval_cc.COCOeval(
        coco, coco.loadRes([{"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 1}]),
        "segm")
    e.params.useSegm = 0
    e.evaluate()
    self.assertEqual(e.params.iouType, "bbox")

  def test_tf_metric_keys(self):
    """The TF OD API keypoint evaluator's keys: `Keypoints_<name> ByCategory/<category>`."""
    gt = {
        "images": [{"id": 1}], "categories": [{"id": 1, "name": "person"}], "annotations": [{
            "id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 100, 100], "area": 10000,
            "iscrowd": 0, "keypoints": [50, 50, 2] * 17, "num_keypoints": 17
        }]
    }
    results = [{"image_id": 1, "category_id": 1, "keypoints": [50, 50, 1] * 17, "score": 0.9}]
    coco = cocoeval_cc.COCO(gt)
    e = cocoeval_cc.COCOeval(coco, coco.loadRes(results), "keypoints")
    e.evaluate()
    e.accumulate()
    e.summarize(verbose=False)
    names = [
        "Precision/mAP", "Precision/mAP@.50IOU", "Precision/mAP@.75IOU", "Precision/mAP (medium)",
        "Precision/mAP (large)", "Recall/AR@1", "Recall/AR@10", "Recall/AR@100",
        "Recall/AR@100 (medium)", "Recall/AR@100 (large)"
    ]
    got = e.tf_metrics()
    expected = {f"Keypoints_{n}": v for n, v in zip(names, e.stats)}
    expected.update({f"Keypoints_{n} ByCategory/person": v for n, v in zip(names, e.stats)})
    self.assertEqual(got, expected)
    self.assertGreater(got["Keypoints_Precision/mAP ByCategory/person"], 0.99)  # 1 / (1 + eps)
    self.assertEqual(got["Keypoints_Precision/mAP (medium) ByCategory/person"], -1.0)
    self.assertEqual(cocoeval_cc.metrics.short_names(e.stat_specs, "keypoints"), [
        "AP", "AP50", "AP75", "AP_medium", "AP_large", "AR", "AR50", "AR75", "AR_medium", "AR_large"
    ])


if __name__ == "__main__":
  absltest.main()
