"""Benchmarks COCO evaluators side by side on the same files: speed, peak memory, exactness.

Each run of each evaluator is a fresh `run_evaluator.py` subprocess, so its wall time includes
interpreter start and imports, and its peak RSS (from os.wait4 on that child) is its own.
Exactness is judged against pycocotools: the 12 stats and the precision/recall/scores arrays
must be equal bit for bit.

  bazel run //benchmarks:coco_benchmark -- --iou_type=bbox --output_markdown=bench.md
"""
import json
import os
import platform
import statistics
import subprocess
import sys
import time

from absl import app, flags
import numpy as np

FLAGS = flags.FLAGS
KNOWN = ["ours", "ours_api", "hotcoco", "ultrafast", "faster_coco_eval", "pycocotools"]
flags.DEFINE_string(
    "data_dir", None, "Holds gt.json and dt.json; generated there when missing "
    "(default /tmp/coco_bench/<iou_type>).")
flags.DEFINE_enum("iou_type", "bbox", ["bbox", "segm", "keypoints"], "IoU type.")
flags.DEFINE_list("evaluators", "ours,hotcoco,ultrafast,faster_coco_eval,pycocotools",
                  f"Evaluators to run, from {KNOWN}. 'ours' also adds an 'ours (1 thread)' row.")
flags.DEFINE_integer("runs", 3, "Runs per evaluator, each in a fresh process.")
flags.DEFINE_integer("reference_runs", None,
                     "Runs for pycocotools (slow) if different from --runs.")
flags.DEFINE_integer("num_threads", 0, "Threads for ours (0: all cores).")
flags.DEFINE_integer("seed", 0, "Seed of the synthetic set when it has to be generated.")
flags.DEFINE_string("output_markdown", None, "Write the results as markdown tables here.")
flags.DEFINE_list("ours_pythonpath", [],
                  "Prepended to the children's PYTHONPATH, e.g. where cocoeval_cc is built.")

HERE = os.path.dirname(os.path.abspath(__file__))
STAGES = ["load_gt", "load_dt", "evaluate", "accumulate", "summarize", "per_category"]
ARRAYS = ["precision", "recall", "scores", "category_stats"]
REFERENCE = "pycocotools"


def resolve(path):
  # `bazel run` changes the working directory; user paths are relative to where it was typed.
  return os.path.join(os.environ.get("BUILD_WORKING_DIRECTORY", ""), os.path.expanduser(path))


def ensure_data(data_dir, iou_type, seed):
  gt, dt = os.path.join(data_dir, "gt.json"), os.path.join(data_dir, "dt.json")
  if not (os.path.exists(gt) and os.path.exists(dt)):
    print(f"Generating the synthetic {iou_type} set in {data_dir} (seed {seed}) ...", flush=True)
    if iou_type == "keypoints":  # the person keypoint set (COCO val's persons)
      args = [os.path.join(HERE, "make_synthetic_keypoints.py")]
    else:
      args = [os.path.join(HERE, "make_synthetic_coco.py"), f"--iou_type={iou_type}"]
    subprocess.run([sys.executable] + args + [f"--output_dir={data_dir}", f"--seed={seed}"],
                   check=True)
  return gt, dt


def describe_data(gt_path, dt_path):
  """The figures a reader needs to compare with other machines' numbers (parsed in a child)."""
  out = subprocess.run([
      sys.executable,
      os.path.join(HERE, "describe_coco.py"), f"--gt={gt_path}", f"--dt={dt_path}"
  ], check=True, stdout=subprocess.PIPE).stdout
  return json.loads(out.decode().strip().splitlines()[-1])


def run_once(args, env, log_path):
  """One child run: its JSON line, whole-process wall seconds and its own peak RSS in bytes."""
  cmd = [sys.executable, os.path.join(HERE, "run_evaluator.py")] + args
  with open(log_path, "w") as log:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, env=env)
    out = proc.stdout.read()
    # wait4, not Popen.wait: it returns this child's rusage, whose ru_maxrss is its peak (KiB).
    # That peak starts at this driver's own high-water mark (inherited at fork), hence a lean
    # driver.
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
  proc.returncode = os.waitstatus_to_exitcode(status)
  proc.stdout.close()
  if proc.returncode != 0:
    with open(log_path) as f:
      tail = f.read()[-2000:]
    raise RuntimeError(f"exit status {proc.returncode}; stderr tail:\n{tail}")
  return json.loads(out.decode().strip().splitlines()[-1]), wall, usage.ru_maxrss * 1024


def run_row(label, args, runs, env, work_dir):
  """Runs one row `runs` times; returns its summary (or why it is unavailable)."""
  slug = label.replace(" ", "_").replace("(", "").replace(")", "")
  arrays_file = os.path.join(work_dir, slug + ".npz")
  args = args + [f"--arrays_out={arrays_file}"]
  results, walls, rss = [], [], []
  for i in range(runs):
    try:
      report, wall, peak = run_once(args, env, os.path.join(work_dir, slug + ".log"))
    except RuntimeError as e:
      print(f"  [{label}] run {i + 1}/{runs} FAILED: {e}", flush=True)
      return {"label": label, "unavailable": f"failed: {str(e).splitlines()[0]}"}
    if "unavailable" in report:
      print(f"  [{label}] unavailable: {report['unavailable']}", flush=True)
      return {"label": label, "unavailable": report["unavailable"]}
    results.append(report)
    walls.append(wall)
    rss.append(peak)
    print(
        f"  [{label}] run {i + 1}/{runs}: in-process {report['in_process_total']:.3f} s, "
        f"wall {wall:.3f} s, peak RSS {fmt_bytes(peak)}", flush=True)
  in_proc = [r["in_process_total"] for r in results]
  stages = {s: [r["stages"][s] for r in results if s in r["stages"]] for s in STAGES}
  return {
      "label": label,
      "version": results[0].get("version"),
      "stats": results[-1]["stats"],
      "arrays_file": results[-1].get("arrays_file"),
      "in_process": (statistics.median(in_proc), min(in_proc)),
      "wall": (statistics.median(walls), min(walls)),
      "peak_rss": max(rss),
      "stages": {s: (statistics.median(v), min(v)) for s, v in stages.items() if v},
      "native_timings": results[-1].get("native_timings"),
      # Threads must not change the answer: every run's stats should be the same bits.
      "deterministic": all(r["stats"] == results[0]["stats"] for r in results)
  }


def compare(row, ref):
  """Bit-exactness of one row against the reference row, as a short verdict."""
  if ref is None:
    return "n/a (no pycocotools result)"
  if row is ref:
    return "reference"
  stats, ref_stats = np.array(row["stats"]), np.array(ref["stats"])
  if stats.shape != ref_stats.shape:
    return f"no: {stats.size} stats, reference has {ref_stats.size}"
  notes = []
  if not np.array_equal(stats, ref_stats):
    bad = stats != ref_stats
    notes.append(f"stats off by {np.max(np.abs(stats - ref_stats)):.2g} "
                 f"({int(bad.sum())} of {stats.size})")
  if row.get("arrays_file") and ref.get("arrays_file"):
    with np.load(row["arrays_file"]) as a, np.load(ref["arrays_file"]) as b:
      for key in ARRAYS:
        if key not in a or key not in b:
          continue
        if a[key].shape != b[key].shape:
          notes.append(f"{key} shape {a[key].shape} vs {b[key].shape}")
        elif not np.array_equal(a[key], b[key]):
          diff = np.abs(a[key] - b[key])
          notes.append(f"{key} off by {diff.max():.2g} ({int(np.count_nonzero(diff))} elems)")
  else:
    notes.append("arrays not compared")
  if not row.get("deterministic", True):
    notes.append("stats differ between runs")
  if not notes:
    return "yes (bit-identical)"
  return ("stats yes; " if np.array_equal(stats, ref_stats) else "no: ") + "; ".join(notes)


def fingerprint(paths):
  """Identifies the data a stored reference result belongs to (sizes and modification times)."""
  return [[os.path.getsize(p), os.stat(p).st_mtime_ns] for p in paths]


def stored_reference(rows, work_dir, data_paths):
  """This run's pycocotools row; else the one stored by an earlier run on the same files, if any.

    pycocotools takes a minute on the bbox set, so `--evaluators=ours` alone still gets its verdict.
    """
  path = os.path.join(work_dir, "pycocotools_reference.json")
  ref = next((r for r in rows if r["label"] == REFERENCE and "unavailable" not in r), None)
  if ref is not None:
    with open(path + ".tmp", "w") as f:
      json.dump(
          {
              "stats": ref["stats"], "arrays_file": ref["arrays_file"],
              "fingerprint": fingerprint(data_paths)
          }, f)
    os.replace(path + ".tmp", path)
    return ref
  if not os.path.exists(path):
    return None
  with open(path) as f:
    stored = json.load(f)
  if stored["fingerprint"] != fingerprint(data_paths) or not os.path.exists(stored["arrays_file"]):
    return None
  print(f"Exactness judged against the pycocotools result stored in {path}", flush=True)
  return {"label": REFERENCE, "stats": stored["stats"], "arrays_file": stored["arrays_file"]}


def fmt_bytes(n):
  return f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"


def fmt_pair(pair):
  return f"{pair[0]:.3f} / {pair[1]:.3f}"


def tables(rows, data, ref, iou_type, runs_note):
  """Markdown: the summary table, then the per-stage medians."""
  ours = next((r for r in rows if r["label"] == "ours" and "unavailable" not in r), None)
  done = [r for r in rows if "unavailable" not in r]
  base = ours or (min(done, key=lambda r: r["in_process"][0]) if done else None)
  base_name = "ours" if ours else (
      f"fastest ({base['label']}; ours unavailable)" if base else "n/a")
  lines = [
      f"COCO {iou_type} evaluation, synthetic COCO-val-shaped set: {data['images']:,} images, "
      f"{data['categories']} categories, {data['gt']:,} ground-truth objects "
      f"({data['small']:.0%} small, {data['medium']:.0%} medium, {data['large']:.0%} large, "
      f"{data['crowd']:.1%} crowd), {data['dets']:,} detections "
      f"({data['dt_mb']:.1f} MB results JSON). "
      f"{os.cpu_count()} cores, Python {platform.python_version()}; {runs_note}. "
      "In-process = load gt + load results + evaluate + accumulate + summarize; "
      "wall = whole process.", "",
      f"| evaluator | in-process median / min (s) | wall median (s) | peak RSS | x vs {base_name} "
      "| exact vs pycocotools |", "| --- | --- | --- | --- | --- | --- |"
  ]
  for r in rows:
    name = r["label"] + (f" {r['version']}" if r.get("version") else "")
    if "unavailable" in r:
      lines.append(f"| {name} | unavailable | | | | {r['unavailable']} |")
      continue
    ratio = r["in_process"][0] / base["in_process"][0]
    lines.append(
        f"| {name} | {fmt_pair(r['in_process'])} | {r['wall'][0]:.3f} | {fmt_bytes(r['peak_rss'])} "
        f"| {ratio:.1f}x | {compare(r, ref)} |")
  lines += [
      "", "Seconds per stage, median / min (per_category: the S x K per-category stats, "
      "TF OD API style; "
      "not part of in-process):", "", "| evaluator | " + " | ".join(STAGES) + " |", "|" + " --- |" *
      (len(STAGES) + 1)
  ]
  for r in done:
    cells = [fmt_pair(r["stages"][s]) if s in r["stages"] else "" for s in STAGES]
    lines.append(f"| {r['label']} | " + " | ".join(cells) + " |")
  return "\n".join(lines) + "\n"


def plan(evaluators, num_threads):
  """(row label, run_evaluator arguments) for each requested evaluator."""
  rows = []
  for name in evaluators:
    if name not in KNOWN:
      raise app.UsageError(f"unknown evaluator {name!r}; known: {KNOWN}")
    if name == "ours":
      rows.append(("ours", ["--evaluator=ours", f"--num_threads={num_threads}"]))
      if num_threads != 1:
        rows.append(("ours (1 thread)", ["--evaluator=ours", "--num_threads=1"]))
    else:
      rows.append((name, [f"--evaluator={name}"]))
  return rows


def main(argv):
  del argv
  data_dir = resolve(FLAGS.data_dir or f"/tmp/coco_bench/{FLAGS.iou_type}")
  gt, dt = ensure_data(data_dir, FLAGS.iou_type, FLAGS.seed)
  data = describe_data(gt, dt)
  work_dir = os.path.join(data_dir, "results")
  os.makedirs(work_dir, exist_ok=True)
  env = dict(os.environ)
  if FLAGS.ours_pythonpath:
    env["PYTHONPATH"] = os.pathsep.join([resolve(p) for p in FLAGS.ours_pythonpath]
                                        + [p for p in [env.get("PYTHONPATH")] if p])
  print(
      f"Data: {data_dir}: {data['images']:,} images, {data['gt']:,} GT, "
      f"{data['dets']:,} detections", flush=True)
  rows = []
  ref_runs = FLAGS.reference_runs or FLAGS.runs
  for label, args in plan(FLAGS.evaluators, FLAGS.num_threads):
    runs = ref_runs if label == REFERENCE else FLAGS.runs
    print(f"{label}: {runs} run(s)", flush=True)
    rows.append(
        run_row(label, args + [f"--gt={gt}", f"--dt={dt}", f"--iou_type={FLAGS.iou_type}"], runs,
                env, work_dir))
  ref = stored_reference(rows, work_dir, [gt, dt])
  runs_note = f"{FLAGS.runs} runs per evaluator" + (f" ({ref_runs} for pycocotools)"
                                                    if ref_runs != FLAGS.runs else
                                                    "") + ", each in a fresh process"
  text = tables(rows, data, ref, FLAGS.iou_type, runs_note)
  print("\n" + text)
  if FLAGS.output_markdown:
    path = resolve(FLAGS.output_markdown)
    with open(path + ".tmp", "w") as f:
      f.write(text)
    os.replace(path + ".tmp", path)
    print(f"Wrote {path}")


if __name__ == "__main__":
  app.run(main)
