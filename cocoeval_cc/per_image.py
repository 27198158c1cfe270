"""pycocotools' per-image results (evalImgs, ious, computeIoU, evaluateImg), built on demand.

COCOeval.evaluate() keeps only what accumulate() needs, as bits, and builds no Python object per
annotation. The dicts pycocotools keeps are rebuilt here when first asked for: for each image x
category the native core re-runs the same evaluateImg (evaluate.cc's sorting, IoUs and greedy
matching, recording which ground truth each detection matched) and returns rows, IoUs, ignore
flags and matches; this module gives them pycocotools' shapes, types and order.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np


class PerImage:
  """One evaluation's per-image results, as pycocotools' COCOeval holds them."""

  def __init__(self, evaluator, coco_gt, coco_dt, params):
    self._e, self._params = evaluator, params
    ids = coco_gt.native_ids
    self._ids = ids
    self._gt_ann_ids = coco_gt.native_ground_truth.annotation_ids
    self._dt_ids = getattr(coco_dt, "_dt_ann_ids", None) if coco_dt is not None else None
    native_dt = coco_dt.native_detections_for(coco_gt) if coco_dt is not None else None
    self._dt_scores = native_dt.scores if native_dt is not None else np.zeros(0)
    self._dt_areas = native_dt.areas if native_dt is not None else np.zeros(0)

  # -------------------------------------------------------------- native
  def _groups(self, img, cat, area_rngs: Sequence, max_det: int) -> dict:
    """The native evaluateImg of the non-empty image x category pairs (native ids; None: all),
    each area range: {(image, category or -1): (dt rows, gt rows, ious, _ignore, matches)}."""
    rngs = [[float(a[0]), float(a[1])] for a in area_rngs]
    groups = self._e.evaluate_groups(img, cat if self._params.useCats else None, rngs, int(max_det))
    return {(g[0], g[1]): g[2:] for g in groups}

  def _native_key(self, img_id, cat_id):
    """(image, category) native ids, None when the ground truth has no such image/category."""
    img = self._ids.images.lookup(img_id)
    if not self._params.useCats:
      return None if img is None else (int(img), -1)
    cat = self._ids.categories.lookup(cat_id)
    return None if img is None or cat is None else (int(img), int(cat))

  def _group(self, img_id, cat_id, area_rngs: Sequence, max_det: int):
    """The native evaluateImg of one image x category, each area range, or None when empty."""
    key = self._native_key(img_id, cat_id)
    if key is None:
      return None
    return self._groups(key[0], key[1], area_rngs, max_det).get(key)

  def _all_groups(self) -> dict:
    p = self._params
    return self._groups(None, None, p.areaRng, p.maxDets[-1])

  def _gt_id(self, row: int):
    return self._ids.annotations.original(int(self._gt_ann_ids[row]))

  def _dt_id(self, row: int):
    return self._dt_ids[row] if self._dt_ids is not None else int(row) + 1

  # ------------------------------------------------------------ pycocotools
  def compute_iou(self, img_id, cat_id):
    """pycocotools computeIoU / computeOks: D x G (detections best first), or []."""
    p = self._params
    return self._ious_of(self._group(img_id, cat_id, p.areaRng, p.maxDets[-1]))

  @staticmethod
  def _ious_of(g):
    if g is None:
      return []
    dt_rows, gt_rows, ious = g[0], g[1], g[2]
    if len(dt_rows) == 0 or len(gt_rows) == 0 or len(ious) == 0:
      return []
    return ious.reshape(len(dt_rows), len(gt_rows))

  def ious(self) -> dict:
    p = self._params
    cat_ids = p.catIds if p.useCats else [-1]
    groups = self._all_groups()
    return {(img_id, cat_id): self._ious_of(groups.get(self._native_key(img_id, cat_id)))
            for img_id in p.imgIds for cat_id in cat_ids}

  def evaluate_img(self, img_id, cat_id, a_rng, max_det):
    """pycocotools evaluateImg(imgId, catId, aRng, maxDet)."""
    g = self._group(img_id, cat_id, [a_rng], max_det)
    return None if g is None else self._entry(img_id, cat_id, a_rng, max_det, g, 0, 1)

  def eval_imgs(self) -> list:
    """pycocotools evalImgs: for catId, for areaRng, for imgId (None when empty)."""
    p = self._params
    cat_ids = p.catIds if p.useCats else [-1]
    max_det = p.maxDets[-1]
    out: list = []
    all_groups = self._all_groups()
    for cat_id in cat_ids:
      groups = [all_groups.get(self._native_key(img_id, cat_id)) for img_id in p.imgIds]
      for a, a_rng in enumerate(p.areaRng):
        out.extend(
            None if g is None else self._entry(img_id, cat_id, a_rng, max_det, g, a, len(p.areaRng))
            for img_id, g in zip(p.imgIds, groups))
    return out

  def _entry(self, img_id, cat_id, a_rng, max_det, group, a: int, num_areas: int) -> dict[str, Any]:
    dt_rows, gt_rows, _, gt_ignore, dt_match = group
    T, D, G = len(self._params.iouThrs), len(dt_rows), len(gt_rows)
    ignore = gt_ignore.reshape(num_areas, G)[a] if G else np.zeros(0, np.uint8)
    match = dt_match.reshape(num_areas, T, D)[a]
    gt_ids = [self._gt_id(r) for r in gt_rows]
    dt_ids = [self._dt_id(r) for r in dt_rows]
    # evaluateImg: ground truth stable-sorted by _ignore; each's position after the sort.
    gtind = np.argsort(ignore, kind="mergesort")
    position = np.empty(G, dtype=np.int64)
    position[gtind] = np.arange(G)
    gtm = np.zeros((T, G))
    dtm = np.zeros((T, D))
    gtIg = np.array([int(ignore[i]) for i in gtind])
    dtIg = np.zeros((T, D))
    for tind, dind in zip(*np.nonzero(match >= 0)):
      m = match[tind, dind]
      dtIg[tind, dind] = ignore[m]
      dtm[tind, dind] = gt_ids[m]
    for tind in range(T):  # in detection order: a crowd matched twice keeps the last
      for dind in range(D):
        if match[tind, dind] >= 0:
          gtm[tind, position[match[tind, dind]]] = dt_ids[dind]
    areas = self._dt_areas[dt_rows]
    out_of_range = np.array([x < a_rng[0] or x > a_rng[1] for x in areas]).reshape((1, D))
    dtIg = np.logical_or(dtIg, np.logical_and(dtm == 0, np.repeat(out_of_range, T, 0)))
    return {
        "image_id": img_id,
        "category_id": cat_id,
        "aRng": a_rng,
        "maxDet": max_det,
        "dtIds": dt_ids,
        "gtIds": [gt_ids[i] for i in gtind],
        "dtMatches": dtm,
        "gtMatches": gtm,
        "dtScores": self._dt_scores[dt_rows].tolist(),
        "gtIgnore": gtIg,
        "dtIgnore": dtIg,
    }
