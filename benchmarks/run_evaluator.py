"""Runs one COCO evaluator in this process, timing each stage; prints one JSON line on stdout.

coco_benchmark.py starts this in a fresh subprocess per run, so that import caches, allocator
state and peak RSS belong to one evaluator alone. Evaluator chatter is sent to stderr so that
stdout carries only the result line.
"""
import importlib
import json
import os
import time

from absl import app, flags
import numpy as np

FLAGS = flags.FLAGS
EVALUATORS = ["pycocotools", "faster_coco_eval", "hotcoco", "ultrafast", "ours", "ours_api"]
flags.DEFINE_enum(
    "evaluator", None, EVALUATORS,
    "ours = cocoeval_cc.evaluate_files (fast path); ours_api = its pycocotools-style API.")
flags.DEFINE_string("gt", None, "Ground-truth annotations JSON.")
flags.DEFINE_string("dt", None, "Detection results JSON.")
flags.DEFINE_enum("iou_type", "bbox", ["bbox", "segm", "keypoints"], "IoU type.")
flags.DEFINE_integer("num_threads", 0,
                     "Threads for ours (0: all cores); the anchors pick their own.")
flags.DEFINE_string("arrays_out", None,
                    "If set, write precision/recall/scores/category_stats here (.npz).")
flags.mark_flags_as_required(["evaluator", "gt", "dt"])

# The drop-in evaluators: module holding COCO, module holding the evaluator class, class name.
DROP_IN = {
    "pycocotools": ("pycocotools.coco", "pycocotools.cocoeval", "COCOeval"),
    "faster_coco_eval": ("faster_coco_eval", "faster_coco_eval", "COCOeval_faster"),
    "hotcoco": ("hotcoco", "hotcoco", "COCOeval"),
    "ultrafast": ("ultrafast_pycocotools", "ultrafast_pycocotools", "COCOeval"),
    "ours_api": ("cocoeval_cc", "cocoeval_cc", "COCOeval"),
}
DISTRIBUTIONS = {
    "pycocotools": "pycocotools", "faster_coco_eval": "faster-coco-eval", "hotcoco": "hotcoco",
    "ultrafast": "ultrafast-pycocotools"
}
IN_PROCESS_STAGES = ["load_gt", "load_dt", "evaluate", "accumulate", "summarize"]


class Stopwatch:
  """Accumulates named stage durations."""

  def __init__(self):
    self.stages = {}

  def time(self, stage, fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    self.stages[stage] = self.stages.get(stage, 0.0) + time.perf_counter() - start
    return result


def summary_rows(iou_thrs, max_dets):
  """pycocotools' summarizeDets definitions: (is AP, IoU threshold or None, area label, maxDets)."""
  md = list(max_dets)
  return [(1, None, "all", 100), (1, .5, "all", md[2]), (1, .75, "all", md[2]),
          (1, None, "small", md[2]), (1, None, "medium", md[2]), (1, None, "large", md[2]),
          (0, None, "all", md[0]), (0, None, "all", md[1]), (0, None, "all", md[2]),
          (0, None, "small", md[2]), (0, None, "medium", md[2]), (0, None, "large", md[2])]


def keypoint_summary_rows():
  """pycocotools' summarizeKps definitions."""
  rows = [(None, "all"), (.5, "all"), (.75, "all"), (None, "medium"), (None, "large")]
  return [(ap, thr, area, 20) for ap in (1, 0) for thr, area in rows]


def per_category_stats(precision, recall, iou_thrs, area_lbls, max_dets, iou_type="bbox"):
  """The TF OD API's patched pycocotools: row i, column k = stat i restricted to category k."""
  iou_thrs = np.asarray(iou_thrs)
  num_cats = precision.shape[2]
  rows = keypoint_summary_rows() if iou_type == "keypoints" else summary_rows(iou_thrs, max_dets)
  out = np.full((len(rows), num_cats), -1.0)
  for i, (is_ap, thr, area, mdet) in enumerate(rows):
    a = [j for j, lbl in enumerate(area_lbls) if lbl == area]
    m = [j for j, d in enumerate(max_dets) if d == mdet]
    # Same indexing as pycocotools' _summarize (exact threshold match), one category at a time.
    t = np.where(thr == iou_thrs)[0] if thr is not None else slice(None)
    for k in range(num_cats):
      s = precision[t][:, :, k, a, m] if is_ap else recall[t][:, k, a, m]
      kept = s[s > -1]
      out[i, k] = np.mean(kept) if kept.size else -1.0
  return out


def run_drop_in(name, gt_path, dt_path, iou_type, watch):
  coco_mod, eval_mod, eval_cls = DROP_IN[name]
  if name == "ours_api":
    import_ours("COCOeval")
  coco_cls = importlib.import_module(coco_mod).COCO
  evaluator_cls = getattr(importlib.import_module(eval_mod), eval_cls)
  gt = watch.time("load_gt", coco_cls, gt_path)
  dt = watch.time("load_dt", gt.loadRes, dt_path)
  evaluator = watch.time("evaluate", evaluator_cls, gt, dt,
                         iou_type)  # construction indexes: count it
  watch.time("evaluate", evaluator.evaluate)
  watch.time("accumulate", evaluator.accumulate)
  watch.time("summarize", evaluator.summarize)
  p = evaluator.params
  arrays = {
      key: np.asarray(evaluator.eval[key], dtype=np.float64)
      for key in ("precision", "recall", "scores")
  }
  arrays["category_stats"] = watch.time("per_category", per_category_stats, arrays["precision"],
                                        arrays["recall"], p.iouThrs, p.areaRngLbl, p.maxDets,
                                        iou_type)
  return [float(s) for s in evaluator.stats], arrays, {}


def import_ours(attribute):
  """cocoeval_cc, or ImportError if it is missing or only the source dir (a namespace package)."""
  import cocoeval_cc
  if not hasattr(cocoeval_cc, attribute):
    raise ImportError(
        f"cocoeval_cc ({getattr(cocoeval_cc, '__path__', '?')}) has no {attribute}: not built?")
  return cocoeval_cc


def run_ours_fast(gt_path, dt_path, iou_type, num_threads, watch):
  cocoeval_cc = import_ours("evaluate_files")
  result = watch.time("call", cocoeval_cc.evaluate_files, gt_path, dt_path, iou_type=iou_type,
                      num_threads=num_threads)
  arrays = {
      key: np.asarray(getattr(result, key), dtype=np.float64)
      for key in ("precision", "recall", "scores", "category_stats")
  }
  native = {k: float(v) for k, v in dict(result.timings).items()}
  # Stages the library times itself, where its names match ours; the rest stay under native_timings.
  watch.stages.update(
      {k: v for k, v in native.items() if k in IN_PROCESS_STAGES + ["per_category"]})
  return [float(s) for s in result.stats], arrays, native


def version_of(name):
  from importlib import metadata
  try:
    return metadata.version(DISTRIBUTIONS[name]) if name in DISTRIBUTIONS else None
  except metadata.PackageNotFoundError:
    return None


def resolve(path):
  # `bazel run` changes the working directory; user paths are relative to where it was typed.
  return os.path.join(os.environ.get("BUILD_WORKING_DIRECTORY", ""), os.path.expanduser(path))


def main(argv):
  del argv
  # Keep the real stdout for our line and point fd 1 at stderr: native code prints there too.
  result_out = os.fdopen(os.dup(1), "w")
  os.dup2(2, 1)
  name = FLAGS.evaluator
  report = {"evaluator": name, "iou_type": FLAGS.iou_type, "version": version_of(name)}
  watch = Stopwatch()
  gt_path, dt_path = resolve(FLAGS.gt), resolve(FLAGS.dt)
  try:
    if name == "ours":
      report["num_threads"] = FLAGS.num_threads
      stats, arrays, native = run_ours_fast(gt_path, dt_path, FLAGS.iou_type, FLAGS.num_threads,
                                            watch)
    else:
      stats, arrays, native = run_drop_in(name, gt_path, dt_path, FLAGS.iou_type, watch)
  except ImportError as e:
    # Not installed (or, for ours, not built yet): a row saying so, not a crash.
    report["unavailable"] = f"{type(e).__name__}: {e}"
    print(json.dumps(report), file=result_out, flush=True)
    return
  stages = watch.stages
  if "call" in stages:
    # The fast path is one call that also computes per-category stats: leave those out, as for
    # the others, so that in_process_total covers the same five stages for every evaluator.
    report["call_total"] = stages.pop("call")
    report["in_process_total"] = report["call_total"] - stages.get("per_category", 0.0)
  else:
    report["in_process_total"] = sum(stages[s] for s in IN_PROCESS_STAGES)
  report.update(stages=stages, stats=stats, native_timings=native or None)
  if FLAGS.arrays_out:
    np.savez(resolve(FLAGS.arrays_out), **arrays)
    report["arrays_file"] = resolve(FLAGS.arrays_out)
  print(json.dumps(report), file=result_out, flush=True)


if __name__ == "__main__":
  app.run(main)
