r"""Evaluates COCO-format detections against ground truth: all statistics, every category.

  bazel run //eval:coco_eval -- --annotations=GT.json --detections=DT.json \
      --iou_type=bbox --output_json=OUT.json [--arrays_npz=ARRAYS.npz]

--iou_type is bbox, segm or keypoints (OKS; person keypoints with COCO's 17 sigmas unless
--kpt_oks_sigmas gives one sigma per keypoint).

Prints pycocotools' summary and a per-category table. OUT.json holds `stats`, `metrics`
(TensorFlow Object Detection API key names), `per_category` and the parameters used;
ARRAYS.npz holds `precision`, `recall` and `scores` with pycocotools' shapes.

--analysis (bbox, segm) adds the error analysis (eval/analysis/analyze.py) as OUT.json's
`analysis` object: TIDE errors, F1-optimal score thresholds, confusion, calibration, PR curves,
per-image diagnostics and slices (built-in, plus --slices=SLICES.json: {"name": [image ids]}).
--analysis_dir=DIR writes it as a folder too (analysis.json, CSVs, PNGs), and --image_dir=DIR
(the images' folder) adds a gallery of the worst images drawn with their boxes.
"""
import json
import sys
import time

from absl import app
from absl import flags
from absl import logging

import cocoeval_cc
from cocoeval_cc import _cocoeval_cc as native
from cocoeval_cc import evaluation
from eval import atomic_io
from eval import user_paths
from eval.analysis import analyze

_ANNOTATIONS = flags.DEFINE_string("annotations", None, "COCO ground-truth JSON.", required=True)
_DETECTIONS = flags.DEFINE_string("detections", None, "COCO results JSON.", required=True)
_IOU_TYPE = flags.DEFINE_enum("iou_type", "bbox", ["bbox", "segm", "keypoints"],
                              "What to evaluate.")
_OUTPUT_JSON = flags.DEFINE_string("output_json", None, "Where to write the results (JSON).")
_ARRAYS_NPZ = flags.DEFINE_string("arrays_npz", None,
                                  "Where to write precision/recall/scores arrays (.npz).")
_NUM_THREADS = flags.DEFINE_integer("num_threads", 0, "Threads; 0 uses every core.")
_IOU_THRESHOLDS = flags.DEFINE_list("iou_thresholds", None,
                                    "IoU thresholds (default: pycocotools' .50:.05:.95).")
_MAX_DETS = flags.DEFINE_list("max_dets", None, "maxDets (default 1,10,100; keypoints 20).")
_AREA_RANGES = flags.DEFINE_list(
    "area_ranges", None, "label:min:max area ranges, the first being the overall one "
    "(default all:0:1e10,small:0:1024,medium:1024:9216,large:9216:1e10; keypoints without "
    "small).")
_KPT_OKS_SIGMAS = flags.DEFINE_list(
    "kpt_oks_sigmas", None, "Keypoints: one OKS sigma per keypoint (default COCO's 17 person "
    "sigmas).")
_USE_CATS = flags.DEFINE_bool("use_cats", True, "Evaluate per category (pycocotools' useCats).")
_PER_CATEGORY_TABLE = flags.DEFINE_bool("per_category_table", True, "Print the per-category table.")
_ANALYSIS = flags.DEFINE_bool(
    "analysis", False, "Add the error analysis (TIDE, F1 thresholds, confusion, calibration, "
    "PR curves, per-image diagnostics, slices) to --output_json's `analysis` (bbox, segm).")
_SLICES = flags.DEFINE_string(
    "slices", None, "With --analysis: a JSON file {\"slice name\": [image ids], ...} whose "
    "slices are evaluated besides the built-in ones.")
_ANALYSIS_DIR = flags.DEFINE_string(
    "analysis_dir", None, "With --analysis: also write the analysis as a folder (analysis.json, "
    "CSVs, PNG plots).")
_IMAGE_DIR = flags.DEFINE_string(
    "image_dir", None, "With --analysis_dir: the folder the ground truth's file_name entries are "
    "relative to; the worst images are drawn with their boxes into DIR/gallery/.")


def _numbers(values, kind, valid) -> bool:
  """True if every value parses as `kind` and passes `valid` (flag validators)."""
  try:
    return all(valid(kind(v)) for v in values or ())
  except ValueError:
    return False


flags.register_validator("iou_thresholds", lambda v: _numbers(v, float, lambda t: 0.0 < t <= 1.0),
                         message="--iou_thresholds must be numbers in (0, 1], e.g. 0.5,0.75")
flags.register_validator("kpt_oks_sigmas", lambda v: _numbers(v, float, lambda s: s > 0),
                         message="--kpt_oks_sigmas must be positive numbers, e.g. 0.026,0.025")
flags.register_validator("max_dets", lambda v: _numbers(v, int, lambda m: m >= 1),
                         message="--max_dets must be positive integers, e.g. 1,10,100")
flags.register_multi_flags_validator(
    ["analysis", "slices", "analysis_dir"],
    lambda f: f["analysis"] or not (f["slices"] or f["analysis_dir"]),
    message="--slices and --analysis_dir need --analysis")
flags.register_multi_flags_validator(["analysis_dir", "image_dir"],
                                     lambda f: f["analysis_dir"] or not f["image_dir"],
                                     message="--image_dir (the gallery) needs --analysis_dir")


def params_from_flags() -> cocoeval_cc.Params:
  params = cocoeval_cc.Params(_IOU_TYPE.value)
  if _IOU_THRESHOLDS.value:
    params.iouThrs = [float(t) for t in _IOU_THRESHOLDS.value]
  if _MAX_DETS.value:
    params.maxDets = [int(m) for m in _MAX_DETS.value]
  if _AREA_RANGES.value:
    params.areaRng, params.areaRngLbl = evaluation.area_ranges_from_spec(_AREA_RANGES.value)
  params.useCats = int(_USE_CATS.value)
  if _KPT_OKS_SIGMAS.value:
    if _IOU_TYPE.value != "keypoints":
      raise app.UsageError("--kpt_oks_sigmas needs --iou_type=keypoints")
    params.kpt_oks_sigmas = [float(s) for s in _KPT_OKS_SIGMAS.value]
  return params


def _evaluate(annotations: str, detections: str):
  """evaluate_files(), keeping the native ground truth and detections (the gallery draws
  their boxes)."""
  timings = {}
  start = time.perf_counter()
  gt = native.load_ground_truth(annotations)
  timings["load_gt"] = time.perf_counter() - start
  start = time.perf_counter()
  dt = native.load_results(gt, detections, _NUM_THREADS.value)
  timings["load_dt"] = time.perf_counter() - start
  result = evaluation.evaluate_loaded(gt, dt, _IOU_TYPE.value, params_from_flags(),
                                      _NUM_THREADS.value, timings)
  return result, gt, dt


def _analysis(result, annotations: str, gt, dt) -> dict:
  """The analysis object; with --analysis_dir, its folder too (and the gallery with
  --image_dir)."""
  start = time.perf_counter()
  slices_path = user_paths.resolve(_SLICES.value) if _SLICES.value else None
  slices = analyze.load_slices(slices_path) if slices_path else None
  analysis = analyze.compute(result, slices, slices_source=slices_path)
  result.timings["analysis"] = time.perf_counter() - start
  if _ANALYSIS_DIR.value:
    start = time.perf_counter()
    gallery = None
    if _IMAGE_DIR.value:
      with open(annotations, "rb") as f:  # the boxes to draw: the native side keeps no Python copy
        ground_truth = json.loads(f.read().decode("utf-8-sig"))
      gallery = analyze.GalleryInputs.from_coco(result.evaluator, gt, dt, ground_truth,
                                                user_paths.resolve(_IMAGE_DIR.value))
    analyze.write(user_paths.resolve(_ANALYSIS_DIR.value), analysis, gallery)
    result.timings["analysis_files"] = time.perf_counter() - start
  print()
  print("\n".join(analyze.summary_lines(analysis)))
  return analysis


def main(argv):
  del argv
  annotations = user_paths.resolve(_ANNOTATIONS.value)
  detections = user_paths.resolve(_DETECTIONS.value)
  try:
    result, gt, dt = _evaluate(annotations, detections)
  except ValueError as e:  # bad input: the message names the file, the record and the problem
    sys.exit(f"coco_eval: {e}")

  print("\n".join(result.summary))
  if _PER_CATEGORY_TABLE.value and result.params.useCats:
    print()
    print(result.per_category_table())

  try:
    analysis = _analysis(result, annotations, gt, dt) if _ANALYSIS.value else None
  except ValueError as e:  # a bad --slices file or an IoU type without the analysis: named
    sys.exit(f"coco_eval: {e}")
  except atomic_io.OutputError as e:
    sys.exit(f"coco_eval: {e}")
  timings = ", ".join(f"{k} {v:.3f}s" for k, v in result.timings.items())
  logging.info("timings: %s", timings)

  try:
    if _OUTPUT_JSON.value:
      data = result.to_json_dict()
      data.update(annotations=annotations, detections=detections)
      if analysis is not None:
        data["analysis"] = analysis
      atomic_io.write_json(user_paths.resolve(_OUTPUT_JSON.value), data)
    if _ARRAYS_NPZ.value:
      atomic_io.write_npz(user_paths.resolve(_ARRAYS_NPZ.value), result.arrays())
  except atomic_io.OutputError as e:  # names the user's path and why
    sys.exit(f"coco_eval: {e}")


if __name__ == "__main__":
  app.run(main)
