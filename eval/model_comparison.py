"""Two evaluate_model output folders compared honestly: a paired bootstrap over the images.

  a = model_comparison.read_output("OUT/efficientdet_d0_coco17_tpu-32")
  b = model_comparison.read_output("OUT/efficientdet_d1_coco17_tpu-32")
  data = model_comparison.compare_outputs(a, b, n_bootstrap=1000, seed=0)

Each folder is what //eval:evaluate_model (or a sweep, per model) writes: metrics.json (which
names the ground truth it was evaluated on) and detections.json / segmentations.json. Both
models are evaluated again with the fast path on the ground truth metrics.json describes (the
same images: --max_images' first N, the same object areas), checked to reproduce the
statistics metrics.json holds, and passed to cocoeval_cc.compare (the same resampled images for
both models; a difference is significant iff its interval excludes 0).

A model's own interval of each category's AP (category_intervals) is the same paired bootstrap
against an evaluation without detections: that model's AP is 0 in every resample, so the
difference is minus the model's AP and its interval is the model's, mirrored.

The sweep caches both under OUT/comparison/ (cached_pair, cached_intervals), keyed on the
detections' sha256, the ground truth's identity and the bootstrap's parameters.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from typing import Any, Mapping, Sequence

import numpy as np

import cocoeval_cc
from cocoeval_cc import evaluation
from eval import atomic_io
from eval import results

COMPARISON_DIR = "comparison"  # OUT/comparison/ of a sweep
# compare()'s summary statistics are checked against metrics.json's to this tolerance: the same
# evaluator on the same inputs gives the same bits; the JSON round trip keeps them.
_STATS_TOLERANCE = 1e-9

# Results files smaller than this are read in Python (they may be an empty list); larger ones go
# straight to the native loader (no Python object per detection).
_SMALL_FILE = 4096


class ComparisonError(ValueError):
  """Two outputs that cannot be compared; the message names the folders and why."""


@dataclasses.dataclass(frozen=True)
class ModelOutput:
  """One evaluate_model output folder: its metrics.json and where its detections are."""
  directory: str
  run: results.ModelRunResult

  @property
  def name(self) -> str:
    """The folder's name (a sweep's OUT/<model_name>/)."""
    return os.path.basename(os.path.normpath(self.directory))

  def detections_path(self, iou_type: str) -> str:
    """The results file evaluated for `iou_type` (segmentations.json for segm)."""
    name = results.SEGMENTATIONS if iou_type == "segm" else results.DETECTIONS
    return os.path.join(self.directory, name)

  def annotations_identity(self) -> dict:
    """What the ground truth was: the annotations' sha256 (when recorded), images, areas."""
    annotations = (self.run.input or {}).get("annotations") or {}
    return {
        "annotations_sha256": annotations.get("sha256"),
        "num_images": self.run.primary.params.get("num_images"), "area_source": self.run.area_source
    }


def read_output(directory: str) -> ModelOutput:
  """An evaluate_model output folder; ComparisonError says why a folder is not one."""
  directory = os.path.abspath(directory)
  if not os.path.isdir(directory):
    raise ComparisonError(f"{directory}: not a folder")
  metrics = os.path.join(directory, results.METRICS)
  if not os.path.isfile(metrics):
    raise ComparisonError(f"{directory}: no {results.METRICS}: not an //eval:evaluate_model "
                          "output folder (or its run did not finish)")
  try:
    run = results.read_model_result(metrics)
  except (OSError, results.SchemaError) as e:
    raise ComparisonError(f"{directory}: {e}") from e
  output = ModelOutput(directory, run)
  for iou_type in run.iou_types:
    path = output.detections_path(iou_type)
    if not os.path.isfile(path):
      raise ComparisonError(f"{directory}: no {os.path.basename(path)} beside metrics.json: not a "
                            "complete //eval:evaluate_model output folder")
  return output


def check_comparable(a: ModelOutput, b: ModelOutput, iou_type: str) -> None:
  """ComparisonError naming both folders if they were not evaluated on the same ground truth,
  images, object areas and parameters, or lack `iou_type`."""
  for output in (a, b):
    if iou_type not in output.run.iou_types:
      raise ComparisonError(f"{output.directory}: no {iou_type} evaluation (it has "
                            f"{', '.join(output.run.iou_types)})")
  ida, idb = a.annotations_identity(), b.annotations_identity()
  for key, what in (("annotations_sha256", "ground truth (annotations sha256)"),
                    ("num_images", "images (number evaluated)"), ("area_source",
                                                                  "object areas (area_source)")):
    if ida[key] is not None and idb[key] is not None and ida[key] != idb[key]:
      raise ComparisonError(f"different {what}: {a.directory} has {ida[key]!r}, {b.directory} has "
                            f"{idb[key]!r}")
  pa, pb = a.run.evaluation(iou_type).params, b.run.evaluation(iou_type).params
  for key in ("iouThrs", "maxDets", "areaRng", "useCats"):
    if pa.get(key) != pb.get(key):
      raise ComparisonError(f"different evaluation parameters ({key}): {a.directory} has "
                            f"{pa.get(key)!r}, {b.directory} has {pb.get(key)!r}")


def annotations_path(output: ModelOutput, override: str | None = None) -> str:
  """The ground truth file to evaluate on: `override`, else the one metrics.json names."""
  path = override or output.run.annotations or ((output.run.input or {}).get("annotations")
                                                or {}).get("path")
  if not path:
    raise ComparisonError(f"{output.directory}: metrics.json names no annotations file (data from "
                          "TFRecords): pass --annotations=GT.json")
  if not os.path.isfile(path):
    raise ComparisonError(f"{path}: the ground truth of {output.directory} is not there (moved?): "
                          "pass --annotations=GT.json")
  return path


def file_sha256(path: str) -> str:
  digest = hashlib.sha256()
  with open(path, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
      digest.update(block)
  return digest.hexdigest()


def ground_truth_for(output: ModelOutput, ground_truth: dict | str) -> cocoeval_cc.COCO:
  """The ground truth exactly as the model was evaluated on: its first num_images images (as
  --max_images keeps them) and, with area_source "box", areas from the boxes."""
  num_images = output.run.primary.params.get("num_images")
  if isinstance(ground_truth, str):
    if output.run.area_source != "box":
      gt_coco = cocoeval_cc.COCO(ground_truth)  # the native loader: no Python objects
      if num_images is None or num_images == len(gt_coco.sorted_image_ids()):
        return gt_coco
    with open(ground_truth) as f:
      ground_truth = json.load(f)
  if num_images is not None and num_images < len(ground_truth["images"]):
    keep = {im["id"] for im in ground_truth["images"][:num_images]}
    ground_truth = {
        **ground_truth, "images": ground_truth["images"][:num_images],
        "annotations": [a for a in ground_truth["annotations"] if a["image_id"] in keep]
    }
  if output.run.area_source == "box":
    ground_truth = {
        **ground_truth, "annotations": [{**a, "area": float(a["bbox"][2] * a["bbox"][3])}
                                        for a in ground_truth["annotations"]]
    }
  return cocoeval_cc.COCO(ground_truth)


def _params(gt_coco: cocoeval_cc.COCO, iou_type: str, stored: Mapping[str,
                                                                      Any]) -> cocoeval_cc.Params:
  """The parameters evaluate_model used: every image and category of the ground truth (the
  keypoint categories for keypoints), the stored thresholds, maxDets and area ranges."""
  params = cocoeval_cc.Params(iou_type)
  params.imgIds = gt_coco.sorted_image_ids()
  params.catIds = gt_coco.sorted_category_ids()
  if iou_type == "keypoints":
    params.catIds = sorted(c["id"] for c in gt_coco.dataset["categories"] if c.get("keypoints"))
  if stored.get("iouThrs"):
    params.iouThrs = np.asarray(stored["iouThrs"], dtype=float)
  if stored.get("maxDets"):
    params.maxDets = [int(m) for m in stored["maxDets"]]
  if stored.get("areaRng") and stored.get("areaRngLbl"):
    params.areaRng = [list(map(float, r)) for r in stored["areaRng"]]
    params.areaRngLbl = list(stored["areaRngLbl"])
  return params


def _placeholder(gt_coco: cocoeval_cc.COCO, iou_type: str) -> list[dict]:
  """One detection that overlaps nothing: the evaluator refuses an empty result set, and one
  unmatched detection gives the statistics of none (as evaluate_model does)."""
  image = gt_coco.dataset["images"][0]
  category = gt_coco.dataset["categories"][0]
  result = {"image_id": image["id"], "category_id": category["id"], "score": 1e-9}
  if iou_type == "bbox":
    result["bbox"] = [-1e6, -1e6, 1.0, 1.0]
  elif iou_type == "keypoints":
    category = next(c for c in gt_coco.dataset["categories"] if c.get("keypoints"))
    result["category_id"] = category["id"]
    result["keypoints"] = [-1e6, -1e6, 2] * len(category["keypoints"])
  else:
    result["segmentation"] = {
        "size": [image["height"], image["width"]], "counts": [image["height"] * image["width"]]
    }
  return [result]


def evaluate(gt_coco: cocoeval_cc.COCO, iou_type: str, params: Mapping[str, Any],
             detections: str | list[dict] | None,
             num_threads: int = 0) -> evaluation.EvaluationResult:
  """The fast path on a results file or list (None: no detections at all)."""
  dets: Any = detections
  if isinstance(detections, str) and (iou_type == "keypoints"
                                      or os.path.getsize(detections) < _SMALL_FILE):
    with open(detections) as f:  # the keypoint filter; an empty list needs the placeholder
      dets = json.load(f)
  if iou_type == "keypoints" and dets:
    dets = [d for d in dets if "keypoints" in d]
  if not dets:
    dets = _placeholder(gt_coco, iou_type)
  dt = gt_coco.loadRes(dets)
  return evaluation.evaluate_loaded(gt_coco.native_ground_truth, dt.native_detections, iou_type,
                                    _params(gt_coco, iou_type, params), num_threads)


def evaluate_output(output: ModelOutput, gt_coco: cocoeval_cc.COCO, iou_type: str,
                    num_threads: int = 0) -> evaluation.EvaluationResult:
  """The model's evaluation again, checked against its metrics.json (same ground truth, same
  detections): a mismatch means the folder's files no longer belong together."""
  stored = output.run.evaluation(iou_type)
  try:
    result = evaluate(gt_coco, iou_type, stored.params, output.detections_path(iou_type),
                      num_threads)
  except ValueError as e:  # the loader names the record; this names the folder
    raise ComparisonError(f"{output.directory}: {e}") from e
  got = np.asarray(result.stats, dtype=float)
  want = np.asarray(stored.stats, dtype=float)
  if got.shape != want.shape or not np.allclose(got, want, rtol=0, atol=_STATS_TOLERANCE):
    raise ComparisonError(
        f"{output.directory}: evaluating {os.path.basename(output.detections_path(iou_type))} "
        f"again gives AP {got[0]:.6f}, metrics.json says {want[0]:.6f}: the detections or the "
        "ground truth changed since metrics.json was written (or --annotations names another "
        "file)")
  return result


def _bootstrap_args(n_bootstrap: int, seed: int, confidence: float) -> dict:
  if not isinstance(n_bootstrap, int) or n_bootstrap < 1:
    raise ValueError(f"n_bootstrap must be a positive integer, got {n_bootstrap!r}")
  if not 0.0 < confidence < 1.0:
    raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
  return {"n_bootstrap": n_bootstrap, "seed": int(seed), "confidence": float(confidence)}


def _describe(output: ModelOutput, iou_type: str) -> dict:
  return {
      "directory": output.directory, "model": output.name,
      "detections": output.detections_path(iou_type)
  }


def compare_evaluations(eval_a, eval_b, *, n_bootstrap: int = 1000, seed: int = 0,
                        confidence: float = 0.95) -> dict:
  """cocoeval_cc.compare with its per-category rows sorted by |delta|, largest first."""
  data = cocoeval_cc.compare(eval_a, eval_b, **_bootstrap_args(n_bootstrap, seed, confidence))
  data["per_category"] = sorted(data["per_category"], key=lambda r:
                                (-abs(r["delta"]), str(r["name"])))
  return data


def compare_outputs(a: ModelOutput, b: ModelOutput, *, annotations: str | None = None,
                    iou_type: str | None = None, n_bootstrap: int = 1000, seed: int = 0,
                    confidence: float = 0.95, num_threads: int = 0) -> dict:
  """compare()'s result for b against a (delta = b - a) plus what was compared ("a", "b",
  "iou_type", "annotations")."""
  iou_type = iou_type or a.run.primary.iou_type
  check_comparable(a, b, iou_type)
  args = _bootstrap_args(n_bootstrap, seed, confidence)
  path = annotations_path(a, annotations)
  gt_a = ground_truth_for(a, path)
  eval_a = evaluate_output(a, gt_a, iou_type, num_threads)
  eval_b = evaluate_output(b, gt_a, iou_type, num_threads)
  data = compare_evaluations(eval_a, eval_b, **args)
  return {
      "a": _describe(a, iou_type), "b": _describe(b, iou_type), "iou_type": iou_type,
      "annotations": os.path.realpath(path), **data
  }


def category_intervals(result: evaluation.EvaluationResult, gt_coco: cocoeval_cc.COCO, *,
                       n_bootstrap: int = 1000, seed: int = 0, confidence: float = 0.95,
                       num_threads: int = 0) -> dict:
  """A bootstrap interval of each summary statistic and each category's AP of one model:
  {"n_bootstrap", "seed", "confidence", "num_images", "stats": [{"name", "value", "lo", "hi"}],
  "per_category": [{"id", "name", "ap", "lo", "hi"}]}.

  The paired bootstrap against no detections (statistics 0 in every resample): delta = -value,
  so the model's interval is [-hi, -lo] of the difference's.
  """
  args = _bootstrap_args(n_bootstrap, seed, confidence)
  stored = {
      "iouThrs": [float(t) for t in result.params.iouThrs], "maxDets": list(result.params.maxDets),
      "areaRng": [list(r) for r in result.params.areaRng],
      "areaRngLbl": list(result.params.areaRngLbl)
  }
  nothing = evaluate(gt_coco, result.iou_type, stored, None, num_threads)
  data = cocoeval_cc.compare(result, nothing, **args)
  stats = [{"name": r["name"], "value": r["a"], "lo": -r["hi"], "hi": -r["lo"]}
           for r in data["stats"]]
  per_category = [{"id": r["id"], "name": r["name"], "ap": r["a"], "lo": -r["hi"], "hi": -r["lo"]}
                  for r in data["per_category"]]
  out = {k: data[k] for k in ("n_bootstrap", "seed", "confidence", "num_images")}
  return {**out, "stats": stats, "per_category": per_category}


# --- the sweep's cache: OUT/comparison/ ----------------------------------------------------------


def fingerprint(output: ModelOutput, iou_type: str) -> dict:
  """What a comparison of this model depends on: its detections and its ground truth."""
  return {
      "model": output.name, "detections_sha256": file_sha256(output.detections_path(iou_type)),
      **output.annotations_identity()
  }


def _safe(name: str) -> str:
  return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def pair_path(out_dir: str, a: str, b: str) -> str:
  return os.path.join(out_dir, COMPARISON_DIR, f"{_safe(a)}__{_safe(b)}.json")


def intervals_path(out_dir: str, a: str) -> str:
  return os.path.join(out_dir, COMPARISON_DIR, f"{_safe(a)}.intervals.json")


def read_cached(path: str, key: Mapping[str, Any]) -> dict | None:
  """The cached result at `path` if it was computed for `key`, else None."""
  try:
    with open(path) as f:
      data = json.load(f)
  except (OSError, ValueError):
    return None
  return data if isinstance(data, dict) and data.get("key") == json.loads(json.dumps(key)) else None


def write_cached(path: str, key: Mapping[str, Any], data: Mapping[str, Any]) -> dict:
  record = {"key": dict(key), **data}
  atomic_io.write_json(path, record)
  return record


def sweep_comparisons(out_dir: str, outputs: Sequence[ModelOutput], ground_truth: dict | str, *,
                      iou_type: str = "bbox", n_bootstrap: int = 1000, seed: int = 0,
                      confidence: float = 0.95, num_threads: int = 0,
                      log=None) -> tuple[dict[str, dict], list[dict]]:
  """The sweep's bootstrap, in `outputs`' order: each model's intervals and each consecutive
  pair's comparison, from OUT/comparison/ when cached for the same detections, ground truth
  and parameters, else computed (at most two models' evaluations held at once) and cached.

  Returns ({model name: intervals}, [pair comparison, ...]); a model whose folder cannot be
  compared (ComparisonError: e.g. its files no longer match its metrics.json) is logged and
  left out, with the pairs it is in.
  """
  args = _bootstrap_args(n_bootstrap, seed, confidence)
  log = log or (lambda *a: None)
  prints = {o.name: fingerprint(o, iou_type) for o in outputs}
  held: dict[str, tuple[evaluation.EvaluationResult, cocoeval_cc.COCO]] = {}
  gt_cache: dict[str, cocoeval_cc.COCO] = {}

  def evaluated(output: ModelOutput):
    if output.name not in held:
      identity = json.dumps(output.annotations_identity(), sort_keys=True)
      if identity not in gt_cache:
        gt_cache.clear()
        gt_cache[identity] = ground_truth_for(output, ground_truth)
      gt_coco = gt_cache[identity]
      held[output.name] = (evaluate_output(output, gt_coco, iou_type, num_threads), gt_coco)
    return held[output.name]

  intervals: dict[str, dict] = {}
  pairs: list[dict] = []
  for i, output in enumerate(outputs):
    for name in [n for n in held if i == 0 or n != outputs[i - 1].name]:
      del held[name]  # only the previous model is needed again: at most two evaluations held
    key = {"iou_type": iou_type, **args, "a": prints[output.name]}
    path = intervals_path(out_dir, output.name)
    cached = read_cached(path, key)
    if cached is None:
      log("bootstrap intervals of %s (%d resamples)", output.name, n_bootstrap)
      try:
        result, gt_coco = evaluated(output)
      except ComparisonError as e:  # e.g. files that no longer match metrics.json: left out
        log("no bootstrap of %s: %s", output.name, e)
        continue
      cached = write_cached(
          path, key, {
              "model": output.name, "iou_type": iou_type, **category_intervals(
                  result, gt_coco, **args, num_threads=num_threads)
          })
    intervals[output.name] = cached
    if i == 0:
      continue
    previous = outputs[i - 1]
    try:
      check_comparable(previous, output, iou_type)
    except ComparisonError as e:
      log("no comparison of %s and %s: %s", previous.name, output.name, e)
      continue
    key = {"iou_type": iou_type, **args, "a": prints[previous.name], "b": prints[output.name]}
    path = pair_path(out_dir, previous.name, output.name)
    cached = read_cached(path, key)
    if cached is None:
      log("paired bootstrap %s -> %s (%d resamples)", previous.name, output.name, n_bootstrap)
      try:
        data = compare_evaluations(evaluated(previous)[0], evaluated(output)[0], **args)
      except ComparisonError as e:
        log("no comparison of %s and %s: %s", previous.name, output.name, e)
        continue
      cached = write_cached(
          path, key, {
              "a": _describe(previous, iou_type), "b": _describe(output, iou_type),
              "iou_type": iou_type, **data
          })
    pairs.append(cached)
  return intervals, pairs
