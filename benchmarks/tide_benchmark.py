"""TIDE error decomposition at COCO scale: ours against hotcoco and tidecv 1.0.1, in one run.

The time compared is tide_errors() after evaluate() (both already loaded and evaluated), on the
COCO-val-shaped synthetic set (benchmarks/make_synthetic_coco.py: 5,000 images, 80 categories,
500k detections); tidecv's is its TIDE run (evaluate + main and special errors) after its own
loading. The delta AP of each error type is printed side by side (AP points, tidecv's unit), so
agreement at scale is visible too: ours reproduces tidecv's rules, hotcoco its own reading of TIDE.

  bazel run //benchmarks:tide_benchmark -- --iou_type=bbox   # data in /tmp/coco_bench/bbox
"""
import contextlib
import io
import os
import statistics
import time

from absl import app
from absl import flags

_DATA_DIR = flags.DEFINE_string(
    "data_dir", None, "Holds gt.json and dt.json (make_synthetic_coco; default "
    "/tmp/coco_bench/<iou_type>).")
_IOU_TYPE = flags.DEFINE_enum("iou_type", "bbox", ["bbox", "segm"], "Boxes or masks (tidecv's "
                              "mask mode).")
_TOOLS = flags.DEFINE_list("tools", "ours,hotcoco,tidecv", "Which implementations to run.")
_RUNS = flags.DEFINE_integer("runs", 9, "tide_errors() calls timed for ours and hotcoco.")
_KEYS = ("Cls", "Loc", "Both", "Dupe", "Bkg", "Miss", "FP", "FN")


def _evaluated(tool: str, gt_path: str, dt_path: str):
  if tool == "ours":
    from cocoeval_cc import COCO, COCOeval  # pylint: disable=g-import-not-at-top
  else:
    from hotcoco import COCO, COCOeval  # pylint: disable=g-import-not-at-top
  with contextlib.redirect_stdout(io.StringIO()):
    gt = COCO(gt_path)
    dt = gt.loadRes(dt_path)
    e = COCOeval(gt, dt, _IOU_TYPE.value)
    start = time.perf_counter()
    e.evaluate()
  return e, time.perf_counter() - start


def _run_evaluators(tools, gt_path, dt_path):
  """Each evaluator loaded and evaluated, then their tide_errors() calls interleaved round by
  round (alternating who goes first), so that load from elsewhere on the machine hits all."""
  evaluated = {tool: _evaluated(tool, gt_path, dt_path) for tool in tools}
  times = {tool: [] for tool in tools}
  results = {}
  for r in range(_RUNS.value):
    for tool in tools if r % 2 == 0 else tools[::-1]:
      start = time.perf_counter()
      results[tool] = evaluated[tool][0].tide_errors(pos_thr=0.5, bg_thr=0.1)
      times[tool].append(time.perf_counter() - start)
  return {tool: _summary(evaluated[tool][1], times[tool], results[tool]) for tool in tools}


def _summary(evaluate_s, times, result):
  delta = {k: 100 * float(result["delta_ap"][k]) for k in _KEYS}
  ap = 100 * float(result["ap"] if "ap" in result else result["ap_base"])
  counts = {k: int(result["counts"][k]) for k in _KEYS[:6]}
  return {"evaluate": evaluate_s, "times": times, "ap": ap, "delta": delta, "counts": counts}


def _run_tidecv(gt_path, dt_path):
  from tidecv import TIDE, datasets  # pylint: disable=g-import-not-at-top
  start = time.perf_counter()
  with contextlib.redirect_stdout(io.StringIO()):
    gt = datasets.COCO(gt_path)
    dt = datasets.COCOResult(dt_path)
  load_s = time.perf_counter() - start
  start = time.perf_counter()
  t = TIDE()
  t.evaluate(gt, dt, mode=TIDE.BOX if _IOU_TYPE.value == "bbox" else TIDE.MASK, name="run")
  main = t.get_main_errors()["run"]
  special = t.get_special_errors()["run"]
  tide_s = time.perf_counter() - start
  run = t.runs["run"]
  delta = {k: float(main[k]) for k in _KEYS[:6]}
  delta["FP"], delta["FN"] = float(special["FalsePos"]), float(special["FalseNeg"])
  counts = {e.short_name: n for e, n in run.count_errors().items()}
  return {
      "evaluate": load_s, "times": [tide_s], "ap": float(run.ap), "delta": delta, "counts": counts
  }


def main(argv):
  del argv
  data_dir = _DATA_DIR.value or f"/tmp/coco_bench/{_IOU_TYPE.value}"
  gt_path = os.path.join(data_dir, "gt.json")
  dt_path = os.path.join(data_dir, "dt.json")
  res = _run_evaluators([t for t in _TOOLS.value if t != "tidecv"], gt_path, dt_path)
  if "tidecv" in _TOOLS.value:
    res["tidecv"] = _run_tidecv(gt_path, dt_path)
  print(f"load: {os.getloadavg()[0]:.2f} (1-min average, 2 cores); {_IOU_TYPE.value}, data: "
        f"{data_dir}")
  ours = statistics.median(res["ours"]["times"]) if "ours" in res else None
  print("| tool | before TIDE s | TIDE median s | TIDE min s | vs ours |")
  print("| --- | ---: | ---: | ---: | ---: |")
  for tool, r in res.items():
    before = "load " if tool == "tidecv" else "evaluate "
    med = statistics.median(r["times"])
    ratio = f"{med / ours:.1f}x" if ours else "-"
    print(f"| {tool} | {before}{r['evaluate']:.2f} | {med:.3f} | {min(r['times']):.3f} | {ratio} |")
  print()
  tools = list(res)
  print("| AP points | " + " | ".join(tools) + " |")
  print("| --- |" + " ---: |" * len(tools))
  print("| AP | " + " | ".join(f"{res[t]['ap']:.3f}" for t in tools) + " |")
  for k in _KEYS:
    print(f"| dAP {k} | " + " | ".join(f"{res[t]['delta'][k]:.3f}" for t in tools) + " |")
  for k in _KEYS[:6]:
    print(f"| count {k} | " + " | ".join(f"{res[t]['counts'][k]:,}" for t in tools) + " |")


if __name__ == "__main__":
  app.run(main)
