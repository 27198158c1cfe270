"""Synthetic EfficientDet results for tests and demos: plausible numbers, not measurements.

  info = synthetic_results.efficientdet_info("d0")
  run = synthetic_results.synthetic_run(info, no_ground_truth=("hair drier",))
  result = model_result.ModelResult(info, run)                       # in memory
  results = synthetic_results.write_synthetic_results(out, ["d0", "d1"])   # OUT/<task>/...

The runs are schema-valid results.ModelRunResult objects over COCO's 80 categories, with the
ground truth's supercategories, as //eval:evaluate_model writes them.
"""
from __future__ import annotations

import csv
import io
import os
import random
from typing import Sequence

import numpy as np

from cocoeval_cc import metrics as coco_metrics
from configs import model_registry
from eval import atomic_io
from eval import results
from eval.tracking import formatting
from eval.tracking import model_result

# Test data: mscoco_label_map.pbtxt's (id, display_name) with COCO's supercategory.
COCO_CATEGORIES = (
    (1, "person", "person"),
    (2, "bicycle", "vehicle"),
    (3, "car", "vehicle"),
    (4, "motorcycle", "vehicle"),
    (5, "airplane", "vehicle"),
    (6, "bus", "vehicle"),
    (7, "train", "vehicle"),
    (8, "truck", "vehicle"),
    (9, "boat", "vehicle"),
    (10, "traffic light", "outdoor"),
    (11, "fire hydrant", "outdoor"),
    (13, "stop sign", "outdoor"),
    (14, "parking meter", "outdoor"),
    (15, "bench", "outdoor"),
    (16, "bird", "animal"),
    (17, "cat", "animal"),
    (18, "dog", "animal"),
    (19, "horse", "animal"),
    (20, "sheep", "animal"),
    (21, "cow", "animal"),
    (22, "elephant", "animal"),
    (23, "bear", "animal"),
    (24, "zebra", "animal"),
    (25, "giraffe", "animal"),
    (27, "backpack", "accessory"),
    (28, "umbrella", "accessory"),
    (31, "handbag", "accessory"),
    (32, "tie", "accessory"),
    (33, "suitcase", "accessory"),
    (34, "frisbee", "sports"),
    (35, "skis", "sports"),
    (36, "snowboard", "sports"),
    (37, "sports ball", "sports"),
    (38, "kite", "sports"),
    (39, "baseball bat", "sports"),
    (40, "baseball glove", "sports"),
    (41, "skateboard", "sports"),
    (42, "surfboard", "sports"),
    (43, "tennis racket", "sports"),
    (44, "bottle", "kitchen"),
    (46, "wine glass", "kitchen"),
    (47, "cup", "kitchen"),
    (48, "fork", "kitchen"),
    (49, "knife", "kitchen"),
    (50, "spoon", "kitchen"),
    (51, "bowl", "kitchen"),
    (52, "banana", "food"),
    (53, "apple", "food"),
    (54, "sandwich", "food"),
    (55, "orange", "food"),
    (56, "broccoli", "food"),
    (57, "carrot", "food"),
    (58, "hot dog", "food"),
    (59, "pizza", "food"),
    (60, "donut", "food"),
    (61, "cake", "food"),
    (62, "chair", "furniture"),
    (63, "couch", "furniture"),
    (64, "potted plant", "furniture"),
    (65, "bed", "furniture"),
    (67, "dining table", "furniture"),
    (70, "toilet", "furniture"),
    (72, "tv", "electronic"),
    (73, "laptop", "electronic"),
    (74, "mouse", "electronic"),
    (75, "remote", "electronic"),
    (76, "keyboard", "electronic"),
    (77, "cell phone", "electronic"),
    (78, "microwave", "appliance"),
    (79, "oven", "appliance"),
    (80, "toaster", "appliance"),
    (81, "sink", "appliance"),
    (82, "refrigerator", "appliance"),
    (84, "book", "indoor"),
    (85, "clock", "indoor"),
    (86, "vase", "indoor"),
    (87, "scissors", "indoor"),
    (88, "teddy bear", "indoor"),
    (89, "hair drier", "indoor"),
    (90, "toothbrush", "indoor"),
)

_AREA_LABELS = ("all", "small", "medium", "large")
_MAX_DETS = (1, 10, 100)


def efficientdet_info(key: str) -> model_result.ModelInfo:
  """The TF2 zoo's description of EfficientDet `key` ("d0".."d7"), from the model registry."""
  return model_result.ModelInfo.from_registry(model_registry.get(key))


def synthetic_run(info: model_result.ModelInfo, seed: int = 0, no_ground_truth: Sequence[str] = (),
                  iou_type: str = "bbox",
                  measured_ms: float | None = None) -> results.ModelRunResult:
  """A metrics.json's contents shaped like //eval:evaluate_model's, with plausible values.

  80 COCO categories; overall AP near the published mAP; per-category AP = overall AP plus a
  fixed per-category offset (the same for every model with the same seed), so the curves
  rise with phi; categories in `no_ground_truth` get -1 everywhere. measured_ms: a speed
  section as the executor writes it, with this p50 latency.
  """
  base = (info.published_map or 30.0) / 100.0 - 0.004
  ratios = (1.0, 1.52, 1.08, 0.45, 1.12, 1.38, 0.84, 1.30, 1.39, 0.70, 1.45, 1.72)

  def twelve(ap: float) -> list[float]:
    return [round(min(0.999, max(0.0, ap * r)), 6) for r in ratios]

  stats = twelve(base)
  cat_rng = random.Random(seed)  # per-category offsets: shared by all models
  per_category = []
  for cid, name, supercategory in COCO_CATEGORIES:
    offset = cat_rng.gauss(0.0, 0.12)
    slope = cat_rng.uniform(0.6, 1.4)
    if name in no_ground_truth:
      row = [-1.0] * 12
    else:
      ap = min(0.95, max(0.02, base + offset + (slope - 1.0) * (base - 0.33)))
      row = twelve(ap)
      if name in ("toaster", "hair drier"):  # no small objects of these
        row[3] = row[9] = -1.0
    per_category.append(results.CategoryResult(cid, name, tuple(row), supercategory))
  specs = coco_metrics.stat_specs(_AREA_LABELS, _MAX_DETS)
  metrics = coco_metrics.tf_metrics(iou_type, specs, stats, [c.name for c in per_category],
                                    np.array([c.stats for c in per_category], dtype=float).T)
  evaluation = results.IouTypeResult(
      iou_type=iou_type, stat_names=formatting.STAT_NAMES, stats=tuple(stats),
      per_category=tuple(per_category), params={
          "iouThrs": [0.5 + 0.05 * i for i in range(10)], "recThrs_count": 101,
          "maxDets": list(_MAX_DETS), "areaRng": [[0, 1e10], [0, 1024], [1024, 9216], [9216, 1e10]],
          "areaRngLbl": list(_AREA_LABELS), "useCats": True, "num_images": 5000
      })
  speed = None
  if measured_ms is not None:
    speed = {
        "mode": "ray", "device": ["synthetic CPU, 1 TF thread"], "workers": 2,
        "latency_ms": {"p50": measured_ms, "p90": measured_ms * 1.2, "images": 5000}
    }
  return results.ModelRunResult(evaluations=(evaluation,), metrics=metrics,
                                model={"name": info.task_name, "synthetic": True}, speed=speed)


def per_category_csv(run: results.ModelRunResult) -> str:
  """per_category.csv as //eval:evaluate_model writes it (one row per IoU type and category)."""
  out = io.StringIO()
  writer = csv.writer(out, lineterminator="\n")
  writer.writerow(["iou_type", "category_id", "category"] + list(run.primary.stat_names))
  for evaluation in run.evaluations:
    for c in evaluation.per_category:
      writer.writerow([evaluation.iou_type, c.id, c.name] + [repr(v) for v in c.stats])
  return out.getvalue()


def write_synthetic_results(
    out_dir: str, keys: Sequence[str] | None = None,
    no_ground_truth: Sequence[str] = ("hair drier",)
) -> list[model_result.ModelResult]:
  """OUT/<task_name>/metrics.json and per_category.csv for `keys` (default d0-d7), read back."""
  keys = keys or [entry.key for entry in model_registry.efficientdet_models()]
  loaded = []
  for key in keys:
    info = efficientdet_info(key)
    run = synthetic_run(info, no_ground_truth=no_ground_truth)
    model_dir = os.path.join(out_dir, info.task_name)
    atomic_io.write_text(os.path.join(model_dir, results.PER_CATEGORY_CSV), per_category_csv(run))
    results.write_model_result(os.path.join(model_dir, results.METRICS), run)
    loaded.append(model_result.load_model_result(os.path.join(model_dir, results.METRICS), info))
  return loaded


def synthetic_analysis(result: model_result.ModelResult, seed: int = 0) -> dict:
  """analysis.json's TIDE and F1 threshold sections (eval/analysis), plausible numbers: the
  error types' delta AP shrink as the model's AP grows; F1 rows at IoU 0.5 and 0.75 for every
  category with ground truth."""
  rng = random.Random(seed * 1000 + (result.info.phi or 0))
  ap = result.stat("AP50")
  lost = 1.0 - ap
  shares = {"Cls": 0.12, "Loc": 0.30, "Both": 0.03, "Dupe": 0.01, "Bkg": 0.18, "Miss": 0.15}
  delta_ap = {k: round(lost * v * rng.uniform(0.9, 1.1), 6) for k, v in shares.items()}
  delta_ap["FP"] = round(delta_ap["Cls"] + delta_ap["Bkg"] + delta_ap["Dupe"], 6)
  delta_ap["FN"] = round(delta_ap["Miss"] + delta_ap["Loc"] * 0.5, 6)
  f1 = []
  for iou in (0.5, 0.75):
    for c in result.per_category:
      has_gt = c.stats[0] >= 0
      f1.append({
          "id": c.id, "name": c.name, "iou": iou,
          "score": round(rng.uniform(0.2, 0.6), 4) if has_gt else None,
          "precision": round(rng.uniform(0.5, 0.9), 4) if has_gt else None,
          "recall": round(rng.uniform(0.3, 0.8), 4) if has_gt else None,
          "f1": round(rng.uniform(0.4, 0.8), 4) if has_gt else None, "tp": 10 if has_gt else 0,
          "fp": 3, "num_gt": 14 if has_gt else 0
      })
  return {
      "iou_type": result.iou_type, "tide": {
          "pos_thr": 0.5, "bg_thr": 0.1, "ap": ap, "delta_ap": delta_ap,
          "counts": {k: 10 for k in shares}, "per_category": []
      }, "f1_thresholds": f1
  }


def write_synthetic_analysis(result: model_result.ModelResult) -> dict:
  """OUT/<task_name>/analysis/analysis.json for a result read from disk; returns its contents."""
  analysis = synthetic_analysis(result)
  atomic_io.write_json(
      os.path.join(os.path.dirname(result.metrics_path), "analysis", "analysis.json"), analysis)
  return analysis


def synthetic_bootstrap(ordered: Sequence[model_result.ModelResult],
                        half_width: float = 0.01) -> tuple[dict[str, dict], list[dict]]:
  """What eval/model_comparison.sweep_comparisons returns for `ordered` (in the comparison's
  order), with made-up intervals: each value +- half_width (pairs: the delta +- half_width/2)."""

  def folder(r):
    return os.path.basename(os.path.dirname(r.metrics_path)) if r.metrics_path else r.info.task_name

  intervals = {}
  for r in ordered:
    intervals[folder(r)] = {
        "n_bootstrap":
            1000, "seed":
                0, "confidence":
                    0.95, "num_images":
                        5000,
        "stats": [{"name": n, "value": v, "lo": v - half_width, "hi": v + half_width}
                  for n, v in zip(r.stat_names, r.stats)], "per_category": [{
                      "id": c.id, "name": c.name, "ap": c.stats[0], "lo": c.stats[0] - half_width,
                      "hi": c.stats[0] + half_width
                  } for c in r.per_category if c.stats[0] >= 0]
    }
  pairs = []
  for a, b in zip(ordered, ordered[1:]):

    def row(name, va, vb, **extra):
      delta = vb - va
      lo, hi = delta - half_width / 2, delta + half_width / 2
      return {
          **extra, "name": name, "a": va, "b": vb, "delta": delta, "lo": lo, "hi": hi,
          "significant": not lo <= 0.0 <= hi
      }

    pairs.append({
        "a": {"directory": folder(a),
              "model": folder(a)}, "b": {"directory": folder(b), "model": folder(b)}, "iou_type":
                  "bbox", "n_bootstrap":
                      1000, "seed":
                          0, "confidence":
                              0.95, "num_images":
                                  5000,
        "stats": [row(n, va, vb) for n, va, vb in zip(a.stat_names, a.stats, b.stats)],
        "per_category": [
            row(ca.name, ca.stats[0], cb.stats[0], id=ca.id)
            for ca, cb in zip(a.per_category, b.per_category)
            if ca.stats[0] >= 0 and cb.stats[0] >= 0
        ]
    })
  return intervals, pairs
