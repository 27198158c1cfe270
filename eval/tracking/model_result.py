"""One model's evaluation for the reports: ModelInfo (the registry's description) + the run.

  info = model_result.ModelInfo.from_registry(model_registry.get("d0"))
  result = model_result.load_model_result("OUT/efficientdet_d0_coco17_tpu-32/metrics.json", info)
  result.stat("AP"), result.category_stat("person", "AP75"), result.supercategory("person")

metrics.json is read by eval/results.py (`read_model_result`, the one parser of its schema);
ModelResult adds what the reports need on top of it. Values are the evaluator's (fractions, -1 =
no ground truth); the zoo's published mAP is in percent as the zoo lists it
(ModelInfo.published_map) and converted where compared.
"""
from __future__ import annotations

import dataclasses
import functools
import os
from typing import Iterable, Mapping, Sequence

from configs import model_registry
from eval import results

OTHER_SUPERCATEGORY = "other"  # a category whose ground truth names no supercategory


@dataclasses.dataclass(frozen=True)
class ModelInfo:
  """What the model registry knows about one model.

  key: "d0".."d7"; task_name: the zoo name (efficientdet_d0_coco17_tpu-32), also the ClearML
  task name and OUT/<task_name>/; phi: compound scaling factor; input_size: pixels;
  published_map: the zoo's COCO mAP in percent (33.6); published_ms: the zoo's speed in ms.
  """
  key: str
  task_name: str
  phi: int | None  # None: not an EfficientDet model
  input_size: int | None = None
  published_map: float | None = None
  published_ms: float | None = None

  @classmethod
  def from_registry(cls, entry: "model_registry.ZooModel") -> "ModelInfo":
    """An entry of the model registry (configs/model_registry.py)."""
    return cls(key=entry.key, task_name=entry.model_name,
               phi=entry.efficientdet.phi if entry.efficientdet is not None else None,
               input_size=entry.input_size[1] if entry.input_size else None,
               published_map=entry.zoo_coco_map, published_ms=entry.zoo_speed_ms)

  @property
  def label(self) -> str:
    return f"{self.key.upper()} (phi={self.phi})" if self.phi is not None else self.key


@dataclasses.dataclass(frozen=True)
class ScaleAxis:
  """Where the comparison puts each model: EfficientDet's compound scaling factor phi; for
  models without one common scaling factor (several families), their rank by the zoo's
  published speed, fastest first (models without a published speed last)."""
  chart: str  # chart titles: "mAP vs <chart>"
  chart_short: str  # "per-category mAP vs <chart_short>"
  label: str  # the x axis' label
  short: str  # column and value name
  positions: Mapping[str, int]  # model key -> x

  def x(self, info: ModelInfo) -> int:
    return self.positions[info.key]

  def tick(self, info: ModelInfo) -> str:
    return f"{info.phi}\n{info.key.upper()}" if self.short == "phi" else info.key

  def value_text(self, info: ModelInfo) -> str:
    """The model's place, for a table cell or a caption: "0" (phi), "1" (rank)."""
    return str(self.x(info))


def scale_axis(model_results: Iterable["ModelResult"]) -> ScaleAxis:
  """phi when every model has one, else the published-speed rank (ScaleAxis)."""
  model_results = list(model_results)
  if all(r.info.phi is not None for r in model_results):
    return ScaleAxis("compound scaling factor", "scaling factor", "compound scaling factor phi",
                     "phi", {r.info.key: r.info.phi for r in model_results})
  ranked = sorted(
      model_results, key=lambda r:
      (r.info.published_ms is None, r.info.published_ms or 0.0, r.info.key))
  return ScaleAxis("published speed rank", "published speed rank",
                   "models by the zoo's published speed (fastest first)", "speed rank",
                   {r.info.key: n + 1 for n, r in enumerate(ranked)})


# What a model's speed is taken from: the zoo's published V100 figure, or this run's measurement.
TIMINGS = ("published", "measured")


@dataclasses.dataclass(frozen=True)
class ModelResult:
  """One model's evaluation: a metrics.json (results.ModelRunResult) and its ModelInfo.

  The statistics are the run's primary (first) IoU type's. metrics_path: the metrics.json it
  was read from (OUT/<task_name>/metrics.json), None for a result only in memory.
  """
  info: ModelInfo
  run: results.ModelRunResult
  metrics_path: str | None = None

  @property
  def stat_names(self) -> list[str]:
    return list(self.run.primary.stat_names)

  @property
  def stats(self) -> list[float]:
    return list(self.run.primary.stats)

  @property
  def metrics(self) -> dict[str, float]:
    """Every TF OD API metric key (all IoU types) -> value."""
    return self.run.metrics

  @property
  def per_category(self) -> tuple[results.CategoryResult, ...]:
    """The categories (id, name, stats, supercategory) in the evaluator's order."""
    return self.run.primary.per_category

  @property
  def iou_type(self) -> str:
    return self.run.primary.iou_type

  @property
  def per_category_csv(self) -> str | None:
    """per_category.csv next to metrics.json, when it exists."""
    if not self.metrics_path:
      return None
    path = os.path.join(os.path.dirname(self.metrics_path), results.PER_CATEGORY_CSV)
    return path if os.path.exists(path) else None

  @functools.cached_property
  def _categories(self) -> dict[str, results.CategoryResult]:
    by_name: dict[str, results.CategoryResult] = {}
    for row in self.per_category:
      by_name.setdefault(row.name, row)  # the first of equal names, as a scan would find
    return by_name

  def stat(self, name: str) -> float:
    return float(self.run.primary.stat(name))

  def category_stat(self, category: str, name: str = "AP") -> float:
    """The category's statistic `name`; -1 for a category this run does not have."""
    row = self._categories.get(category)
    if row is None:
      return -1.0
    return float(row.stats[self.run.primary.stat_names.index(name)])

  def supercategory(self, category: str) -> str:
    """The ground truth's supercategory of `category` ("other" when it names none)."""
    row = self._categories.get(category)
    return row.supercategory if row is not None and row.supercategory else OTHER_SUPERCATEGORY

  @property
  def category_names(self) -> list[str]:
    return [row.name for row in self.per_category]

  @property
  def ap_per_ms(self) -> float | None:
    """Measured AP (in %) per published millisecond: accuracy per unit of compute."""
    if not self.info.published_ms or results.is_missing(self.stat("AP")):
      return None
    return self.stat("AP") * 100.0 / self.info.published_ms

  @property
  def measured_ms(self) -> float | None:
    """The median model latency per image measured in this run (metrics.json "speed"), after
    warm-up; None when the detections came from the cache or the run recorded none."""
    latency = (self.run.speed or {}).get("latency_ms") or {}
    p50 = latency.get("p50")
    return float(p50) if p50 else None

  @property
  def measured_device(self) -> str | None:
    """Where measured_ms was measured (CPU model and threads, or GPU name)."""
    device = (self.run.speed or {}).get("device")
    if isinstance(device, (list, tuple)):
      return ", ".join(str(d) for d in device) or None
    return str(device) if device else None

  def ms(self, timing: str) -> float | None:
    """Milliseconds per image: the zoo's published V100 figure or this run's measured p50."""
    if timing not in TIMINGS:
      raise ValueError(f"timing {timing!r}: one of {', '.join(TIMINGS)}")
    return self.info.published_ms if timing == "published" else self.measured_ms


def load_model_result(metrics_json: str, info: ModelInfo) -> ModelResult:
  """Reads OUT/<task_name>/metrics.json of the model `info` describes.

  Raises OSError if it cannot be read, results.SchemaError if it is not a metrics.json.
  """
  path = os.path.abspath(metrics_json)
  return ModelResult(info, results.read_model_result(path), metrics_path=path)


def by_phi(model_results: Iterable[ModelResult]) -> list[ModelResult]:
  """In the comparison's order (scale_axis: by phi, else by published speed)."""
  model_results = list(model_results)
  axis = scale_axis(model_results)
  return sorted(model_results, key=lambda r: (axis.x(r.info), r.info.key))


def common_categories(model_results: Sequence[ModelResult]) -> list[str]:
  """Category names in the first result's order, then any others (union over results)."""
  return list(dict.fromkeys(n for r in model_results for n in r.category_names))


def supercategories(model_results: Sequence[ModelResult]) -> dict[str, str]:
  """Category name -> supercategory, for common_categories() in its order.

  A category's supercategory is the first one a result's ground truth gives it ("other" when
  none does); the supercategories' order of first appearance is the order to show them in.
  """
  out = {}
  for name in common_categories(model_results):
    out[name] = next(
        (s for s in (r.supercategory(name) for r in model_results) if s != OTHER_SUPERCATEGORY),
        OTHER_SUPERCATEGORY)
  return out
