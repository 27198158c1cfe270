"""Deployment diagnostics: PR curves against pycocotools' arrays; F1 thresholds, confusion,
calibration and per-image diagnostics against slow references written here on top of
pycocotools' own per-image matching (evalImgs); calibration against hotcoco; bad parameters."""
import contextlib
import copy
import io
import json
import math
import os
import tempfile

from absl.testing import absltest
import hypothesis
from hypothesis import strategies as st
import numpy as np
from pycocotools import mask as pc_mask

import cocoeval_cc
from cocoeval_cc import diagnostics
from cocoeval_cc import evaluation
from cocoeval_cc import keypoints_test as kt
from cocoeval_cc import property_test as pt

_SETTINGS = hypothesis.settings(max_examples=60, deadline=None, derandomize=True,
                                suppress_health_check=list(hypothesis.HealthCheck))


# ------------------------------------------------------------- slow references
class Reference:
  """Everything recomputed from pycocotools' evalImgs (area "all", maxDets[-1]) at one of its
  IoU thresholds, detection by detection, plus pycocotools' box IoU for the cross-class part."""

  def __init__(self, pc, iou):
    self.pc, p = pc, pc.params
    self.segm = p.iouType == "segm"
    self.keypoints = p.iouType == "keypoints"  # OKS never compares across classes
    self.t = int(np.argmin(np.abs(np.asarray(p.iouThrs) - iou)))
    assert abs(p.iouThrs[self.t] - iou) < 1e-12
    self.iou = iou
    self.a = list(p.areaRngLbl).index("all")
    self.cat_ids = list(p.catIds) if p.useCats else [-1]
    self.img_ids = list(p.imgIds)
    n_a, n_i = len(p.areaRng), len(p.imgIds)
    self.entries = {}  # (cat, img) -> evalImgs entry for area all
    for k, cat in enumerate(self.cat_ids):
      for i, img in enumerate(self.img_ids):
        e = pc.evalImgs[k * n_a * n_i + self.a * n_i + i]
        if e is not None:
          self.entries[cat, img] = e

  def detections(self, cat, img):
    """[(dt id, score, ignored, matched gt id or 0)] best first."""
    e = self.entries.get((cat, img))
    if e is None:
      return []
    return [(d, s, bool(e["dtIgnore"][self.t][j]), int(e["dtMatches"][self.t][j]))
            for j, (d, s) in enumerate(zip(e["dtIds"], e["dtScores"]))]

  def num_gt(self, cat, img):
    e = self.entries.get((cat, img))
    return 0 if e is None else int(sum(1 - np.asarray(e["gtIgnore"], dtype=int)))

  def ignored_gt(self, cat, img):
    e = self.entries.get((cat, img))
    return set() if e is None else {g for g, ig in zip(e["gtIds"], e["gtIgnore"]) if ig}

  def f1(self):
    out = []
    for cat in self.cat_ids:
      dets = [(s, m > 0 and not ig) for img in self.img_ids
              for _, s, ig, m in self.detections(cat, img) if not ig]
      num_gt = sum(self.num_gt(cat, img) for img in self.img_ids)
      best = None
      for thr in sorted({s for s, _ in dets}, reverse=True):
        tp = sum(1 for s, ok in dets if s >= thr and ok)
        fp = sum(1 for s, ok in dets if s >= thr and not ok)
        if tp == 0 or num_gt == 0:
          continue
        f1 = 2 * tp / (tp + fp + num_gt)
        if best is None or f1 > best[0]:
          best = (f1, thr, tp, fp)
      out.append((num_gt, best))
    return out

  def calibration(self, n_bins):
    count, correct, total = [0] * n_bins, [0] * n_bins, [0.0] * n_bins
    for (_, _), e in self.entries.items():
      for j, s in enumerate(e["dtScores"]):
        if e["dtIgnore"][self.t][j]:
          continue
        b = min(n_bins - 1, int(s * n_bins)) if s < 1 else n_bins - 1
        count[b] += 1
        correct[b] += int(e["dtMatches"][self.t][j] > 0)
        total[b] += s
    n = sum(count)
    ece = sum(c / n * abs(k / c - t / c) for c, k, t in zip(count, correct, total) if c)
    mce = max([abs(k / c - t / c) for c, k, t in zip(count, correct, total) if c] or [0.0])
    return count, ece, mce

  def _image(self, img, score_thr):
    """The image's kept detections and ground truth, both in category order."""
    gt_coco, dt_coco = self.pc.cocoGt, self.pc.cocoDt
    dets, gts = [], []
    for cat in self.cat_ids:
      for d, s, ig, m in self.detections(cat, img):
        region = self._region(dt_coco, d)
        dets.append({"id": d, "cat": cat, "score": s, "ignored": ig, "match": m, "box": region})
      ignored = self.ignored_gt(cat, img)
      for g in gt_coco.getAnnIds(imgIds=[img], catIds=[cat]):  # file order
        gts.append({"id": g, "cat": cat, "ignored": g in ignored, "box": self._region(gt_coco, g)})
    return dets, gts

  def _region(self, coco, ann_id):
    """What pycocotools' computeIoU compares: the box, or for segm the RLE its _prepare left
    in the annotation."""
    if self.keypoints:
      return None
    return coco.anns[ann_id]["segmentation"] if self.segm else coco.anns[ann_id]["bbox"]

  def _cross_class(self, dets, gts, candidates, taken):
    """Candidates in score order claim the best free non-ignored gt of another class."""
    claims = []
    thr = min(self.iou, 1 - 1e-10)
    for d in sorted(candidates, key=lambda d: -d["score"]):  # stable: category order on ties
      best, best_iou = None, None
      for j, g in enumerate(gts):
        if self.keypoints or g["cat"] == d["cat"] or g["ignored"] or j in taken:
          continue
        if self.segm:
          v = pc_mask.iou([d["box"]], [g["box"]], [0])[0][0]
        else:
          v = pc_mask.iou(np.array([d["box"]]), np.array([g["box"]]), [0])[0][0]
        if (best is None and v >= thr) or (best is not None and v > best_iou):
          best, best_iou = j, v
      if best is not None:
        taken.add(best)
      claims.append((d, best, best_iou))
    return claims

  def confusion(self, score_thr):
    k_of = {c: k for k, c in enumerate(self.cat_ids)}
    n = len(self.cat_ids)
    m = np.zeros((n + 1, n + 1), dtype=np.int64)
    for img in self.img_ids:
      dets, gts = self._image(img, score_thr)
      index = {g["id"]: j for j, g in enumerate(gts)}
      taken, rest = set(), []
      for d in dets:
        if d["score"] < score_thr or d["ignored"]:
          continue
        if d["match"]:
          taken.add(index[d["match"]])
          m[k_of[d["cat"]], k_of[d["cat"]]] += 1
        else:
          rest.append(d)
      for d, j, _ in self._cross_class(dets, gts, rest, taken):
        m[n if j is None else k_of[gts[j]["cat"]], k_of[d["cat"]]] += 1
      for j, g in enumerate(gts):
        if not g["ignored"] and j not in taken:
          m[k_of[g["cat"]], n] += 1
    return m

  def images(self, score_thr):
    rows, errors = [], []
    for img in self.img_ids:
      tp = fp = fn = 0
      for cat in self.cat_ids:
        kept = [(s, ig, mt) for _, s, ig, mt in self.detections(cat, img) if s >= score_thr]
        t = sum(1 for _, ig, mt in kept if mt and not ig)
        tp += t
        fp += sum(1 for _, ig, mt in kept if not mt and not ig)
        fn += self.num_gt(cat, img) - t
      denom = 2 * tp + fp + fn
      rows.append({
          "image_id": img, "tp": tp, "fp": fp, "fn": fn, "f1": 1.0 if denom == 0 else 2 * tp / denom
      })
      if self.cat_ids == [-1]:
        continue
      dets, gts = self._image(img, score_thr)
      index = {g["id"]: j for j, g in enumerate(gts)}
      found = {index[d["match"]] for d in dets if d["match"] and not d["ignored"]}
      fps = [d for d in dets if d["score"] >= score_thr and not d["ignored"] and not d["match"]]
      for d, j, v in self._cross_class(dets, gts, fps, set(found)):
        if j is not None:
          errors.append({
              "image_id": img, "gt_id": gts[j]["id"], "gt_category_id": gts[j]["cat"],
              "dt_category_id": d["cat"], "score": d["score"], "iou": float(v)
          })
    errors.sort(key=lambda e: (-e["score"], e["image_id"], e["gt_id"]))
    return rows, errors


def _usable(p):
  """Reference params: an area range labelled "all" (the analyses' range)."""
  p = dict(p)
  if "areaRngLbl" in p and "all" not in p["areaRngLbl"]:
    del p["areaRng"], p["areaRngLbl"]
  return p


def _both(gt, results, p, iou_thrs=None, iou_type="bbox"):
  pp = dict(p)
  if iou_thrs is not None:
    pp["iouThrs"] = np.asarray(iou_thrs, dtype=np.float64)
  with contextlib.redirect_stdout(io.StringIO()):
    pc = pt.run_pycocotools(gt, results, iou_type, pp)
  return pc


def _ious(ours):
  return [float(t) for t in ours.params.iouThrs]


class DiagnosticsAgainstReferenceTest(absltest.TestCase):

  @hypothesis.given(st.data())
  @_SETTINGS
  def test_pr_curves_equal_pycocotools_arrays(self, data):
    gt, results = data.draw(pt.datasets())
    p = _usable(data.draw(pt.params(gt)))
    pc = _both(gt, results, p)
    ours = pt.run_ours(gt, results, "bbox", p, num_threads=2)
    curves = ours.pr_curves()
    a = list(pc.params.areaRngLbl).index("all")
    prec, scores = pc.eval["precision"][:, :, :, a, -1], pc.eval["scores"][:, :, :, a, -1]
    self.assertEqual(curves["iou_thresholds"], [float(t) for t in pc.params.iouThrs])
    self.assertEqual(curves["recall_thresholds"], [float(r) for r in pc.params.recThrs])
    self.assertEqual(len(curves["per_category"]), prec.shape[2])
    for k, c in enumerate(curves["per_category"]):
      np.testing.assert_array_equal(np.array(c["precision"]), prec[:, :, k])
      np.testing.assert_array_equal(np.array(c["scores"]), scores[:, :, k])
    for t in range(prec.shape[0]):
      for r in range(prec.shape[1]):
        x = prec[t, r][prec[t, r] > -1]
        self.assertEqual(curves["overall"][t][r], float(np.mean(x)) if x.size else -1.0)
    t = len(pc.params.iouThrs) - 1
    one = ours.pr_curves(iou=float(pc.params.iouThrs[t]))
    self.assertEqual(one["overall"], [curves["overall"][t]])
    json.dumps(curves)

  @hypothesis.given(st.data())
  @_SETTINGS
  def test_f1_thresholds_equal_reference(self, data):
    gt, results = data.draw(pt.datasets())
    p = _usable(data.draw(pt.params(gt)))
    ours = pt.run_ours(gt, results, "bbox", p, num_threads=2)
    # One of the evaluation's thresholds (its bits) or another IoU (matched again).
    iou = data.draw(st.sampled_from([t for t in _ious(ours) if t > 0] + [0.3, 0.63, 1.0]))
    ref = Reference(_both(gt, results, p, [iou]), iou)
    got = ours.f1_thresholds(iou)
    self.assertEqual(len(got), len(ref.cat_ids))
    for r, (num_gt, best) in zip(got, ref.f1()):
      self.assertEqual(r["num_gt"], num_gt)
      if best is None:
        self.assertIsNone(r["score"])
        self.assertIsNone(r["f1"])
        continue
      f1, thr, tp, fp = best
      self.assertEqual((r["score"], r["tp"], r["fp"]), (thr, tp, fp))
      self.assertAlmostEqual(r["f1"], f1, places=12)
      self.assertAlmostEqual(r["precision"], tp / (tp + fp), places=12)
      self.assertAlmostEqual(r["recall"], tp / num_gt, places=12)
    json.dumps(got)

  @hypothesis.given(st.data())
  @_SETTINGS
  def test_confusion_equals_reference(self, data):
    gt, results = data.draw(pt.datasets())
    p = _usable(data.draw(pt.params(gt)))
    p.pop("useCats", None)
    iou = data.draw(st.sampled_from([0.5, 0.75, 0.42, 1.0]))
    score_thr = data.draw(st.sampled_from([0.0, 0.3, 0.5, 0.95]))
    ours = pt.run_ours(gt, results, "bbox", p, num_threads=2)
    ref = Reference(_both(gt, results, p, [iou]), iou)
    got = ours.confusion(iou, score_thr)
    self.assertEqual(got["category_ids"], ref.cat_ids)
    np.testing.assert_array_equal(np.array(got["matrix"]), ref.confusion(score_thr))
    # Rows: every non-ignored ground truth once.
    m = np.array(got["matrix"])
    for k, cat in enumerate(ref.cat_ids):
      self.assertEqual(m[k].sum(), sum(ref.num_gt(cat, i) for i in ref.img_ids))
    json.dumps(got)

  @hypothesis.given(st.data())
  @_SETTINGS
  def test_image_diagnostics_equal_reference(self, data):
    gt, results = data.draw(pt.datasets())
    p = _usable(data.draw(pt.params(gt)))
    iou = data.draw(st.sampled_from([0.5, 0.75, 0.61]))
    score_thr = data.draw(st.sampled_from([0.0, 0.3, 0.5]))
    top_n = data.draw(st.integers(0, 4))
    ours = pt.run_ours(gt, results, "bbox", p, num_threads=2)
    ref = Reference(_both(gt, results, p, [iou]), iou)
    got = ours.image_diagnostics(iou, score_thr, top_n)
    rows, errors = ref.images(score_thr)
    self.assertEqual(got["images"], rows)
    bad = [r for r in rows if r["fp"] + r["fn"] > 0]
    bad.sort(key=lambda r: (r["f1"], -(r["fp"] + r["fn"]), r["image_id"]))
    self.assertEqual(got["worst"], bad[:top_n])
    self.assertEqual(len(got["label_errors"]), len(errors))
    for a, b in zip(got["label_errors"], errors):
      self.assertEqual({k: v for k, v in a.items() if k != "iou"},
                       {k: v for k, v in b.items() if k != "iou"})
      self.assertAlmostEqual(a["iou"], b["iou"], places=12)
    # The same totals as the confusion matrix.
    if ref.cat_ids != [-1]:
      m = np.array(ours.confusion(iou, score_thr)["matrix"])
      self.assertEqual(np.trace(m), sum(r["tp"] for r in rows))
      self.assertEqual(m[:, :-1].sum() - np.trace(m), sum(r["fp"] for r in rows))
      self.assertEqual(m[:-1, :].sum() - np.trace(m), sum(r["fn"] for r in rows))
    json.dumps(got)

  @hypothesis.given(st.data())
  @hypothesis.settings(_SETTINGS, max_examples=25)
  def test_segm_confusion_and_label_errors_equal_reference(self, data):
    gt, results = data.draw(pt.datasets(segm=True))
    p = _usable(data.draw(pt.params(gt)))
    p.pop("useCats", None)
    iou = data.draw(st.sampled_from([0.5, 0.3, 0.66]))
    score_thr = data.draw(st.sampled_from([0.0, 0.5]))
    ours = pt.run_ours(gt, results, "segm", p, num_threads=2)
    ref = Reference(_both(gt, results, p, [iou], "segm"), iou)
    np.testing.assert_array_equal(np.array(ours.confusion(iou, score_thr)["matrix"]),
                                  ref.confusion(score_thr))
    rows, errors = ref.images(score_thr)
    got = ours.image_diagnostics(iou, score_thr)
    self.assertEqual(got["images"], rows)
    self.assertEqual([(e["gt_id"], e["score"]) for e in got["label_errors"]],
                     [(e["gt_id"], e["score"]) for e in errors])

  @hypothesis.given(st.data())
  @hypothesis.settings(_SETTINGS, max_examples=30)
  def test_keypoints_equal_reference(self, data):
    gt, results, sigmas = data.draw(kt.keypoint_problems())
    p = _usable(data.draw(kt.keypoint_params(gt)))
    p.pop("useCats", None)
    iou = data.draw(st.sampled_from([0.5, 0.75, 0.6]))
    score_thr = data.draw(st.sampled_from([0.0, 0.5]))
    ours = kt.run_ours(gt, results, p, sigmas, num_threads=2)
    ref = Reference(kt.run_pycocotools(gt, results, dict(p, iouThrs=np.array([iou])), sigmas), iou)
    for r, (num_gt, best) in zip(ours.f1_thresholds(iou), ref.f1()):
      self.assertEqual(r["num_gt"], num_gt)
      self.assertEqual(r["score"], None if best is None else best[1])
    np.testing.assert_array_equal(np.array(ours.confusion(iou, score_thr)["matrix"]),
                                  ref.confusion(score_thr))
    rows, errors = ref.images(score_thr)
    got = ours.image_diagnostics(iou, score_thr)
    self.assertEqual(got["images"], rows)
    self.assertEqual(got["label_errors"], errors)
    self.assertEqual(errors, [])

  @hypothesis.given(st.data())
  @_SETTINGS
  def test_calibration_equals_reference(self, data):
    gt, results = data.draw(pt.datasets())
    p = _usable(data.draw(pt.params(gt)))
    iou = data.draw(st.sampled_from([0.5, 0.75, 0.33]))
    n_bins = data.draw(st.integers(1, 15))
    ours = pt.run_ours(gt, results, "bbox", p, num_threads=2)
    ref = Reference(_both(gt, results, p, [iou]), iou)
    got = ours.calibration(iou, n_bins)
    count, ece, mce = ref.calibration(n_bins)
    self.assertEqual([b["count"] for b in got["bins"]], count)
    self.assertEqual(got["num_detections"], sum(count))
    self.assertAlmostEqual(got["ece"], ece, places=12)
    self.assertAlmostEqual(got["mce"], mce, places=12)
    for b in got["bins"]:
      self.assertEqual(b["mean_score"] is None, b["count"] == 0)
    json.dumps(got)


def _random_problem(seed, n_img=40, n_cat=5):
  rng = np.random.default_rng(seed)
  images = [{"id": i + 1, "width": 200, "height": 200} for i in range(n_img)]
  cats = [{"id": c + 1, "name": f"c{c + 1}"} for c in range(n_cat)]
  anns, results = [], []
  for img in images:
    for _ in range(rng.integers(0, 8)):
      x, y, w, h = (float(v) for v in rng.uniform([0, 0, 5, 5], [150, 150, 50, 50]))
      cat = int(rng.integers(1, n_cat + 1))
      anns.append({
          "id": len(anns) + 1, "image_id": img["id"], "category_id": cat, "bbox": [x, y, w, h],
          "area": w * h, "iscrowd": int(rng.random() < 0.05)
      })
      for _ in range(rng.integers(0, 3)):  # hits, some with the wrong class
        dc = cat if rng.random() < 0.7 else int(rng.integers(1, n_cat + 1))
        j = rng.normal(0, 4, 4)
        results.append({
            "image_id": img["id"], "category_id": dc,
            "bbox": [x + j[0], y + j[1], max(1.0, w + j[2]),
                     max(1.0, h + j[3])], "score": round(float(rng.random()), 3)
        })
    for _ in range(rng.integers(0, 6)):  # background
      results.append({
          "image_id": img["id"], "category_id": int(rng.integers(1, n_cat + 1)),
          "bbox": [float(v) for v in rng.uniform([0, 0, 5, 5], [150, 150, 40, 40])],
          "score": round(float(rng.random()), 3)
      })
  return {"images": images, "categories": cats, "annotations": anns}, results


class DiagnosticsTest(absltest.TestCase):

  def _ours(self, gt, results, num_threads=0):
    g = cocoeval_cc.COCO(copy.deepcopy(gt))
    e = cocoeval_cc.COCOeval(g, g.loadRes(copy.deepcopy(results)), "bbox", num_threads=num_threads)
    e.evaluate()
    e.accumulate()
    return e

  def test_calibration_equals_hotcoco(self):
    import hotcoco  # pylint: disable=import-outside-toplevel
    for seed in range(3):
      gt, results = _random_problem(seed)
      with tempfile.TemporaryDirectory() as d:
        gpath, dpath = os.path.join(d, "gt.json"), os.path.join(d, "dt.json")
        with open(gpath, "w") as f:
          json.dump(gt, f)
        with open(dpath, "w") as f:
          json.dump(results, f)
        with contextlib.redirect_stdout(io.StringIO()):
          hg = hotcoco.COCO(gpath)
          he = hotcoco.COCOeval(hg, hg.load_res(dpath), "bbox")
          he.evaluate()
      ours = self._ours(gt, results)
      for iou, n_bins in ((0.5, 10), (0.75, 7)):
        theirs = he.calibration(n_bins=n_bins, iou_threshold=iou)
        got = ours.calibration(iou, n_bins)
        self.assertEqual(got["num_detections"], theirs["num_detections"])
        self.assertEqual([b["count"] for b in got["bins"]], [b["count"] for b in theirs["bins"]])
        self.assertAlmostEqual(got["ece"], theirs["ece"], places=12)
        self.assertAlmostEqual(got["mce"], theirs["mce"], places=12)
        for a, b in zip(got["bins"], theirs["bins"]):
          if a["count"]:
            self.assertAlmostEqual(a["mean_score"], b["avg_confidence"], places=12)
            self.assertAlmostEqual(a["accuracy"], b["avg_accuracy"], places=12)

  def test_results_do_not_depend_on_threads(self):
    gt, results = _random_problem(7, n_img=120)
    one, many = self._ours(gt, results, 1), self._ours(gt, results, 4)
    self.assertEqual(one.confusion(0.4, 0.2), many.confusion(0.4, 0.2))
    self.assertEqual(one.image_diagnostics(0.6, 0.1, 50), many.image_diagnostics(0.6, 0.1, 50))
    self.assertEqual(one.f1_thresholds(0.66), many.f1_thresholds(0.66))
    self.assertEqual(one.calibration(0.5, 20), many.calibration(0.5, 20))

  def test_fast_path_evaluator_gives_the_same(self):
    gt, results = _random_problem(3)
    with tempfile.TemporaryDirectory() as d:
      gpath, dpath = os.path.join(d, "gt.json"), os.path.join(d, "dt.json")
      with open(gpath, "w") as f:
        json.dump(gt, f)
      with open(dpath, "w") as f:
        json.dump(results, f)
      r = evaluation.evaluate_files(gpath, dpath, "bbox")
    labels = diagnostics.labels_of_result(r)
    ours = self._ours(gt, results)
    self.assertEqual(diagnostics.confusion(r.evaluator, labels), ours.confusion())
    self.assertEqual(diagnostics.f1_thresholds(r.evaluator, labels), ours.f1_thresholds())
    self.assertEqual(diagnostics.pr_curves(r.evaluator, labels), ours.pr_curves())
    self.assertEqual(diagnostics.image_diagnostics(r.evaluator, labels), ours.image_diagnostics())
    self.assertEqual(diagnostics.calibration(r.evaluator), ours.calibration())

  def test_string_ids_are_mapped_back(self):
    gt = {
        "images": [{"id": "img-a", "width": 50, "height": 50}],
        "categories": [{"id": 7, "name": "cat"}, {"id": 9, "name": "dog"}],
        "annotations": [{
            "id": "ann-x", "image_id": "img-a", "category_id": 9, "bbox": [0, 0, 10, 10],
            "area": 100, "iscrowd": 0
        }],
    }
    results = [{"image_id": "img-a", "category_id": 7, "bbox": [0, 0, 10, 10], "score": 0.9}]
    ours = self._ours(gt, results)
    d = ours.image_diagnostics()
    self.assertEqual(d["images"][0]["image_id"], "img-a")
    self.assertEqual(d["label_errors"], [{
        "image_id": "img-a", "gt_id": "ann-x", "gt_category_id": 9, "dt_category_id": 7,
        "score": 0.9, "iou": 1.0
    }])
    c = ours.confusion()
    self.assertEqual(c["category_ids"], [7, 9])
    self.assertEqual(c["names"], ["cat", "dog"])
    self.assertEqual(c["matrix"], [[0, 0, 0], [1, 0, 0], [0, 0, 0]])

  def test_label_errors_claim_each_ground_truth_once(self):
    box = lambda x, y, w, h: {"bbox": [x, y, w, h], "area": w * h}  # noqa: E731
    gt = {
        "images": [{"id": 1, "width": 200, "height": 200}],
        "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 2, "iscrowd": 0, **box(0, 0, 10, 10)},
            {"id": 2, "image_id": 1, "category_id": 2, "iscrowd": 1, **box(50, 50, 20, 20)},
            {"id": 3, "image_id": 1, "category_id": 1, "iscrowd": 0, **box(100, 100, 10, 10)},
        ],
    }
    results = [
        {"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.9},
        {"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10.5], "score": 0.8},
        {"image_id": 1, "category_id": 1, "bbox": [55, 55, 5, 5], "score": 0.7},  # on the crowd
        {"image_id": 1, "category_id": 1, "bbox": [100, 100, 10, 10], "score": 0.95},
    ]
    ours = self._ours(gt, results)
    d = ours.image_diagnostics()
    # gt 1 once (the 0.8 detection finds it taken); a crowd region is never a label error.
    self.assertEqual(d["label_errors"], [{
        "image_id": 1, "gt_id": 1, "gt_category_id": 2, "dt_category_id": 1, "score": 0.9,
        "iou": 1.0
    }])
    self.assertEqual(d["images"], [{"image_id": 1, "tp": 1, "fp": 3, "fn": 1, "f1": 2 / 6}])
    self.assertEqual(ours.confusion()["matrix"], [[1, 0, 0], [1, 0, 0], [2, 0, 0]])

  def test_bad_parameters_raise_named_value_errors(self):
    gt, results = _random_problem(1, n_img=5)
    e = self._ours(gt, results)
    for call, name in [
        (lambda: e.f1_thresholds(0), "iou"),
        (lambda: e.f1_thresholds(1.5), "iou"),
        (lambda: e.f1_thresholds(float("nan")), "iou"),
        (lambda: e.f1_thresholds("0.5"), "iou"),
        (lambda: e.confusion(-0.1), "iou"),
        (lambda: e.confusion(0.5, float("nan")), "score_thr"),
        (lambda: e.confusion(0.5, None), "score_thr"),
        (lambda: e.calibration(0.5, 0), "n_bins"),
        (lambda: e.calibration(0.5, 2.5), "n_bins"),
        (lambda: e.calibration(0.5, 10 ** 7), "n_bins"),
        (lambda: e.image_diagnostics(0.5, 0.5, -1), "top_n"),
        (lambda: e.image_diagnostics(2, 0.5, 5), "iou"),
        (lambda: e.pr_curves(0.62), "iou"),
    ]:
      with self.assertRaisesRegex(ValueError, name):
        call()
    with self.assertRaisesRegex(RuntimeError, "evaluate"):
      cocoeval_cc.COCOeval(e.cocoGt, e.cocoDt, "bbox").confusion()
    pooled = cocoeval_cc.COCOeval(e.cocoGt, e.cocoDt, "bbox")
    pooled.params.useCats = 0
    pooled.evaluate()
    with self.assertRaisesRegex(ValueError, "useCats"):
      pooled.confusion()
    self.assertEqual(pooled.image_diagnostics()["label_errors"], [])
    self.assertEqual([r["id"] for r in pooled.f1_thresholds()], [-1])
    # 0.9 is np.linspace's 0.8999999999999999: the evaluation's threshold.
    self.assertEqual(e.f1_thresholds(0.9)[0]["iou"], float(e.params.iouThrs[8]))
    self.assertTrue(math.isfinite(e.calibration(0.9)["ece"]))


if __name__ == "__main__":
  absltest.main()
