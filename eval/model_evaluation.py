"""Evaluates one exported TF2 Object Detection API model: cached inference, COCO evaluation,
and the output files (detections.json, metrics.json, per_category.csv, TensorBoard events).

The library behind //eval:evaluate_model and //eval:all_efficientdet (which runs every model in
one process):

  source, identity = model_evaluation.coco_json_source(annotations_json, image_dir)
  data = model_evaluation.evaluate(model_dir, source, out_dir, identity=identity, max_images=N)

evaluate() writes the files atomically and returns metrics.json's contents; it releases the model
(and TensorFlow's memory) before returning.
"""
from __future__ import annotations

import csv
import gc
import io
import os
import time
from typing import Callable, Sequence

from absl import logging
import tensorflow as tf

import cocoeval_cc
from cocoeval_cc import evaluation
from eval import atomic_io
from eval.data import image_sources
from eval.data import pipeline_config
from eval.model import detection_model
from eval.model import inference
from eval.model import postprocess
from eval.model import tensorboard_events


_METRICS_SETS = {"coco_detection_metrics": "bbox", "coco_mask_metrics": "segm"}

# evaluate()'s on_stage callback is called with these names, in this order.
STAGES = ("model_loaded", "inference_done", "evaluated", "written")


def _stat(path: str) -> dict:
  st = os.stat(path)
  return {"path": os.path.realpath(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def coco_json_source(annotations: str, image_dir: str
                     ) -> tuple[image_sources.CocoJsonSource, dict]:
  """A COCO JSON + image folder source and its identity (what the detection cache keys on)."""
  if not os.path.isdir(image_dir):
    raise FileNotFoundError(f"--image_dir {image_dir} is not a directory")
  source = image_sources.CocoJsonSource(annotations, image_dir)
  return source, source_identity(source)


def source_identity(source) -> dict:
  """What identifies `source`'s data for the detection cache (paths, sizes, mtimes)."""
  if isinstance(source, image_sources.CocoJsonSource):
    return {"annotations": _stat(source.annotations_path),
            "image_dir": os.path.realpath(source.image_dir),
            "num_images_found": source.num_images}
  return {"tfrecords": [_stat(f) for f in source.files],
          "label_map": _stat(source.label_map_path)}


def _iou_types(metrics_set: Sequence[str] | None, has_masks: bool,
               ground_truth: dict) -> list[str]:
  """bbox, plus segm for mask models on ground truth with masks (or as metrics_set says)."""
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
    logging.warning("mask metrics skipped: %s", "the model outputs no detection_masks"
                    if not has_masks else "the ground truth has no segmentations")
    wanted.remove("segm")
  return wanted or ["bbox"]


def _per_category_options(config, include: bool | None,
                          everything: bool | None) -> tuple[bool, bool]:
  """Explicit values win; else the pipeline config's eval_config; else true."""
  from_config = (True, True)
  if config is not None:
    from_config = (config.eval_config.include_metrics_per_category,
                   config.eval_config.all_metrics_per_category)
  return (from_config[0] if include is None else include,
          from_config[1] if everything is None else everything)


# What small/medium/large are judged on, for the binaries' --area_source flag.
AREA_SOURCES = ("annotation", "box")
AREA_SOURCE_HELP = ("What small/medium/large are judged on: the annotation 'area' (official COCO) "
                    "or the ground-truth box area w*h (what the TF OD API's TF2 eval does).")


def _ground_truth(source, max_images, area_source: str) -> dict:
  gt = source.ground_truth
  if max_images is not None:
    ids = [im["id"] for im in gt["images"][:max_images]]
    gt = image_sources.restrict_ground_truth(gt, ids)
  if area_source == "box":
    # The TF OD API's TF2 eval passes no area: pycocotools then judges size on w*h.
    gt = {**gt, "annotations": [{**a, "area": float(a["bbox"][2] * a["bbox"][3])}
                                for a in gt["annotations"]]}
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
  else:
    result["segmentation"] = {"size": [image["height"], image["width"]],
                              "counts": [image["height"] * image["width"]]}
  return result


def _evaluate(gt: dict, gt_coco, results: list[dict], iou_type: str,
              num_threads: int) -> evaluation.EvaluationResult:
  if not results:
    logging.warning("no %s detections at all: every AP and AR is 0", iou_type)
    results = [_placeholder(gt, iou_type)]
  dt = gt_coco.loadRes(results)
  params = cocoeval_cc.Params(iou_type)
  params.imgIds = sorted(gt_coco.getImgIds())  # as COCOeval does: every ground-truth image
  params.catIds = sorted(gt_coco.getCatIds())
  return evaluation.evaluate_loaded(gt_coco._gt_native, dt._dt_native, iou_type, params,
                                    num_threads)


def _per_category_csv(results: dict[str, evaluation.EvaluationResult]) -> str:
  out = io.StringIO()
  writer = csv.writer(out, lineterminator="\n")
  first = next(iter(results.values()))
  writer.writerow(["iou_type", "category_id", "category"] + first.stat_names)
  for iou_type, result in results.items():
    for row in result.per_category():
      writer.writerow([iou_type, row["id"], row["name"]] + [repr(v) for v in row["stats"]])
  return out.getvalue()


def release_tensorflow_memory() -> None:
  """Frees what a released model held (GPU memory included) before the next one loads."""
  gc.collect()
  tf.keras.backend.clear_session()
  gc.collect()


def evaluate(model_dir: str, source, out_dir: str, *, identity: dict | None = None,
             config=None, metrics_set: Sequence[str] | None = None,
             max_images: int | None = None, force_inference: bool = False,
             skip_missing: bool = False, batch_size: int = 1, box_frame: str = "image",
             area_source: str = "annotation", include_per_category: bool | None = None,
             all_per_category: bool | None = None, global_step: int = 0,
             num_threads: int = 0, extra: dict | None = None, verbose: bool = True,
             on_stage: Callable[[str, float], None] | None = None) -> dict:
  """Evaluates the export in `model_dir` on `source`; writes OUT and returns metrics.json's data.

  source: an image_sources source (CocoJsonSource, TfRecordSource); identity: what identifies
  its data for the detection cache (default source_identity(source)). config: a pipeline
  config whose eval_config gives metrics_set and the per-category options (explicit
  arguments win). extra: more top-level keys for metrics.json. on_stage(name, seconds) is
  called after each of STAGES with the seconds that stage took. The model is released (and
  TensorFlow's memory with it) before this returns, also on failure.

  Raises FileNotFoundError / ValueError (bad inputs, not a detector) and tf.errors.OpError
  (e.g. an undecodable image) with messages that name the problem.
  """
  on_stage = on_stage or (lambda name, seconds: None)
  os.makedirs(out_dir, exist_ok=True)
  identity = identity if identity is not None else source_identity(source)
  if metrics_set is None and config is not None:
    metrics_set = list(config.eval_config.metrics_set)

  start = time.perf_counter()
  model = detection_model.DetectionModel(model_dir)
  try:
    load_seconds = time.perf_counter() - start
    on_stage("model_loaded", load_seconds)
    categories = source.ground_truth["categories"]
    detections = inference.cached_run(
        model, source, [c["id"] for c in categories], out_dir, identity,
        force=force_inference, max_images=max_images, skip_missing=skip_missing,
        batch_size=batch_size, with_masks=True, box_frame=box_frame)
    model_info = model.info()
    has_masks = model.has_masks
    model_pipeline_config = model.paths.pipeline_config
  finally:
    del model  # the only reference: the SavedModel's variables go with it
    release_tensorflow_memory()
  if not detections.cached:
    logging.info("inference: %d images in %.1fs (%.2f images/s)", detections.num_images,
                 detections.seconds, detections.images_per_second)
  on_stage("inference_done", detections.seconds)

  start = time.perf_counter()
  gt = _ground_truth(source, max_images, area_source)
  gt_coco = cocoeval_cc.COCO(gt)
  iou_types = _iou_types(metrics_set, has_masks, gt)
  results = {}
  for iou_type in iou_types:
    dets = detections.bbox if iou_type == "bbox" else (detections.segm or [])
    results[iou_type] = _evaluate(gt, gt_coco, dets, iou_type, num_threads)
    if verbose:
      print(f"{iou_type}:")
      print("\n".join(results[iou_type].summary))
      print()
      print(results[iou_type].per_category_table())
      print(flush=True)
  eval_seconds = time.perf_counter() - start
  on_stage("evaluated", eval_seconds)

  start = time.perf_counter()
  include, everything = _per_category_options(config, include_per_category, all_per_category)
  metrics = {}
  for result in results.values():
    metrics.update(result.tf_metrics(include, everything))
  data = results[iou_types[0]].to_json_dict()
  data["metrics"] = metrics
  data["iou_types"] = iou_types
  for iou_type in iou_types[1:]:
    data[iou_type] = results[iou_type].to_json_dict()
  data.update(
      model=model_info,
      input=identity,
      annotations=identity.get("annotations", {}).get("path"),
      detections=os.path.join(out_dir, inference.DETECTIONS),
      segmentations=(os.path.join(out_dir, inference.SEGMENTATIONS)
                     if detections.segm is not None else None),
      area_source=area_source,
      include_metrics_per_category=include,
      all_metrics_per_category=everything,
      inference={"cached": detections.cached, "num_images": detections.num_images,
                 "seconds": detections.seconds,
                 "images_per_second": detections.images_per_second},
      model_load_seconds=load_seconds,
      evaluation_seconds=eval_seconds)
  if model_pipeline_config:
    try:
      model_config = pipeline_config.load(model_pipeline_config)
      data["model"]["model_type"] = model_config.model_type
      data["model"]["image_resizer"] = vars(model_config.image_resizer)
    except ValueError as e:  # informative only: the model runs without it
      logging.warning("cannot read the model's pipeline.config: %s", e)
  if extra:
    data.update(extra)

  atomic_io.write_text(os.path.join(out_dir, "per_category.csv"), _per_category_csv(results))
  tensorboard_events.write_scalars(out_dir, metrics, global_step)
  # Last: a complete metrics.json says the whole run succeeded.
  atomic_io.write_json(os.path.join(out_dir, "metrics.json"), data)
  logging.info("wrote %s", ", ".join(
      os.path.join(out_dir, n) for n in ("detections.json", "metrics.json", "per_category.csv")))
  on_stage("written", time.perf_counter() - start)
  return data
