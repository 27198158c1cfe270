r"""Evaluates an exported TF2 Object Detection API model (EfficientDet D0-D7, ...) on COCO data.

  bazel run //eval:evaluate_model -- --model_dir=DIR \
      (--annotations=GT.json --image_dir=DIR | --pipeline_config_path=P |
       --tfrecord=GLOB --label_map_path=L) --output_dir=OUT \
      [--max_images=N] [--force_inference] [--skip_missing_images] [--area_source=annotation|box]

Writes OUT/detections.json (COCO results; OUT/segmentations.json too for mask models),
OUT/metrics.json (//eval:coco_eval's --output_json schema plus model and run information),
OUT/per_category.csv and a TensorBoard event file with the TF OD API's metric names. All
writes are atomic. Detections are cached: a re-run with the same model and data only
re-evaluates (--force_inference runs the model again).
"""
from __future__ import annotations

import csv
import io
import os
import sys
import time

from absl import app
from absl import flags
from absl import logging
import tensorflow as tf

import cocoeval_cc
from cocoeval_cc import evaluation
from eval import atomic_io
from eval import user_paths
from eval.data import image_sources
from eval.data import pipeline_config
from eval.model import detection_model
from eval.model import inference
from eval.model import postprocess
from eval.model import tensorboard_events

_MODEL_DIR = flags.DEFINE_string(
    "model_dir", None, "exporter_main_v2.py output (saved_model/, pipeline.config) or a bare "
    "SavedModel directory.", required=True)
_ANNOTATIONS = flags.DEFINE_string("annotations", None, "COCO ground-truth JSON.")
_IMAGE_DIR = flags.DEFINE_string("image_dir", None, "Folder of the images of --annotations.")
_PIPELINE_CONFIG = flags.DEFINE_string(
    "pipeline_config_path", None, "pipeline.config whose eval_input_reader gives the records "
    "and label map and whose eval_config gives metrics_set and the per-category options.")
_TFRECORD = flags.DEFINE_list("tfrecord", None, "TF OD API TFRecords (globs allowed).")
_LABEL_MAP = flags.DEFINE_string("label_map_path", None, "Label map of --tfrecord.")
_OUTPUT_DIR = flags.DEFINE_string("output_dir", None, "Where the results go.", required=True)
_MAX_IMAGES = flags.DEFINE_integer("max_images", None, "Evaluate only the first N images.",
                                   lower_bound=1)
_FORCE_INFERENCE = flags.DEFINE_bool("force_inference", False,
                                     "Run the model even if OUT holds its detections.")
_SKIP_MISSING = flags.DEFINE_bool(
    "skip_missing_images", False, "Leave images missing on disk out (of the ground truth "
    "too) instead of failing.")
_AREA_SOURCE = flags.DEFINE_enum(
    "area_source", "annotation", ["annotation", "box"],
    "What small/medium/large are judged on: the annotation 'area' (official COCO) or the "
    "ground-truth box area w*h (what the TF OD API's TF2 eval does).")
_BATCH_SIZE = flags.DEFINE_integer(
    "batch_size", 1, "Images per model call, for exports with a batch dimension (images of "
    "one size are batched together).", lower_bound=1)
_BOX_FRAME = flags.DEFINE_enum(
    "box_frame", "image", list(postprocess.BOX_FRAMES),
    "What normalised boxes are relative to: the original image (every TF OD API export) or "
    "the padded square input (some custom exports).")
_INCLUDE_PER_CATEGORY = flags.DEFINE_bool(
    "include_metrics_per_category", None, "Per-category mAP keys in metrics and TensorBoard "
    "(default: the pipeline config's eval_config, else true).")
_ALL_PER_CATEGORY = flags.DEFINE_bool(
    "all_metrics_per_category", None, "All 12 statistics per category (default: the pipeline "
    "config's eval_config, else true).")
_GLOBAL_STEP = flags.DEFINE_integer("global_step", 0, "TensorBoard step of the scalars.")
_NUM_THREADS = flags.DEFINE_integer("num_threads", 0, "Evaluation threads; 0 uses every core.")

_METRICS_SETS = {"coco_detection_metrics": "bbox", "coco_mask_metrics": "segm"}


def _stat(path: str) -> dict:
  st = os.stat(path)
  return {"path": os.path.realpath(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _source_and_config():
  """The image source chosen by the flags, its identity (for the cache) and the config."""
  modes = [bool(_ANNOTATIONS.value or _IMAGE_DIR.value), bool(_PIPELINE_CONFIG.value),
           bool(_TFRECORD.value)]
  if sum(modes) != 1:
    raise app.UsageError("give exactly one input: --annotations with --image_dir, "
                         "--pipeline_config_path, or --tfrecord with --label_map_path")
  if _ANNOTATIONS.value or _IMAGE_DIR.value:
    if not (_ANNOTATIONS.value and _IMAGE_DIR.value):
      raise app.UsageError("--annotations and --image_dir go together")
    annotations = user_paths.resolve(_ANNOTATIONS.value)
    image_dir = user_paths.resolve(_IMAGE_DIR.value)
    if not os.path.isdir(image_dir):
      raise FileNotFoundError(f"--image_dir {image_dir} is not a directory")
    source = image_sources.CocoJsonSource(annotations, image_dir)
    identity = {"annotations": _stat(annotations), "image_dir": os.path.realpath(image_dir),
                "num_images_found": source.num_images}
    return source, identity, None
  if _TFRECORD.value:
    if not _LABEL_MAP.value:
      raise app.UsageError("--tfrecord needs --label_map_path")
    source = image_sources.TfRecordSource([user_paths.resolve(p) for p in _TFRECORD.value],
                                          user_paths.resolve(_LABEL_MAP.value))
    config = None
  else:
    config = pipeline_config.load(user_paths.resolve(_PIPELINE_CONFIG.value))
    source = image_sources.from_pipeline_config(
        config, input_patterns=_TFRECORD.value, label_map_path=_LABEL_MAP.value)
  identity = {"tfrecords": [_stat(f) for f in source.files],
              "label_map": _stat(source.label_map_path)}
  return source, identity, config


def _iou_types(config, model, ground_truth) -> list[str]:
  """bbox, plus segm for mask models on ground truth with masks (or as metrics_set says)."""
  has_segm = any("segmentation" in a for a in ground_truth["annotations"])
  if config is not None and config.eval_config.metrics_set:
    wanted = [_METRICS_SETS[m] for m in config.eval_config.metrics_set if m in _METRICS_SETS]
    ignored = [m for m in config.eval_config.metrics_set if m not in _METRICS_SETS]
    if ignored:
      logging.warning("metrics_set %s not supported (only %s): ignored", ignored,
                      sorted(_METRICS_SETS))
    if not wanted:
      logging.warning("no supported metrics_set: evaluating boxes")
      wanted = ["bbox"]
  else:
    wanted = ["bbox", "segm"] if model.has_masks and has_segm else ["bbox"]
  if "segm" in wanted and not (model.has_masks and has_segm):
    logging.warning("mask metrics skipped: %s", "the model outputs no detection_masks"
                    if not model.has_masks else "the ground truth has no segmentations")
    wanted.remove("segm")
  return wanted or ["bbox"]


def _per_category_options(config) -> tuple[bool, bool]:
  include, everything = True, True
  if config is not None:
    include = config.eval_config.include_metrics_per_category
    everything = config.eval_config.all_metrics_per_category
  if _INCLUDE_PER_CATEGORY.value is not None:
    include = _INCLUDE_PER_CATEGORY.value
  if _ALL_PER_CATEGORY.value is not None:
    everything = _ALL_PER_CATEGORY.value
  return include, everything


def _ground_truth(source, max_images) -> dict:
  gt = source.ground_truth
  if max_images is not None:
    ids = [im["id"] for im in gt["images"][:max_images]]
    gt = image_sources.restrict_ground_truth(gt, ids)
  if _AREA_SOURCE.value == "box":
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


def _evaluate(gt: dict, gt_coco, results: list[dict],
              iou_type: str) -> evaluation.EvaluationResult:
  if not results:
    logging.warning("no %s detections at all: every AP and AR is 0", iou_type)
    results = [_placeholder(gt, iou_type)]
  dt = gt_coco.loadRes(results)
  params = cocoeval_cc.Params(iou_type)
  params.imgIds = sorted(gt_coco.getImgIds())  # as COCOeval does: every ground-truth image
  params.catIds = sorted(gt_coco.getCatIds())
  return evaluation.evaluate_loaded(gt_coco._gt_native, dt._dt_native, iou_type, params,
                                    _NUM_THREADS.value)


def _per_category_csv(results: dict[str, evaluation.EvaluationResult]) -> str:
  out = io.StringIO()
  writer = csv.writer(out, lineterminator="\n")
  first = next(iter(results.values()))
  writer.writerow(["iou_type", "category_id", "category"] + first.stat_names)
  for iou_type, result in results.items():
    for row in result.per_category():
      writer.writerow([iou_type, row["id"], row["name"]] + [repr(v) for v in row["stats"]])
  return out.getvalue()


def main(argv):
  del argv
  out_dir = user_paths.resolve(_OUTPUT_DIR.value)
  os.makedirs(out_dir, exist_ok=True)
  try:
    source, identity, config = _source_and_config()
    model = detection_model.DetectionModel(user_paths.resolve(_MODEL_DIR.value))
    categories = source.ground_truth["categories"]
    detections = inference.cached_run(
        model, source, [c["id"] for c in categories], out_dir, identity,
        force=_FORCE_INFERENCE.value, max_images=_MAX_IMAGES.value,
        skip_missing=_SKIP_MISSING.value, batch_size=_BATCH_SIZE.value,
        with_masks=True, box_frame=_BOX_FRAME.value)
  except (FileNotFoundError, ValueError) as e:  # the message names the file and the problem
    sys.exit(f"evaluate_model: {e}")
  except tf.errors.OpError as e:  # e.g. an undecodable image: the message names it
    sys.exit(f"evaluate_model: {e.message}")
  if not detections.cached:
    logging.info("inference: %d images in %.1fs (%.2f images/s)", detections.num_images,
                 detections.seconds, detections.images_per_second)

  start = time.perf_counter()
  gt = _ground_truth(source, _MAX_IMAGES.value)
  gt_coco = cocoeval_cc.COCO(gt)
  iou_types = _iou_types(config, model, gt)
  results = {}
  for iou_type in iou_types:
    dets = detections.bbox if iou_type == "bbox" else (detections.segm or [])
    results[iou_type] = _evaluate(gt, gt_coco, dets, iou_type)
    print(f"{iou_type}:")
    print("\n".join(results[iou_type].summary))
    print()
    print(results[iou_type].per_category_table())
    print()
  eval_seconds = time.perf_counter() - start

  include, everything = _per_category_options(config)
  metrics = {}
  for result in results.values():
    metrics.update(result.tf_metrics(include, everything))
  data = results[iou_types[0]].to_json_dict()
  data["metrics"] = metrics
  data["iou_types"] = iou_types
  for iou_type in iou_types[1:]:
    data[iou_type] = results[iou_type].to_json_dict()
  data.update(
      model=model.info(),
      input=identity,
      annotations=identity.get("annotations", {}).get("path"),
      detections=os.path.join(out_dir, inference.DETECTIONS),
      segmentations=(os.path.join(out_dir, inference.SEGMENTATIONS)
                     if detections.segm is not None else None),
      area_source=_AREA_SOURCE.value,
      include_metrics_per_category=include,
      all_metrics_per_category=everything,
      inference={"cached": detections.cached, "num_images": detections.num_images,
                 "seconds": detections.seconds,
                 "images_per_second": detections.images_per_second},
      evaluation_seconds=eval_seconds)
  if model.paths.pipeline_config:
    try:
      model_config = pipeline_config.load(model.paths.pipeline_config)
      data["model"]["model_type"] = model_config.model_type
      data["model"]["image_resizer"] = vars(model_config.image_resizer)
    except ValueError as e:  # informative only: the model runs without it
      logging.warning("cannot read the model's pipeline.config: %s", e)

  atomic_io.write_text(os.path.join(out_dir, "per_category.csv"), _per_category_csv(results))
  tensorboard_events.write_scalars(out_dir, metrics, _GLOBAL_STEP.value)
  # Last: a complete metrics.json says the whole run succeeded.
  atomic_io.write_json(os.path.join(out_dir, "metrics.json"), data)
  logging.info("wrote %s", ", ".join(
      os.path.join(out_dir, n) for n in ("detections.json", "metrics.json", "per_category.csv")))


if __name__ == "__main__":
  app.run(main)
