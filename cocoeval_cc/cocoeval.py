"""COCOeval with pycocotools' interface, computed by the native core.

Switching from pycocotools is a change of import: `from cocoeval_cc import COCO, COCOeval`.
Results (`stats`, `eval['precision' | 'recall' | 'scores']`) equal pycocotools 2.0.11 bit for
bit. Additions: `category_stats` (the TF Object Detection API's per-category summary, every
statistic for every category), `num_threads`, and sharded evaluation
(`evaluate_images` / `merge_states` / `set_state`).
"""
from __future__ import annotations

import copy
import datetime
import time
from typing import Sequence

import numpy as np

from cocoeval_cc import _cocoeval_cc as _native
from cocoeval_cc import coco as coco_module
from cocoeval_cc import metrics
from cocoeval_cc import per_image
from cocoeval_cc.coco import COCO


class Params:
  """pycocotools' Params: the same attribute names and defaults."""

  def setDetParams(self) -> None:
    """bbox / segm defaults, as pycocotools sets them (imgIds = catIds = []: none)."""
    self.imgIds = []
    self.catIds = []
    self.iouThrs = np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1, endpoint=True)
    self.recThrs = np.linspace(.0, 1.00, int(np.round((1.00 - .0) / .01)) + 1, endpoint=True)
    self.maxDets = [1, 10, 100]
    self.areaRng = [[0 ** 2, 1e5 ** 2], [0 ** 2, 32 ** 2], [32 ** 2, 96 ** 2], [96 ** 2, 1e5 ** 2]]
    self.areaRngLbl = ["all", "small", "medium", "large"]
    self.useCats = 1

  def setKpParams(self) -> None:
    """Keypoint defaults: maxDets [20], areas all / medium / large, COCO's 17 person sigmas."""
    self.imgIds = []
    self.catIds = []
    self.iouThrs = np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1, endpoint=True)
    self.recThrs = np.linspace(.0, 1.00, int(np.round((1.00 - .0) / .01)) + 1, endpoint=True)
    self.maxDets = [20]
    self.areaRng = [[0 ** 2, 1e5 ** 2], [32 ** 2, 96 ** 2], [96 ** 2, 1e5 ** 2]]
    self.areaRngLbl = ["all", "medium", "large"]
    self.useCats = 1
    self.kpt_oks_sigmas = np.array([
        .26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89
    ]) / 10.0

  def __init__(self, iouType: str = "segm"):
    if iouType in ("bbox", "segm"):
      self.setDetParams()
    elif iouType == "keypoints":
      self.setKpParams()
    else:
      raise ValueError(f"unknown iouType {iouType!r} (expected 'bbox', 'segm' or 'keypoints')")
    self.iouType = iouType
    # None means every ground-truth image / category (COCOeval fills them in from the ground
    # truth, as pycocotools does); a list, even an empty one, means exactly those ids, so
    # imgIds = [] or (with useCats) catIds = [] evaluates nothing, as in pycocotools.
    self.imgIds: list[int] | None = None
    self.catIds: list[int] | None = None
    self.useSegm = None  # deprecated in pycocotools: when set, 1 means segm, else bbox

  def to_native(self, iou_type: str,
                ids: "coco_module.NativeIds | None" = None) -> "_native.Params":
    """The native parameters; `ids` (the ground truth's native_ids) numbers the ids natively."""
    if self.useSegm is not None:
      # pycocotools' evaluate(): the deprecated useSegm overrides iouType.
      iou_type = self.iouType = "segm" if self.useSegm == 1 else "bbox"
    p = _native.Params(iou_type)
    if self.imgIds is not None:
      img_ids = self.imgIds if ids is None else ids.images.native_list(self.imgIds)
      p.img_ids = [int(i) for i in np.unique(np.asarray(img_ids, dtype=np.int64))]
    if self.catIds is not None:
      # Pooled (useCats=0) evaluation keeps the given category order, as pycocotools does.
      cat_ids = self.catIds if ids is None else ids.categories.native_list(self.catIds)
      cat_ids = np.asarray(cat_ids, dtype=np.int64).ravel()
      p.cat_ids = [int(i) for i in (np.unique(cat_ids) if self.useCats else cat_ids)]
    p.iou_thrs = [float(t) for t in np.asarray(self.iouThrs, dtype=np.float64).ravel()]
    p.rec_thrs = [float(t) for t in np.asarray(self.recThrs, dtype=np.float64).ravel()]
    p.max_dets = sorted(int(m) for m in self.maxDets)
    p.area_rng = [(float(lo), float(hi)) for lo, hi in self.areaRng]
    p.area_rng_lbl = [str(label) for label in self.areaRngLbl]
    p.use_cats = bool(self.useCats)
    if iou_type == "keypoints" and getattr(self, "kpt_oks_sigmas", None) is not None:
      p.kpt_oks_sigmas = [float(s) for s in np.asarray(self.kpt_oks_sigmas, np.float64).ravel()]
    return p


class COCOeval:
  """Evaluates detections against ground truth (bbox, segm or keypoints), like pycocotools'."""

  def __init__(self, cocoGt: COCO | None = None, cocoDt: COCO | None = None, iouType: str = "segm",
               *, num_threads: int = 0):
    self.cocoGt, self.cocoDt = cocoGt, cocoDt
    self.params = Params(iouType=iouType)
    self.num_threads = num_threads
    self.eval: dict = {}
    self.stats: np.ndarray = np.zeros(0)
    self.category_stats: np.ndarray | None = None
    self.timings: dict[str, float] = {}
    self._evaluator = None
    self._paramsEval: Params | None = None  # noqa: N815 (pycocotools' name): the evaluated ones
    self._curves_from_params: Params | None = None  # set when accumulate() used other params
    self._per_image: per_image.PerImage | None = None
    self._eval_imgs: list | None = None
    self._ious: dict | None = None
    if cocoGt is not None:  # sorted(getImgIds()), sorted(getCatIds()), from the native side
      self.params.imgIds = cocoGt.sorted_image_ids()
      self.params.catIds = cocoGt.sorted_category_ids()

  # -------------------------------------------------------------- the stages
  def _new_evaluator(self):
    if self.cocoGt is None:
      raise ValueError("COCOeval needs ground truth (cocoGt)")
    # Any COCO can be the detections: a result set from loadRes, or one assembled by hand.
    gt = self.cocoGt
    dt = self.cocoDt.native_detections_for(gt) if self.cocoDt is not None else None
    p = self.params
    if p.imgIds is not None:
      p.imgIds = coco_module.unique_ids(p.imgIds)  # np.unique's order; ids of any type
    if p.useCats and p.catIds is not None:
      p.catIds = coco_module.unique_ids(p.catIds)
    p.maxDets = sorted(p.maxDets)
    return _native.Evaluator(gt.native_ground_truth, dt, p.to_native(p.iouType, gt.native_ids),
                             num_threads=self.num_threads)

  def _timed(self, stage: str, fn):
    start = time.perf_counter()
    result = fn()
    self.timings[stage] = time.perf_counter() - start
    return result

  def evaluate(self) -> None:
    """Matches detections to ground truth for every image, category and area range."""
    self._evaluator = self._new_evaluator()
    self._paramsEval = copy.deepcopy(self.params)
    self._per_image, self._eval_imgs, self._ious = None, None, None
    self._timed("evaluate", self._evaluator.evaluate)

  def evaluate_images(self, img_ids: Sequence[int]) -> "_native.EvalState":
    """Evaluates a shard of the images; the returned state pickles and merges."""
    if self._evaluator is None:
      self._evaluator = self._new_evaluator()
    return self._evaluator.evaluate_images(self.cocoGt.native_ids.images.native_list(img_ids))

  def set_state(self, state: "_native.EvalState") -> None:
    """Adopts a (merged) evaluation state, as if evaluate() had run on its images."""
    if self._evaluator is None:
      self._evaluator = self._new_evaluator()
    self._paramsEval = copy.deepcopy(self.params)
    self._per_image, self._eval_imgs, self._ious = None, None, None
    self._evaluator.set_state(state)

  def accumulate(self, p: Params | None = None) -> None:
    """Precision / recall / score curves (pycocotools' eval), from `p` or the current params.

    As in pycocotools, the parameters are read now, not at evaluate(): other recall thresholds
    or maxDets re-accumulate the evaluated matches (maxDets not evaluated give -1 slots).
    """
    if self._evaluator is None:
      raise RuntimeError("Please run evaluate() first")
    p = self.params if p is None else p
    if not p.useCats:
      p.catIds = [-1]  # pycocotools' accumulate() does this to the params it is given
    e, pe = self._evaluator, self._paramsEval
    if _same_curves(p, pe):
      self._timed("accumulate", e.accumulate)
      self._curves_from_params = None
      precision, recall, scores = e.precision, e.recall, e.scores
    else:
      precision, recall, scores = self._timed("accumulate", lambda: self._curves_with(p, pe))
      self._curves_from_params = p
    self.eval = {
        "params": p,
        "counts": [
            len(p.iouThrs),
            len(p.recThrs),
            len(e.category_axis),
            len(p.areaRng),
            len(p.maxDets)
        ],
        "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
        "precision": precision,
        "recall": recall,
        "scores": scores,
    }

  def _curves_with(self, p: Params, pe: Params):
    """accumulate(p) for other recThrs / maxDets over the evaluated matches. pycocotools
    indexes the evaluated matches by position in p's ids, areas and IoU thresholds, which is
    only meaningful when they are the evaluated ones: anything else is refused."""
    for name in ("iouThrs", "areaRng", "imgIds", "catIds"):
      evaluated = [-1] if name == "catIds" and not pe.useCats else getattr(pe, name)
      if not _same_list(getattr(p, name), evaluated):
        raise ValueError(f"accumulate(p): p.{name} differs from the evaluated one; pycocotools "
                         "reads the evaluated matches by position there, so only recThrs and "
                         "maxDets may change after evaluate() (for image subsets use slice_by)")
    if bool(p.useCats) != bool(pe.useCats):
      raise ValueError("accumulate(p): p.useCats differs from the evaluated one")
    evaluated_max_dets = set(int(m) for m in pe.maxDets)
    kept = [int(m) for m in p.maxDets if int(m) in evaluated_max_dets]  # pycocotools' m_list
    T, R = len(p.iouThrs), len(p.recThrs)
    K, A, M = len(self._evaluator.category_axis), len(p.areaRng), len(p.maxDets)
    precision, scores = -np.ones((T, R, K, A, M)), -np.ones((T, R, K, A, M))
    recall = -np.ones((T, K, A, M))
    if kept:
      values = sorted(set(kept))
      rec_thrs = [float(t) for t in np.asarray(p.recThrs, dtype=np.float64).ravel()]
      pr, rc, sc = self._evaluator.accumulate_with(rec_thrs, values, self.num_threads)
      for slot, m in enumerate(kept):
        precision[..., slot] = pr[..., values.index(m)]
        scores[..., slot] = sc[..., values.index(m)]
        recall[..., slot] = rc[..., values.index(m)]
    return precision, recall, scores

  def summarize(self, verbose: bool = True) -> None:
    """Computes (and prints) the summary statistics and the per-category statistics."""
    if not self.eval:
      raise RuntimeError("Please run accumulate() first")
    e = self._evaluator
    if self._curves_from_params is not None:  # curves of other params: pycocotools' summarize
      lines, self.stats = self._timed("summarize", self._summarize_curves)
      self.category_stats = None
      if verbose:
        print("\n".join(lines))
      return
    self.stats = self._timed("summarize", e.summarize)
    self.category_stats = self._timed("per_category", e.per_category_stats)
    if verbose:
      for line, value in zip(e.stat_descriptions, self.stats):
        print(f"{line} = {value:0.3f}")

  def _summarize_curves(self) -> tuple[list[str], np.ndarray]:
    """pycocotools' summarize() over self.eval (after accumulate(p)): self.params' labels and
    maxDets index the arrays, as there (numpy does the means, so the values are its own)."""
    p = self.params
    iou_thrs = np.asarray(p.iouThrs)
    lines, stats = [], []
    for spec in metrics.stat_specs(p.areaRngLbl, p.maxDets, p.iouType):
      s = self.eval["precision" if spec.precision else "recall"]
      if spec.iou is not None:
        s = s[np.where(spec.iou == iou_thrs)[0]]
      a = [i for i, label in enumerate(p.areaRngLbl) if label == spec.area]
      m = [i for i, d in enumerate(p.maxDets) if d == spec.max_dets]
      s = s[:, :, :, a, m] if spec.precision else s[:, :, a, m]
      value = -1.0 if len(s[s > -1]) == 0 else float(np.mean(s[s > -1]))
      stats.append(value)
      iou = (f"{iou_thrs[0]:0.2f}:{iou_thrs[-1]:0.2f}" if spec.iou is None else f"{spec.iou:0.2f}")
      title, kind = (("Average Precision", "(AP)") if spec.precision else
                     ("Average Recall", "(AR)"))
      lines.append(f" {title:<18} {kind} @[ IoU={iou:<9} | area={spec.area:>6s} | "
                   f"maxDets={spec.max_dets:>3d} ] = {value:0.3f}")
    return lines, np.array(stats)

  # ----------------------------- pycocotools' per-image results, built when first asked for
  def _per_image_results(self) -> per_image.PerImage:
    if self._evaluator is None:
      raise RuntimeError("Please run evaluate() first")
    if self._per_image is None:
      self._per_image = per_image.PerImage(self._evaluator, self.cocoGt, self.cocoDt, self.params)
    return self._per_image

  @property
  def evalImgs(self) -> list:  # noqa: N802 (pycocotools' name)
    """pycocotools' evalImgs: one dict (or None) per category x area range x image."""
    if self._eval_imgs is None:
      self._eval_imgs = self._per_image_results().eval_imgs()
    return self._eval_imgs

  @evalImgs.setter
  def evalImgs(self, value: list) -> None:  # noqa: N802
    self._eval_imgs = value

  @property
  def ious(self) -> dict:
    """pycocotools' ious: {(imgId, catId): D x G array, or [] }."""
    if self._ious is None:
      self._ious = self._per_image_results().ious()
    return self._ious

  @ious.setter
  def ious(self, value: dict) -> None:
    self._ious = value

  def computeIoU(self, imgId, catId):  # noqa: N802,N803
    return self._per_image_results().compute_iou(imgId, catId)

  def computeOks(self, imgId, catId):  # noqa: N802,N803
    return self._per_image_results().compute_iou(imgId, catId)

  def evaluateImg(self, imgId, catId, aRng, maxDet):  # noqa: N802,N803
    return self._per_image_results().evaluate_img(imgId, catId, aRng, maxDet)

  # -------------------------- analysis: why AP is lost (tide.py, diagnostics.py, comparison.py)
  def tide_errors(self, pos_thr: float = 0.5, bg_thr: float = 0.1) -> dict:
    """TIDE error decomposition (tidecv 1.0.1) of this evaluation; schema in tide.tide_errors."""
    from cocoeval_cc import tide  # pylint: disable=import-outside-toplevel
    if self._evaluator is None:
      raise RuntimeError("Please run evaluate() first")
    return tide.tide_errors(self._evaluator, pos_thr, bg_thr,
                            category_id_map=self.cocoGt.native_ids.categories.original,
                            num_threads=self.num_threads)

  # diagnostics.py: PR curves, F1 thresholds, confusion, calibration, per-image diagnostics.
  def _diagnostics(self):
    from cocoeval_cc import diagnostics  # pylint: disable=import-outside-toplevel
    if self._evaluator is None:
      raise RuntimeError("Please run evaluate() first")
    return diagnostics, diagnostics.labels_of(self.cocoGt)

  def pr_curves(self, iou: float | None = None) -> dict:
    """PR curves per category and overall (area all, last maxDets); see diagnostics.pr_curves."""
    d, labels = self._diagnostics()
    return d.pr_curves(self._evaluator, labels, iou)

  def f1_thresholds(self, iou: float = 0.5) -> list[dict]:
    """Per category, the F1-optimal score threshold at iou; see diagnostics.f1_thresholds."""
    d, labels = self._diagnostics()
    return d.f1_thresholds(self._evaluator, labels, iou, self.num_threads)

  def confusion(self, iou: float = 0.5, score_thr: float = 0.5) -> dict:
    """Cross-class confusion matrix (+ background / missed); see diagnostics.confusion."""
    d, labels = self._diagnostics()
    return d.confusion(self._evaluator, labels, iou, score_thr, self.num_threads)

  def calibration(self, iou: float = 0.5, n_bins: int = 10) -> dict:
    """ECE / MCE and the reliability bins of the scores; see diagnostics.calibration."""
    d, _ = self._diagnostics()
    return d.calibration(self._evaluator, iou, n_bins)

  def image_diagnostics(self, iou: float = 0.5, score_thr: float = 0.5, top_n: int = 20) -> dict:
    """Per-image TP / FP / FN, the worst images, likely label errors; see diagnostics."""
    d, labels = self._diagnostics()
    return d.image_diagnostics(self._evaluator, labels, iou, score_thr, top_n, self.num_threads)

  def slice_by(self, slices=None, builtin: bool = True) -> dict:
    """Every statistic for named subsets of the images, from this evaluation's matching (no
    IoU computed again); each equals pycocotools with params.imgIds = the slice. Schema and
    built-in slices: comparison.slice_by."""
    from cocoeval_cc import comparison  # pylint: disable=import-outside-toplevel
    return comparison.slice_by(self, slices, builtin)

  # ------------------------------------------------------------- extras
  @property
  def stat_specs(self) -> list[metrics.StatSpec]:
    return metrics.stat_specs(self.params.areaRngLbl, self.params.maxDets, self.params.iouType)

  @property
  def category_ids(self) -> list[int]:
    """Category ids along the K axis of eval arrays and category_stats ([-1] without useCats)."""
    ids = self.cocoGt.native_ids.categories  # the ground truth's ids (native ones are dense)
    return [ids.original(k) if k != -1 else -1 for k in self._evaluator.category_axis]

  def tf_metrics(self, all_metrics_per_category: bool = True) -> dict[str, float]:
    """The summary as the TF Object Detection API names it (DetectionBoxes_Precision/mAP, ...)."""
    names = self.cocoGt.category_names()
    per_cat = self.category_stats if self.params.useCats else None
    return metrics.tf_metrics(self.params.iouType, self.stat_specs, self.stats,
                              [names.get(k, str(k)) for k in self.category_ids], per_cat,
                              all_metrics_per_category)


def _same_list(a, b) -> bool:
  a, b = np.asarray(a, dtype=object).ravel(), np.asarray(b, dtype=object).ravel()
  return a.shape == b.shape and bool(np.all(a == b))


def _same_curves(p: Params, pe: Params) -> bool:
  """True when accumulate() with p gives exactly the evaluated curves."""
  return all(
      _same_list(getattr(p, name), getattr(pe, name))
      for name in ("iouThrs", "recThrs", "maxDets", "areaRng", "imgIds")) and (bool(
          p.useCats) == bool(pe.useCats)) and (not p.useCats or _same_list(p.catIds, pe.catIds))


def merge_states(states: Sequence["_native.EvalState"]) -> "_native.EvalState":
  """Merges the states of disjoint image shards (from COCOeval.evaluate_images)."""
  return _native.merge_states(list(states))
