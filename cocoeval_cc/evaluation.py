"""The fast path: evaluate two files without building Python objects per annotation,
and the result object the binaries write out (metrics.json, per-category table, arrays)."""
from __future__ import annotations

import dataclasses
import time
from typing import Sequence

import numpy as np

from cocoeval_cc import _cocoeval_cc as _native
from cocoeval_cc import metrics
from cocoeval_cc.cocoeval import Params


@dataclasses.dataclass
class EvaluationResult:
  """Everything one evaluation produced: summary, per-category statistics, raw arrays."""
  iou_type: str
  params: Params
  stats: np.ndarray  # (S,) summary statistics, pycocotools order
  category_ids: list[int]  # the K axis ([-1] without useCats)
  category_names: list[str]
  category_stats: np.ndarray  # (S, K): stat i restricted to category k, -1 without GT
  precision: np.ndarray  # [T, R, K, A, M]
  recall: np.ndarray  # [T, K, A, M]
  scores: np.ndarray  # [T, R, K, A, M]
  summary: list[str]  # pycocotools' printed lines
  timings: dict[str, float]
  # The native evaluator (its matching state): what the analyses (tide, diagnostics,
  # comparison) are computed from, without evaluating again.
  evaluator: object = dataclasses.field(default=None, repr=False, compare=False)

  @property
  def stat_specs(self) -> list[metrics.StatSpec]:
    return metrics.stat_specs(self.params.areaRngLbl, self.params.maxDets, self.iou_type)

  @property
  def stat_names(self) -> list[str]:
    return metrics.short_names(self.stat_specs, self.iou_type)

  def tf_metrics(self, include_per_category: bool = True,
                 all_metrics_per_category: bool = True) -> dict[str, float]:
    per_cat = self.category_stats if include_per_category and self.params.useCats else None
    return metrics.tf_metrics(self.iou_type, self.stat_specs, self.stats, self.category_names,
                              per_cat, all_metrics_per_category)

  def per_category(self) -> list[dict]:
    if not self.params.useCats:
      return []
    return [{"id": cid, "name": name, "stats": [float(v) for v in self.category_stats[:, k]]}
            for k, (cid, name) in enumerate(zip(self.category_ids, self.category_names))]

  def per_category_table(self) -> str:
    """A fixed-width table: one row per category, one column per statistic."""
    names = self.stat_names
    width = max([len("category")] + [len(n) for n in self.category_names])
    head = f"{'category':<{width}} " + " ".join(f"{n:>9}" for n in names)
    rows = [head, "-" * len(head)]
    for row in self.per_category():
      cells = " ".join(f"{v:9.3f}" if v > -1 else f"{'-':>9}" for v in row["stats"])
      rows.append(f"{row['name']:<{width}} {cells}")
    return "\n".join(rows)

  def to_json_dict(self) -> dict:
    p = self.params
    return {
        "iou_type": self.iou_type,
        "stat_names": self.stat_names,
        "stats": [float(v) for v in self.stats],
        "metrics": self.tf_metrics(),
        "per_category": self.per_category(),
        "params": {
            "iouThrs": [float(v) for v in p.iouThrs],
            "recThrs_count": len(p.recThrs),
            "maxDets": [int(v) for v in p.maxDets],
            "areaRng": [[float(lo), float(hi)] for lo, hi in p.areaRng],
            "areaRngLbl": list(p.areaRngLbl),
            "useCats": bool(p.useCats),
            "num_images": len(p.imgIds) if p.imgIds is not None else None,
        },
        "timings_seconds": dict(self.timings),
    }

  def arrays(self) -> dict[str, np.ndarray]:
    return {
        "precision": self.precision, "recall": self.recall, "scores": self.scores,
        "category_stats": self.category_stats,
        "category_ids": np.asarray(self.category_ids, dtype=np.int64)
    }


def evaluate_files(annotations: str, detections: str, iou_type: str = "bbox",
                   params: Params | None = None, num_threads: int = 0) -> EvaluationResult:
  """Loads ground truth and results from JSON files and evaluates them in the native core."""
  timings = {}
  start = time.perf_counter()
  gt = _native.load_ground_truth(annotations)
  timings["load_gt"] = time.perf_counter() - start
  start = time.perf_counter()
  dt = _native.load_results(gt, detections, num_threads)
  timings["load_dt"] = time.perf_counter() - start
  return evaluate_loaded(gt, dt, iou_type, params, num_threads, timings)


def evaluate_loaded(gt, dt, iou_type: str, params: Params | None, num_threads: int,
                    timings: dict[str, float] | None = None) -> EvaluationResult:
  """Evaluates native ground truth and detections (as returned by the loaders)."""
  timings = dict(timings or {})
  if params is None:
    params = Params(iou_type)
  params.iouType = iou_type
  evaluator = _native.Evaluator(gt, dt, params.to_native(iou_type), num_threads=num_threads)
  for stage, fn in (("evaluate", evaluator.evaluate), ("accumulate", evaluator.accumulate),
                    ("summarize", evaluator.summarize), ("per_category",
                                                         evaluator.per_category_stats)):
    start = time.perf_counter()
    out = fn()
    timings[stage] = time.perf_counter() - start
    if stage == "per_category":
      category_stats = out
  names = dict(zip((int(i) for i in gt.category_ids), gt.category_names))
  cat_ids = [int(k) for k in evaluator.category_axis]
  stats = evaluator.stats
  return EvaluationResult(
      iou_type=iou_type, params=params, stats=stats, category_ids=cat_ids,
      category_names=[names.get(k, "all" if k == -1 else str(k))
                      for k in cat_ids], category_stats=category_stats,
      precision=evaluator.precision, recall=evaluator.recall, scores=evaluator.scores,
      summary=[f"{line} = {v:0.3f}" for line, v in zip(evaluator.stat_descriptions, stats)],
      timings=timings, evaluator=evaluator)


def area_ranges_from_spec(spec: Sequence[str]) -> tuple[list[list[float]], list[str]]:
  """Parses ["all:0:1e10", "small:0:1024", ...] into (areaRng, areaRngLbl)."""
  ranges, labels = [], []
  for item in spec:
    parts = item.split(":")
    if len(parts) != 3:
      raise ValueError(f"area range {item!r}: expected label:min:max")
    label, lo, hi = parts[0], float(parts[1]), float(parts[2])
    if not label or lo > hi:
      raise ValueError(f"area range {item!r}: needs a label and min <= max")
    ranges.append([lo, hi])
    labels.append(label)
  return ranges, labels
