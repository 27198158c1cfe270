"""One executor for evaluate_model and the sweeps: models x shards of images over a worker pool.

  jobs = [executor.ModelJob(key="d0", model_dir=..., source=source, category_ids=ids,
                            out_dir=OUT/d0, input_identity=identity, max_images=500), ...]
  results = executor.run_detections(jobs, options)      # {key: ShardedResult}
  results["d0"].detections                              # an inference.Detections

Work units are (model, shard of image ids). Workers are Ray actors (worker.DetectionWorker) that
load a model once and run eval/model/inference.py's tf.data pipeline on their shards' images;
a worker keeps its model while that model has shards left, and idle workers take the model
with the fewest workers, so several models run at once when there are more workers than one
model's shards keep busy. Each worker has two shards queued, so it never waits for the driver.

Results are those of the single-process path, in its order: shards are consecutive runs of the
source's images and are put together in the source's order, so detections.json is the same
file inference.cached_run writes (same fingerprint file: either path reuses the other's).

Resuming: each finished shard is written atomically under OUT/shards/ (shards.py), keyed by the
detection cache's fingerprint; a rerun after a killed driver runs only the missing shards, and
once a model's detections.json is written its shard files are removed. Faults: a worker process
that dies is restarted by Ray (max_restarts) and the shards it held are retried by Ray
(max_task_retries); a shard whose worker is gone for good goes back to the queue; a worker
whose node left the cluster is replaced (WorkerPool.replace_workers_on_lost_nodes: Ray alone
would wait for room on the cluster with the shards queued in it); a shard's results are stored
once, by shard index, so every image is in the output exactly once.

With one worker and no --ray_address (ExecutorOptions.in_process) no Ray is started: the same
worker code runs in this process, with the same shard files and speed figures.
"""
from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import json
import os
import time
import traceback
from typing import Any, Callable, Sequence

from absl import logging
import numpy as np

from eval.data import image_sources
from eval.distributed import cluster as cluster_lib
from eval.distributed import node_data
from eval.distributed import options as options_lib
from eval.distributed import shards as shards_lib
from eval.distributed import source_spec
from eval.distributed import worker as worker_lib
from eval.distributed.ray_env import ray
from eval.model import detection_model
from eval.model import inference

QUEUE_DEPTH = 2  # shards queued per worker
WORKER_START_TIMEOUT = 300  # seconds for the pool's processes to start (TensorFlow import)
SHARD_ATTEMPTS = 3  # a shard whose worker is lost for good goes back this many times
NODE_CHECK_SECONDS = 2.0  # how often the driver looks for workers whose node left the cluster


class ExecutorError(RuntimeError):
  """The run cannot go on (no worker left, workers that never started)."""


@dataclasses.dataclass
class ModelJob:
  """One model over one image source: what inference.cached_run takes, by value."""
  key: str  # names the job in the results and the log (e.g. "d0")
  model_dir: str  # an exporter_main_v2.py output or a bare SavedModel
  source: Any  # image_sources.CocoJsonSource / TfRecordSource, or SourceSpec
  category_ids: Sequence[int]  # label-map ids kept in the results
  out_dir: str  # detections.json (+ fingerprint) and shards/ go here
  input_identity: dict  # what identifies the source's data (the cache key)
  max_images: int | None = None
  skip_missing: bool = False
  batch_size: int = 1
  with_masks: bool = True
  box_frame: str = "image"
  force: bool = False  # run every shard again (--force_inference)
  # Box results of these categories carry the model's keypoints (keypoint models).
  keypoint_category_ids: Sequence[int] = ()
  # How a node without model_dir / the source's files downloads them (node_data.py); None:
  # every node must have the driver's paths (one machine, a shared folder).
  model_fetch: node_data.ZooModelFetch | None = None
  source_fetch: node_data.CocoVal2017Fetch | None = None


@dataclasses.dataclass
class ShardedResult:
  """A job's outcome: what model_evaluation needs from the model besides its detections."""
  key: str
  detections: inference.Detections | None  # None when the job failed
  model_info: dict | None  # DetectionModel.info() of a worker's copy
  has_masks: bool | None
  pipeline_config: str | None
  speed: dict  # metrics.json's "speed" section
  error: BaseException | None = None  # why the job failed (model, data); see raise_if_failed
  error_traceback: str | None = None

  @property
  def ok(self) -> bool:
    return self.error is None

  def raise_if_failed(self) -> None:
    if self.error is not None:
      raise self.error


class _Job:
  """A job's state in the driver."""

  def __init__(self, index: int, job: ModelJob):
    self.index, self.job = index, job
    self.spec = source_spec.spec_of(job.source, job.source_fetch)
    self.error: BaseException | None = None
    self.error_traceback: str | None = None
    self.cached: inference.Detections | None = None
    self.record: dict = {}  # the fingerprint file of a cached result
    self.shards: list[shards_lib.Shard] = []
    self.store: shards_lib.ShardStore | None = None
    self.fingerprint: dict = {}
    self.outputs: dict[int, dict] = {}
    self.pending: collections.deque[int] = collections.deque()
    self.attempts: collections.Counter[int] = collections.Counter()
    self.running = 0
    self.reused = 0
    self.images_reused = 0
    self.images_run = 0
    self.run_outputs: list[dict] = []  # outputs made in this run (for the speed section)
    self.workers: set[int] = set()
    self.first_submit: float | None = None
    self.last_done: float | None = None
    self.result: ShardedResult | None = None
    self.config_path: str | None = None

  @property
  def key(self) -> str:
    return self.job.key

  @property
  def num_images(self) -> int:
    return sum(len(s.image_ids) for s in self.shards)

  def fail(self, error: BaseException, tb: str | None = None) -> None:
    if self.error is None:
      self.error, self.error_traceback = error, tb or "".join(
          traceback.format_exception(type(error), error, error.__traceback__))
      logging.error("%s FAILED: %s", self.key, error)
    self.pending.clear()

  def settled(self) -> bool:
    return self.result is not None


def _percentile_ms(values: Sequence[float], q: float) -> float | None:
  return float(np.percentile(np.asarray(values) * 1000.0, q)) if len(values) else None


def _speed(state: _Job, options: options_lib.ExecutorOptions, mode: str, run_start: float) -> dict:
  outputs = state.run_outputs or [state.outputs[i] for i in sorted(state.outputs)]
  latencies = [v for o in outputs for v in (o.get("latencies") or [])]
  devices = {o["device"]["text"]: o["device"] for o in outputs if o.get("device")}
  wall = (state.last_done - state.first_submit) if state.first_submit and state.last_done \
      else 0.0
  return {
      "mode": mode,
      "device": sorted(devices),
      "devices": list(devices.values()),
      "workers": len(state.workers),
      "nodes": len({o.get("node") for o in outputs}),
      "pool_workers": options.num_workers,
      "tf_threads_per_worker": options.tf_threads_per_worker,
      "gpus_per_worker": options.gpus_per_worker,
      "latency_ms": {
          "p50": _percentile_ms(latencies, 50), "p90": _percentile_ms(latencies, 90),
          "mean": float(np.mean(latencies) * 1000.0) if latencies else None,
          "images": len(latencies), "from_earlier_run": not state.run_outputs and bool(latencies)
      },
      "images_per_second": state.images_run / wall if wall > 0 else None,
      # CPU seconds of the workers' processes per image (decoding, model, conversion): what
      # an image costs whatever else shares the machine.
      "cpu_seconds_per_image":
          (sum(o.get("cpu_seconds", 0.0)
               for o in state.run_outputs) / state.images_run if state.images_run else None),
      "images_run": state.images_run,
      "images_reused": state.images_reused,
      "shards": {
          "total": len(state.shards), "reused": state.reused, "run": len(state.run_outputs),
          "size": options.shard_size
      },
      "stage_seconds": {
          "queue": (state.first_submit - run_start) if state.first_submit else 0.0,
          "model_load": float(sum(o.get("load_seconds", 0.0) for o in state.run_outputs)),
          "inference": wall,
      },
  }


def _sorted_by(results: list[dict], position: dict[int, int]) -> list[dict]:
  # Stable: each image's results keep the model's order (what score ties are evaluated in).
  return sorted(results, key=lambda r: position[r["image_id"]])


class _Progress:
  """One line for the whole run: models done, shards, images, images/s, time left."""

  def __init__(self, states: list[_Job], workers: int, interval: float):
    self.states, self.workers, self.interval = states, workers, interval
    self.start = time.perf_counter()
    self.last = self.start
    self.images_run = 0

  def maybe_log(self, force: bool = False) -> None:
    now = time.perf_counter()
    if force or now - self.last >= self.interval:
      self.last = now
      logging.info("%s", self.line())

  def line(self) -> str:
    states = self.states
    done = sum(1 for s in states if s.settled())
    shards_total = sum(len(s.shards) for s in states)
    shards_done = sum(len(s.outputs)
                      for s in states) + sum(len(s.shards) for s in states if s.cached is not None)
    images_total = sum(s.num_images for s in states if s.error is None)
    images_done = sum(s.images_run + s.images_reused for s in states if s.error is None) + sum(
        s.num_images for s in states if s.cached is not None)
    elapsed = time.perf_counter() - self.start
    rate = self.images_run / elapsed if elapsed > 0 else 0.0
    left = images_total - images_done
    eta = inference._format_eta(left / rate) if rate > 0 else "?"  # pylint: disable=protected-access
    failed = sum(1 for s in states if s.error is not None)
    return (f"distributed inference: {done}/{len(states)} models done"
            f"{f' ({failed} failed)' if failed else ''}, {shards_done}/{shards_total} shards, "
            f"{images_done}/{images_total} images, {rate:.2f} images/s on {self.workers} "
            f"worker{'s' if self.workers != 1 else ''}, ETA {eta if left else '0h00m00s'}")


def _prepare(state: _Job, options: options_lib.ExecutorOptions, sources: dict) -> None:
  """Cache check, shard plan and reusable shards of one job (errors fail the job only)."""
  job = state.job
  try:
    paths = detection_model.find_paths(job.model_dir)
    state.config_path = paths.pipeline_config
    state.fingerprint = inference.detections_fingerprint(
        paths.saved_model_dir, job.input_identity, max_images=job.max_images,
        skip_missing=job.skip_missing, with_masks=job.with_masks, box_frame=job.box_frame,
        keypoint_category_ids=[int(c) for c in job.keypoint_category_ids])
    os.makedirs(job.out_dir, exist_ok=True)
    if not job.force:
      state.cached = inference.load_cached(job.out_dir, state.fingerprint)
      if state.cached is not None:
        try:
          with open(os.path.join(job.out_dir, inference.FINGERPRINT)) as f:
            state.record = json.load(f)
        except (OSError, ValueError):
          state.record = {}
    if isinstance(job.source, source_spec.SourceSpec):
      if state.spec not in sources:
        sources[state.spec] = state.spec.build()
      source = sources[state.spec]
    else:
      source = job.source
    ids = image_sources.image_ids(source, job.max_images, job.skip_missing)
    state.shards = shards_lib.plan(ids, options.shard_size)
    if state.cached is not None:
      return
    state.store = shards_lib.ShardStore(job.out_dir, state.fingerprint, state.shards)
    if job.force:
      state.store.remove_all()
    else:
      stale = state.store.remove_stale()
      if stale:
        logging.info("%s: removed %d shard files of another run setup", job.key, stale)
    for shard in state.shards:
      output = None if job.force else state.store.load(shard)
      if output is not None:
        state.outputs[shard.index] = output
        state.reused += 1
        state.images_reused += len(shard.image_ids)
      else:
        state.pending.append(shard.index)
    logging.info("%s: %d images in %d shards: %d to run, %d finished in an earlier run", job.key,
                 len(ids), len(state.shards), len(state.pending), state.reused)
  except Exception as e:  # pylint: disable=broad-except  (this job fails; the others run)
    state.fail(e)


def _task(state: _Job, shard_index: int) -> dict:
  job = state.job
  return {
      "model_dir": job.model_dir, "model_fetch": job.model_fetch, "source": state.spec,
      "image_ids": list(state.shards[shard_index].image_ids),
      "category_ids": [int(c) for c in job.category_ids], "batch_size": job.batch_size,
      "with_masks": job.with_masks, "box_frame": job.box_frame,
      "keypoint_category_ids": [int(c) for c in job.keypoint_category_ids]
  }


def _accept(state: _Job, shard_index: int, output: dict, worker_index: int) -> None:
  """Stores a finished shard (once: a shard index is taken only if not there yet)."""
  if shard_index in state.outputs:
    return
  state.store.save(state.shards[shard_index], output)
  state.outputs[shard_index] = output
  state.run_outputs.append(output)
  state.images_run += output["num_images"]
  state.workers.add(worker_index)
  state.last_done = time.perf_counter()


def _finish(state: _Job, options, mode: str, run_start: float,
            describe: Callable[[ModelJob], dict] | None) -> ShardedResult:
  """The job's ShardedResult; for a completed run, also detections.json and its fingerprint."""
  job = state.job
  if state.error is not None:
    return ShardedResult(job.key, None, None, None, state.config_path,
                         _speed(state, options, mode, run_start), state.error,
                         state.error_traceback)
  if state.cached is not None:
    info, has_masks = state.record.get("model_info"), state.record.get("has_masks")
    if info is None or has_masks is None:  # written by the single-process path
      described = describe(job)
      info, has_masks = described["info"], described["has_masks"]
    speed = {"mode": "cached", "images_reused": state.cached.num_images}
    return ShardedResult(job.key, state.cached, info, has_masks, state.config_path, speed)
  outputs = [state.outputs[s.index] for s in state.shards]
  position = {
      image_id: n for n, image_id in enumerate(i for s in state.shards for i in s.image_ids)
  }
  first = outputs[0] if outputs else None
  if first is None:  # no image at all: describe the model anyway
    first = describe(job)
  info, has_masks = first["info"], first["has_masks"]
  bbox = _sorted_by([r for o in outputs for r in o["bbox"]], position)
  segm = None
  if job.with_masks and has_masks:
    segm = _sorted_by([r for o in outputs for r in (o.get("segm") or [])], position)
  latencies = [v for o in outputs for v in (o.get("latencies") or [])]
  speed = _speed(state, options, mode, run_start)
  detections = inference.Detections(bbox, segm, sum(o["num_images"] for o in outputs),
                                    speed["stage_seconds"]["inference"], latencies=latencies)
  inference.store(job.out_dir, state.fingerprint, detections,
                  extra={"model_info": info, "has_masks": has_masks, "speed": speed})
  state.store.remove_all()
  logging.info("%s: detections of %d images complete (%d shards run, %d reused): %s", job.key,
               detections.num_images, len(state.run_outputs), state.reused,
               os.path.join(job.out_dir, inference.DETECTIONS))
  return ShardedResult(job.key, detections, info, has_masks, state.config_path, speed)


def _start_ahead(gpus: float) -> bool:
  """Whether a worker starts its next shard's input while the model runs the current one.

  On an accelerator, yes: decoding then overlaps the model. On CPU workers, no: measured on 2
  cores (BENCHMARKS.md, Ray run 5), two one-thread workers fell from 7.04 to 4.70 images/s and
  one worker lost 12.9 % instead of gaining 2.1 %, the second pipeline competing with the model
  for the same cores.
  """
  return gpus > 0


def _calls_at_once(options: options_lib.ExecutorOptions) -> int:
  """A worker's max_concurrency: a queued shard may start its input (see _start_ahead)."""
  return QUEUE_DEPTH if _start_ahead(options.gpus_per_worker or 0) else 1


class WorkerPool:
  """Ray actors running worker.ShardRunner, one model instance each; reusable across runs."""

  def __init__(self, options: options_lib.ExecutorOptions):
    """options must be resolved (options_lib.resolve) and Ray initialised."""
    self.options = options
    self._actor_class = worker_lib.DetectionWorker.options(
        max_concurrency=_calls_at_once(options), num_cpus=options.tf_threads_per_worker,
        num_gpus=options.gpus_per_worker, max_restarts=options.max_restarts,
        max_task_retries=options.max_task_retries, scheduling_strategy="SPREAD")
    self.actors = [self._new_actor() for _ in range(options.num_workers)]
    self.alive = [True] * len(self.actors)
    self.starting: dict[Any, int] = {}  # replacements not ready yet: {ref of node(): index}
    try:
      self.node_ids = ray.get([a.node.remote() for a in self.actors], timeout=WORKER_START_TIMEOUT)
    except ray.exceptions.GetTimeoutError:
      self.shutdown()
      raise ExecutorError(
          f"{options.num_workers} workers (each {options.tf_threads_per_worker} CPUs, "
          f"{options.gpus_per_worker} GPUs) did not start within {WORKER_START_TIMEOUT}s: the "
          f"cluster has {ray.cluster_resources()}") from None

  def _new_actor(self):
    return self._actor_class.remote(self.options.tf_threads_per_worker)

  def replace_workers_on_lost_nodes(self) -> list[int]:
    """Workers whose node has left the cluster, replaced; returns their indices.

    Ray restarts such a worker by itself only where its resources are free; on a cluster with
    no room left it would wait for them, and the shards queued in it with it. So the worker is
    ended for good (its queued shards fail with RayActorError and go back to the queue, for the
    other workers) and a new one is asked for: it starts wherever the cluster has room, now or
    once a node joins, and takes shards once it is ready (poll_started).
    """
    lost_nodes = {n["NodeID"] for n in ray.nodes() if not n["Alive"]}
    lost = [
        w for w, node in enumerate(self.node_ids)
        if node in lost_nodes and w not in self.starting.values()
    ]
    for w in lost:
      logging.warning(
          "worker %d: its node %s left the cluster; its shards go to the other "
          "workers and a new worker is started where there is room", w, self.node_ids[w][:12])
      try:
        ray.kill(self.actors[w], no_restart=True)
      except Exception:  # pylint: disable=broad-except  (already gone)
        pass
      self.actors[w] = self._new_actor()
      self.alive[w] = False
      self.starting[self.actors[w].node.remote()] = w
    return lost

  def poll_started(self, timeout: float = 0.0) -> list[int]:
    """Replacement workers that are ready now (or within `timeout` s): they take shards."""
    if not self.starting:
      return []
    ready, _ = ray.wait(list(self.starting), num_returns=len(self.starting), timeout=timeout)
    started = []
    for ref in ready:
      w = self.starting.pop(ref)
      try:
        self.node_ids[w] = ray.get(ref)
      except ray.exceptions.RayError as e:
        logging.warning("replacement worker %d did not start: %s", w, e)
        continue
      self.alive[w] = True
      started.append(w)
      logging.info("replacement worker %d ready on node %s", w, self.node_ids[w][:12])
    return started

  def pids(self) -> list[int]:
    """The workers' process ids (call while they are idle: calls queue behind shards)."""
    return ray.get([a.pid.remote() for a in self.actors])

  def shutdown(self) -> None:
    for a in self.actors:
      try:
        ray.kill(a)
      except Exception:  # pylint: disable=broad-except  (already gone)
        pass
    self.actors = []


def resolve_options(options: options_lib.ExecutorOptions,
                    cluster: cluster_lib.RayCluster | None = None) -> options_lib.ExecutorOptions:
  """The options with every default chosen for this machine, or for `cluster` if given."""
  if cluster is not None:
    cpus, gpus = cluster.resources()
  else:
    cpus = options_lib.cpu_count()
    gpus = options_lib.local_gpu_count() if options.gpus_per_worker != 0 else 0
  return options_lib.resolve(options, cpus, gpus)


def _check_fits(options: options_lib.ExecutorOptions, cluster: cluster_lib.RayCluster) -> None:
  cpus, gpus = cluster.resources()
  need_cpus = options.num_workers * options.tf_threads_per_worker
  need_gpus = options.num_workers * options.gpus_per_worker
  if need_cpus > cpus + 1e-9 or need_gpus > gpus + 1e-9:
    raise ExecutorError(
        f"{options.num_workers} workers need {need_cpus} CPUs and {need_gpus:g} GPUs (per "
        f"worker: --tf_threads_per_worker={options.tf_threads_per_worker}, "
        f"--gpus_per_worker={options.gpus_per_worker:g}); the cluster at {cluster.address} has "
        f"{cpus:g} CPUs and {gpus:g} GPUs")


def run_detections(
    jobs: Sequence[ModelJob], options: options_lib.ExecutorOptions, *,
    pool: WorkerPool | None = None,
    on_job_done: Callable[[ShardedResult], None] | None = None) -> dict[str, ShardedResult]:
  """Runs every job's missing shards over one pool of workers; returns {job.key: result}.

  A job that fails (its model does not load, an image does not decode) has result.error set;
  the others still run. on_job_done(result) is called in this thread as each job settles
  (workers keep running their queued shards meanwhile). pool: reuse a running WorkerPool
  (its options win); by default a pool is made for this call (starting a local Ray, or joining
  options.ray_address) and stopped at its end. Raises cluster.ClusterError when
  --ray_address answers nothing, ExecutorError when no worker is left.
  """
  keys = [j.key for j in jobs]
  if len(set(keys)) != len(keys):
    raise ValueError(f"job keys must be unique: {keys}")
  run_start = time.perf_counter()
  cluster = None
  if pool is not None:  # its workers; shard size and progress from `options`
    options = dataclasses.replace(options, num_workers=pool.options.num_workers,
                                  tf_threads_per_worker=pool.options.tf_threads_per_worker,
                                  gpus_per_worker=pool.options.gpus_per_worker)
  elif options.ray_address is not None:  # first: a wrong address fails before anything else
    cluster = cluster_lib.connect(options.ray_address)
    options = resolve_options(options, cluster)
  states = [_Job(n, job) for n, job in enumerate(jobs)]
  sources: dict = {}
  for state in states:
    _prepare(state, options, sources)
  work = any(s.pending for s in states)
  needs_describe = any(s.cached is not None and not s.record.get("model_info") for s in states)
  asked_threads, asked_workers = options.tf_threads_per_worker, options.num_workers
  if pool is None and cluster is None:
    options = resolve_options(options)
    pending_shards = sum(len(s.pending) for s in states)
    if asked_workers is None and pending_shards < options.num_workers:
      # More workers than shards would only pay for starting them: one per shard, and a
      # single shard runs in this process.
      options = dataclasses.replace(options, num_workers=max(1, pending_shards))
  if pool is None and (not (work or needs_describe) or
                       (cluster is None and options.num_workers == 1)):
    # TensorFlow's threads are set only if asked for (else its default: every core).
    return _run_in_process(states, options, asked_threads, run_start, on_job_done)

  own_pool = pool is None
  started = None
  try:
    if own_pool:
      if cluster is None:
        cluster = started = cluster_lib.connect(
            None, num_cpus=max(options_lib.cpu_count(),
                               options.num_workers * options.tf_threads_per_worker))
      _check_fits(options, cluster)
      start = time.perf_counter()
      pool = WorkerPool(options)
      logging.info("%d workers ready in %.1fs (%d TF threads, %g GPUs each) on Ray at %s",
                   options.num_workers,
                   time.perf_counter() - start, options.tf_threads_per_worker,
                   options.gpus_per_worker, cluster.address)
    return _run_on_pool(states, pool, options, run_start, on_job_done)
  finally:
    if own_pool and pool is not None:
      pool.shutdown()
    if started is not None and started.started:
      started.shutdown()


def _settle(state: _Job, options, mode, run_start, describe, results, on_job_done,
            progress) -> None:
  try:
    state.result = _finish(state, options, mode, run_start, describe)
  except Exception as e:  # pylint: disable=broad-except  (writing or describing failed)
    state.fail(e)
    state.result = _finish(state, options, mode, run_start, describe)
  results[state.key] = state.result
  if progress is not None:
    progress.maybe_log(force=True)
  if on_job_done is not None:
    on_job_done(state.result)


def _run_in_process(states: list[_Job], options, tf_threads: int | None, run_start: float,
                    on_job_done) -> dict[str, ShardedResult]:
  """No Ray: one ShardRunner here runs the jobs one after the other."""
  results: dict[str, ShardedResult] = {}
  runner = None

  def get_runner():
    nonlocal runner
    if runner is None:
      runner = worker_lib.ShardRunner(tf_threads)
    return runner

  progress = _Progress(states, 1, options.progress_interval)
  # As on a Ray worker with a GPU (_start_ahead), the next shard starts its input (a thread)
  # while the model runs the current one here, in the main thread (so Ctrl-C stops it after
  # the current model call).
  start_ahead = _start_ahead(options_lib.local_gpu_count())
  ahead = concurrent.futures.ThreadPoolExecutor(max_workers=1)
  try:
    for state in states:
      next_input = None  # (shard index, future of its started input)
      while state.pending and state.error is None:
        index = state.pending.popleft()
        state.first_submit = state.first_submit or time.perf_counter()
        task = _task(state, index)
        try:
          started = None
          if next_input is not None and next_input[0] == index:
            started = next_input[1].result()
          next_input = None
          if state.pending and start_ahead:
            following = state.pending[0]
            next_input = (following, ahead.submit(get_runner().start_input, _task(state,
                                                                                  following)))
          output = get_runner().run_shard(task, started=started)
        except Exception as e:  # pylint: disable=broad-except  (this job fails)
          state.fail(e)
          break
        _accept(state, index, output, 0)
        progress.images_run += output["num_images"]
        progress.maybe_log()
      if next_input is not None:  # a failed job's next input: let it finish, unused
        next_input[1].exception()
      _settle(state, options, "in_process", run_start,
              lambda j: get_runner().describe(j.model_dir, j.model_fetch), results, on_job_done,
              progress)
  finally:
    ahead.shutdown(wait=True, cancel_futures=True)
    if runner is not None:
      runner.release()
  return results


def _run_on_pool(states: list[_Job], pool: WorkerPool, options, run_start: float,
                 on_job_done) -> dict[str, ShardedResult]:
  results: dict[str, ShardedResult] = {}
  worker_job: list[_Job | None] = [None] * len(pool.actors)
  queued = [0] * len(pool.actors)
  inflight: dict[Any, tuple[int, _Job, int, Any]] = {}  # ref: (worker, job, shard, actor)
  progress = _Progress(states, len(pool.actors), options.progress_interval)
  last_node_check = time.perf_counter()

  def describe(job: ModelJob) -> dict:
    alive = [a for a, ok in zip(pool.actors, pool.alive) if ok]
    if not alive:
      raise ExecutorError("no worker left to describe the model")
    return ray.get(alive[0].describe.remote(job.model_dir, job.model_fetch))

  def next_job(w: int) -> _Job | None:
    current = worker_job[w]
    if current is not None and current.pending and current.error is None:
      return current
    candidates = [s for s in states if s.pending and s.error is None]
    if not candidates:
      return None
    busy = collections.Counter(id(j) for j in worker_job if j is not None)
    return min(candidates, key=lambda s: (busy[id(s)], s.index))

  def maybe_settle(state: _Job) -> None:
    if state.settled() or state.running or state.pending and state.error is None:
      return
    if (state.error is None and state.cached is None and len(state.outputs) < len(state.shards)):
      return
    _settle(state, options, "ray", run_start, describe, results, on_job_done, progress)

  for state in states:  # cached, failed up front, or every shard reused
    maybe_settle(state)

  while True:
    if time.perf_counter() - last_node_check >= NODE_CHECK_SECONDS:
      last_node_check = time.perf_counter()
      for w in pool.replace_workers_on_lost_nodes():
        worker_job[w] = None  # the new worker loads its model when given a shard
    pool.poll_started()
    # Breadth first: every worker gets a shard before any gets its second.
    for depth in range(1, QUEUE_DEPTH + 1):
      for w in range(len(pool.actors)):
        if not pool.alive[w] or queued[w] >= depth:
          continue
        state = next_job(w)
        if state is None:
          continue
        index = state.pending.popleft()
        ref = pool.actors[w].run_shard.remote(_task(state, index))
        inflight[ref] = (w, state, index, pool.actors[w])
        queued[w] += 1
        state.running += 1
        worker_job[w] = state
        state.first_submit = state.first_submit or time.perf_counter()
    if not inflight:
      if not any(s.pending and s.error is None for s in states):
        break
      if pool.starting and pool.poll_started(timeout=WORKER_START_TIMEOUT):
        continue  # a replacement worker is ready: it takes the shards left
      raise ExecutorError("every worker is gone (restarts exhausted, nodes lost) and none "
                          "could be started again; finished shards are saved: run again to "
                          "continue")
    timeout = max(
        0.05,
        min(NODE_CHECK_SECONDS, options.progress_interval - (time.perf_counter() - progress.last)))
    ready, _ = ray.wait(list(inflight), num_returns=1, timeout=timeout)
    for ref in ready:
      w, state, index, actor = inflight.pop(ref)
      queued[w] -= 1
      state.running -= 1
      try:
        output = ray.get(ref)
      except ray.exceptions.RayTaskError as e:  # the shard's own error: the model, the data
        cause = e.cause if isinstance(getattr(e, "cause", None), BaseException) else e
        state.fail(cause, str(e))
      except ray.exceptions.RayActorError as e:  # the worker is gone despite Ray's restarts
        if pool.actors[w] is actor:  # (else it was replaced: its node left the cluster)
          logging.warning("worker %d is gone (%s): its shards go back to the queue", w,
                          type(e).__name__)
          pool.alive[w] = False
          worker_job[w] = None
        state.attempts[index] += 1
        if state.attempts[index] >= SHARD_ATTEMPTS:
          state.fail(
              ExecutorError(f"{state.key}: shard {index} lost its worker "
                            f"{state.attempts[index]} times"))
        elif state.error is None:
          state.pending.appendleft(index)
      except ray.exceptions.RayError as e:  # e.g. the worker process crashed between retries
        logging.warning("shard %d of %s failed (%s): retrying", index, state.key, e)
        state.attempts[index] += 1
        if state.attempts[index] >= SHARD_ATTEMPTS:
          state.fail(e)
        elif state.error is None:
          state.pending.appendleft(index)
      else:
        if state.error is None:
          _accept(state, index, output, w)
          progress.images_run += output["num_images"]
      maybe_settle(state)
    progress.maybe_log()
  for state in states:
    maybe_settle(state)
  return results
