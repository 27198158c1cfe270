"""Names and presentation of the summary statistics.

The statistics come in pycocotools' summarize() order, generalised to any parameters:
AP over all IoU thresholds, AP at IoU .50 and .75, AP for every area range other than 'all',
AR for every maxDets, then AR at the largest maxDets for every other area range.
With default parameters these are the familiar 12, and their TensorFlow Object Detection API
key names are the ones TensorBoard and ClearML users know (`DetectionBoxes_Precision/mAP`).
Keypoints have pycocotools' _summarizeKps statistics (10 by default: AP, AP50, AP75, AP per area,
then the same for AR, at maxDets 20) and the TF OD API keypoint evaluator's names
(`Keypoints_Precision/mAP ByCategory/person`).
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from cocoeval_cc import _cocoeval_cc as _native

TF_PREFIX = {"bbox": "DetectionBoxes_", "segm": "DetectionMasks_", "keypoints": "Keypoints_"}

# The TF OD API's names of the keypoint statistics (coco_tools.COCO_KEYPOINT_METRIC_NAMES_AND_INDEX)
# keep the detection names: its "Recall/AR@1", "@10", "@100" are pycocotools' keypoint AR over
# .50:.95, at .50 and at .75 (all at maxDets 20), and "(medium)" / "(large)" the AR per area.
_KEYPOINT_AR_NAMES = {None: "Recall/AR@1", 0.5: "Recall/AR@10", 0.75: "Recall/AR@100"}


@dataclasses.dataclass(frozen=True)
class StatSpec:
  """One summary statistic: how it is computed and what it is called."""
  precision: bool  # AP (True) or AR (False)
  iou: float | None  # a single IoU threshold, or None for .50:.95
  area: str  # area range label
  max_dets: int
  key: str  # TF OD API style name without prefix, e.g. "Precision/mAP (small)"


def stat_specs(area_labels: Sequence[str], max_dets: Sequence[int],
               iou_type: str = "bbox") -> list[StatSpec]:
  """The summary statistics for these parameters, in the evaluator's order.

  Which statistics there are comes from the native core (summarize.cc's StatSpecs, the one
  definition); this adds their TF OD API names.
  """
  native = _native.stat_specs([str(a) for a in area_labels], sorted(int(m) for m in max_dets),
                              iou_type)
  key = _keypoint_key if iou_type == "keypoints" else _key
  return [StatSpec(s.ap, s.iou_thr, s.area_lbl, s.max_det, key(s)) for s in native]


def _key(spec: "_native.StatSpec") -> str:
  """A statistic's TF OD API name without prefix, e.g. "Recall/AR@100 (small)"."""
  if spec.ap:
    if spec.iou_thr is not None:
      return f"Precision/mAP@.{int(round(spec.iou_thr * 100)):02d}IOU"
    return "Precision/mAP" if spec.area_lbl == "all" else f"Precision/mAP ({spec.area_lbl})"
  if spec.area_lbl == "all":
    return f"Recall/AR@{spec.max_det}"
  return f"Recall/AR@{spec.max_det} ({spec.area_lbl})"


def _keypoint_key(spec: "_native.StatSpec") -> str:
  """A keypoint statistic's TF OD API name without prefix, e.g. "Recall/AR@100 (medium)"."""
  if spec.ap:
    return _key(spec)
  if spec.area_lbl == "all":
    return _KEYPOINT_AR_NAMES[spec.iou_thr]
  return f"Recall/AR@100 ({spec.area_lbl})"


def tf_metrics(iou_type: str, specs: Sequence[StatSpec], stats: Sequence[float],
               category_names: Sequence[str] | None = None,
               category_stats: np.ndarray | None = None,
               all_metrics_per_category: bool = True) -> dict[str, float]:
  """A metrics dictionary keyed as the TF Object Detection API's COCO evaluator keys it.

  With `category_stats` (stats x categories) it adds
  `<prefix>PerformanceByCategory/mAP/<name>` and, when `all_metrics_per_category`,
  `<prefix><stat> ByCategory/<name>` for every statistic (-1 for categories without
  ground truth), as the TF OD API's include_/all_metrics_per_category options do.
  Keypoints: the TF OD API evaluates each keypoint category on its own and reports
  `Keypoints_<stat> ByCategory/<name>` for every statistic, whatever the options; those keys
  come from `category_stats` (a category's column equals its evaluation alone).
  """
  prefix = TF_PREFIX[iou_type]
  metrics = {prefix + spec.key: float(v) for spec, v in zip(specs, stats)}
  if category_stats is None:
    return metrics
  category_stats = np.asarray(category_stats)
  if iou_type == "keypoints":
    for k, name in enumerate(category_names):
      for i, spec in enumerate(specs):
        metrics[f"{prefix}{spec.key} ByCategory/{name}"] = float(category_stats[i, k])
    return metrics
  for k, name in enumerate(category_names):
    metrics[f"{prefix}PerformanceByCategory/mAP/{name}"] = float(category_stats[0, k])
  if all_metrics_per_category:
    for k, name in enumerate(category_names):
      for i, spec in enumerate(specs):
        metrics[f"{prefix}{spec.key} ByCategory/{name}"] = float(category_stats[i, k])
  return metrics


def short_names(specs: Sequence[StatSpec], iou_type: str = "bbox") -> list[str]:
  """Column headers for tables: AP, AP50, AP75, AP_small, ..., AR1, AR10, AR100, AR_small, ..."""
  names = []
  for spec in specs:
    if spec.precision:
      if spec.iou is not None:
        names.append(f"AP{int(round(spec.iou * 100))}")
      elif spec.area == "all":
        names.append("AP")
      else:
        names.append(f"AP_{spec.area}")
    elif spec.area != "all":
      names.append(f"AR_{spec.area}")
    elif spec.iou is not None:  # keypoints: AR50, AR75
      names.append(f"AR{int(round(spec.iou * 100))}")
    elif iou_type == "keypoints":  # one AR over .50:.95, not one per maxDets
      names.append("AR")
    else:
      names.append(f"AR{spec.max_dets}")
  return names
