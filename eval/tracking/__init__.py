"""Tracking and reporting of evaluation results (the all_efficientdet sweep).

  clearml_session  starts a ClearML Task safely (offline by default, never a silent hang).
  clearml_report   logs one model's results, or the comparison of several, to a Task.
  html_report      writes the same comparison as a self-contained local report.

This module holds what they share: the model description (ModelInfo), one model's results as
//eval:evaluate_model writes them (ModelResult, load_model_result), the sweet-spot analysis,
number formatting, COCO's category list and synthetic results for demos and tests.

Values are kept as the evaluator writes them (fractions, -1 = no ground truth); published zoo
mAP is in percent as the zoo lists it (ModelInfo.published_map) and converted where compared.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import random
from typing import Any, Iterable, Mapping, Sequence

from cocoeval_cc import metrics as coco_metrics
from configs import model_registry

# The 12 statistics in pycocotools order and their TF OD API keys (without the
# DetectionBoxes_/DetectionMasks_ prefix), as the evaluator names them, and a readable label.
_DEFAULT_SPECS = coco_metrics.stat_specs(("all", "small", "medium", "large"), (1, 10, 100))
STAT_NAMES = tuple(coco_metrics.short_names(_DEFAULT_SPECS))
TF_KEYS = tuple(spec.key for spec in _DEFAULT_SPECS)
STAT_LABELS = {
    "AP": "AP @[.50:.95] (mAP)", "AP50": "AP @.50", "AP75": "AP @.75",
    "AP_small": "AP small", "AP_medium": "AP medium", "AP_large": "AP large",
    "AR1": "AR @1 det", "AR10": "AR @10 dets", "AR100": "AR @100 dets",
    "AR_small": "AR small", "AR_medium": "AR medium", "AR_large": "AR large",
}
TF_PREFIX = coco_metrics.TF_PREFIX
MISSING = "\u2013"  # shown for -1 (no ground truth) and absent values

# mscoco_label_map.pbtxt: (id, display_name, COCO supercategory).
COCO_CATEGORIES = (
    (1, "person", "person"), (2, "bicycle", "vehicle"), (3, "car", "vehicle"),
    (4, "motorcycle", "vehicle"), (5, "airplane", "vehicle"), (6, "bus", "vehicle"),
    (7, "train", "vehicle"), (8, "truck", "vehicle"), (9, "boat", "vehicle"),
    (10, "traffic light", "outdoor"), (11, "fire hydrant", "outdoor"),
    (13, "stop sign", "outdoor"), (14, "parking meter", "outdoor"), (15, "bench", "outdoor"),
    (16, "bird", "animal"), (17, "cat", "animal"), (18, "dog", "animal"),
    (19, "horse", "animal"), (20, "sheep", "animal"), (21, "cow", "animal"),
    (22, "elephant", "animal"), (23, "bear", "animal"), (24, "zebra", "animal"),
    (25, "giraffe", "animal"), (27, "backpack", "accessory"), (28, "umbrella", "accessory"),
    (31, "handbag", "accessory"), (32, "tie", "accessory"), (33, "suitcase", "accessory"),
    (34, "frisbee", "sports"), (35, "skis", "sports"), (36, "snowboard", "sports"),
    (37, "sports ball", "sports"), (38, "kite", "sports"), (39, "baseball bat", "sports"),
    (40, "baseball glove", "sports"), (41, "skateboard", "sports"),
    (42, "surfboard", "sports"), (43, "tennis racket", "sports"), (44, "bottle", "kitchen"),
    (46, "wine glass", "kitchen"), (47, "cup", "kitchen"), (48, "fork", "kitchen"),
    (49, "knife", "kitchen"), (50, "spoon", "kitchen"), (51, "bowl", "kitchen"),
    (52, "banana", "food"), (53, "apple", "food"), (54, "sandwich", "food"),
    (55, "orange", "food"), (56, "broccoli", "food"), (57, "carrot", "food"),
    (58, "hot dog", "food"), (59, "pizza", "food"), (60, "donut", "food"), (61, "cake", "food"),
    (62, "chair", "furniture"), (63, "couch", "furniture"), (64, "potted plant", "furniture"),
    (65, "bed", "furniture"), (67, "dining table", "furniture"), (70, "toilet", "furniture"),
    (72, "tv", "electronic"), (73, "laptop", "electronic"), (74, "mouse", "electronic"),
    (75, "remote", "electronic"), (76, "keyboard", "electronic"),
    (77, "cell phone", "electronic"), (78, "microwave", "appliance"), (79, "oven", "appliance"),
    (80, "toaster", "appliance"), (81, "sink", "appliance"), (82, "refrigerator", "appliance"),
    (84, "book", "indoor"), (85, "clock", "indoor"), (86, "vase", "indoor"),
    (87, "scissors", "indoor"), (88, "teddy bear", "indoor"), (89, "hair drier", "indoor"),
    (90, "toothbrush", "indoor"),
)
SUPERCATEGORY = {name: sup for _, name, sup in COCO_CATEGORIES}
SUPERCATEGORY_ORDER = tuple(dict.fromkeys(sup for _, _, sup in COCO_CATEGORIES))


def supercategory(name: str) -> str:
  """COCO supercategory of a category display name ("other" for non-COCO names)."""
  return SUPERCATEGORY.get(name, "other")


def is_missing(value: Any) -> bool:
  """True for None, NaN and the evaluator's -1 (no ground truth)."""
  if value is None:
    return True
  try:
    v = float(value)
  except (TypeError, ValueError):
    return True
  return math.isnan(v) or v < 0  # statistics are never negative: -1 means none


def fmt(value: Any, digits: int = 3, scale: float = 1.0) -> str:
  """A statistic for people: `digits` decimals after multiplying by `scale`; -1/None/NaN -> "–"."""
  if is_missing(value):
    return MISSING
  return f"{float(value) * scale:.{digits}f}"


@dataclasses.dataclass(frozen=True)
class ModelInfo:
  """What the model registry knows about one model.

  key: "d0".."d7"; task_name: the zoo name (efficientdet_d0_coco17_tpu-32), also the ClearML
  task name and OUT/<task_name>/; phi: compound scaling factor; input_size: pixels;
  published_map: the zoo's COCO mAP in percent (33.6); published_ms: the zoo's speed in ms.
  """
  key: str
  task_name: str
  phi: int
  input_size: int | None = None
  published_map: float | None = None
  published_ms: float | None = None

  @classmethod
  def from_registry(cls, entry: "model_registry.ZooModel") -> "ModelInfo":
    """An EfficientDet entry of the model registry (configs/model_registry.py)."""
    if entry.efficientdet is None:
      raise ValueError(f"{entry.key}: not an EfficientDet model (no compound scaling factor)")
    return cls(key=entry.key, task_name=entry.model_name, phi=entry.efficientdet.phi,
               input_size=entry.input_size[1] if entry.input_size else None,
               published_map=entry.zoo_coco_map, published_ms=entry.zoo_speed_ms)

  @property
  def label(self) -> str:
    return f"{self.key.upper()} (phi={self.phi})"


@dataclasses.dataclass
class ModelResult:
  """One model's evaluation: metrics.json of //eval:evaluate_model plus its ModelInfo."""
  info: ModelInfo
  stat_names: list[str]
  stats: list[float]
  metrics: dict[str, float]
  per_category: list[dict]  # {"id", "name", "stats": [...]} in the evaluator's order
  iou_type: str = "bbox"
  metrics_path: str | None = None        # OUT/<task_name>/metrics.json, when read from disk
  per_category_csv: str | None = None    # OUT/<task_name>/per_category.csv, when it exists
  raw: dict = dataclasses.field(default_factory=dict, repr=False)

  def stat(self, name: str) -> float:
    return float(self.stats[self.stat_names.index(name)])

  def category_stat(self, category: str, name: str = "AP") -> float:
    i = self.stat_names.index(name)
    for row in self.per_category:
      if row["name"] == category:
        return float(row["stats"][i])
    return -1.0

  @property
  def category_names(self) -> list[str]:
    return [row["name"] for row in self.per_category]

  @property
  def ap_per_ms(self) -> float | None:
    """Measured AP (in %) per published millisecond: accuracy per unit of compute."""
    if not self.info.published_ms or is_missing(self.stat("AP")):
      return None
    return self.stat("AP") * 100.0 / self.info.published_ms


def result_from_dict(data: Mapping[str, Any], info: ModelInfo, metrics_path: str | None = None
                     ) -> ModelResult:
  """A ModelResult from metrics.json contents (see //eval:evaluate_model)."""
  for key in ("stat_names", "stats", "metrics"):
    if key not in data:
      raise ValueError(f"{metrics_path or 'metrics'}: no {key!r}: not a metrics.json of "
                       "//eval:evaluate_model")
  stat_names = list(data["stat_names"])
  stats = [float(v) for v in data["stats"]]
  if len(stat_names) != len(stats):
    raise ValueError(f"{metrics_path or 'metrics'}: {len(stat_names)} stat_names but "
                     f"{len(stats)} stats")
  per_category = [{"id": row.get("id"), "name": str(row["name"]),
                   "stats": [float(v) for v in row["stats"]]}
                  for row in data.get("per_category") or []]
  csv_path = None
  if metrics_path:
    candidate = os.path.join(os.path.dirname(metrics_path), "per_category.csv")
    csv_path = candidate if os.path.exists(candidate) else None
  return ModelResult(info=info, stat_names=stat_names, stats=stats,
                     metrics={k: float(v) for k, v in dict(data["metrics"]).items()},
                     per_category=per_category, iou_type=str(data.get("iou_type", "bbox")),
                     metrics_path=metrics_path, per_category_csv=csv_path, raw=dict(data))


def load_model_result(metrics_json: str, info: ModelInfo) -> ModelResult:
  """Reads OUT/<task_name>/metrics.json of the model `info` describes."""
  with open(metrics_json) as f:
    data = json.load(f)
  return result_from_dict(data, info, metrics_path=os.path.abspath(metrics_json))


def by_phi(results: Iterable[ModelResult]) -> list[ModelResult]:
  return sorted(results, key=lambda r: (r.info.phi, r.info.key))


def common_categories(results: Sequence[ModelResult]) -> list[str]:
  """Category names in the first result's order, then any others (union over results)."""
  return list(dict.fromkeys(n for r in results for n in r.category_names))


@dataclasses.dataclass(frozen=True)
class SweetSpot:
  """Where accuracy per unit of compute is best (published speeds are the compute measure).

  most_accurate: highest measured AP; best_ap_per_ms: highest AP(%) per ms; knee: the model
  furthest above the straight line from the fastest to the slowest model on the AP-vs-ms
  curve (the point of diminishing returns, Kneedle's criterion on normalised axes);
  marginal: (key, extra AP points per extra ms compared with the previous faster model).
  """
  most_accurate: str
  best_ap_per_ms: str | None
  knee: str | None
  marginal: tuple[tuple[str, float | None], ...]
  text: str


def sweet_spot(results: Sequence[ModelResult]) -> SweetSpot | None:
  """The sweet-spot hint for these results (None without results)."""
  valid = [r for r in results if not is_missing(r.stat("AP"))]
  if not valid:
    return None
  most = max(valid, key=lambda r: r.stat("AP"))
  timed = sorted((r for r in valid if r.info.published_ms), key=lambda r: r.info.published_ms)
  best_ratio = max(timed, key=lambda r: r.ap_per_ms) if timed else None
  knee = None
  marginal = []
  if len(timed) >= 3:
    x0, x1 = timed[0].info.published_ms, timed[-1].info.published_ms
    ys = [r.stat("AP") for r in timed]
    y0, y1 = min(ys), max(ys)
    if x1 > x0 and y1 > y0:
      def above_chord(r):
        x = (r.info.published_ms - x0) / (x1 - x0)
        y = (r.stat("AP") - ys[0]) / (y1 - y0)
        y_line = (ys[-1] - ys[0]) / (y1 - y0) * x
        return y - y_line
      best = max(timed[1:-1], key=above_chord)
      knee = best.info.key if above_chord(best) > 0 else None
  for prev, cur in zip([None] + timed[:-1], timed):
    if prev is None or cur.info.published_ms == prev.info.published_ms:
      marginal.append((cur.info.key, None))
    else:
      marginal.append((cur.info.key, (cur.stat("AP") - prev.stat("AP")) * 100.0
                       / (cur.info.published_ms - prev.info.published_ms)))
  parts = [f"Most accurate: {most.info.key.upper()} (AP {most.stat('AP') * 100:.1f})."]
  if best_ratio is not None:
    parts.append(f"Most accuracy per ms: {best_ratio.info.key.upper()} "
                 f"({best_ratio.ap_per_ms:.3f} AP points per published ms).")
  if knee is not None:
    k = next(r for r in timed if r.info.key == knee)
    parts.append(f"Knee of the AP-vs-speed curve: {knee.upper()} (AP {k.stat('AP') * 100:.1f} "
                 f"at {k.info.published_ms:g} ms); beyond it each extra ms buys less AP.")
  steps = [f"{k.upper()} +{g:.3f}" for k, g in marginal if g is not None]
  if steps:
    parts.append("AP points gained per extra ms over the next faster model: "
                 + ", ".join(steps) + ".")
  return SweetSpot(most_accurate=most.info.key,
                   best_ap_per_ms=best_ratio.info.key if best_ratio else None, knee=knee,
                   marginal=tuple(marginal), text=" ".join(parts))


# --- Synthetic results: plausible numbers for demos and tests, not measurements. ---

def efficientdet_info(key: str) -> ModelInfo:
  """The TF2 zoo's description of EfficientDet `key` ("d0".."d7"), from the model registry."""
  return ModelInfo.from_registry(model_registry.get(key))


def synthetic_metrics(info: ModelInfo, seed: int = 0, no_ground_truth: Sequence[str] = (),
                      iou_type: str = "bbox") -> dict:
  """metrics.json contents shaped like //eval:evaluate_model's, with plausible values.

  80 COCO categories; overall AP near the published mAP; per-category AP = overall AP plus a
  fixed per-category offset (the same for every model with the same seed), so the curves
  rise with phi; categories in `no_ground_truth` get -1 everywhere.
  """
  base = (info.published_map or 30.0) / 100.0 - 0.004
  ratios = (1.0, 1.52, 1.08, 0.45, 1.12, 1.38, 0.84, 1.30, 1.39, 0.70, 1.45, 1.72)

  def twelve(ap: float) -> list[float]:
    return [round(min(0.999, max(0.0, ap * r)), 6) for r in ratios]

  stats = twelve(base)
  cat_rng = random.Random(seed)  # per-category offsets: shared by all models
  per_category = []
  for cid, name, _ in COCO_CATEGORIES:
    offset = cat_rng.gauss(0.0, 0.12)
    slope = cat_rng.uniform(0.6, 1.4)
    if name in no_ground_truth:
      row = [-1.0] * 12
    else:
      ap = min(0.95, max(0.02, base + offset + (slope - 1.0) * (base - 0.33)))
      row = twelve(ap)
      if name in ("toaster", "hair drier"):  # no small objects of these
        row[3] = row[9] = -1.0
    per_category.append({"id": cid, "name": name, "stats": row})
  prefix = TF_PREFIX[iou_type]
  metrics = {prefix + key: v for key, v in zip(TF_KEYS, stats)}
  for row in per_category:
    metrics[f"{prefix}PerformanceByCategory/mAP/{row['name']}"] = row["stats"][0]
  for row in per_category:
    for key, v in zip(TF_KEYS, row["stats"]):
      metrics[f"{prefix}{key} ByCategory/{row['name']}"] = v
  return {
      "iou_type": iou_type, "stat_names": list(STAT_NAMES), "stats": stats,
      "metrics": metrics, "per_category": per_category,
      "params": {"iouThrs": [0.5 + 0.05 * i for i in range(10)], "recThrs_count": 101,
                 "maxDets": [1, 10, 100], "areaRng": [[0, 1e10], [0, 1024], [1024, 9216],
                                                      [9216, 1e10]],
                 "areaRngLbl": ["all", "small", "medium", "large"], "useCats": True,
                 "num_images": 5000},
      "iou_types": [iou_type],
  }
