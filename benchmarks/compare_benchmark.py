"""Paired bootstrap comparison and slices at COCO-val scale: ours vs hotcoco.compare, one run.

Model a is the 5,000-image synthetic bbox set's dt.json (make_synthetic_coco.py, in
/tmp/coco_bench/bbox); model b is the same results with deterministically perturbed scores and
boxes (written once next to it as compare/dt_b.json). Both evaluators evaluate both models first
(not timed in the comparison); then each compare() with the same n_bootstrap is timed, and our
slice_by() (the built-in slices). hotcoco's bootstrap keeps the distinct images of each draw
(about 63 % of them), ours keeps multiplicities: the figures are times for the same number of
resamples, and both intervals are printed for the reader to see they are of the same size.

  bazel run //benchmarks:compare_benchmark -- --n_bootstrap=1000 --output_markdown=cmp.md
"""
import json
import os
import statistics
import subprocess
import sys
import time

from absl import app, flags
import numpy as np

FLAGS = flags.FLAGS
flags.DEFINE_string("data_dir", "/tmp/coco_bench/bbox",
                    "Holds gt.json and dt.json; generated there when missing.")
flags.DEFINE_integer("n_bootstrap", 1000, "Resamples, for both.")
flags.DEFINE_integer("runs", 3, "Timed runs of ours (the median is reported).")
flags.DEFINE_integer("hotcoco_runs", 1, "Timed runs of hotcoco (slow).")
flags.DEFINE_integer("num_threads", 0, "Threads for ours (0: all cores).")
flags.DEFINE_string("output_markdown", None, "Also write the table here.")

HERE = os.path.dirname(os.path.abspath(__file__))


def resolve(path):
  return os.path.join(os.environ.get("BUILD_WORKING_DIRECTORY", ""), os.path.expanduser(path))


def ensure_data(data_dir):
  gt, dt = os.path.join(data_dir, "gt.json"), os.path.join(data_dir, "dt.json")
  if not (os.path.exists(gt) and os.path.exists(dt)):
    print(f"Generating the synthetic bbox set in {data_dir} ...", flush=True)
    subprocess.run([
        sys.executable,
        os.path.join(HERE, "make_synthetic_coco.py"), "--iou_type=bbox", f"--output_dir={data_dir}"
    ], check=True)
  dt_b = os.path.join(data_dir, "compare", "dt_b.json")
  if not os.path.exists(dt_b):
    # Model b: every score moved by N(0, 0.05) (clipped to [0, 1]) and every box shifted by
    # N(0, 4 % of its size), from a fixed seed.
    rng = np.random.default_rng(1)
    with open(dt, encoding="utf-8") as f:
      results = json.load(f)
    noise = rng.normal(0, 1, size=(len(results), 3))
    for r, (ds, dx, dy) in zip(results, noise):
      r["score"] = float(min(1.0, max(0.0, r["score"] + 0.05 * ds)))
      x, y, w, h = r["bbox"]
      r["bbox"] = [x + 0.04 * w * dx, y + 0.04 * h * dy, w, h]
    os.makedirs(os.path.dirname(dt_b), exist_ok=True)
    with open(dt_b + ".tmp", "w", encoding="utf-8") as f:
      json.dump(results, f)
    os.replace(dt_b + ".tmp", dt_b)
  return gt, dt, dt_b


def timed(fn, runs):
  times, out = [], None
  for _ in range(runs):
    start = time.perf_counter()
    out = fn()
    times.append(time.perf_counter() - start)
  return statistics.median(times), times, out


def load():
  return os.getloadavg()[0]


def main(argv):
  del argv
  import cocoeval_cc  # pylint: disable=import-outside-toplevel
  import hotcoco  # pylint: disable=import-outside-toplevel

  gt_path, dt_a, dt_b = ensure_data(resolve(FLAGS.data_dir))
  n = FLAGS.n_bootstrap
  rows, notes = [], [f"load average before: {load():.2f} (2 cores)"]

  gt = cocoeval_cc.COCO(gt_path)
  start = time.perf_counter()
  ours = []
  for path in (dt_a, dt_b):
    e = cocoeval_cc.COCOeval(gt, gt.loadRes(path), "bbox", num_threads=FLAGS.num_threads)
    e.evaluate()
    ours.append(e)
  ours_eval = time.perf_counter() - start
  med, times, ours_result = timed(lambda: cocoeval_cc.compare(*ours, n_bootstrap=n, seed=0),
                                  FLAGS.runs)
  rows.append(("ours: compare", n, med, times))
  slice_med, slice_times, slices = timed(lambda: ours[0].slice_by(), FLAGS.runs)

  hgt = hotcoco.COCO(gt_path)
  start = time.perf_counter()
  theirs = []
  for path in (dt_a, dt_b):
    e = hotcoco.COCOeval(hgt, hgt.loadRes(path), "bbox")
    e.evaluate()
    theirs.append(e)
  hot_eval = time.perf_counter() - start
  hmed, htimes, hot_result = timed(
      lambda: hotcoco.compare(*theirs, n_bootstrap=n, seed=42, confidence=0.95), FLAGS.hotcoco_runs)
  rows.append(("hotcoco 1.3.0: compare", n, hmed, htimes))
  notes.append(f"load average after: {load():.2f}")

  lines = [
      f"Paired bootstrap, {ours_result['num_images']} images, 80 categories, "
      f"n_bootstrap={n} (evaluation of both models not included: ours {ours_eval:.2f} s, "
      f"hotcoco {hot_eval:.2f} s)", "", "| evaluator | n_bootstrap | median s | runs s | vs ours |",
      "|---|---|---|---|---|"
  ]
  for name, count, m, ts in rows:
    lines.append(f"| {name} | {count} | {m:.2f} | {', '.join(f'{t:.2f}' for t in ts)} | "
                 f"{m / med:.1f}x |")
  lines += [
      "", f"slice_by() (built-in slices: {', '.join(slices)}): median {slice_med:.3f} s "
      f"(runs {', '.join(f'{t:.3f}' for t in slice_times)})", "",
      "| stat | ours a | hotcoco a | ours delta [95 % interval] | hotcoco delta [95 % interval] |",
      "|---|---|---|---|---|"
  ]
  ci = hot_result.get("ci") or {}
  key = {
      "AP_small": "APs", "AP_medium": "APm", "AP_large": "APl", "AR_small": "ARs",
      "AR_medium": "ARm", "AR_large": "ARl"
  }
  for s in ours_result["stats"]:
    k = key.get(s["name"], s["name"])
    h = ci.get(k, {})
    lines.append(
        f"| {s['name']} | {s['a']:.6f} | {hot_result['metrics_a'].get(k, float('nan')):.6f}"
        f" | {s['delta']:+.4f} [{s['lo']:+.4f}, {s['hi']:+.4f}] | "
        f"{hot_result['deltas'].get(k, float('nan')):+.4f} "
        f"[{h.get('lower', float('nan')):+.4f}, {h.get('upper', float('nan')):+.4f}] |")
  sig = sum(c["significant"] for c in ours_result["per_category"])
  lines += [
      "", f"ours: {sig} of {len(ours_result['per_category'])} categories' AP differ significantly",
      "; ".join(notes)
  ]
  text = "\n".join(lines)
  print(text)
  if FLAGS.output_markdown:
    with open(resolve(FLAGS.output_markdown), "w", encoding="utf-8") as f:
      f.write(text + "\n")


if __name__ == "__main__":
  app.run(main)
