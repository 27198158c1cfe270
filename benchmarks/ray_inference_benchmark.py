r"""Images per second of EfficientDet-D0: one process against the Ray executor's workers.

  bazel run //benchmarks:ray_inference_benchmark -- [--num_images=96] [--output_markdown=r.md]

The model and images are //benchmarks:inference_benchmark's (by default EfficientDet-D0's
exported graph with random weights, --architecture; COCO-like JPEGs). Every setup is started
and warmed up first and stays up; then rounds alternate between the setups and each keeps its
best of --repeats (other jobs on a shared machine only ever slow a round down):
- single process: inference.run (today's path) in a fresh process, TensorFlow's default
  threads (every core) and one thread;
- Ray: executor.run_detections over a local Ray on 127.0.0.1 with 1 worker of 1 and of 2
  threads, and 2 one-thread workers (the default on a 2-core machine); workers started and the
  model loaded before the clock starts (their start-up is reported apart), every shard run
  (force), shard files and detections.json written as in a real run.
Targets (issue 9): 2 workers >= 1.4x the single process; Ray overhead at 1 worker < 5%, judged
on the best rounds and on each round's paired ratios (the setups compared run next to each
other, A B B A). Also printed: the ceiling of any two-process split, and where each round's CPU
went (the measured processes, this driver, Ray's own processes, anything else: /proc).
--fresh_processes starts every setup anew each round.

Then a paper extrapolation of the full D0-D7 sweep on 5,000 images over 1/8/64 GPU workers:
the executor's scheduling (shards of --shard_size, a worker keeps its model, idle workers take
the model with the fewest workers) simulated with the zoo's published V100 times per image,
the measured per-shard overhead, and an assumed model load time.
"""
from __future__ import annotations

import collections
import dataclasses
import functools
import heapq
import json
import os
import subprocess
import sys
import tempfile
import time

from absl import app
from absl import flags
from absl import logging
import numpy as np

from benchmarks import inference_benchmark  # the model, the images and the shared flags
from configs import model_registry
from eval import atomic_io
from eval import user_paths
from eval.data import image_sources
from eval.distributed import cluster as cluster_lib
from eval.distributed import executor
from eval.distributed import options as options_lib

_CHILD = flags.DEFINE_enum(
    "child", None, ["single"], "Internal: run one single-process "
    "measurement in this process and print it as JSON.")
_CHILD_THREADS = flags.DEFINE_integer("child_threads", 0, "Internal: TF threads (0: default).")
_BENCH_SHARD_SIZE = flags.DEFINE_integer("bench_shard_size", 12, "Images per shard.")
_FRESH_PROCESSES = flags.DEFINE_bool(
    "fresh_processes", False, "Start every setup's processes anew for each round (not timed): "
    "a process's speed can stay high or low for its whole life on a shared machine (seen with "
    "two TensorFlow threads here), which keeping the processes would credit to the setup.")
_LOAD_SECONDS = flags.DEFINE_float(
    "assumed_gpu_load_seconds", 20.0, "Extrapolation: seconds to load and warm up one model on a "
    "GPU worker (not measured here: no GPU).")
_SWEEP_SHARD_SIZE = 50
_SWEEP_IMAGES = 5000
_CPU_GROUPS = ("measured", "driver", "ray", "other")


def _cpu_by_process() -> dict[int, tuple[str, float]]:
  """{pid: (command line, CPU seconds so far)} of every process on the machine (Linux /proc);
  {} elsewhere. Used to see where a round's CPU went: the measured processes, this driver,
  Ray's own processes (raylet, GCS, dashboard, idle workers) or anything else."""
  tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
  result = {}
  try:
    entries = [e for e in os.listdir("/proc") if e.isdigit()]
  except OSError:
    return result
  for entry in entries:
    try:
      with open(f"/proc/{entry}/stat") as f:
        stat = f.read()
      with open(f"/proc/{entry}/cmdline", "rb") as f:
        command = f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:  # ended meanwhile
      continue
    # Fields after the parenthesised name: state ppid ... utime (12th) stime (13th).
    fields = stat[stat.rindex(")") + 2:].split()
    command = command or stat[stat.index("(") + 1:stat.rindex(")")]
    result[int(entry)] = (command, (int(fields[11]) + int(fields[12])) / tick)
  return result


def _cpu_split(before: dict, after: dict, measured: set[int]) -> dict[str, float]:
  """CPU seconds between two _cpu_by_process() snapshots, by group (_CPU_GROUPS)."""
  split = dict.fromkeys(_CPU_GROUPS, 0.0)
  for pid, (command, seconds) in after.items():
    used = seconds - before.get(pid, (command, 0.0))[1]
    if pid in measured:
      group = "measured"
    elif pid == os.getpid():
      group = "driver"
    elif "/ray/" in command or command.split(" ")[0].endswith(("raylet", "gcs_server")):
      group = "ray"
    else:
      group = "other"
    split[group] += max(0.0, used)
  return split


def _data(work: str) -> tuple[str, str, str]:
  model_dir = (
      user_paths.resolve(inference_benchmark._MODEL_DIR.value)  # pylint: disable=protected-access
      if inference_benchmark._MODEL_DIR.value else inference_benchmark.default_model_dir(work))  # pylint: disable=protected-access
  if not os.path.exists(os.path.join(model_dir, "saved_model", "saved_model.pb")):
    inference_benchmark.build_model(model_dir)
  # One folder per image count: a --work_dir reused with another --num_images gets its own set.
  data = os.path.join(work, f"data_{inference_benchmark._NUM_IMAGES.value}")  # pylint: disable=protected-access
  if os.path.exists(os.path.join(data, "gt.json")):
    return model_dir, os.path.join(data, "gt.json"), os.path.join(data, "images")
  gt, images = inference_benchmark.write_images(
      data,
      inference_benchmark._NUM_IMAGES.value,  # pylint: disable=protected-access
      np.random.default_rng(0))
  return model_dir, gt, images


def _single_child(work: str) -> None:
  """Single-process measurements in a fresh process (TF threads set before TF starts): loads
  the model, warms up, prints "ready", then runs the whole set once per "run" line on stdin."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from eval.model import detection_model  # pylint: disable=g-import-not-at-top
  from eval.model import inference  # pylint: disable=g-import-not-at-top
  if _CHILD_THREADS.value:
    tf.config.threading.set_intra_op_parallelism_threads(_CHILD_THREADS.value)
    tf.config.threading.set_inter_op_parallelism_threads(_CHILD_THREADS.value)
  model_dir, gt, images = _data(work)
  source = image_sources.CocoJsonSource(gt, images)
  start = time.perf_counter()
  model = detection_model.DetectionModel(model_dir)
  inference.run(
      model,
      source,
      range(1, 91),
      max_images=inference_benchmark._WARMUP.value,  # pylint: disable=protected-access
      log_interval=None)
  print(json.dumps({"ready": True, "load_seconds": time.perf_counter() - start}), flush=True)
  for line in sys.stdin:
    if line.strip() != "run":
      break
    t, cpu = time.perf_counter(), time.process_time()
    detections = inference.run(model, source, range(1, 91), log_interval=None)
    print(
        json.dumps({
            "seconds": time.perf_counter() - t, "images": detections.num_images,
            "cpu_seconds": time.process_time() - cpu,
            "latency_p50_ms": float(np.median(detections.latencies) * 1000)
        }), flush=True)


class _Single:
  """A single-process measurement process, kept alive between rounds."""

  def __init__(self, work: str, threads: int):
    args = [
        sys.executable,
        sys.argv[0],
        "--child=single",
        f"--child_threads={threads}",
        f"--work_dir={work}",
        f"--num_images={inference_benchmark._NUM_IMAGES.value}",  # pylint: disable=protected-access
        f"--warmup={inference_benchmark._WARMUP.value}",  # pylint: disable=protected-access
        f"--architecture={inference_benchmark._ARCHITECTURE.value}"  # pylint: disable=protected-access
    ]
    if inference_benchmark._MODEL_DIR.value:  # pylint: disable=protected-access
      args.append(f"--model_dir={inference_benchmark._MODEL_DIR.value}")  # pylint: disable=protected-access
    self.process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    self.load_seconds = self._read()["load_seconds"]

  def _read(self) -> dict:
    while True:
      line = self.process.stdout.readline()
      if not line:
        raise RuntimeError("the single-process measurement ended early")
      if line.startswith("{"):
        return json.loads(line)

  def measure(self) -> dict:
    before = _cpu_by_process()
    self.process.stdin.write("run\n")
    self.process.stdin.flush()
    result = self._read()
    return {**result, "cpu_split": _cpu_split(before, _cpu_by_process(), {self.process.pid})}

  def close(self) -> None:
    self.process.stdin.close()
    self.process.wait()


class _Ray:
  """A warmed pool of `workers` x `threads` on the local Ray, kept between rounds."""

  def __init__(self, work: str, model_dir: str, gt: str, images: str, workers: int, threads: int):
    self.options = options_lib.ExecutorOptions(num_workers=workers, tf_threads_per_worker=threads,
                                               gpus_per_worker=0,
                                               shard_size=_BENCH_SHARD_SIZE.value,
                                               progress_interval=1e9)
    self.source = image_sources.CocoJsonSource(gt, images)
    self.out = os.path.join(work, f"ray_{workers}x{threads}")
    self.model_dir, self.gt = model_dir, gt
    start = time.perf_counter()
    self.pool = executor.WorkerPool(self.options)
    self.start_seconds = time.perf_counter() - start
    # Warm-up: every worker loads the model and runs two shards.
    warm = dataclasses.replace(self.options, shard_size=max(1, inference_benchmark._WARMUP.value))  # pylint: disable=protected-access
    executor.run_detections([self.job("warmup", max_images=2 * workers * warm.shard_size)], warm,
                            pool=self.pool)
    self.load_seconds = time.perf_counter() - start
    self.pids = set(self.pool.pids())

  def job(self, name: str, **kwargs) -> executor.ModelJob:
    return executor.ModelJob(key=name, model_dir=self.model_dir, source=self.source,
                             category_ids=range(1, 91), out_dir=os.path.join(self.out, name),
                             input_identity={"benchmark": self.gt}, force=True, **kwargs)

  def measure(self) -> dict:
    before = _cpu_by_process()
    t, cpu = time.perf_counter(), time.process_time()
    result = executor.run_detections([self.job("timed")], self.options, pool=self.pool)["timed"]
    seconds, driver_cpu = time.perf_counter() - t, time.process_time() - cpu
    split = _cpu_split(before, _cpu_by_process(), self.pids)
    result.raise_if_failed()
    n, speed = result.detections.num_images, result.speed
    return {
        "seconds": seconds, "images": n,
        "cpu_seconds": speed["cpu_seconds_per_image"] * n + driver_cpu,
        "driver_cpu_seconds": driver_cpu, "latency_p50_ms": speed["latency_ms"]["p50"],
        "shards": speed["shards"]["total"], "device": speed["device"], "cpu_split": split
    }

  def close(self) -> None:
    self.pool.shutdown()


def _paired_lines(rates: dict) -> list[str]:
  """The targets from each round's own ratios (median [range]): on a machine whose speed drifts
  between rounds, the best-of-N table above can pair a fast round with a slow one."""

  def paired(ratio, form: str) -> tuple[float, str]:
    values = [ratio(r) for r in range(len(rates["single2"]))]
    median = float(np.median(values))
    return median, f"median {median:{form}} [{min(values):{form}} to {max(values):{form}}]"

  two, two_text = paired(lambda r: rates[(2, 1)][r] / rates["single2"][r], ".2f")
  over, over_text = paired(lambda r: 1 - rates[(1, 2)][r] / rates["single2"][r], "+.1%")
  over1, over1_text = paired(lambda r: 1 - rates[(1, 1)][r] / rates["single1"][r], "+.1%")
  _, ceiling_text = paired(lambda r: 2 * rates["single1"][r] / rates["single2"][r], ".2f")
  _, share_text = paired(lambda r: rates[(2, 1)][r] / (2 * rates["single1"][r]), ".0%")
  return [
      f"Paired rounds ({len(rates['single2'])} rounds; each round's ratio, median [min-max]):",
      f"- 2 one-thread workers / single process: {two_text} (target >= 1.4x: "
      f"{'met' if two >= 1.4 else 'NOT met'}); the two-process ceiling 2 x one-thread / "
      f"two-thread rate: {ceiling_text}; the workers reach {share_text} of it.",
      f"- Ray overhead at 1 worker (1 - Ray / single): 2 threads {over_text}, 1 thread "
      f"{over1_text} (target < 5%: {'met' if max(over, over1) < 0.05 else 'NOT met'})."
  ]


def _cpu_table(splits: dict, names: dict) -> list[str]:
  """Where the CPU went during each setup's rounds (mean over rounds), in cores busy."""
  lines = [
      "Where the CPU went (mean over rounds, in cores busy over the round's wall time; "
      "2 = both cores): the measured processes (the single process, or the Ray workers), "
      "this driver, Ray's own processes (raylet, GCS, dashboard, idle workers), anything else.", "",
      "| setup | measured | driver | Ray's processes | other | total |",
      "| --- | ---: | ---: | ---: | ---: | ---: |"
  ]
  for key, rounds in splits.items():
    busy = {
        g: float(np.mean([split[g] / seconds for split, seconds in rounds])) for g in _CPU_GROUPS
    }
    lines.append(f"| {names[key]} | " + " | ".join(f"{busy[g]:.2f}" for g in _CPU_GROUPS)
                 + f" | {sum(busy.values()):.2f} |")
  return lines


def simulate_sweep(workers: int, per_image_s: dict[str,
                                                   float], load_s: float, shard_overhead_s: float,
                   images: int = _SWEEP_IMAGES, shard_size: int = _SWEEP_SHARD_SIZE) -> float:
  """Wall seconds of the executor's schedule (the policy of executor._run_on_pool)."""
  pending = {m: -(-images // shard_size) for m in per_image_s}
  order = list(per_image_s)
  current: list[str | None] = [None] * workers
  free = [(0.0, w) for w in range(workers)]
  heapq.heapify(free)
  end = 0.0
  while any(pending.values()):
    now, w = heapq.heappop(free)
    model = current[w]
    if model is None or not pending[model]:
      busy = {m: sum(1 for c in current if c == m) for m in order}
      model = min((m for m in order if pending[m]), key=lambda m: (busy[m], order.index(m)))
    cost = shard_size * per_image_s[model] + shard_overhead_s
    if current[w] != model:
      cost += load_s
      current[w] = model
    pending[model] -= 1
    end = max(end, now + cost)
    heapq.heappush(free, (now + cost, w))
  return end


def run(work: str) -> None:
  model_dir, gt, images = _data(work)
  n = inference_benchmark._NUM_IMAGES.value  # pylint: disable=protected-access
  load_before = os.getloadavg()
  # Every setup stays up (models loaded); rounds alternate between them and each keeps its
  # best: other jobs on the machine only ever slow a round down. With --fresh_processes each
  # round starts every setup's processes anew (not timed).
  make = {"single2": lambda: _Single(work, 0), "single1": lambda: _Single(work, 1)}
  for w, t in ((1, 2), (1, 1), (2, 1)):
    make[(w, t)] = functools.partial(_Ray, work, model_dir, gt, images, w, t)
  setups: dict = {}
  # Logical CPUs for all three pools at once (only one pool runs at a time).
  cluster = cluster_lib.connect(None, num_cpus=8)
  try:
    for name, start in make.items():
      setups[name] = start()
    best: dict = {}
    splits: dict = collections.defaultdict(list)  # every round's CPU split and wall seconds
    rates: dict = collections.defaultdict(list)  # every round's images/s
    # The setups compared are neighbours, and every other round runs backwards (A B B A), so a
    # drift in the machine's speed favours neither side of a paired ratio.
    order = ["single2", (1, 2), (2, 1), (1, 1), "single1"]
    for round_index in range(inference_benchmark._REPEATS.value):  # pylint: disable=protected-access
      for name in order if round_index % 2 == 0 else order[::-1]:
        if _FRESH_PROCESSES.value and round_index:
          setups.pop(name).close()
          setups[name] = make[name]()
        r = setups[name].measure()
        splits[name].append((r["cpu_split"], r["seconds"]))
        rates[name].append(r["images"] / r["seconds"])
        logging.info("%s: %.2f images/s", name, r["images"] / r["seconds"])
        if name not in best or r["seconds"] < best[name]["seconds"]:
          best[name] = {
              **r, "min_cpu":
                  min(r["cpu_seconds"],
                      best.get(name, r)["min_cpu"] if name in best else r["cpu_seconds"])
          }
        else:
          best[name]["min_cpu"] = min(best[name]["min_cpu"], r["cpu_seconds"])
    start_seconds = setups[(2, 1)].start_seconds
    ray_load = setups[(2, 1)].load_seconds
    single_load = setups["single2"].load_seconds
  finally:
    for setup in setups.values():
      setup.close()
    cluster.shutdown()
  load_after = os.getloadavg()
  single = {0: best["single2"], 1: best["single1"]}
  rays = {k: best[k] for k in ((1, 2), (1, 1), (2, 1))}
  rate = lambda r: r["images"] / r["seconds"]
  base, base1 = rate(single[0]), rate(single[1])
  rows = [("single process, TF default threads (2)", single[0], base, "-", "single2"),
          ("single process, 1 thread", single[1], rate(single[1]), "-", "single1"),
          ("Ray, 1 worker x 2 threads", rays[(1, 2)], rate(rays[(1, 2)]),
           f"{100 * (1 - rate(rays[(1, 2)]) / base):+.1f}% vs single (2 threads)", (1, 2)),
          ("Ray, 1 worker x 1 thread", rays[(1, 1)], rate(rays[(1, 1)]),
           f"{100 * (1 - rate(rays[(1, 1)]) / base1):+.1f}% vs single (1 thread)", (1, 1)),
          ("Ray, 2 workers x 1 thread", rays[(2, 1)], rate(rays[(2, 1)]), "-", (2, 1))]
  lines = [
      f"Ray executor benchmark: {n} JPEGs (COCO-like sizes), model "
      f"{inference_benchmark._ARCHITECTURE.value}, "  # pylint: disable=protected-access
      f"{options_lib.cpu_count()} CPUs, shards of {_BENCH_SHARD_SIZE.value}, "
      f"best of {inference_benchmark._REPEATS.value}"  # pylint: disable=protected-access
      f"{', fresh processes every round' if _FRESH_PROCESSES.value else ''}; load average "
      f"{load_before[0]:.2f} before, {load_after[0]:.2f} after "
      f"(other jobs share this machine)",
      "",
      "| setup | seconds | images/s | vs single (2 threads) | p50 model ms | CPU s/image "
      "| overhead (wall) |",
      "| --- | ---: | ---: | ---: | ---: | ---: | --- |"
  ]
  for name, r, ips, overhead, _ in rows:
    lines.append(f"| {name} | {r['seconds']:.2f} | {ips:.2f} | {ips / base:.2f}x | "
                 f"{r['latency_p50_ms']:.1f} | {r['min_cpu'] / r['images']:.3f} | {overhead} |")
  cpu = lambda r: r["min_cpu"] / r["images"]
  two = rate(rays[(2, 1)]) / base
  over = 1 - rate(rays[(1, 2)]) / base
  over1 = 1 - rate(rays[(1, 1)]) / base1
  lines += [
      "", f"2 one-thread workers: {two:.3f}x the single process, best rounds (target >= 1.4x: "
      f"{'met' if two >= 1.4 else 'NOT met'}). Ray overhead at 1 worker: {100 * over:.1f}% "
      f"(2 threads), {100 * over1:.1f}% (1 thread) (target < 5%: "
      f"{'met' if max(over, over1) < 0.05 else 'NOT met'}).",
      f"Ceiling of two one-thread processes against one two-thread process: 2 x "
      f"{base1:.2f} / {base:.2f} = {2 * base1 / base:.2f}x (this model runs {base / base1:.2f}x "
      f"faster on 2 threads than on 1); the 2 workers reach {100 * two * base / (2 * base1):.0f}%"
      f" of it.", f"CPU per image (lowest round; Ray = workers + driver, unaffected by waiting for "
      f"the CPU): Ray 1x2 {100 * (cpu(rays[(1, 2)]) / cpu(single[0]) - 1):+.1f}% vs the "
      f"single process, Ray 1x1 {100 * (cpu(rays[(1, 1)]) / cpu(single[1]) - 1):+.1f}% vs "
      f"1 thread, 2 workers x 1 thread {100 * (cpu(rays[(2, 1)]) / cpu(single[0]) - 1):+.1f}"
      f"% vs the single process.",
      f"Start-up (not in the figures above): 2 Ray workers {start_seconds:.1f}s, "
      f"+ model load and warm-up shards {ray_load:.1f}s; single process model load + "
      f"warm-up {single_load:.1f}s."
  ]
  lines += ["", *_cpu_table(splits, names={key: label for label, _, _, _, key in rows})]
  lines += ["", *_paired_lines(rates)]
  # Extrapolation: overhead per shard measured at 1 worker (Ray minus single, per shard).
  shard_overhead = max(0.0,
                       (rays[(1, 2)]["seconds"] - single[0]["seconds"]) / rays[(1, 2)]["shards"])
  per_image = {m.key: m.zoo_speed_ms / 1000.0 for m in model_registry.efficientdet_models()}
  total = sum(per_image.values()) * _SWEEP_IMAGES
  lines += [
      "", f"Paper extrapolation, full D0-D7 sweep on {_SWEEP_IMAGES} images, one GPU "
      f"(V100, the zoo's ms/image: {', '.join(f'{v * 1000:.0f}' for v in per_image.values())}"
      f") per worker; shards of {_SWEEP_SHARD_SIZE}; measured overhead "
      f"{shard_overhead * 1000:.0f} ms per shard; assumed {_LOAD_SECONDS.value:.0f}s per "
      "model load on a worker; downloads, data transfer and evaluation not included:", "",
      "| GPU workers | sweep wall | vs 1 GPU | efficiency |", "| ---: | ---: | ---: | ---: |"
  ]
  one = simulate_sweep(1, per_image, _LOAD_SECONDS.value, shard_overhead)
  for w in (1, 8, 64):
    t = simulate_sweep(w, per_image, _LOAD_SECONDS.value, shard_overhead)
    lines.append(f"| {w} | {t / 60:.1f} min | {one / t:.1f}x | {100 * one / t / w:.0f}% |")
  lines.append(f"\n(Model time alone: {total / 3600:.2f} h on one V100.)")
  table = "\n".join(lines) + "\n"
  print(table)
  if inference_benchmark._OUTPUT_MARKDOWN.value:  # pylint: disable=protected-access
    atomic_io.write_text(user_paths.resolve(inference_benchmark._OUTPUT_MARKDOWN.value), table)  # pylint: disable=protected-access


def main(argv):
  del argv
  work_flag = inference_benchmark._WORK_DIR.value  # pylint: disable=protected-access
  if _CHILD.value:
    _single_child(user_paths.resolve(work_flag))
    return
  if work_flag:
    run(user_paths.resolve(work_flag))
  else:
    with tempfile.TemporaryDirectory(prefix="ray_inference_benchmark.") as work:
      run(work)


if __name__ == "__main__":
  app.run(main)
