"""Slices and statistically honest model comparison, from an evaluation's matching state.

Both re-accumulate the per-image evaluation (evaluate.cc's EvalState) that `evaluate()` already
computed: no IoU or matching is done again.

  slice_by(ev, {"night": [1, 5, 9]})      # every statistic for named subsets of the images
  compare(ev_a, ev_b, n_bootstrap=1000)    # paired bootstrap intervals of b - a

`ev` is a COCOeval (after evaluate()), an EvaluationResult of the fast path, or the native
Evaluator itself (ids as they are, categories named by id).

Slices. A slice's statistics equal pycocotools run with `params.imgIds = <slice>`, bit for bit.
Built-in slices (empty ones left out):
  image_area:<0.25MP, image_area:0.25-0.5MP, image_area:0.5-1MP, image_area:>=1MP  the image's
      width x height in pixels (< 250,000; < 500,000; < 1,000,000; the rest), and
      image_area:unknown for images without width / height;
  objects:0, objects:1-3, objects:4-10, objects:11+  the number of non-crowd ground-truth
      annotations of the evaluated categories in the image, and objects:has_crowd for the
      images with at least one crowd region (they are also in their count bucket).

Bootstrap. Resample n images with replacement from the n evaluated ones, the same draw for
both models (std::mt19937_64 seeded from (seed, resample index) through std::seed_seq, with a
rejection-sampled uniform index: the same draws on every platform and for any thread count).
Each resample recomputes every summary statistic and every category's AP for both models by
re-weighting the fixed global score order (an image drawn c times counts c times); the
interval is numpy's linear percentile of delta = b - a at (1 - confidence) / 2 and
1 - (1 - confidence) / 2, and a difference is significant iff the interval excludes 0. Point
estimates are the full data's. Ties: the c copies of a detection are consecutive in the score
order, so this equals pycocotools on the resampled data set (copies of an image with adjacent
image ids) whenever the detections of one image have distinct scores; when two detections of
one image tie, their copies are ordered detection by detection rather than copy by copy.
Resamples where a statistic is undefined (-1: no ground truth drawn for it) are left out of
its interval. Unlike hotcoco's compare, a resample keeps multiplicities (hotcoco reduces each
draw to the set of distinct images, about 63 % of them), which is the standard bootstrap.
"""
from __future__ import annotations

import json
import numbers
import os
from typing import Any, Mapping, Sequence

from cocoeval_cc import _cocoeval_cc as _native
from cocoeval_cc import metrics


class _Source:
  """What both analyses need from an evaluation, whichever object holds it."""

  def __init__(self, obj: Any, role: str):
    from cocoeval_cc.cocoeval import COCOeval  # pylint: disable=import-outside-toplevel
    from cocoeval_cc.evaluation import EvaluationResult  # pylint: disable=import-outside-toplevel
    self.num_threads = 0
    if isinstance(obj, COCOeval):
      if obj._evaluator is None or not _native.evaluator_evaluated(obj._evaluator):  # noqa: SLF001
        raise RuntimeError(f"{role}: run evaluate() first")
      self.evaluator = obj._evaluator  # noqa: SLF001
      self.num_threads = obj.num_threads
      ids = obj.cocoGt.native_ids
      self._images, self._categories = ids.images, ids.categories
      self._names = obj.cocoGt.category_names()
    elif isinstance(obj, EvaluationResult):
      if obj.evaluator is None:
        raise ValueError(f"{role}: this EvaluationResult has no native evaluator")
      self.evaluator = obj.evaluator
      self._images = self._categories = None
      self._names = dict(zip(obj.category_ids, obj.category_names))
    elif isinstance(obj, _native.Evaluator):
      if not _native.evaluator_evaluated(obj):
        raise RuntimeError(f"{role}: run evaluate() first")
      self.evaluator = obj
      self._images = self._categories = None
      self._names = {}
    else:
      raise TypeError(f"{role}: expected a COCOeval, an EvaluationResult or a native Evaluator, "
                      f"got {type(obj).__name__}")
    p = self.evaluator.params
    self.use_cats = bool(p.use_cats)
    self.stat_names = metrics.short_names(
        metrics.stat_specs(p.area_rng_lbl, p.max_dets, p.iou_type), p.iou_type)

  def image_original(self, n: int):
    return int(n) if self._images is None else self._images.original(int(n))

  def images_native(self, ids: Sequence) -> list[int]:
    if self._images is None:
      return [int(i) for i in ids]
    return self._images.native_list(ids)

  def evaluated_images(self) -> list:
    """The evaluated image ids, as the caller knows them."""
    return [self.image_original(n) for n in self.evaluator.params.img_ids]

  def categories(self) -> list[tuple[Any, str]]:
    """(id, name) along the K axis."""
    out = []
    for n in self.evaluator.category_axis.tolist():
      cid = n if self._categories is None or n == -1 else self._categories.original(n)
      out.append((cid, self._names.get(cid, "all" if cid == -1 else str(cid))))
    return out


def _read_slices(slices: Mapping[str, Sequence] | str | os.PathLike | None) -> dict[str, list]:
  if slices is None:
    return {}
  if isinstance(slices, (str, os.PathLike)):
    with open(slices, encoding="utf-8") as f:
      slices = json.load(f)
  if not isinstance(slices, Mapping):
    raise ValueError(f"slices must be a mapping {{name: [image ids]}} (or a JSON file of one), "
                     f"got {type(slices).__name__}")
  out = {}
  for name, ids in slices.items():
    if not isinstance(name, str):
      raise ValueError(f"slices: slice names must be strings, got {name!r}")
    if hasattr(ids, "tolist"):  # numpy arrays
      ids = ids.tolist()
    if isinstance(ids, (str, bytes, Mapping)) or not isinstance(ids, (Sequence, set, frozenset)):
      raise ValueError(f"slice {name!r} must be a list of image ids, got {type(ids).__name__}")
    out[name] = list(ids)
  return out


def _hashable(x):
  try:
    hash(x)
    return x
  except TypeError:
    return repr(x)


def slice_by(ev: Any, slices: Mapping[str, Sequence] | str | os.PathLike | None = None,
             builtin: bool = True) -> dict[str, dict]:
  """Every statistic re-accumulated for named subsets of the evaluated images.

  slices: {name: [image ids]} (or the path of a JSON file holding one), in the order given;
  builtin: also the built-in slices (module docstring), after them. Returns
  {name: {"num_images": int, "stats": [S floats], "stat_names": [S names],
          "per_category": [{"id", "name", "stats": [S floats]}]}}
  (per_category is empty without useCats; -1 marks a statistic without ground truth, as in
  pycocotools). ValueError for an empty slice, ids that were not evaluated (naming the slice
  and the first of them), or a name that collides with a built-in slice.
  """
  src = _Source(ev, "slice_by")
  user = _read_slices(slices)
  evaluated = {_hashable(i) for i in src.evaluated_images()}
  todo: list[tuple[str, list[int]]] = []
  for name, ids in user.items():
    if not ids:
      raise ValueError(f"slice {name!r} is empty")
    unknown = [i for i in ids if _hashable(i) not in evaluated]
    if unknown:
      raise ValueError(f"slice {name!r}: {len(unknown)} image id(s) not among the evaluated "
                       f"images, first {unknown[:5]!r}")
    todo.append((name, src.images_native(ids)))
  if builtin:
    for name, ids in _native.builtin_slices(src.evaluator):
      if name in user:
        raise ValueError(f"slice {name!r} has the name of a built-in slice: rename it or pass "
                         f"builtin=False")
      todo.append((name, list(ids)))
  cats = src.categories()
  out = {}
  for name, ids in todo:
    r = _native.slice_stats(src.evaluator, name, ids, src.num_threads)
    per_cat = r["per_category"]
    out[name] = {
        "num_images":
            int(r["num_images"]),
        "stats": [float(v) for v in r["stats"]],
        "stat_names":
            list(src.stat_names),
        "per_category": [{"id": cid, "name": cname, "stats": [float(v) for v in per_cat[:, k]]}
                         for k, (cid, cname) in enumerate(cats)] if src.use_cats else [],
    }
  return out


def _check_int(name: str, value, lo: int, hi: int | None = None) -> int:
  if isinstance(value, bool) or not isinstance(value, numbers.Integral):
    raise ValueError(f"{name} must be an integer, got {value!r}")
  value = int(value)
  if value < lo or (hi is not None and value > hi):
    bound = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
    raise ValueError(f"{name} must be {bound}, got {value}")
  return value


def compare(eval_a: Any, eval_b: Any, n_bootstrap: int = 1000, seed: int = 0,
            confidence: float = 0.95) -> dict:
  """Paired bootstrap comparison of two evaluations on the same images: b - a with intervals.

  eval_a, eval_b: COCOeval objects after evaluate() (or EvaluationResults, or native
  Evaluators) on the same images and categories with the same parameters. Returns
  {"n_bootstrap", "seed", "confidence", "num_images",
   "stats": [{"name", "a", "b", "delta", "lo", "hi", "significant"}]  (every summary statistic),
   "per_category": [{"id", "name", "a", "b", "delta", "lo", "hi", "significant"}]}
  (per_category: each category's AP where the models have ground truth; categories whose AP is
  -1 are left out; empty without useCats). A statistic that is -1 for either model, or defined in
  no resample, has delta / lo / hi None and is not significant. ValueError for n_bootstrap < 1,
  confidence outside (0, 1), a negative seed, or evaluations on different images, categories or
  parameters.
  """
  n_bootstrap = _check_int("n_bootstrap", n_bootstrap, 1)
  seed = _check_int("seed", seed, 0, 2 ** 64 - 1)
  if isinstance(
      confidence,
      bool) or not isinstance(confidence, numbers.Real) or not (0.0 < float(confidence) < 1.0):
    raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
  confidence = float(confidence)
  src_a, src_b = _Source(eval_a, "eval_a"), _Source(eval_b, "eval_b")
  if src_a.evaluated_images() != src_b.evaluated_images():
    raise ValueError("compare: eval_a and eval_b were evaluated on different images "
                     f"({len(src_a.evaluator.params.img_ids)} vs "
                     f"{len(src_b.evaluator.params.img_ids)}); evaluate both on the same ones")
  if src_a.categories() != src_b.categories():
    raise ValueError("compare: eval_a and eval_b were evaluated on different categories")
  raw = _native.compare(src_a.evaluator, src_b.evaluator, n_bootstrap, seed, confidence,
                        max(src_a.num_threads, src_b.num_threads))

  def entry(d: dict) -> dict:
    a, b = float(d["a"]), float(d["b"])
    defined = a > -1 and b > -1 and d["lo"] is not None
    lo = float(d["lo"]) if defined else None
    hi = float(d["hi"]) if defined else None
    return {
        "a": a, "b": b, "delta": (b - a) if a > -1 and b > -1 else None, "lo": lo, "hi": hi,
        "significant": bool(defined and (lo > 0.0 or hi < 0.0))
    }

  stats = [{"name": name, **entry(d)} for name, d in zip(src_a.stat_names, raw["stats"])]
  per_category = []
  if src_a.use_cats:
    for (cid, cname), d in zip(src_a.categories(), raw["per_category"]):
      if d["a"] > -1 and d["b"] > -1:
        per_category.append({"id": cid, "name": cname, **entry(d)})
  return {
      "n_bootstrap": n_bootstrap,
      "seed": seed,
      "confidence": confidence,
      "num_images": int(raw["num_images"]),
      "stats": stats,
      "per_category": per_category,
  }
