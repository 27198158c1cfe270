"""Deployment diagnostics from an evaluation: PR curves, F1-optimal score thresholds, a
cross-class confusion matrix, score calibration and per-image counts with likely label errors.

Every function takes the native `Evaluator` (COCOeval's, or `EvaluationResult.evaluator`) and
an `IdLabels` saying how its native ids map back to the ground truth's ids and names; the
results are JSON-ready dicts. All of them look at the area range "all" and the last maxDets,
with COCO's matching (crowd / ignored ground truth is never a miss, a detection matched to it
never a false positive); the work is in the C++ core (diagnostics.cc).
"""
from __future__ import annotations

import dataclasses
import math
from typing import Mapping

import numpy as np

from cocoeval_cc import _cocoeval_cc as _native

# An IoU within this of one of params.iouThrs is that threshold (0.9 is np.linspace's
# 0.8999999999999999), so the evaluation's own match bits are used.
_IOU_SNAP = 1e-9


@dataclasses.dataclass(frozen=True)
class IdLabels:
  """Native ids -> the ground truth's ids, and category names by the ground truth's id."""
  native_ids: object | None  # coco.NativeIds; None: the native ids are the ids
  names: Mapping  # {ground-truth category id: name}

  def category(self, n: int):
    n = int(n)
    if n == -1 or self.native_ids is None:
      return n
    return self.native_ids.categories.original(n)

  def image(self, n: int):
    return int(n) if self.native_ids is None else self.native_ids.images.original(n)

  def annotation(self, n: int):
    return int(n) if self.native_ids is None else self.native_ids.annotations.original(n)

  def name(self, category_id) -> str:
    if category_id == -1:
      return "all"  # useCats=0 pools every category
    return str(self.names.get(category_id, category_id))


def labels_of(coco_gt) -> IdLabels:
  """The labels of a cocoeval_cc COCO ground truth."""
  return IdLabels(coco_gt.native_ids, coco_gt.category_names())


def _iou(evaluator, iou, *, required: bool = False) -> float:
  """iou as a float in (0, 1], snapped to the evaluation's threshold it is within 1e-9 of."""
  if isinstance(iou, bool) or not isinstance(iou, (int, float, np.floating, np.integer)):
    raise ValueError(f"iou must be a number in (0, 1], got {iou!r}")
  x = float(iou)
  if not (math.isfinite(x) and 0 < x <= 1):
    raise ValueError(f"iou must be in (0, 1], got {iou!r}")
  thrs = list(evaluator.params.iou_thrs)
  for t in thrs:
    if abs(t - x) <= _IOU_SNAP:
      return float(t)
  if required:
    raise ValueError(f"iou {iou!r} is not one of params.iouThrs {[round(t, 4) for t in thrs]}")
  return x


def _score_thr(score_thr) -> float:
  if isinstance(score_thr, bool) or not isinstance(score_thr,
                                                   (int, float, np.floating, np.integer)):
    raise ValueError(f"score_thr must be a number, got {score_thr!r}")
  x = float(score_thr)
  if math.isnan(x):
    raise ValueError(f"score_thr must not be NaN, got {score_thr!r}")
  return x


def _count(name: str, value, lo: int) -> int:
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
    raise ValueError(f"{name} must be an integer >= {lo}, got {value!r}")
  return int(value)


def _all_area_index(evaluator) -> int:
  labels = list(evaluator.params.area_rng_lbl)
  if "all" not in labels:
    raise ValueError(f"pr_curves needs an area range labelled 'all' (areaRngLbl is {labels})")
  return labels.index("all")


def pr_curves(evaluator, labels: IdLabels, iou=None) -> dict:
  """PR curves (area "all", last maxDets) from the accumulated arrays, no recomputation.

  overall[t][r]: the mean precision over the categories with ground truth (-1 where none);
  per_category[k]: that category's precision and score at each recall threshold
  (pycocotools' eval['precision'|'scores'][t, :, k, all, -1]). iou restricts to one of
  params.iouThrs (ValueError otherwise).
  """
  a = _all_area_index(evaluator)
  precision = np.asarray(evaluator.precision)[:, :, :, a, -1]  # [T, R, K]; raises unaccumulated
  scores = np.asarray(evaluator.scores)[:, :, :, a, -1]
  thrs = [float(t) for t in evaluator.params.iou_thrs]
  if iou is not None:
    t = thrs.index(_iou(evaluator, iou, required=True))
    thrs, precision, scores = [thrs[t]], precision[t:t + 1], scores[t:t + 1]
  overall = []
  for t in range(precision.shape[0]):
    row = []
    for r in range(precision.shape[1]):
      x = precision[t, r]
      x = x[x > -1]
      row.append(float(np.mean(x)) if x.size else -1.0)  # np.mean: as pycocotools summarizes
    overall.append(row)
  per_category = []
  for k, n in enumerate(evaluator.category_axis):
    cid = labels.category(n)
    per_category.append({
        "id": cid,
        "name": labels.name(cid),
        "precision": precision[:, :, k].tolist(),
        "scores": scores[:, :, k].tolist(),
    })
  return {
      "iou_thresholds": thrs,
      "recall_thresholds": [float(r) for r in evaluator.params.rec_thrs],
      "overall": overall,
      "per_category": per_category,
  }


def f1_thresholds(evaluator, labels: IdLabels, iou=0.5, num_threads: int = 0) -> list[dict]:
  """Per category, the score threshold (keep score >= it) with the best F1 at `iou`.

  The kept detections in score order with cumulative TP / FP; F1 = 2 tp / (tp + fp + num_gt)
  is only tried at the end of a run of equal scores; equal F1 keeps the higher threshold. At
  one of params.iouThrs the evaluation's matching is read, at any other IoU in (0, 1] the
  images are matched again at that IoU (in C++). No ground truth or no true positive: score,
  precision, recall and f1 are None and tp = fp = 0.
  """
  x = _iou(evaluator, iou)
  out = []
  for r in _native.diagnostics_f1_thresholds(evaluator, x, num_threads):
    cid = labels.category(r["category_id"])
    out.append({
        "id": cid,
        "name": labels.name(cid),
        "iou": x,
        "score": r["score"],
        "precision": r["precision"],
        "recall": r["recall"],
        "f1": r["f1"],
        "tp": int(r["tp"]),
        "fp": int(r["fp"]),
        "num_gt": int(r["num_gt"]),
    })
  return out


def confusion(evaluator, labels: IdLabels, iou=0.5, score_thr=0.5, num_threads: int = 0) -> dict:
  """(K+1) x (K+1) counts over the detections scoring >= score_thr.

  Row = ground-truth class (last row "background": detections matching no ground truth),
  column = detected as (last column "missed": ground truth no detection claims). COCO's
  same-class matching first (its true positives are the diagonal); then, per image, each
  remaining non-ignored detection in score order claims the unclaimed non-ignored ground
  truth of another class with the highest IoU >= iou. Needs useCats=1.
  """
  x, s = _iou(evaluator, iou), _score_thr(score_thr)
  cat_ids, matrix = _native.diagnostics_confusion(evaluator, x, s, num_threads)
  ids = [labels.category(n) for n in cat_ids]
  return {
      "iou": x,
      "score_thr": s,
      "category_ids": ids,
      "names": [labels.name(c) for c in ids],
      "matrix": np.asarray(matrix, dtype=np.int64).tolist(),
  }


def calibration(evaluator, iou=0.5, n_bins=10) -> dict:
  """Reliability of the scores: a kept, non-ignored detection is correct when it is a true
  positive at `iou`. Equal-width bins over [0, 1] (scores outside fall in the end bins);
  ece = sum(count / N * |accuracy - mean_score|), mce = the largest gap of a non-empty bin;
  an empty bin's mean_score and accuracy are None."""
  x = _iou(evaluator, iou)
  n = _count("n_bins", n_bins, 1)
  r = _native.diagnostics_calibration(evaluator, x, n)
  return {
      "iou": x,
      "n_bins": n,
      "ece": float(r["ece"]),
      "mce": float(r["mce"]),
      "num_detections": int(r["num_detections"]),
      "bins": [dict(b) for b in r["bins"]],
  }


def image_diagnostics(evaluator, labels: IdLabels, iou=0.5, score_thr=0.5, top_n=20,
                      num_threads: int = 0) -> dict:
  """Per evaluated image (image id order): TP / FP / FN of the detections scoring >= score_thr
  at `iou`, and f1 = 2 tp / (2 tp + fp + fn) (1 for an image with nothing to find and no false
  positive). worst: the top_n images with any error, lowest f1 first, then most errors
  (fp + fn), then image id. label_errors: false positives scoring >= score_thr over a
  non-ignored ground truth of another class (IoU >= iou) that no detection of its own class
  matched; each ground truth claimed once, in score order; sorted by score (desc)."""
  x, s = _iou(evaluator, iou), _score_thr(score_thr)
  n = _count("top_n", top_n, 0)
  images, worst, errors = _native.diagnostics_images(evaluator, x, s, n, num_threads)
  rows = [{
      "image_id": labels.image(r["image_id"]),
      "tp": int(r["tp"]),
      "fp": int(r["fp"]),
      "fn": int(r["fn"]),
      "f1": float(r["f1"]),
  } for r in images]
  return {
      "iou":
          x,
      "score_thr":
          s,
      "images":
          rows,
      "worst": [rows[i] for i in worst],
      "label_errors": [{
          "image_id": labels.image(e["image_id"]),
          "gt_id": labels.annotation(e["gt_id"]),
          "gt_category_id": labels.category(e["gt_category_id"]),
          "dt_category_id": labels.category(e["dt_category_id"]),
          "score": float(e["score"]),
          "iou": float(e["iou"]),
      } for e in errors],
  }


def labels_of_result(result) -> IdLabels:
  """The labels of an evaluation.EvaluationResult (the fast path: integer ids as they are)."""
  return IdLabels(None, dict(zip(result.category_ids, result.category_names)))
