"""The result schema: what an evaluation writes to OUT/metrics.json, and the output file names.

One module owns it: //eval:evaluate_model and the sweeps write a `ModelRunResult`, and every
reader (the sweep's resume check, the ClearML and HTML reports) reads one back with
`read_model_result`, so the file's layout is defined here and nowhere else.

metrics.json layout (schema_version 1), kept flat so that it reads like //eval:coco_eval's
--output_json: the primary IoU type's evaluation at the top level (iou_type, stat_names,
stats, per_category, params, timings_seconds), `metrics` with the TF OD API keys of every IoU
type, `iou_types` naming all of them, the other IoU types' evaluations under their name
("segm": {...}), then the run's description (model, input, inference, ...).

Values are the evaluator's: fractions, and -1 where there is no ground truth.
"""
from __future__ import annotations

import dataclasses
import json
import math
from typing import Any, Mapping, Sequence

from eval import atomic_io

SCHEMA_VERSION = 1

# Files of one evaluation's output folder (OUT/ of evaluate_model, OUT/<model_name>/ of a sweep).
METRICS = "metrics.json"  # written last: complete means the run succeeded
DETECTIONS = "detections.json"  # COCO results with "bbox"
SEGMENTATIONS = "segmentations.json"  # COCO results with "segmentation" (mask models)
DETECTIONS_FINGERPRINT = "detections.fingerprint.json"  # what the detection cache keys on
PER_CATEGORY_CSV = "per_category.csv"
CLEARML_RECORD = "clearml.json"  # the ClearML task a model's results went to
# Files of a sweep's report folder (OUT/report/).
REPORT_DIR = "report"
REPORT_INDEX = "index.html"
COMPARISON_RECORD = "clearml_comparison.json"


class SchemaError(ValueError):
  """A metrics.json that is not of this schema; the message names the file and the field."""


def _floats(values: Sequence[Any]) -> tuple[float, ...]:
  return tuple(float(v) for v in values)


def is_missing(value: Any) -> bool:
  """True for None, NaN and the evaluator's -1 (no ground truth)."""
  if value is None:
    return True
  try:
    v = float(value)
  except (TypeError, ValueError):
    return True
  return math.isnan(v) or v < 0  # statistics are never negative: -1 means none


@dataclasses.dataclass(frozen=True)
class CategoryResult:
  """One category's statistics (in the evaluation's stat_names order)."""
  id: int | str
  name: str
  stats: tuple[float, ...]
  supercategory: str | None = None

  def to_json(self) -> dict:
    row = {"id": self.id, "name": self.name, "stats": list(self.stats)}
    if self.supercategory is not None:
      row["supercategory"] = self.supercategory
    return row


@dataclasses.dataclass(frozen=True)
class IouTypeResult:
  """One IoU type's evaluation (//eval:coco_eval's --output_json holds the same fields)."""
  iou_type: str
  stat_names: tuple[str, ...]
  stats: tuple[float, ...]
  per_category: tuple[CategoryResult, ...]
  params: dict
  timings_seconds: dict[str, float] = dataclasses.field(default_factory=dict)

  @classmethod
  def from_evaluation(cls, result,
                      supercategories: Mapping[Any, str] | None = None) -> "IouTypeResult":
    """From a cocoeval_cc.evaluation.EvaluationResult; supercategories: category id -> name."""
    data = result.to_json_dict()
    supercategories = supercategories or {}
    return cls(
        iou_type=data["iou_type"], stat_names=tuple(data["stat_names"]),
        stats=_floats(data["stats"]), per_category=tuple(
            CategoryResult(row["id"], row["name"], _floats(row["stats"]),
                           supercategories.get(row["id"])) for row in data["per_category"]),
        params=data["params"], timings_seconds=dict(data["timings_seconds"]))

  def stat(self, name: str) -> float:
    return self.stats[self.stat_names.index(name)]

  def to_json(self) -> dict:
    return {
        "iou_type": self.iou_type, "stat_names": list(self.stat_names), "stats": list(self.stats),
        "per_category": [c.to_json() for c in self.per_category], "params": dict(self.params),
        "timings_seconds": dict(self.timings_seconds)
    }

  @classmethod
  def from_json(cls, data: Mapping[str, Any], where: str) -> "IouTypeResult":
    _require(data, ("iou_type", "stat_names", "stats"), where)
    stat_names, stats = tuple(data["stat_names"]), _floats(data["stats"])
    if len(stat_names) != len(stats):
      raise SchemaError(f"{where}: {len(stat_names)} stat_names but {len(stats)} stats")
    per_category = []
    for i, row in enumerate(data.get("per_category") or []):
      _require(row, ("name", "stats"), f"{where}: per_category[{i}]")
      per_category.append(
          CategoryResult(row.get("id"), str(row["name"]), _floats(row["stats"]),
                         row.get("supercategory")))
    return cls(iou_type=str(data["iou_type"]), stat_names=stat_names, stats=stats,
               per_category=tuple(per_category), params=dict(data.get("params") or {}),
               timings_seconds=dict(data.get("timings_seconds") or {}))


@dataclasses.dataclass(frozen=True)
class InferenceRun:
  """How the detections were obtained: cached, or how many images at what speed."""
  cached: bool
  num_images: int
  seconds: float
  images_per_second: float

  def to_json(self) -> dict:
    return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class ModelRunResult:
  """One model's evaluation on one data set: the contents of metrics.json.

  evaluations: one per IoU type, the primary (bbox) first. metrics: the TF OD API keys of
  every IoU type, restricted by the per-category options. model: the SavedModel's description
  (signature, device, pipeline config, ...); input: what identifies the data (the detection
  cache's key). sweep and speed: set by the sweeps and the distributed executor.
  """
  evaluations: tuple[IouTypeResult, ...]
  metrics: dict[str, float]
  model: dict = dataclasses.field(default_factory=dict)
  input: dict = dataclasses.field(default_factory=dict)
  annotations: str | None = None
  detections: str | None = None
  segmentations: str | None = None
  area_source: str = "annotation"
  include_metrics_per_category: bool = True
  all_metrics_per_category: bool = True
  inference: InferenceRun | None = None
  model_load_seconds: float = 0.0
  evaluation_seconds: float = 0.0
  sweep: dict | None = None
  speed: dict | None = None
  schema_version: int = SCHEMA_VERSION

  @property
  def primary(self) -> IouTypeResult:
    return self.evaluations[0]

  @property
  def iou_types(self) -> list[str]:
    return [e.iou_type for e in self.evaluations]

  def evaluation(self, iou_type: str) -> IouTypeResult:
    for e in self.evaluations:
      if e.iou_type == iou_type:
        return e
    raise KeyError(f"no {iou_type} evaluation (have {', '.join(self.iou_types)})")

  def to_json(self) -> dict:
    data = {
        "schema_version": self.schema_version,
        **self.primary.to_json(), "metrics": dict(self.metrics), "iou_types": self.iou_types
    }
    for e in self.evaluations[1:]:
      data[e.iou_type] = e.to_json()
    data.update(model=self.model, input=self.input, annotations=self.annotations,
                detections=self.detections, segmentations=self.segmentations,
                area_source=self.area_source,
                include_metrics_per_category=self.include_metrics_per_category,
                all_metrics_per_category=self.all_metrics_per_category,
                inference=self.inference.to_json() if self.inference else None,
                model_load_seconds=self.model_load_seconds,
                evaluation_seconds=self.evaluation_seconds)
    if self.sweep is not None:
      data["sweep"] = self.sweep
    if self.speed is not None:
      data["speed"] = self.speed
    return data

  @classmethod
  def from_json(cls, data: Any, where: str = METRICS) -> "ModelRunResult":
    """Parses metrics.json contents; SchemaError names `where` and what is wrong."""
    if not isinstance(data, dict):
      raise SchemaError(f"{where}: not a JSON object")
    version = data.get("schema_version", SCHEMA_VERSION)  # files before versioning: 1
    if version != SCHEMA_VERSION:
      raise SchemaError(f"{where}: schema_version {version!r}, this program reads "
                        f"{SCHEMA_VERSION}")
    _require(data, ("metrics",), where)
    try:
      primary = IouTypeResult.from_json(data, where)
      evaluations = [primary]
      for iou_type in (data.get("iou_types") or [primary.iou_type])[1:]:
        if not isinstance(data.get(iou_type), dict):
          raise SchemaError(f"{where}: iou_types names {iou_type!r} but it has no section")
        evaluations.append(IouTypeResult.from_json(data[iou_type], f"{where}: {iou_type}"))
      inference = data.get("inference")
      return cls(evaluations=tuple(evaluations), metrics={
          k: float(v) for k, v in dict(data["metrics"]).items()
      }, model=dict(data.get("model")
                    or {}), input=dict(data.get("input")
                                       or {}), annotations=data.get("annotations"),
                 detections=data.get("detections"), segmentations=data.get("segmentations"),
                 area_source=str(data.get("area_source", "annotation")),
                 include_metrics_per_category=bool(data.get("include_metrics_per_category", True)),
                 all_metrics_per_category=bool(data.get("all_metrics_per_category", True)),
                 inference=InferenceRun(**inference) if isinstance(inference, dict) else None,
                 model_load_seconds=float(data.get("model_load_seconds") or 0.0),
                 evaluation_seconds=float(data.get("evaluation_seconds") or 0.0),
                 sweep=data.get("sweep"), speed=data.get("speed"), schema_version=version)
    except (TypeError, ValueError, KeyError) as e:
      if isinstance(e, SchemaError):
        raise
      raise SchemaError(f"{where}: {type(e).__name__}: {e}") from e


def _require(data: Any, keys: Sequence[str], where: str) -> None:
  if not isinstance(data, Mapping):
    raise SchemaError(f"{where}: not a JSON object")
  missing = [k for k in keys if k not in data]
  if missing:
    raise SchemaError(f"{where}: no {', '.join(repr(k) for k in missing)}: not a metrics.json "
                      "of //eval:evaluate_model")


def write_model_result(path: str, result: ModelRunResult) -> None:
  """Writes metrics.json atomically (complete or absent)."""
  atomic_io.write_json(path, result.to_json())


def read_model_result(path: str) -> ModelRunResult:
  """Reads metrics.json; OSError if unreadable, SchemaError if not of this schema."""
  with open(path) as f:
    try:
      data = json.load(f)
    except ValueError as e:
      raise SchemaError(f"{path}: not JSON ({e})") from e
  return ModelRunResult.from_json(data, where=path)
