"""Slices and the paired bootstrap (comparison.py) against pycocotools 2.0.11 and numpy.

- A slice's statistics equal pycocotools run with params.imgIds = the slice, bit for bit (the
  fixture's user and built-in slices, and hypothesis' random data sets and parameters); the
  built-in slices hold the images a plain Python reading of their definition gives.
- One bootstrap resample equals pycocotools on the materialized resample (each image repeated,
  copies adjacent) bit for bit; compare()'s intervals are numpy's quantiles of those deltas; on
  simulated data the 95 % intervals cover the true difference at about the stated rate.
- Bad parameters raise ValueError naming them.
"""
import copy
import json
import os
import tempfile

from absl.testing import absltest
import hypothesis
from hypothesis import strategies as st
import numpy as np

import cocoeval_cc
from cocoeval_cc import _cocoeval_cc as _native
from cocoeval_cc import comparison
from cocoeval_cc import evaluation
from cocoeval_cc import property_test as pt

_FIXTURES = "third_party/coco_fixtures"
_GT = os.path.join(_FIXTURES, "instances_val2014_100.json")
_DT = os.path.join(_FIXTURES, "instances_val2014_fakebbox100_results.json")
_SETTINGS = dict(database=None, derandomize=True, deadline=None, print_blob=True,
                 suppress_health_check=list(hypothesis.HealthCheck))


def _perturbed(results, seed=1):
  """A second model: the fixture's results with deterministically jittered scores and boxes."""
  rng = np.random.default_rng(seed)
  out = []
  for r in results:
    r = dict(r)
    r["score"] = float(np.clip(r["score"] + rng.normal(0, 0.1), 0, 1))
    x, y, w, h = r["bbox"]
    r["bbox"] = [x + float(rng.normal(0, 2)), y, w, h]
    out.append(r)
  return out


def _ours(gt_dict, results, p=None, num_threads=0):
  gt = cocoeval_cc.COCO(copy.deepcopy(gt_dict))
  e = cocoeval_cc.COCOeval(gt, gt.loadRes(copy.deepcopy(results)), "bbox", num_threads=num_threads)
  for key, value in (p or {}).items():
    setattr(e.params, key, copy.deepcopy(value))
  e.evaluate()
  return e


def _pycocotools(gt_dict, results, p):
  return pt.run_pycocotools(gt_dict, results, "bbox", p)


def _per_category_reference(e):
  """pycocotools' arrays reduced per category (the TF OD API's per-category stats)."""
  return np.array([pt.reference_stats(e, k) for k in range(len(e.params.catIds))]).T


def _builtin_reference(gt_dict, cat_ids):
  """The built-in slices from their definition (comparison.py's docstring)."""
  buckets = {}
  cats = set(cat_ids)
  for img in sorted(gt_dict["images"], key=lambda i: i["id"]):
    w, h = img.get("width"), img.get("height")
    if w is None or h is None:
      area = "image_area:unknown"
    else:
      px = w * h
      area = ("image_area:<0.25MP" if px < 250000 else "image_area:0.25-0.5MP"
              if px < 500000 else "image_area:0.5-1MP" if px < 1000000 else "image_area:>=1MP")
    anns = [
        a for a in gt_dict["annotations"] if a["image_id"] == img["id"] and a["category_id"] in cats
    ]
    n = sum(1 for a in anns if not a.get("iscrowd", 0))
    dense = ("objects:0" if n == 0 else
             "objects:1-3" if n <= 3 else "objects:4-10" if n <= 10 else "objects:11+")
    for name in [area, dense] + (["objects:has_crowd"] if any(a.get("iscrowd", 0)
                                                              for a in anns) else []):
      buckets.setdefault(name, []).append(img["id"])
  return buckets


class SliceTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    with open(_GT, encoding="utf-8") as f:
      cls.gt = json.load(f)
    with open(_DT, encoding="utf-8") as f:
      cls.dt = json.load(f)
    cls.ev = _ours(cls.gt, cls.dt)

  def _check_against_pycocotools(self, result, ids):
    ref = _pycocotools(self.gt, self.dt, {"imgIds": sorted(ids)})
    self.assertEqual(result["num_images"], len(set(ids)))
    np.testing.assert_array_equal(np.array(result["stats"]), ref.stats)
    per_cat = np.array([c["stats"] for c in result["per_category"]]).T
    np.testing.assert_array_equal(per_cat, _per_category_reference(ref))
    self.assertEqual([c["id"] for c in result["per_category"]], sorted(ref.params.catIds))

  def test_user_slices_equal_pycocotools_with_img_ids(self):
    ids = sorted(i["id"] for i in self.gt["images"])
    slices = {"first": ids[:17], "odd": ids[1::2], "one": [ids[5]], "all": ids}
    out = self.ev.slice_by(slices, builtin=False)
    self.assertEqual(list(out), list(slices))
    for name, result in out.items():
      with self.subTest(slice=name):
        self._check_against_pycocotools(result, slices[name])
        self.assertEqual(result["stat_names"], [
            "AP", "AP50", "AP75", "AP_small", "AP_medium", "AP_large", "AR1", "AR10", "AR100",
            "AR_small", "AR_medium", "AR_large"
        ])

  def test_builtin_slices_are_their_definition_and_equal_pycocotools(self):
    out = self.ev.slice_by()
    expected = _builtin_reference(self.gt, [c["id"] for c in self.gt["categories"]])
    self.assertEqual(set(out), set(expected))
    self.assertGreaterEqual(len(out), 4)
    for name, ids in expected.items():
      with self.subTest(slice=name):
        self._check_against_pycocotools(out[name], ids)

  def test_fast_path_and_json_file_give_the_same(self):
    ids = sorted(i["id"] for i in self.gt["images"])[:30]
    fast = evaluation.evaluate_files(_GT, _DT, "bbox")
    with tempfile.TemporaryDirectory() as d:
      path = os.path.join(d, "slices.json")
      with open(path, "w", encoding="utf-8") as f:
        json.dump({"s": ids}, f)
      self.assertEqual(comparison.slice_by(fast, path), self.ev.slice_by({"s": ids}))

  def test_bad_slices_are_value_errors(self):
    ids = sorted(i["id"] for i in self.gt["images"])
    with self.assertRaisesRegex(ValueError, "slice 'empty' is empty"):
      self.ev.slice_by({"empty": []})
    with self.assertRaisesRegex(ValueError, r"slice 'bad': 2 image id\(s\).*\[-1, 123456789\]"):
      self.ev.slice_by({"bad": [ids[0], -1, 123456789]})
    with self.assertRaisesRegex(ValueError, "built-in slice"):
      self.ev.slice_by({"objects:1-3": ids[:3]})
    with self.assertRaisesRegex(ValueError, "list of image ids"):
      self.ev.slice_by({"x": 5})
    with self.assertRaisesRegex(ValueError, "mapping"):
      self.ev.slice_by([ids])
    not_run = cocoeval_cc.COCOeval(self.ev.cocoGt, self.ev.cocoDt, "bbox")
    with self.assertRaisesRegex(RuntimeError, "evaluate"):
      not_run.slice_by()

  @hypothesis.settings(max_examples=120, **_SETTINGS)
  @hypothesis.given(st.data())
  def test_random_slices_equal_pycocotools(self, data):
    gt, results = data.draw(pt.datasets())
    p = data.draw(pt.params(gt))
    evaluated = p.get("imgIds") or [i["id"] for i in gt["images"]]
    subset = data.draw(st.lists(st.sampled_from(evaluated), min_size=1, unique=True))
    ours = _ours(gt, results, p)
    out = ours.slice_by({"s": subset}, builtin=False)["s"]
    ref = _pycocotools(gt, results, {**p, "imgIds": subset})
    np.testing.assert_array_equal(np.array(out["stats"]), pt.reference_stats(ref))
    if p.get("useCats", 1):
      per_cat = np.array([c["stats"] for c in out["per_category"]]).T
      np.testing.assert_array_equal(per_cat, _per_category_reference(ref))
    else:
      self.assertEqual(out["per_category"], [])


def _materialized(gt, results, evaluated, weights):
  """The data set with evaluated image i repeated weights[i] times, copies adjacent."""
  order = sorted(evaluated)
  images, anns, dts = [], [], []
  by_img = {i["id"]: i for i in gt["images"]}
  for rank, img_id in enumerate(order):
    for c in range(weights[rank]):
      new = rank * 64 + c
      images.append({**by_img[img_id], "id": new})
      anns += [{**a, "image_id": new} for a in gt["annotations"] if a["image_id"] == img_id]
      dts += [{**r, "image_id": new} for r in results if r["image_id"] == img_id]
  for n, a in enumerate(anns):
    a["id"] = n + 1
  return {**gt, "images": images, "annotations": anns}, dts


class BootstrapTest(absltest.TestCase):

  @hypothesis.settings(max_examples=120, **_SETTINGS)
  @hypothesis.given(st.data())
  def test_a_weighted_resample_equals_pycocotools_on_the_materialized_data(self, data):
    gt, results = data.draw(pt.datasets())
    p = data.draw(pt.params(gt))
    # Distinct scores: how copies of tied detections of one image are ordered is the one place
    # the weights and a materialized data set may differ (documented).
    scores = data.draw(st.permutations(range(len(results))))
    for r, s in zip(results, scores):
      r["score"] = (s + 1) / (len(results) + 1)
    evaluated = sorted(set(p.get("imgIds") or [i["id"] for i in gt["images"]]))
    weights = data.draw(
        st.lists(st.integers(0, 3), min_size=len(evaluated), max_size=len(evaluated)))
    hypothesis.assume(sum(weights) > 0)
    m_gt, m_results = _materialized(gt, results, evaluated, weights)
    hypothesis.assume(m_results)  # loadRes needs a result
    ours = _ours(gt, results, p)
    stats, cat0 = _native.bootstrap_weighted_stats(ours._evaluator, weights)
    ref = _pycocotools(m_gt, m_results, {k: v for k, v in p.items() if k != "imgIds"})
    np.testing.assert_array_equal(np.array(stats), pt.reference_stats(ref))
    if p.get("useCats", 1):
      np.testing.assert_array_equal(np.array(cat0), _per_category_reference(ref)[0])

  def test_unit_weights_give_the_evaluation_exactly(self):
    with open(_GT, encoding="utf-8") as f:
      gt = json.load(f)
    with open(_DT, encoding="utf-8") as f:
      dt = json.load(f)
    e = _ours(gt, dt)
    e.accumulate()
    e.summarize(verbose=False)
    stats, cat0 = _native.bootstrap_weighted_stats(e._evaluator, [1] * len(gt["images"]))
    np.testing.assert_array_equal(np.array(stats), e.stats)
    np.testing.assert_array_equal(np.array(cat0), e.category_stats[0])


class CompareTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    with open(_GT, encoding="utf-8") as f:
      cls.gt = json.load(f)
    with open(_DT, encoding="utf-8") as f:
      cls.dt = json.load(f)
    cls.dt_b = _perturbed(cls.dt)
    cls.a = _ours(cls.gt, cls.dt)
    cls.b = _ours(cls.gt, cls.dt_b)

  def test_point_estimates_are_pycocotools(self):
    r = cocoeval_cc.compare(self.a, self.b, n_bootstrap=20, seed=3)
    ref_a = _pycocotools(self.gt, self.dt, {})
    ref_b = _pycocotools(self.gt, self.dt_b, {})
    self.assertEqual([s["a"] for s in r["stats"]], ref_a.stats.tolist())
    self.assertEqual([s["b"] for s in r["stats"]], ref_b.stats.tolist())
    self.assertEqual([s["delta"] for s in r["stats"]], (ref_b.stats - ref_a.stats).tolist())
    ap_a, ap_b = _per_category_reference(ref_a)[0], _per_category_reference(ref_b)[0]
    cat_ids = sorted(ref_a.params.catIds)
    expected = [(c, x, y) for c, x, y in zip(cat_ids, ap_a, ap_b) if x > -1 and y > -1]
    self.assertEqual([(c["id"], c["a"], c["b"]) for c in r["per_category"]], expected)
    names = {c["id"]: c["name"] for c in self.gt["categories"]}
    self.assertEqual([c["name"] for c in r["per_category"]], [names[c] for c, _, _ in expected])
    self.assertEqual(r["num_images"], len(self.gt["images"]))
    self.assertEqual((r["n_bootstrap"], r["seed"], r["confidence"]), (20, 3, 0.95))
    self.assertEqual(json.loads(json.dumps(r)), r)  # JSON-ready

  def test_intervals_are_numpy_quantiles_of_the_resampled_deltas(self):
    n, seed, confidence = 40, 11, 0.9
    r = cocoeval_cc.compare(self.a, self.b, n_bootstrap=n, seed=seed, confidence=confidence)
    num = r["num_images"]
    sa, sb, ka, kb = [], [], [], []
    for i in range(n):
      w = _native.bootstrap_resample_weights(seed, i, num)
      self.assertEqual(sum(w), num)
      x, kx = _native.bootstrap_weighted_stats(self.a._evaluator, w)
      y, ky = _native.bootstrap_weighted_stats(self.b._evaluator, w)
      sa.append(x)
      sb.append(y)
      ka.append(kx)
      kb.append(ky)
    q = (1.0 - confidence) / 2.0

    def interval(xs, ys):
      xs, ys = np.array(xs), np.array(ys)
      ok = (xs > -1) & (ys > -1)
      return np.quantile(ys[ok] - xs[ok], [q, 1.0 - q]).tolist()

    sa, sb, ka, kb = map(np.array, (sa, sb, ka, kb))
    for i, s in enumerate(r["stats"]):
      self.assertEqual([s["lo"], s["hi"]], interval(sa[:, i], sb[:, i]), s["name"])
      self.assertEqual(s["significant"], s["lo"] > 0 or s["hi"] < 0)
    k_of = {c: k for k, c in enumerate(sorted(c["id"] for c in self.gt["categories"]))}
    for c in r["per_category"]:
      k = k_of[c["id"]]
      self.assertEqual([c["lo"], c["hi"]], interval(ka[:, k], kb[:, k]), c["name"])

  def test_same_seed_same_result_and_every_source_agrees(self):
    r1 = cocoeval_cc.compare(self.a, self.b, n_bootstrap=30, seed=5)
    self.assertEqual(r1, cocoeval_cc.compare(self.a, self.b, n_bootstrap=30, seed=5))
    self.assertNotEqual(r1, cocoeval_cc.compare(self.a, self.b, n_bootstrap=30, seed=6))
    one_thread = (_ours(self.gt, self.dt, num_threads=1), _ours(self.gt, self.dt_b, num_threads=1))
    self.assertEqual(r1, cocoeval_cc.compare(*one_thread, n_bootstrap=30, seed=5))
    gt = _native.load_ground_truth(_GT)
    with tempfile.TemporaryDirectory() as d:
      path = os.path.join(d, "b.json")
      with open(path, "w", encoding="utf-8") as f:
        json.dump(self.dt_b, f)
      fa = evaluation.evaluate_loaded(gt, _native.load_results(gt, _DT, 0), "bbox", None, 0)
      fb = evaluation.evaluate_loaded(gt, _native.load_results(gt, path, 0), "bbox", None, 0)
    self.assertEqual(r1, cocoeval_cc.compare(fa, fb, n_bootstrap=30, seed=5))

  def test_a_model_against_itself_has_no_significant_difference(self):
    r = cocoeval_cc.compare(self.a, self.a, n_bootstrap=25, seed=0)
    for s in r["stats"] + r["per_category"]:
      self.assertEqual((s["delta"], s["lo"], s["hi"], s["significant"]), (0.0, 0.0, 0.0, False))

  def test_bad_parameters_are_value_errors(self):
    for n in (0, -3, 1.5, True, "10"):
      with self.assertRaisesRegex(ValueError, "n_bootstrap"):
        cocoeval_cc.compare(self.a, self.b, n_bootstrap=n)
    for c in (0, 1, 1.5, -0.1, float("nan"), "0.9", None):
      with self.assertRaisesRegex(ValueError, "confidence"):
        cocoeval_cc.compare(self.a, self.b, n_bootstrap=5, confidence=c)
    with self.assertRaisesRegex(ValueError, "seed"):
      cocoeval_cc.compare(self.a, self.b, n_bootstrap=5, seed=-1)
    ids = sorted(i["id"] for i in self.gt["images"])
    fewer = _ours(self.gt, self.dt_b, {"imgIds": ids[:50]})
    with self.assertRaisesRegex(ValueError, "different images"):
      cocoeval_cc.compare(self.a, fewer, n_bootstrap=5)
    other = _ours(self.gt, self.dt_b, {"iouThrs": np.array([0.5, 0.75])})
    with self.assertRaisesRegex(ValueError, "iouThrs"):
      cocoeval_cc.compare(self.a, other, n_bootstrap=5)
    cats = _ours(self.gt, self.dt_b, {"catIds": [1, 2, 3]})
    with self.assertRaisesRegex(ValueError, "different categories"):
      cocoeval_cc.compare(self.a, cats, n_bootstrap=5)
    with self.assertRaisesRegex(RuntimeError, "evaluate"):
      cocoeval_cc.compare(self.a, cocoeval_cc.COCOeval(self.a.cocoGt, self.a.cocoDt, "bbox"))
    with self.assertRaises(TypeError):
      cocoeval_cc.compare(self.a, "model b")


def _simulated(rng, n_images, model_quality):
  """Images with 1-6 objects of 3 categories, and two models' detections of them.

  model_quality: per model, (recall, localisation noise, false positives per image). The models'
  detections are independent given the image, so the pair differs by chance and by quality.
  """
  images, anns, dets = [], [], [[] for _ in model_quality]
  for i in range(n_images):
    images.append({"id": i + 1, "width": 640, "height": 480})
    for _ in range(int(rng.integers(1, 7))):
      w, h = rng.uniform(20, 200, size=2)
      x, y = rng.uniform(0, 400), rng.uniform(0, 250)
      cat = int(rng.integers(1, 4))
      anns.append({
          "id": len(anns) + 1, "image_id": i + 1, "category_id": cat, "bbox": [x, y, w, h],
          "area": w * h, "iscrowd": 0
      })
      for m, (recall, noise, _) in enumerate(model_quality):
        if rng.random() < recall:
          jitter = rng.normal(0, noise, size=4) * [w, h, w, h]
          dets[m].append({
              "image_id": i + 1, "category_id": cat,
              "bbox": [x + jitter[0], y + jitter[1], w + jitter[2],
                       h + jitter[3]], "score": float(rng.beta(4, 2))
          })
    for m, (_, _, fps) in enumerate(model_quality):
      for _ in range(int(rng.poisson(fps))):
        dets[m].append({
            "image_id": i + 1, "category_id": int(rng.integers(1, 4)),
            "bbox": [*rng.uniform(0, 400, size=2),
                     *rng.uniform(20, 200, size=2)], "score": float(rng.beta(2, 4))
        })
  gt = {
      "images": images, "annotations": anns,
      "categories": [{"id": c, "name": f"c{c}"} for c in (1, 2, 3)]
  }
  return gt, dets


def _delta_ap(gt, dets):
  coco = cocoeval_cc.COCO(gt)
  evals = []
  for d in dets:
    e = cocoeval_cc.COCOeval(coco, coco.loadRes(d), "bbox")
    e.evaluate()
    evals.append(e)
  return evals


class CoverageTest(absltest.TestCase):

  def test_intervals_cover_the_true_difference_at_the_stated_rate(self):
    quality = [(0.80, 0.08, 1.5), (0.85, 0.07, 1.5)]
    # The true difference: the same processes on a very large sample.
    big = _delta_ap(*_simulated(np.random.default_rng(12345), 30000, quality))
    for e in big:
      e.accumulate()
      e.summarize(verbose=False)
    true = {name: big[1].stats[i] - big[0].stats[i] for i, name in ((0, "AP"), (1, "AP50"))}
    covered = {name: 0 for name in true}
    widths = {name: [] for name in true}
    deltas = {name: [] for name in true}
    experiments = 150
    rng = np.random.default_rng(2024)
    for _ in range(experiments):
      a, b = _delta_ap(*_simulated(rng, 150, quality))
      r = cocoeval_cc.compare(a, b, n_bootstrap=200, seed=int(rng.integers(2 ** 31)))
      for s in r["stats"][:2]:
        covered[s["name"]] += s["lo"] <= true[s["name"]] <= s["hi"]
        widths[s["name"]].append(s["hi"] - s["lo"])
        deltas[s["name"]].append(s["delta"])
    for name in true:
      rate = covered[name] / experiments
      # 95 % nominal; 150 experiments give a binomial sd of 0.018.
      self.assertBetween(rate, 0.88, 0.995, name)
      # The interval's width matches the delta's actual spread over experiments (4 sd of a
      # normal = 3.92 for 95 %).
      ratio = np.mean(widths[name]) / (3.92 * np.std(deltas[name]))
      self.assertBetween(ratio, 0.75, 1.3, name)

  def test_equal_models_are_called_different_at_about_the_error_rate(self):
    quality = [(0.8, 0.08, 1.5), (0.8, 0.08, 1.5)]  # the true difference is 0
    rng = np.random.default_rng(77)
    experiments, called = 100, 0
    for _ in range(experiments):
      a, b = _delta_ap(*_simulated(rng, 150, quality))
      r = cocoeval_cc.compare(a, b, n_bootstrap=200, seed=int(rng.integers(2 ** 31)))
      called += r["stats"][0]["significant"]
    # 5 % nominal; binomial sd 0.022 over 100 experiments.
    self.assertLessEqual(called / experiments, 0.12)


if __name__ == "__main__":
  absltest.main()
