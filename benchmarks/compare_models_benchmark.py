r"""//eval:compare_models and the sweep's bootstrap stage vs hotcoco, end to end, in one run.

  bazel run //benchmarks:compare_models_benchmark -- [--n_bootstrap=1000] [--runs=3]

Two "models" on the COCO-val-shaped synthetic set (5,000 images, 100 detections each;
/tmp/coco_bench/bbox from make_synthetic_coco.py): its detections, and a
deterministic perturbation (boxes moved, scores rescaled, a tenth dropped). Each is written as an
evaluate_model output folder (not timed). Timed, each the best of --runs:
  ours compare_models   model_comparison.compare_outputs: load the ground truth, evaluate both
                        folders (checked against metrics.json), paired bootstrap
                        (and its two parts, timed alone)
  ours sweep, cold      sweep_comparisons over the two models: both models' intervals + the pair
  ours sweep, cached    the same again: OUT/comparison/ read back (detections' sha256 checked)
  hotcoco compare       hotcoco: load, evaluate both, hotcoco.compare(n_bootstrap) (the anchor)
"""
import json
import os
import shutil
import tempfile
import time

from absl import app
from absl import flags

import cocoeval_cc
from cocoeval_cc import evaluation
from eval import model_comparison
from eval.data import second_model
from eval import results

_N_BOOTSTRAP = flags.DEFINE_integer("n_bootstrap", 1000, "Bootstrap resamples.")
_RUNS = flags.DEFINE_integer("runs", 3, "Timed runs of each; the best is reported.")
_DATA = flags.DEFINE_string("data_dir", "/tmp/coco_bench/bbox",
                            "gt.json + dt.json (made if absent).")


def _write_output(directory, gt_path, dt_path):
  os.makedirs(directory, exist_ok=True)
  shutil.copyfile(dt_path, os.path.join(directory, results.DETECTIONS))
  gt_coco = cocoeval_cc.COCO(gt_path)
  params = cocoeval_cc.Params("bbox")
  params.imgIds = gt_coco.sorted_image_ids()
  params.catIds = gt_coco.sorted_category_ids()
  dt = gt_coco.loadRes(dt_path)
  result = evaluation.evaluate_loaded(gt_coco.native_ground_truth, dt.native_detections, "bbox",
                                      params, 0)
  run = results.ModelRunResult(
      evaluations=(results.IouTypeResult.from_evaluation(result),), metrics=result.tf_metrics(),
      input={"annotations": {"path": gt_path,
                             "sha256": model_comparison.file_sha256(gt_path)}}, annotations=gt_path)
  results.write_model_result(os.path.join(directory, results.METRICS), run)
  return model_comparison.read_output(directory)


def _best(fn, runs):
  times = []
  for _ in range(runs):
    start = time.perf_counter()
    out = fn()
    times.append(time.perf_counter() - start)
  return min(times), out


def _hotcoco(gt_path, dt_a, dt_b, n):
  import hotcoco  # pylint: disable=import-outside-toplevel
  gt = hotcoco.COCO(gt_path)
  evals = []
  for dt_path in (dt_a, dt_b):
    ev = hotcoco.COCOeval(gt, gt.loadRes(dt_path), "bbox")
    ev.evaluate()
    evals.append(ev)
  return hotcoco.compare(evals[0], evals[1], n_bootstrap=n, seed=0, confidence=0.95)


def main(argv):
  del argv
  data = _DATA.value
  gt_path, dt_path = os.path.join(data, "gt.json"), os.path.join(data, "dt.json")
  if not os.path.isfile(gt_path):
    raise SystemExit(f"no {gt_path}: make it with bazel run //benchmarks:make_synthetic_coco -- "
                     f"--output_dir={data}")
  work = tempfile.mkdtemp(prefix="compare_models_benchmark.")
  try:
    with open(dt_path) as f:
      detections = json.load(f)
    dt_b = os.path.join(work, "dt_b.json")
    with open(dt_b, "w") as f:
      json.dump(second_model.perturbed_detections(detections), f)
    del detections
    a = _write_output(os.path.join(work, "model_a"), gt_path, dt_path)
    b = _write_output(os.path.join(work, "model_b"), gt_path, dt_b)
    n, runs = _N_BOOTSTRAP.value, _RUNS.value
    with open(gt_path) as f:
      gt = json.load(f)

    rows = []
    t, ours = _best(lambda: model_comparison.compare_outputs(a, b, n_bootstrap=n), runs)
    rows.append(("ours compare_models", t))

    def evaluate_both():
      gt_coco = model_comparison.ground_truth_for(a, gt_path)
      return [model_comparison.evaluate_output(o, gt_coco, "bbox") for o in (a, b)]

    t, both = _best(evaluate_both, runs)
    rows.append(("  of which: load + evaluate both, checked", t))
    t, _ = _best(lambda: cocoeval_cc.compare(*both, n_bootstrap=n), runs)
    rows.append(("  of which: cocoeval_cc.compare", t))
    both = None  # two evaluations' memory back before the next rows
    out = os.path.join(work, "out")

    def cold():
      shutil.rmtree(os.path.join(out, model_comparison.COMPARISON_DIR), ignore_errors=True)
      return model_comparison.sweep_comparisons(out, [a, b], gt, n_bootstrap=n)

    t, _ = _best(cold, runs)
    rows.append(("ours sweep, cold (2 intervals + 1 pair)", t))
    t, _ = _best(lambda: model_comparison.sweep_comparisons(out, [a, b], gt, n_bootstrap=n), runs)
    rows.append(("ours sweep, cached", t))
    t, theirs = _best(
        lambda: _hotcoco(gt_path, a.detections_path("bbox"), b.detections_path("bbox"), n), runs)
    rows.append(("hotcoco load + evaluate x2 + compare", t))

    anchor = rows[-1][1]
    print(
        f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; n_bootstrap={n}, best of {runs}; "
        f"{ours['num_images']} images")
    print(f"{'':42s} {'seconds':>8s} {'vs hotcoco':>10s}")
    for name, seconds in rows:
      print(f"{name:42s} {seconds:8.2f} {anchor / seconds:9.2f}x")
    delta = ours["stats"][0]
    print(f"AP delta: ours {delta['delta']:+.5f} [{delta['lo']:+.5f}, {delta['hi']:+.5f}]; "
          f"hotcoco {theirs['deltas'].get('AP', float('nan')):+.5f} "
          f"{(theirs.get('ci') or {}).get('AP')}")
  finally:
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
  app.run(main)
