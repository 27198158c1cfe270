"""The worker: loads a SavedModel once, then runs the tf.data pipeline over shards of images.

ShardRunner is plain Python, so the in-process path (one worker, no cluster) runs the very
same code; DetectionWorker is it as a Ray actor. A worker keeps one model loaded and switches
only when it is handed a shard of another model (the executor hands out shards so that this
is rare). A shard's output is JSON-ready: the COCO results in the source's order, the model's
latency per image (after a warm-up call at load), and where it ran.

On a GPU worker two shards may be in it at once (the actor's max_concurrency is 2): while one
runs the model, the next builds and starts its input pipeline (inference.StartedInput), so a
shard boundary costs the model no wait; the model itself runs one shard at a time (a lock).
CPU workers take one shard at a time (the executor's _start_ahead says why).
"""
from __future__ import annotations

import functools
import gc
import os
import platform
import socket
import threading
import time
from typing import Any

from absl import logging

from eval.distributed import node_data
from eval.distributed import source_spec
from eval.distributed.ray_env import ray

# Test-only: seconds each image of a shard waits before the shard runs, so that a test can kill
# a worker in the middle of a shard. Read in the worker process (inherited environment).
TEST_IMAGE_DELAY_ENV = "DETECTOR_EVAL_TEST_IMAGE_DELAY"
_WARMUP_SIZE = 64


def _configure_tensorflow(threads: int | None) -> None:
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  if threads:
    try:
      tf.config.threading.set_intra_op_parallelism_threads(threads)
      tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError as e:  # TensorFlow already started in this process (in-process path)
      logging.warning("cannot set TensorFlow to %d threads here (%s): using its current "
                      "setting", threads, e)
  for gpu in tf.config.list_physical_devices("GPU"):
    try:  # a fraction of a GPU per worker: take memory as needed, not all of it up front
      tf.config.experimental.set_memory_growth(gpu, True)
    except (RuntimeError, ValueError):
      pass


@functools.lru_cache(maxsize=1)
def _cpu_model() -> str:
  try:
    with open("/proc/cpuinfo") as f:
      for line in f:
        if line.startswith("model name"):
          return line.split(":", 1)[1].strip()
  except OSError:
    pass
  return platform.processor() or platform.machine()


def describe_device(tf_threads: int | None) -> dict:
  """The GPU(s) TensorFlow sees in this process, or the CPU model and the threads used."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  host = socket.gethostname()
  gpus = tf.config.list_physical_devices("GPU")
  if gpus:
    try:
      name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")
    except (RuntimeError, ValueError):
      name = "GPU"
    return {
        "kind": "GPU", "name": name, "count": len(gpus), "host": host,
        "text": f"{len(gpus)}x {name}" if len(gpus) > 1 else name
    }
  threads = tf_threads or tf.config.threading.get_intra_op_parallelism_threads() or \
      os.cpu_count()
  return {
      "kind": "CPU", "name": _cpu_model(), "threads": threads, "host": host,
      "text": f"{_cpu_model()}, {threads} TF thread{'s' if threads != 1 else ''}"
  }


class ShardRunner:
  """Runs shards of (model, image ids); one model loaded at a time."""

  def __init__(self, tf_threads: int | None = None):
    self.tf_threads = tf_threads
    _configure_tensorflow(tf_threads)
    self._model = None
    self._model_dir: str | None = None
    self._sources: dict[source_spec.SourceSpec, Any] = {}
    self._device = describe_device(tf_threads)
    self._model_lock = threading.Lock()  # one shard on the model at a time; loads, releases
    self._sources_lock = threading.Lock()

  def pid(self) -> int:
    return os.getpid()

  def node(self) -> str:
    """Ray's id of the node this worker runs on ("" outside Ray)."""
    return ray.get_runtime_context().get_node_id() if ray.is_initialized() else ""

  def device(self) -> dict:
    return self._device

  def _load(self, model_dir: str,
            fetch: node_data.ZooModelFetch | None = None) -> tuple[Any, float]:
    """The model of `model_dir` (loaded, with one warm-up call, unless it already is) and the
    seconds that took. A node without model_dir downloads it with `fetch` (not timed)."""
    if self._model_dir == model_dir:
      return self._model, 0.0
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    from eval.model import detection_model  # pylint: disable=g-import-not-at-top
    self.release()
    local_dir = node_data.local_model_dir(model_dir, fetch)
    start = time.perf_counter()
    model = detection_model.DetectionModel(local_dir)
    try:  # the first call traces and optimises the graph: not an image's latency
      dummy = tf.zeros([_WARMUP_SIZE, _WARMUP_SIZE, 3], tf.uint8)
      model(tf.expand_dims(model.prepare(dummy), 0))
    except Exception as e:  # pylint: disable=broad-except  (some models refuse tiny images)
      logging.warning("warm-up call of %s failed (%s): the first image's latency includes it",
                      model_dir, e)
    self._model, self._model_dir = model, model_dir
    return model, time.perf_counter() - start

  def release(self) -> None:
    """Drops the loaded model and what TensorFlow held for it."""
    if self._model is None:
      return
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    self._model = self._model_dir = None
    gc.collect()
    tf.keras.backend.clear_session()
    gc.collect()

  def describe(self, model_dir: str, fetch: node_data.ZooModelFetch | None = None) -> dict:
    """Loads the model (if needed) and returns {"info": model.info(), "has_masks": ...}."""
    with self._model_lock:
      model, _ = self._load(model_dir, fetch)
      return {"info": model.info(), "has_masks": bool(model.has_masks)}

  def _source(self, spec: source_spec.SourceSpec):
    with self._sources_lock:
      if spec not in self._sources:
        self._sources[spec] = spec.build()
      return self._sources[spec]

  def _start_input(self, model, task: dict):
    from eval.model import inference  # pylint: disable=g-import-not-at-top
    return inference.StartedInput(model, self._source(task["source"]), task["image_ids"],
                                  batch_size=task["batch_size"])

  def start_input(self, task: dict):
    """The shard's input, started now if its model is the one loaded (else None: it is built
    once the model is). Safe to call from another thread while a shard runs."""
    loaded = self._model
    if loaded is None or self._model_dir != task["model_dir"]:
      return None
    return self._start_input(loaded, task)

  def run_shard(self, task: dict, started=None) -> dict:
    """task: model_dir, model_fetch (node_data.ZooModelFetch or None), source (SourceSpec),
    image_ids, category_ids, batch_size, with_masks, box_frame, keypoint_category_ids.
    started: its
    start_input(task), if made ahead. Returns the shard's output (JSON-ready)."""
    from eval.model import inference  # pylint: disable=g-import-not-at-top
    # While another shard may still hold the model (a Ray worker runs two calls at once),
    # start this shard's input if its model is the one loaded (the common case).
    if started is None:
      started = self.start_input(task)
    with self._model_lock:
      model, load_seconds = self._load(task["model_dir"], task.get("model_fetch"))
      # process_time counts every thread: this shard's CPU plus whatever the next shard's
      # input pipeline uses meanwhile (which that shard then does not count).
      cpu = time.process_time()
      if started is None or started.model is not model:  # the model changed meanwhile
        started = self._start_input(model, task)
      delay = float(os.environ.get(TEST_IMAGE_DELAY_ENV) or 0)
      if delay:
        time.sleep(delay * len(task["image_ids"]))
      detections = inference.run(model, self._source(task["source"]), task["category_ids"],
                                 with_masks=task["with_masks"], box_frame=task["box_frame"],
                                 keypoint_category_ids=task.get("keypoint_category_ids", ()),
                                 log_interval=None, started=started)
      cpu_seconds = time.process_time() - cpu
    if detections.num_images != len(task["image_ids"]):
      raise RuntimeError(f"shard of {len(task['image_ids'])} images gave "
                         f"{detections.num_images} images' results")
    return {
        "bbox": detections.bbox, "segm": detections.segm, "num_images": detections.num_images,
        "seconds": detections.seconds, "cpu_seconds": cpu_seconds,
        "latencies": detections.latencies, "load_seconds": load_seconds,
        "has_masks": bool(model.has_masks), "info": model.info(), "device": self._device,
        "pid": os.getpid(), "node": self.node()
    }


# The Ray actor. Resources, restarts and retries are set per pool by the executor
# (.options(num_cpus=..., num_gpus=..., max_restarts=..., max_task_retries=...)).
DetectionWorker = ray.remote(ShardRunner)
