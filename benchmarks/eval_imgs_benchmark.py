"""pycocotools' per-image results (`evalImgs`) at COCO scale: ours against pycocotools and hotcoco.

pycocotools builds evalImgs inside evaluate(); we match natively and build the same list only
when it is first read, so the figure compared is evaluate() + reading evalImgs, in one process,
on the COCO-val-shaped synthetic set (benchmarks/make_synthetic_coco.py). The lists are checked
equal entry by entry on a sample before the times are printed.

  bazel run //benchmarks:eval_imgs_benchmark -- --data_dir=/tmp/coco_bench/bbox
"""
import contextlib
import io
import os
import time

from absl import app
from absl import flags
import numpy as np

_DATA_DIR = flags.DEFINE_string("data_dir", "/tmp/coco_bench/bbox",
                                "Holds gt.json and dt.json (make_synthetic_coco).")
_TOOLS = flags.DEFINE_list("tools", "ours,hotcoco,pycocotools", "Which evaluators to time.")
_SAMPLE = flags.DEFINE_integer("sample", 2000, "evalImgs entries compared between tools.")


def _run(tool: str, gt_path: str, dt_path: str):
  if tool == "ours":
    from cocoeval_cc import COCO, COCOeval  # pylint: disable=g-import-not-at-top
  elif tool == "hotcoco":
    from hotcoco import COCO, COCOeval  # pylint: disable=g-import-not-at-top
  else:
    from pycocotools.coco import COCO  # pylint: disable=g-import-not-at-top
    from pycocotools.cocoeval import COCOeval  # pylint: disable=g-import-not-at-top
  with contextlib.redirect_stdout(io.StringIO()):
    gt = COCO(gt_path)
    dt = gt.loadRes(dt_path)
    e = COCOeval(gt, dt, "bbox")
    start = time.perf_counter()
    e.evaluate()
    evaluated = time.perf_counter() - start
    imgs = e.evalImgs
    total = time.perf_counter() - start
  return evaluated, total, imgs


def _same(a, b) -> bool:
  if a is None or b is None:
    return a is None and b is None
  for key in ("image_id", "category_id", "aRng", "maxDet", "dtIds", "gtIds"):
    if list(np.ravel(a[key])) != list(np.ravel(b[key])):
      return False
  for key in ("dtMatches", "gtMatches", "dtScores", "gtIgnore", "dtIgnore"):
    if not np.array_equal(np.asarray(a[key]), np.asarray(b[key])):
      return False
  return True


def main(argv):
  del argv
  gt_path = os.path.join(_DATA_DIR.value, "gt.json")
  dt_path = os.path.join(_DATA_DIR.value, "dt.json")
  rows, lists = [], {}
  for tool in _TOOLS.value:
    evaluated, total, imgs = _run(tool, gt_path, dt_path)
    rows.append((tool, evaluated, total, len(imgs)))
    lists[tool] = imgs
  reference = lists.get("pycocotools")
  if reference is not None:
    rng = np.random.default_rng(0)
    picks = rng.choice(len(reference), size=min(_SAMPLE.value, len(reference)), replace=False)
    for tool, imgs in lists.items():
      if len(imgs) != len(reference):  # another layout (hotcoco leaves out empty entries)
        print(f"{tool}: {len(imgs):,} entries, pycocotools {len(reference):,}: not compared")
        continue
      bad = sum(not _same(imgs[i], reference[i]) for i in picks)
      print(f"{tool}: {len(picks) - bad}/{len(picks)} sampled evalImgs entries equal pycocotools'")
  print(f"load: {os.getloadavg()[0]:.2f} (1-min average, 2 cores)")
  ours = next((r for r in rows if r[0] == "ours"), None)
  print("| tool | evaluate() s | evaluate() + evalImgs s | entries | ours faster by |")
  print("| --- | ---: | ---: | ---: | ---: |")
  for tool, evaluated, total, n in rows:
    ratio = f"{total / ours[2]:.1f}x" if ours else "-"
    print(f"| {tool} | {evaluated:.2f} | {total:.2f} | {n:,} | {ratio} |")


if __name__ == "__main__":
  app.run(main)
