"""One evaluation's error analysis ("why AP is lost"), and the folder it is written to.

  analysis = analyze.compute(result, slices=analyze.load_slices(path))   # a JSON-ready dict
  analyze.write(folder, analysis, gallery=analyze.GalleryInputs(...))    # JSON, CSV, PNG

`result` is the fast path's cocoeval_cc.evaluation.EvaluationResult (bbox or segm): every
analysis is computed by the core from the evaluation's own matching (result.evaluator), not by
evaluating again. The analysis object's keys (analysis.json's, which the sweep's comparison
reads; see KEYS):
  iou_type           "bbox" or "segm"
  tide               TIDE's error decomposition (cocoeval_cc/tide.py)
  f1_thresholds      the F1-optimal score threshold of every category at IoU 0.5, then at 0.75
                     (one list; each row names its "iou")
  confusion          the (K+1) x (K+1) confusion matrix at the diagnostics' IoU and score
  calibration        expected calibration error and the reliability bins
  pr_curves          precision-recall curves, every IoU threshold, overall and per category
  image_diagnostics  TP / FP / FN per image, the worst images, likely label errors
  slices             every statistic on the built-in slices and the user's (--slices)
The folder: analysis.json (written last: complete means the folder is), f1_thresholds.csv,
tide_per_category.csv, image_diagnostics.csv, confusion.csv, the PNGs (PNGS) and gallery/ (the
worst images drawn, when their files are at hand).
"""
from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import math
import os
import shutil
from typing import Any, Callable, Mapping, Sequence

from absl import logging
import numpy as np

from cocoeval_cc import comparison
from cocoeval_cc import diagnostics
from cocoeval_cc import evaluation
from cocoeval_cc import tide
from eval import atomic_io
from eval.analysis import gallery as gallery_lib

ANALYSIS_DIR = "analysis"  # <out>/analysis/ of evaluate_model and of each sweep model
ANALYSIS_JSON = "analysis.json"
F1_CSV = "f1_thresholds.csv"
TIDE_CSV = "tide_per_category.csv"
IMAGES_CSV = "image_diagnostics.csv"
CONFUSION_CSV = "confusion.csv"
PNGS = {
    "tide": "tide.png", "pr_curves": "pr_curves.png", "confusion": "confusion.png",
    "calibration": "reliability.png"
}
GALLERY_DIR = "gallery"
KEYS = ("iou_type", "tide", "f1_thresholds", "confusion", "calibration", "pr_curves",
        "image_diagnostics", "slices")
IOU_TYPES = ("bbox", "segm")  # TIDE and the diagnostics are defined on boxes and masks


@dataclasses.dataclass(frozen=True)
class Settings:
  """The analyses' parameters (each checked by the core: a bad one is a ValueError)."""
  iou: float = 0.5  # confusion, calibration, per-image diagnostics, gallery
  score_thr: float = 0.5  # confusion, per-image diagnostics, gallery
  f1_ious: tuple[float, ...] = (0.5, 0.75)
  n_bins: int = 10  # calibration
  top_n: int = 20  # worst images listed (and drawn)
  tide_pos_thr: float = 0.5
  tide_bg_thr: float = 0.1


def load_slices(path: str) -> dict[str, list[int]]:
  """A slices file, {name: [image ids]}; a ValueError naming the file and what is wrong."""
  try:
    with open(path, "rb") as f:
      data = json.loads(f.read().decode("utf-8-sig"))
  except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
    raise ValueError(f"slices file {path}: cannot read it as JSON: {e}") from None
  if not isinstance(data, dict) or not data:
    raise ValueError(f"slices file {path}: expected a non-empty JSON object "
                     '{"slice name": [image ids], ...}')
  slices = {}
  for name, ids in data.items():
    if not isinstance(ids, list) or not ids:
      raise ValueError(f"slices file {path}: slice {name!r} must be a non-empty list of image ids")
    bad = [i for i in ids if isinstance(i, bool) or not isinstance(i, int)]
    if bad:
      raise ValueError(f"slices file {path}: slice {name!r}: image ids must be integers, "
                       f"got {bad[0]!r}")
    slices[name] = ids
  return slices


def compute(result: evaluation.EvaluationResult, slices: Mapping[str, Sequence[int]] | None = None,
            settings: Settings = Settings(), *, slices_source: str | None = None) -> dict:
  """The analysis object of one evaluation (see the module docstring for its keys).

  slices: the user's {name: [image ids]} besides the built-in slices; slices_source: the file
  they came from, named by the ValueError of a slice the evaluation cannot take (an image id it
  does not have).
  """
  if result.iou_type not in IOU_TYPES:
    raise ValueError(f"iou_type {result.iou_type!r}: the error analysis is defined for "
                     f"{' and '.join(IOU_TYPES)} only")
  if result.evaluator is None:
    raise ValueError("the evaluation result keeps no native evaluator to analyse")
  if not result.params.useCats:
    raise ValueError("the error analysis needs categories: it is not defined with useCats=0 "
                     "(coco_eval's --nouse_cats)")
  analysis: dict[str, Any] = {"iou_type": result.iou_type}
  for key, fn in _SECTIONS:
    try:
      analysis[key] = fn(result, settings, slices)
    except ValueError as error:
      if key == "slices" and slices_source:
        raise ValueError(f"slices file {slices_source}: {error}") from None
      raise
  return _json_ready(analysis)


def summary_lines(analysis: dict) -> list[str]:
  """A few lines for the console: where AP is lost, calibration, the worst images."""
  lines = []
  errors = analysis.get("tide")
  if errors:
    lines.append(f"TIDE (its AP at IoU {errors['pos_thr']:g}: {100 * errors['ap']:.2f}), AP points "
                 "gained by fixing each error type:")
    lines.append("  " + "  ".join(f"{k} {100 * (errors['delta_ap'].get(k) or 0.0):.2f}"
                                  for k in TIDE_ERRORS))
  calibration = analysis.get("calibration")
  if calibration:
    lines.append(f"calibration at IoU {calibration['iou']:g}: ECE {_num(calibration['ece'])}, "
                 f"MCE {_num(calibration['mce'])} over {calibration['num_detections']} detections")
  images = analysis.get("image_diagnostics")
  if images:
    worst = ", ".join(str(r["image_id"]) for r in images["worst"][:5])
    lines.append(f"worst images: {worst or '-'}; likely label errors: "
                 f"{len(images['label_errors'])}")
  return lines


def _num(value) -> str:
  return "-" if value is None else f"{float(value):.3f}"


def _labels(result: evaluation.EvaluationResult) -> diagnostics.IdLabels:
  """The fast path's ids are the ground truth's (its loader takes integer ids only)."""
  return diagnostics.IdLabels(None, dict(zip(result.category_ids, result.category_names)))


def _f1_thresholds(result, settings: Settings, slices) -> list[dict]:
  del slices
  labels = _labels(result)
  return [
      row for iou in settings.f1_ious
      for row in diagnostics.f1_thresholds(result.evaluator, labels, iou=iou)
  ]


def _tide(result, settings: Settings, slices) -> dict:
  del slices
  return tide.tide_errors(result.evaluator, settings.tide_pos_thr, settings.tide_bg_thr)


def _slices(result, settings: Settings, slices) -> dict:
  del settings
  return comparison.slice_by(result, dict(slices) if slices else None, builtin=True)


# The analyses, in analysis.json's order: (key, fn(result, settings, slices)).
_SECTIONS: list[tuple[str, Callable[..., Any]]] = [
    ("tide", _tide),
    ("f1_thresholds", _f1_thresholds),
    ("confusion", lambda r, s, _: diagnostics.confusion(r.evaluator, _labels(r), iou=s.iou,
                                                        score_thr=s.score_thr)),
    ("calibration",
     lambda r, s, _: diagnostics.calibration(r.evaluator, iou=s.iou, n_bins=s.n_bins)),
    ("pr_curves", lambda r, s, _: diagnostics.pr_curves(r.evaluator, _labels(r))),
    ("image_diagnostics", lambda r, s, _: diagnostics.image_diagnostics(
        r.evaluator, _labels(r), iou=s.iou, score_thr=s.score_thr, top_n=s.top_n)),
    ("slices", _slices),
]


def _json_ready(value: Any) -> Any:
  """Plain JSON: numpy scalars as Python numbers, NaN and infinities as None."""
  if isinstance(value, dict):
    return {str(k): _json_ready(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    if all(type(v) is int or type(v) is float and math.isfinite(v) for v in value):
      return list(value)  # the PR curves' long rows: already plain numbers
    return [_json_ready(v) for v in value]
  if hasattr(value, "tolist"):  # numpy arrays and scalars
    return _json_ready(value.tolist())
  if isinstance(value, float) and not math.isfinite(value):
    return None
  return value


# --- selections shared by the PNGs and the ClearML plots ---------------------------------


def iou_index(pr: dict, iou: float) -> int:
  thresholds = np.asarray(pr["iou_thresholds"], dtype=float)
  return int(np.argmin(np.abs(thresholds - iou)))


def category_ap(precision: Sequence[Sequence[float]], t: int) -> float:
  """A category's AP at IoU index t from its PR curve (COCO: the mean over recall thresholds),
  -1 without ground truth."""
  row = np.asarray(precision[t], dtype=float)
  return -1.0 if row.size == 0 or (row < 0).all() else float(row.mean())


def pr_curve_categories(pr: dict, num_gt: dict | None, iou: float = 0.5,
                        count: int = 5) -> tuple[list[dict], list[dict]]:
  """The `count` categories with the most ground truth (by num_gt, ids to counts; else the
  file's order) and the `count` worst by AP at `iou`, among categories with ground truth."""
  t = iou_index(pr, iou)
  rows = [r for r in pr["per_category"] if category_ap(r["precision"], t) >= 0]
  largest = sorted(rows, key=lambda r: -(num_gt or {}).get(r["id"], 0))[:count]
  worst = sorted(rows, key=lambda r: (category_ap(r["precision"], t), str(r["name"])))[:count]
  return largest, worst


def confusion_subset(confusion: dict, top: int = 20) -> tuple[list[str], np.ndarray, int]:
  """(labels, matrix, K): the confusion matrix restricted to the `top` categories with the most
  ground truth plus "background" and "missed" (all of them when K <= top). Rows and columns of
  the other categories are left out, so a row need not sum to its category's ground truth."""
  matrix = np.asarray(confusion["matrix"], dtype=np.int64)
  k = len(confusion["category_ids"])
  keep = list(range(k))
  if k > top:  # by ground truth count (row sums), ties by order
    keep = sorted(sorted(range(k), key=lambda i: -int(matrix[i].sum()))[:top])
  index = keep + [k]
  labels = [str(confusion["names"][i]) for i in keep]
  return labels, matrix[np.ix_(index, index)], k


# --- the folder ---------------------------------------------------------------------------------


def _csv_text(rows: Sequence[Sequence[Any]]) -> str:
  out = io.StringIO()
  writer = csv.writer(out, lineterminator="\n")
  for row in rows:
    writer.writerow(["" if v is None else repr(v) if isinstance(v, float) else v for v in row])
  return out.getvalue()


F1_COLUMNS = ("id", "name", "iou", "score", "precision", "recall", "f1", "tp", "fp", "num_gt")


def f1_rows(f1_thresholds: Sequence[dict]) -> list[list[Any]]:
  return [list(F1_COLUMNS)] + [[row.get(c) for c in F1_COLUMNS] for row in f1_thresholds]


TIDE_ERRORS = ("Cls", "Loc", "Both", "Dupe", "Bkg", "Miss", "FP", "FN")
TIDE_COUNTS = ("Cls", "Loc", "Both", "Dupe", "Bkg", "Miss")


def tide_rows(tide: dict) -> list[list[Any]]:
  """One row per category: AP at pos_thr, the dAP of each error type, the count of each."""
  header = (["id", "name", "ap"] + [f"dAP_{k}"
                                    for k in TIDE_ERRORS] + [f"count_{k}" for k in TIDE_COUNTS])
  rows = [header]
  for row in tide["per_category"]:
    rows.append([row["id"], row["name"], row["ap"]] + [(row.get("delta_ap") or {}).get(k)
                                                       for k in TIDE_ERRORS]
                + [(row.get("counts") or {}).get(k) for k in TIDE_COUNTS])
  return rows


def image_rows(per_image: dict) -> list[list[Any]]:
  """Every image: TP, FP, FN, F1 and its rank among the worst (empty when not among them)."""
  rank = {row["image_id"]: i for i, row in enumerate(per_image["worst"], start=1)}
  return [["image_id", "tp", "fp", "fn", "f1", "worst_rank"]] + [[
      row["image_id"], row["tp"], row["fp"], row["fn"], row["f1"],
      rank.get(row["image_id"])
  ] for row in per_image["images"]]


def confusion_rows(confusion: dict) -> list[list[Any]]:
  """The full matrix: rows ground truth (+ background), columns detected as (+ missed)."""
  names = [str(n) for n in confusion["names"]]
  rows = [["ground truth \\ detected as"] + names + ["missed"]]
  for label, row in zip(names + ["background"], confusion["matrix"]):
    rows.append([label] + [int(v) for v in row])
  return rows


@dataclasses.dataclass(frozen=True)
class GalleryInputs:
  """What drawing the worst images needs besides the analysis (native integer ids).

  evaluator: the evaluation's native Evaluator; detection_boxes / detection_scores: the native
  detections' rows (Detections.boxes / .scores); gt_boxes: the ground truth's rows' boxes;
  category_names: category id -> name; image_path_of: image id -> its file (None: unknown).
  """
  evaluator: Any
  detection_boxes: Any
  detection_scores: Any
  gt_boxes: Sequence[Sequence[float]]
  category_names: Mapping[int, str]
  image_path_of: Callable[[int], str | None]

  @classmethod
  def from_coco(cls, evaluator, native_gt, native_dt, ground_truth: dict,
                image_dir: str) -> "GalleryInputs":
    """From a COCO ground-truth dict whose images' file_name are relative to image_dir."""
    by_id = {a["id"]: a["bbox"] for a in ground_truth["annotations"] if "bbox" in a}
    gt_boxes = [by_id.get(int(i), (0.0, 0.0, 0.0, 0.0)) for i in native_gt.annotation_ids]
    files = {im["id"]: im.get("file_name") for im in ground_truth["images"]}
    names = {int(c["id"]): str(c.get("name", c["id"])) for c in ground_truth["categories"]}

    def image_path_of(image_id: int) -> str | None:
      name = files.get(image_id)
      return os.path.join(image_dir, name) if isinstance(name, str) else None

    return cls(evaluator, native_dt.boxes, native_dt.scores, gt_boxes, names, image_path_of)


def _write_bytes(path: str, data: bytes) -> None:
  with atomic_io.output_path(path) as target:
    with open(target, "wb") as f:
      f.write(data)


def _clear(folder: str) -> None:
  """Removes what an earlier analysis wrote here, analysis.json first: a folder never holds a
  complete analysis.json beside files of another run."""
  names = [ANALYSIS_JSON, F1_CSV, TIDE_CSV, IMAGES_CSV, CONFUSION_CSV, *PNGS.values()]
  for name in names:
    with contextlib.suppress(FileNotFoundError):
      os.unlink(os.path.join(folder, name))
  shutil.rmtree(os.path.join(folder, GALLERY_DIR), ignore_errors=True)


def read(folder: str) -> dict | None:
  """The analysis object in `folder` (e.g. <out>/analysis), None when there is none (a run
  without analysis, an older run) or it cannot be read (logged)."""
  path = os.path.join(folder, ANALYSIS_JSON)
  try:
    with open(path) as f:
      data = json.load(f)
  except FileNotFoundError:
    return None
  except (OSError, ValueError) as e:
    logging.warning("cannot read %s: %s", path, e)
    return None
  return data if isinstance(data, dict) else None


def remove(folder: str) -> None:
  """Removes an analysis folder of an earlier run (a run without analysis leaves none)."""
  if os.path.isdir(folder):
    _clear(folder)
    with contextlib.suppress(OSError):
      os.rmdir(folder)


def write(folder: str, analysis: dict, gallery: GalleryInputs | None = None) -> list[str]:
  """Writes the analysis to `folder` (every file atomically, analysis.json last); returns the
  paths written. The PNGs of sections absent from `analysis` are not drawn."""
  from eval.analysis import plots  # pylint: disable=g-import-not-at-top  (matplotlib: slow import)
  os.makedirs(folder, exist_ok=True)
  _clear(folder)
  written = []

  def text(name: str, rows: list[list[Any]]) -> None:
    path = os.path.join(folder, name)
    atomic_io.write_text(path, _csv_text(rows))
    written.append(path)

  def figure(key: str, fig) -> None:
    path = os.path.join(folder, PNGS[key])
    _write_bytes(path, plots.png(fig))
    written.append(path)

  if "f1_thresholds" in analysis:
    text(F1_CSV, f1_rows(analysis["f1_thresholds"]))
  if "tide" in analysis:
    text(TIDE_CSV, tide_rows(analysis["tide"]))
    figure("tide", plots.tide_bars(analysis["tide"]))
  if "image_diagnostics" in analysis:
    text(IMAGES_CSV, image_rows(analysis["image_diagnostics"]))
  if "confusion" in analysis:
    text(CONFUSION_CSV, confusion_rows(analysis["confusion"]))
    figure("confusion", plots.confusion_heatmap(analysis["confusion"]))
  if "pr_curves" in analysis:
    num_gt = {row["id"]: row["num_gt"] for row in analysis.get("f1_thresholds", ())}
    figure("pr_curves", plots.pr_curves(analysis["pr_curves"], num_gt or None))
  if "calibration" in analysis:
    figure("calibration", plots.reliability_diagram(analysis["calibration"]))
  per_image = analysis.get("image_diagnostics")
  if gallery is not None and per_image:
    g = gallery

    def boxes_of(image_id: int) -> list[gallery_lib.Box]:
      return gallery_lib.image_boxes(g.evaluator, g.detection_boxes, g.detection_scores, g.gt_boxes,
                                     image_id, iou=per_image["iou"],
                                     score_thr=per_image["score_thr"],
                                     category_names=g.category_names)

    directory = os.path.join(folder, GALLERY_DIR)
    try:
      names = gallery_lib.write_gallery(directory, per_image["worst"], boxes_of, g.image_path_of,
                                        _write_bytes)
      written.extend(os.path.join(directory, n) for n in names)
    except ValueError as e:  # an IoU the evaluation did not match at: no gallery, said so
      logging.warning("no gallery of the worst images: %s", e)
  path = os.path.join(folder, ANALYSIS_JSON)
  # Compact: the PR curves alone are T x R numbers per category.
  atomic_io.write_text(path, json.dumps(analysis, separators=(",", ":"), allow_nan=False) + "\n")
  written.append(path)
  return written
