"""Evaluates one exported TF2 Object Detection API model: cached inference, COCO evaluation,
and the output files (detections.json, metrics.json, per_category.csv, TensorBoard events).

The library behind //eval:evaluate_model and the sweeps (which run every model in one process):

  source, identity = model_evaluation.coco_json_source(annotations_json, image_dir)
  run = model_evaluation.evaluate(model_dir, source, out_dir,
                                  EvaluationOptions(max_images=N), identity=identity)

evaluate() is a short sequence of stages (STAGES): inference through the executor
(eval/distributed: in this process, or Ray workers over shards; cached detections are
reused), evaluation of every IoU type, the outputs. It writes every file atomically,
metrics.json last, and returns what metrics.json holds (eval/results.py). With
EvaluationOptions.analysis (the default) the primary IoU type's error analysis goes to
OUT/analysis/ (eval/analysis/analyze.py) before metrics.json. The sweeps call the
same stages themselves (model_job, inference_output, evaluate_detections) to run several
models' inference at once.
"""
from __future__ import annotations

import contextlib
import csv
import dataclasses
import gc
import hashlib
import io
import json
import os
import sys
import tempfile
import time
from typing import Callable, Sequence

from absl import logging
import tensorflow as tf

import cocoeval_cc
from cocoeval_cc import evaluation
from eval import atomic_io
from eval import results
from eval.analysis import analyze
from eval.data import image_sources
from eval.data import pipeline_config
from eval.distributed import executor
from eval.distributed import options as executor_options_lib
from eval.model import inference
from eval.model import tensorboard_events

_METRICS_SETS = {"coco_detection_metrics": "bbox", "coco_mask_metrics": "segm"}

# evaluate()'s on_stage callback is called with these names, in this order.
STAGES = ("inference_done", "evaluated", "written")

# What small/medium/large are judged on, for the binaries' --area_source flag.
AREA_SOURCES = ("annotation", "box")
AREA_SOURCE_HELP = ("What small/medium/large are judged on: the annotation 'area' (official COCO) "
                    "or the ground-truth box area w*h (what the TF OD API's TF2 eval does).")


@dataclasses.dataclass(frozen=True)
class EvaluationOptions:
  """How one model is evaluated (the flags of //eval:evaluate_model, minus the inputs).

  metrics_set, include_per_category, all_per_category: None = the pipeline config's
  eval_config, else bbox (+ segm for mask models) and every per-category statistic.
  """
  metrics_set: Sequence[str] | None = None
  max_images: int | None = None  # only the first N images of the source
  force_inference: bool = False  # run the model even if OUT holds its detections
  skip_missing: bool = False  # leave images missing on disk out, GT included
  batch_size: int = 1
  box_frame: str = "image"  # what normalised boxes are relative to
  area_source: str = "annotation"  # see AREA_SOURCES
  include_per_category: bool | None = None
  all_per_category: bool | None = None
  global_step: int = 0  # TensorBoard step of the scalars
  num_threads: int = 0  # evaluation threads, 0 = every core
  verbose: bool = True  # print the summary and per-category tables
  analysis: bool = True  # the error analysis in OUT/analysis/ (bbox / segm)


def _sha256(paths: Sequence[str]) -> str:
  """One digest of the files' names and contents, in order."""
  digest = hashlib.sha256()
  for path in paths:
    digest.update(os.path.basename(path).encode() + b"\0")
    with open(path, "rb") as f:
      digest.update(hashlib.file_digest(f, "sha256").digest())
  return digest.hexdigest()


def file_identity(path: str) -> dict:
  """A file's real path and the sha256 of its name and contents."""
  return {"path": os.path.realpath(path), "sha256": _sha256([path])}


def coco_json_source(annotations: str, image_dir: str) -> tuple[image_sources.CocoJsonSource, dict]:
  """A COCO JSON + image folder source and its identity (what the detection cache keys on)."""
  if not os.path.isdir(image_dir):
    raise FileNotFoundError(f"--image_dir {image_dir} is not a directory")
  source = image_sources.CocoJsonSource(annotations, image_dir)
  return source, source_identity(source)


def source_identity(source) -> dict:
  """What identifies `source`'s data for the detection cache: paths and CONTENTS.

  Contents, not sizes and times: images replaced under the same names (copies that keep
  their times, a restored backup) must not pass for the ones the cached detections saw.
  Hashing COCO val2017's 5,000 images takes about a second.
  """
  start = time.perf_counter()
  if isinstance(source, image_sources.CocoJsonSource):
    images = [
        os.path.join(source.image_dir, im["file_name"]) for im in source.ground_truth["images"]
    ]
    identity = {
        "annotations": file_identity(source.annotations_path),
        "image_dir": os.path.realpath(source.image_dir), "num_images_found": source.num_images,
        "images_sha256": _sha256(images)
    }
  else:
    identity = {
        "tfrecords": [file_identity(f) for f in source.files],
        "label_map": file_identity(source.label_map_path)
    }
  logging.info("data identity (contents hashed) in %.1fs", time.perf_counter() - start)
  return identity


def keypoint_category_ids(ground_truth: dict) -> list[int]:
  """The categories whose ground truth names keypoints (COCO's person): the ones a keypoint
  model's results carry keypoints for, and keypoint metrics are computed on."""
  return [int(c["id"]) for c in ground_truth.get("categories", []) if c.get("keypoints")]


def _has_keypoints(detections: Sequence[dict]) -> bool:
  return any("keypoints" in d for d in detections)


def _iou_types(metrics_set: Sequence[str] | None, has_masks: bool, ground_truth: dict,
               has_keypoints: bool = False) -> list[str]:
  """bbox, plus segm for mask models on ground truth with masks (or as metrics_set says),
  plus keypoints whenever the results carry keypoints (the TF OD API enables its keypoint
  evaluator apart from metrics_set, in the eval_config's parameterized_metric)."""
  keypoints = ["keypoints"] if has_keypoints and keypoint_category_ids(ground_truth) else []
  has_segm = any("segmentation" in a for a in ground_truth["annotations"])
  if metrics_set:
    wanted = [_METRICS_SETS[m] for m in metrics_set if m in _METRICS_SETS]
    ignored = [m for m in metrics_set if m not in _METRICS_SETS]
    if ignored:
      logging.warning("metrics_set %s not supported (only %s): ignored", ignored,
                      sorted(_METRICS_SETS))
    if not wanted:
      logging.warning("no supported metrics_set: evaluating boxes")
      wanted = ["bbox"]
  else:
    wanted = ["bbox", "segm"] if has_masks and has_segm else ["bbox"]
  if "segm" in wanted and not (has_masks and has_segm):
    logging.warning(
        "mask metrics skipped: %s", "the model outputs no detection_masks"
        if not has_masks else "the ground truth has no segmentations")
    wanted.remove("segm")
  return (wanted or ["bbox"]) + keypoints


def _check_ground_truth(gt: dict, source) -> None:
  """Refuses ground truth with nothing to evaluate on, naming its file."""
  where = (getattr(source, "annotations_path", None) or ", ".join(getattr(source, "files", ()))
           or "the ground truth")
  if not gt.get("categories"):
    raise ValueError(f"{where}: no categories: nothing to evaluate")
  if not gt.get("images"):
    raise ValueError(f"{where}: no images to evaluate (an empty images list, or every image "
                     "missing on disk and skipped)")


def resolve_options(options: EvaluationOptions, config=None) -> EvaluationOptions:
  """Fills what the options leave open (None) from the pipeline config's eval_config."""
  if config is None:
    return dataclasses.replace(
        options, include_per_category=(True if options.include_per_category is None else
                                       options.include_per_category),
        all_per_category=True if options.all_per_category is None else options.all_per_category)
  eval_config = config.eval_config
  return dataclasses.replace(
      options, metrics_set=(list(eval_config.metrics_set)
                            if options.metrics_set is None else options.metrics_set),
      include_per_category=(eval_config.include_metrics_per_category if options.include_per_category
                            is None else options.include_per_category),
      all_per_category=(eval_config.all_metrics_per_category
                        if options.all_per_category is None else options.all_per_category))


def _ground_truth(source, max_images, area_source: str) -> dict:
  gt = source.ground_truth
  if max_images is not None:
    ids = [im["id"] for im in gt["images"][:max_images]]
    gt = image_sources.restrict_ground_truth(gt, ids)
  if area_source == "box":
    # The TF OD API's TF2 eval passes no area: pycocotools then judges size on w*h.
    gt = {
        **gt, "annotations": [{**a, "area": float(a["bbox"][2] * a["bbox"][3])}
                              for a in gt["annotations"]]
    }
  return gt


def _placeholder(gt: dict, iou_type: str) -> dict:
  """A detection that overlaps nothing (IoU 0 with every ground truth, crowd or not).

  The evaluator refuses an empty result set; one unmatched detection gives the same
  statistics as none (precision and recall 0 where there is ground truth, -1 elsewhere).
  """
  image = gt["images"][0]
  result = {"image_id": image["id"], "category_id": gt["categories"][0]["id"], "score": 1e-9}
  if iou_type == "bbox":
    result["bbox"] = [-1e6, -1e6, 1.0, 1.0]
  elif iou_type == "keypoints":
    category = next(c for c in gt["categories"] if c.get("keypoints"))
    result["category_id"] = category["id"]
    result["keypoints"] = [-1e6, -1e6, 2] * len(category["keypoints"])
  else:
    result["segmentation"] = {
        "size": [image["height"], image["width"]], "counts": [image["height"] * image["width"]]
    }
  return result


def _evaluate_one(gt: dict, gt_coco, detections: list[dict], iou_type: str,
                  num_threads: int) -> evaluation.EvaluationResult:
  if not detections:
    logging.warning("no %s detections at all: every AP and AR is 0", iou_type)
    detections = [_placeholder(gt, iou_type)]
  params = cocoeval_cc.Params(iou_type)
  # As COCOeval does: every ground-truth image and category (from the native side: no Python
  # index of the annotations).
  params.imgIds = gt_coco.sorted_image_ids()
  params.catIds = gt_coco.sorted_category_ids()
  if iou_type == "keypoints":
    # As the TF OD API's keypoint evaluator: the keypoint categories only, and the results of
    # those categories (a box result of another category has no keypoints).
    params.catIds = sorted(keypoint_category_ids(gt))
    detections = [d for d in detections if "keypoints" in d]
    counts = {len(c["keypoints"]) for c in gt["categories"] if c.get("keypoints")}
    if counts != {len(params.kpt_oks_sigmas)}:
      raise ValueError(f"keypoint categories with {sorted(counts)} keypoints: OKS needs one sigma "
                       f"per keypoint and only COCO's {len(params.kpt_oks_sigmas)} are known "
                       "(use //eval:coco_eval --iou_type=keypoints --kpt_oks_sigmas=...)")
    if not detections:
      logging.warning("no keypoint detections at all: every keypoint AP and AR is 0")
      detections = [_placeholder(gt, iou_type)]
  dt = gt_coco.loadRes(detections)
  return evaluation.evaluate_loaded(gt_coco.native_ground_truth, dt.native_detections, iou_type,
                                    params, num_threads), dt.native_detections


def _per_category_csv(evaluations: dict[str, evaluation.EvaluationResult]) -> str:
  """One row per IoU type and category; the columns are every IoU type's statistics (bbox's 12,
  then any other, e.g. keypoints' AR50), empty where an IoU type has no such statistic."""
  out = io.StringIO()
  writer = csv.writer(out, lineterminator="\n")
  names = list(dict.fromkeys(n for result in evaluations.values() for n in result.stat_names))
  writer.writerow(["iou_type", "category_id", "category"] + names)
  for iou_type, result in evaluations.items():
    for row in result.per_category():
      values = dict(zip(result.stat_names, row["stats"]))
      writer.writerow([iou_type, row["id"], row["name"]]
                      + [repr(values[n]) if n in values else "" for n in names])
  return out.getvalue()


def release_tensorflow_memory() -> None:
  """Frees what a released model held (GPU memory included) before the next one loads."""
  gc.collect()
  tf.keras.backend.clear_session()
  gc.collect()


@dataclasses.dataclass(frozen=True)
class InferenceOutput:
  """A model's detections on the source, and what evaluation needs to know of the model."""
  detections: inference.Detections
  model_info: dict
  has_masks: bool
  load_seconds: float
  speed: dict | None = None  # the executor's speed section (metrics.json "speed")


def model_job(key: str, model_dir: str, source, out_dir: str, identity: dict,
              options: EvaluationOptions, *, model_fetch=None, source_fetch=None,
              keypoint_categories: Sequence[int] | None = None) -> executor.ModelJob:
  """The executor's work for one model: its detections on `source` (cached in out_dir).
  model_fetch, source_fetch: how cluster nodes without the files download them
  (eval/distributed/node_data.py). keypoint_categories: the categories whose results carry
  keypoints (default: those of the ground truth; [] for a model known to have none, which
  keeps its detection cache key that of box-only ground truth)."""
  if keypoint_categories is None:
    keypoint_categories = keypoint_category_ids(source.ground_truth)
  return executor.ModelJob(key=key, model_dir=model_dir, source=source,
                           category_ids=[c["id"] for c in source.ground_truth["categories"]
                                        ], out_dir=out_dir, input_identity=identity,
                           max_images=options.max_images, skip_missing=options.skip_missing,
                           batch_size=options.batch_size, with_masks=True,
                           box_frame=options.box_frame, force=options.force_inference,
                           keypoint_category_ids=list(keypoint_categories), model_fetch=model_fetch,
                           source_fetch=source_fetch)


def inference_output(result: executor.ShardedResult) -> InferenceOutput:
  """The executor's result for one model; raises that model's error if it failed."""
  result.raise_if_failed()
  info = dict(result.model_info or {})
  if result.pipeline_config:
    try:  # informative only: the model ran without it
      model_config = pipeline_config.load(result.pipeline_config)
      info["model_type"] = model_config.model_type
      info["image_resizer"] = vars(model_config.image_resizer)
    except (OSError, ValueError) as e:
      logging.warning("cannot read the model's pipeline.config: %s", e)
  detections = result.detections
  if not detections.cached:
    logging.info("inference: %d images in %.1fs (%.2f images/s)", detections.num_images,
                 detections.seconds, detections.images_per_second)
  stage_seconds = (result.speed or {}).get("stage_seconds") or {}
  return InferenceOutput(detections, info, bool(result.has_masks),
                         float(stage_seconds.get("model_load") or 0.0), result.speed)


@dataclasses.dataclass(frozen=True)
class _Evaluated:
  """Stage 2's output: every IoU type's evaluation, and what the primary one's analysis
  gallery draws (the ground truth, its native form and the native detections)."""
  evaluations: dict[str, evaluation.EvaluationResult]
  ground_truth: dict
  native_gt: object
  native_dt: dict[str, object]


def _evaluate_iou_types(source, detections: inference.Detections, has_masks: bool,
                        options: EvaluationOptions) -> _Evaluated:
  """Stage 2: every IoU type the options and the model call for, on the same ground truth."""
  gt = _ground_truth(source, options.max_images, options.area_source)
  _check_ground_truth(gt, source)
  gt_coco = cocoeval_cc.COCO(gt)
  evaluations, native_dt = {}, {}
  for iou_type in _iou_types(options.metrics_set, has_masks, gt, _has_keypoints(detections.bbox)):
    dets = detections.segm or [] if iou_type == "segm" else detections.bbox
    evaluations[iou_type], native_dt[iou_type] = _evaluate_one(gt, gt_coco, dets, iou_type,
                                                               options.num_threads)
    if options.verbose:
      print(f"{iou_type}:")
      print("\n".join(evaluations[iou_type].summary))
      print()
      print(evaluations[iou_type].per_category_table())
      print(flush=True)
  return _Evaluated(evaluations, gt, gt_coco.native_ground_truth, native_dt)


def _model_run_result(source, out_dir: str, identity: dict, options: EvaluationOptions,
                      ran: InferenceOutput, evaluations: dict[str, evaluation.EvaluationResult],
                      evaluation_seconds: float, sweep: dict | None) -> results.ModelRunResult:
  """metrics.json's contents (eval/results.py)."""
  supercategories = {
      c["id"]: c["supercategory"] for c in source.ground_truth["categories"]
      if isinstance(c.get("supercategory"), str)
  }
  metrics = {}
  for result in evaluations.values():
    metrics.update(result.tf_metrics(options.include_per_category, options.all_per_category))
  detections = ran.detections
  return results.ModelRunResult(
      evaluations=tuple(
          results.IouTypeResult.from_evaluation(e, supercategories)
          for e in evaluations.values()), metrics=metrics, model=ran.model_info, input=identity,
      annotations=(os.path.realpath(source.annotations_path) if getattr(
          source, "annotations_path", None) else identity.get("annotations", {}).get("path")),
      detections=os.path.join(out_dir, results.DETECTIONS), segmentations=(os.path.join(
          out_dir, results.SEGMENTATIONS) if detections.segm is not None else None),
      area_source=options.area_source, include_metrics_per_category=options.include_per_category,
      all_metrics_per_category=options.all_per_category, inference=results.InferenceRun(
          detections.cached, detections.num_images, detections.seconds,
          detections.images_per_second), model_load_seconds=ran.load_seconds,
      evaluation_seconds=evaluation_seconds, sweep=sweep, speed=ran.speed)


def _decoded_images(source, image_ids: Sequence[int], directory: str) -> dict[int, str]:
  """The images of `image_ids` decoded from a source without image files (TF records) into
  `directory` as PNG (lossless: the gallery draws the pixels the model saw)."""
  paths = {}
  if image_ids:
    for element in image_sources.dataset_for_ids(source, image_ids):
      image_id = int(element["image_id"])
      paths[image_id] = os.path.join(directory, f"{image_id}.png")
      tf.io.write_file(paths[image_id], tf.io.encode_png(element["image"]))
  return paths


def _write_analysis(source, out_dir: str, evaluated: _Evaluated,
                    options: EvaluationOptions) -> None:
  """OUT/analysis/: the primary IoU type's error analysis, or none (an earlier run's removed).

  A failing analysis is reported loudly but does not fail the run: the metrics are sound, and
  a sweep of many models should not lose one to a diagnostic.
  """
  folder = os.path.join(out_dir, analyze.ANALYSIS_DIR)
  iou_type, result = next(iter(evaluated.evaluations.items()))
  if not options.analysis or iou_type not in analyze.IOU_TYPES:
    analyze.remove(folder)
    return
  start = time.perf_counter()
  try:
    analysis = analyze.compute(result)
    with tempfile.TemporaryDirectory() as decoded:
      gallery = analyze.GalleryInputs.from_coco(result.evaluator, evaluated.native_gt,
                                                evaluated.native_dt[iou_type],
                                                evaluated.ground_truth,
                                                getattr(source, "image_dir", decoded))
      if not isinstance(source, image_sources.CocoJsonSource):  # TF records hold the images
        worst = [row["image_id"] for row in analysis["image_diagnostics"]["worst"]]
        gallery = dataclasses.replace(gallery,
                                      image_path_of=_decoded_images(source, worst, decoded).get)
      analyze.write(folder, analysis, gallery)
  except Exception as e:  # pylint: disable=broad-except  (reported; the metrics stand)
    logging.exception("the error analysis failed; metrics.json is written without it")
    print(f"error analysis FAILED ({type(e).__name__}: {e}); {folder} not written", file=sys.stderr,
          flush=True)
    analyze.remove(folder)
    return
  if options.verbose:
    print("\n".join(analyze.summary_lines(analysis)), flush=True)
  logging.info("error analysis in %.1fs: %s", time.perf_counter() - start, folder)


def add_missing_analysis(source, out_dir: str, run: results.ModelRunResult,
                         options: EvaluationOptions) -> bool:
  """Complete results of an earlier run (reused by a sweep) without OUT/analysis/: evaluates
  OUT/detections.json again (seconds, no inference) and writes the analysis, so results from
  before the analysis existed, or run with --noanalysis, gain it. Only when the evaluation
  reproduces metrics.json's statistics exactly (the same detections and ground truth); returns
  whether the analysis was written. `options` as resolved for the run (max_images,
  area_source)."""
  folder = os.path.join(out_dir, analyze.ANALYSIS_DIR)
  primary = run.primary.iou_type
  detections_path = os.path.join(out_dir, results.DETECTIONS)
  if (not options.analysis or primary not in analyze.IOU_TYPES or analyze.read(folder) is not None
      or not os.path.isfile(detections_path)):
    return False
  with open(detections_path, "rb") as f:
    detections = json.loads(f.read())
  gt = _ground_truth(source, options.max_images, options.area_source)
  gt_coco = cocoeval_cc.COCO(gt)
  result, native_dt = _evaluate_one(gt, gt_coco, detections, primary, options.num_threads)
  if [float(v) for v in result.stats] != list(run.primary.stats):
    logging.warning("%s: no analysis added: evaluating %s again does not reproduce its metrics",
                    out_dir, detections_path)
    return False
  _write_analysis(
      source, out_dir,
      _Evaluated({primary: result}, gt, gt_coco.native_ground_truth, {primary: native_dt}),
      dataclasses.replace(options, verbose=False))
  return analyze.read(folder) is not None


def _write_outputs(out_dir: str, run: results.ModelRunResult,
                   evaluations: dict[str, evaluation.EvaluationResult], global_step: int) -> None:
  """Stage 3: per_category.csv, TensorBoard scalars, and metrics.json last."""
  atomic_io.write_text(os.path.join(out_dir, results.PER_CATEGORY_CSV),
                       _per_category_csv(evaluations))
  tensorboard_events.write_scalars(out_dir, run.metrics, global_step)
  # Last: a complete metrics.json says the whole run succeeded.
  results.write_model_result(os.path.join(out_dir, results.METRICS), run)
  logging.info(
      "wrote %s", ", ".join(
          os.path.join(out_dir, n)
          for n in (results.DETECTIONS, results.METRICS, results.PER_CATEGORY_CSV)))


def prepare_output(source, out_dir: str) -> None:
  """Before a model runs: OUT exists, holds no metrics.json of an earlier run (a failing run
  must never leave results that do not match the files beside them), and the ground truth
  has something to evaluate."""
  os.makedirs(out_dir, exist_ok=True)
  with contextlib.suppress(FileNotFoundError):
    os.unlink(os.path.join(out_dir, results.METRICS))
  _check_ground_truth(source.ground_truth, source)


def evaluate_detections(
    source, out_dir: str, options: EvaluationOptions, ran: InferenceOutput, *, identity: dict,
    sweep: dict | None = None,
    on_stage: Callable[[str, float], None] | None = None) -> results.ModelRunResult:
  """The stages after inference: evaluation of every IoU type, then the outputs (metrics.json
  last). `options` as resolved by resolve_options()."""
  on_stage = on_stage or (lambda name, seconds: None)
  start = time.perf_counter()
  evaluated = _evaluate_iou_types(source, ran.detections, ran.has_masks, options)
  evaluations = evaluated.evaluations
  evaluation_seconds = time.perf_counter() - start
  on_stage("evaluated", evaluation_seconds)

  start = time.perf_counter()
  run = _model_run_result(source, out_dir, identity, options, ran, evaluations, evaluation_seconds,
                          sweep)
  _write_analysis(source, out_dir, evaluated, options)  # before metrics.json: it comes last
  _write_outputs(out_dir, run, evaluations, options.global_step)
  on_stage("written", time.perf_counter() - start)
  return run


def evaluate(model_dir: str, source, out_dir: str, options: EvaluationOptions = EvaluationOptions(),
             *, identity: dict | None = None, config=None, sweep: dict | None = None,
             executor_options: executor_options_lib.ExecutorOptions | None = None,
             on_stage: Callable[[str, float], None] | None = None) -> results.ModelRunResult:
  """Evaluates the export in `model_dir` on `source`; writes OUT and returns metrics.json's data.

  source: an image_sources source (CocoJsonSource, TfRecordSource); identity: what identifies
  its data for the detection cache (default source_identity(source)). config: a pipeline
  config whose eval_config fills the options left None (metrics_set, per-category options).
  sweep: recorded as metrics.json's "sweep" (what the sweep's resume check compares).
  executor_options: how inference runs (eval/distributed: Ray workers, shards); default one
  worker in this process. on_stage(name, seconds) is called after each of STAGES.

  Raises FileNotFoundError / ValueError (bad inputs, not a detector) and tf.errors.OpError
  (e.g. an undecodable image) with messages that name the problem.
  """
  prepare_output(source, out_dir)
  identity = identity if identity is not None else source_identity(source)
  options = resolve_options(options, config)
  executor_options = executor_options or executor_options_lib.IN_PROCESS
  job = model_job("model", model_dir, source, out_dir, identity, options)
  ran = inference_output(executor.run_detections([job], executor_options)["model"])
  (on_stage or (lambda name, seconds: None))("inference_done", ran.detections.seconds)
  return evaluate_detections(source, out_dir, options, ran, identity=identity, sweep=sweep,
                             on_stage=on_stage)
