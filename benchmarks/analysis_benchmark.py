r"""What the error analysis (eval/analysis, //eval:coco_eval --analysis, evaluate_model's
OUT/analysis/) costs next to the evaluation it analyses, at COCO-val scale.

  bazel run //benchmarks:analysis_benchmark -- --data_dir=/tmp/coco_bench/bbox

--data_dir holds gt.json and dt.json (benchmarks/make_synthetic_coco.py writes them; see
BENCHMARKS.md). One process, the same evaluation for every row: load, evaluate (evaluate +
accumulate + summarize + per-category), each analysis section, the whole analysis object, and
writing the folder (CSVs, PNGs, analysis.json; no gallery: the synthetic set has no images).
Prints the median of --repeats runs of each and its ratio to the evaluation.
"""
import os
import statistics
import tempfile
import time

from absl import app
from absl import flags

from cocoeval_cc import _cocoeval_cc as native
from cocoeval_cc import evaluation
from eval.analysis import analyze

_DATA_DIR = flags.DEFINE_string("data_dir", "/tmp/coco_bench/bbox", "Holds gt.json and dt.json.")
_IOU_TYPE = flags.DEFINE_enum("iou_type", "bbox", ["bbox", "segm"], "What to evaluate.")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Runs of each step (the median is shown).",
                                lower_bound=1)


def _median_seconds(fn, repeats: int):
  times, out = [], None
  for _ in range(repeats):
    start = time.perf_counter()
    out = fn()
    times.append(time.perf_counter() - start)
  return statistics.median(times), out


def main(argv):
  del argv
  gt_path = os.path.join(_DATA_DIR.value, "gt.json")
  dt_path = os.path.join(_DATA_DIR.value, "dt.json")
  repeats = _REPEATS.value
  load, (gt, dt) = _median_seconds(
      lambda: (lambda g: (g, native.load_results(g, dt_path)))(native.load_ground_truth(gt_path)),
      repeats)
  evaluate, result = _median_seconds(
      lambda: evaluation.evaluate_loaded(gt, dt, _IOU_TYPE.value, None, 0), repeats)
  rows = [("load ground truth + detections", load), ("evaluation (the reference)", evaluate)]
  settings = analyze.Settings()
  for key, fn in analyze._SECTIONS:  # pylint: disable=protected-access  (each section alone)
    seconds, _ = _median_seconds(lambda fn=fn: fn(result, settings, None), repeats)
    rows.append((f"  {key}", seconds))
  compute, analysis = _median_seconds(lambda: analyze.compute(result), repeats)
  rows.append(("analysis object (all sections)", compute))
  with tempfile.TemporaryDirectory() as folder:
    analyze.write(folder, analysis)  # the first write imports matplotlib: not timed
    write, _ = _median_seconds(lambda: analyze.write(folder, analysis), repeats)
    size = os.path.getsize(os.path.join(folder, analyze.ANALYSIS_JSON))
  rows.append(("analysis folder (CSVs, 4 PNGs, analysis.json)", write))
  print(f"{_IOU_TYPE.value}: {len(gt.image_ids)} images, {len(dt)} detections, "
        f"{len(gt.category_ids)} categories; median of {repeats}; load {os.getloadavg()[0]:.2f}")
  print(f"{'step':<48} {'seconds':>8} {'x evaluation':>13}")
  for name, seconds in rows:
    print(f"{name:<48} {seconds:8.3f} {seconds / evaluate:13.2f}")
  print(f"analysis.json: {size / 1e6:.1f} MB")


if __name__ == "__main__":
  app.run(main)
