"""Deployment diagnostics at COCO scale: ours against hotcoco's equivalents, in one run.

On the COCO-val-shaped synthetic set (benchmarks/make_synthetic_coco.py: 5,000 images, 80
categories, 500k detections), both loaded and evaluated (and accumulated) first, each analysis
is timed `--runs` times, the implementations taking turns call by call; the table gives the
median, the fastest, and hotcoco / ours. The pairs:

  pr_curves()                  -- (hotcoco has no PR-curve export; ours alone)
  f1_thresholds(0.5)           -- f_scores(beta=1)  (not the same work: hotcoco reads the max F1
                                  off the already-accumulated interpolated curve, ours sorts
                                  every category's detections for the exact thresholds)
  confusion(0.5, 0.5)          -- confusion_matrix(iou_thr=0.5, min_score=0.5)
  calibration(0.5, 10)         -- calibration(n_bins=10, iou_threshold=0.5)
  image_diagnostics(0.5, 0.5)  -- image_diagnostics(iou_thr=0.5, score_thr=0.5)
  f1_thresholds(0.63)          -- (an IoU outside params.iouThrs: matched again; ours alone)

The definitions differ where README says so (confusion: same-class matching first; per-image
counts: only detections >= score_thr); calibration is the same definition, so its ECE is printed
for both.

  bazel run //benchmarks:diagnostics_benchmark -- --data_dir=/tmp/coco_bench/bbox
"""
import contextlib
import io
import os
import statistics
import time

from absl import app
from absl import flags

_DATA_DIR = flags.DEFINE_string("data_dir", "/tmp/coco_bench/bbox",
                                "Holds gt.json and dt.json (make_synthetic_coco).")
_RUNS = flags.DEFINE_integer("runs", 5, "Timed calls per analysis and implementation.")
_NUM_THREADS = flags.DEFINE_integer("num_threads", 0, "Threads for ours (0: all cores).")
_TOOLS = flags.DEFINE_list("tools", "ours,hotcoco", "Which implementations to run.")

_ANALYSES = ("pr_curves", "f1_thresholds", "confusion", "calibration", "image_diagnostics",
             "f1_thresholds@0.63")


def _ours(gt_path, dt_path):
  from cocoeval_cc import COCO, COCOeval  # pylint: disable=g-import-not-at-top
  gt = COCO(gt_path)
  e = COCOeval(gt, gt.loadRes(dt_path), "bbox", num_threads=_NUM_THREADS.value)
  e.evaluate()
  e.accumulate()
  return e, {
      "pr_curves": e.pr_curves,
      "f1_thresholds": lambda: e.f1_thresholds(0.5),
      "confusion": lambda: e.confusion(0.5, 0.5),
      "calibration": lambda: e.calibration(0.5, 10),
      "image_diagnostics": lambda: e.image_diagnostics(0.5, 0.5, 20),
      "f1_thresholds@0.63": lambda: e.f1_thresholds(0.63),
  }


def _hotcoco(gt_path, dt_path):
  from hotcoco import COCO, COCOeval  # pylint: disable=g-import-not-at-top
  with contextlib.redirect_stdout(io.StringIO()):
    gt = COCO(gt_path)
    e = COCOeval(gt, gt.load_res(dt_path), "bbox")
    e.evaluate()
    e.accumulate()
  return e, {
      "f1_thresholds": lambda: e.f_scores(beta=1.0),
      "confusion": lambda: e.confusion_matrix(iou_thr=0.5, max_det=None, min_score=0.5),
      "calibration": lambda: e.calibration(n_bins=10, iou_threshold=0.5),
      "image_diagnostics": lambda: e.image_diagnostics(iou_thr=0.5, score_thr=0.5),
  }


def main(argv):
  del argv
  gt_path = os.path.join(_DATA_DIR.value, "gt.json")
  dt_path = os.path.join(_DATA_DIR.value, "dt.json")
  print(f"data: {_DATA_DIR.value}; runs: {_RUNS.value}; cores: {os.cpu_count()}; "
        f"load before: {os.getloadavg()[0]:.2f}")
  calls = {}
  for tool in _TOOLS.value:
    _, calls[tool] = (_ours if tool == "ours" else _hotcoco)(gt_path, dt_path)
  # Round by round, each implementation's call in turn: machine load (the benchmark shares
  # two cores with builds) hits both alike.
  times, results = {}, {}
  for _ in range(_RUNS.value):
    for name in _ANALYSES:
      for tool in _TOOLS.value:
        fn = calls[tool].get(name)
        if fn is None:
          continue
        start = time.perf_counter()
        results[tool, name] = fn()
        times.setdefault((tool, name), []).append(time.perf_counter() - start)
  print(f"load after: {os.getloadavg()[0]:.2f}")
  print("\n| analysis | ours median (min) s | hotcoco median (min) s | hotcoco / ours |")
  print("| --- | --- | --- | --- |")
  for name in _ANALYSES:
    cells = []
    for tool in ("ours", "hotcoco"):
      t = times.get((tool, name))
      cells.append(f"{statistics.median(t):.4f} ({min(t):.4f})" if t else "-")
    ratio = "-"
    if ("ours", name) in times and ("hotcoco", name) in times:
      theirs, ours = (statistics.median(times[tool, name]) for tool in ("hotcoco", "ours"))
      ratio = f"{theirs / ours:.1f}x" if theirs >= ours else f"{theirs / ours:.2f}x"
    print(f"| {name} | {cells[0]} | {cells[1]} | {ratio} |")
  ours_cal, theirs_cal = results.get(("ours", "calibration")), results.get(
      ("hotcoco", "calibration"))
  if ours_cal and theirs_cal:
    print(f"\ncalibration ECE: ours {ours_cal['ece']:.6f}, hotcoco {theirs_cal['ece']:.6f}; "
          f"detections: ours {ours_cal['num_detections']}, hotcoco {theirs_cal['num_detections']}")
  ours_img = results.get(("ours", "image_diagnostics"))
  if ours_img:
    print(f"ours: {len(ours_img['label_errors'])} label errors, worst image f1 "
          f"{ours_img['worst'][0]['f1'] if ours_img['worst'] else None}")
  theirs_img = results.get(("hotcoco", "image_diagnostics"))
  if theirs_img:
    wrong = sum(1 for e in theirs_img["label_errors"] if e.get("type") == "wrong_label")
    print(f"hotcoco: {len(theirs_img['label_errors'])} label error candidates "
          f"({wrong} wrong_label)")


if __name__ == "__main__":
  app.run(main)
