"""Runs a detector over an image source and caches the COCO results in the output directory.

The tf.data pipeline decodes in parallel and prefetches, and results are converted on a
worker thread while the model runs the next batch, so the accelerator does not wait for input
or for Python. A second run with the same model, data and options reuses
OUT/detections.json (and OUT/segmentations.json for masks); its fingerprint sits next to it.
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import json
import os
import time
from typing import Any, Iterator, Sequence

from absl import logging
import tensorflow as tf

from eval import atomic_io
from eval.data import image_sources
from eval.model import postprocess

DETECTIONS = "detections.json"
SEGMENTATIONS = "segmentations.json"
FINGERPRINT = "detections.fingerprint.json"


@dataclasses.dataclass
class Detections:
  bbox: list[dict]  # COCO results with "bbox"
  segm: list[dict] | None  # COCO results with "segmentation" (models with masks)
  num_images: int
  seconds: float  # inference wall time (0 when cached)
  cached: bool = False
  # Seconds of model time per image, in input order: each model call's wall time (outputs
  # fetched) divided among its images. None when cached.
  latencies: list[float] | None = None

  @property
  def images_per_second(self) -> float:
    return self.num_images / self.seconds if self.seconds else 0.0


def model_fingerprint(saved_model_dir: str) -> dict:
  """Identifies a model cheaply: its path and saved_model.pb's size and modification time."""
  pb = os.path.join(saved_model_dir, "saved_model.pb")
  st = os.stat(pb)
  return {
      "saved_model": os.path.realpath(saved_model_dir), "pb_size": st.st_size,
      "pb_mtime_ns": st.st_mtime_ns
  }


def _format_eta(seconds: float) -> str:
  seconds = int(seconds)
  return f"{seconds // 3600}h{seconds // 60 % 60:02d}m{seconds % 60:02d}s"


class _Progress:
  """Logs images done/total, throughput and ETA at most every `interval` seconds."""

  def __init__(self, total: int | None, interval: float):
    self.total, self.interval = total, interval
    self.start = self.last = time.perf_counter()
    self.done = 0

  def update(self, n: int) -> None:
    self.done += n
    now = time.perf_counter()
    if now - self.last >= self.interval:
      self.last = now
      self.log()

  def log(self) -> None:
    elapsed = time.perf_counter() - self.start
    rate = self.done / elapsed if elapsed > 0 else 0.0
    if self.total:
      eta = _format_eta((self.total - self.done) / rate) if rate else "?"
      logging.info("inference: %d/%d images (%.1f%%), %.2f images/s, ETA %s", self.done, self.total,
                   100.0 * self.done / self.total, rate, eta)
    else:
      logging.info("inference: %d images, %.2f images/s", self.done, rate)


def _dataset_for_ids(source, image_ids: Sequence[int]) -> tf.data.Dataset:
  """The source's own dataset_for_ids (image_sources.ImageSource), else dataset() filtered."""
  method = getattr(source, "dataset_for_ids", None)
  if method is not None:
    return method(image_ids)
  wanted = tf.constant(sorted(set(int(i) for i in image_ids)), tf.int64)
  return source.dataset().filter(lambda e: tf.reduce_any(tf.equal(e["image_id"], wanted)))


def input_dataset(model, source, *, max_images: int | None = None, skip_missing: bool = False,
                  batch_size: int = 1, image_ids: Sequence[int] | None = None) -> tf.data.Dataset:
  """The source's elements with "image" batched as the model's input, prefetched.

  Batches hold images of one size only (a signature's batch is one dense tensor; padding
  would change what the model sees), so batch_size > 1 groups images by size. image_ids:
  only these images (a shard; max_images and skip_missing then do not apply).
  """
  if image_ids is not None:
    ds = _dataset_for_ids(source, image_ids)
  else:
    ds = source.dataset(max_images=max_images, skip_missing=skip_missing)
  if model.input_type != "image_tensor":  # uint8 images go in as decoded: no extra stage
    ds = ds.map(lambda e: {**e, "image": model.prepare(e["image"])},
                num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
  if model.max_batch_size is not None:
    batch_size = min(batch_size, model.max_batch_size)
  if batch_size > 1:

    def size_key(example):
      return (tf.cast(example["height"], tf.int64) * 100003 + tf.cast(example["width"], tf.int64))

    ds = ds.group_by_window(size_key, lambda _, window: window.batch(batch_size),
                            window_size=batch_size)
  else:
    ds = ds.batch(1)
  return ds.prefetch(tf.data.AUTOTUNE)


@contextlib.contextmanager
def _naming_undecodable_images(source, image_ids, max_images) -> Iterator[None]:
  """TF's decoders do not say which image they failed on: find it and name it."""
  try:
    yield
  except tf.errors.InvalidArgumentError as e:
    bad = image_sources.find_undecodable(source, image_ids, max_images)
    if bad is None:
      raise
    path, problem = bad
    raise ValueError(f"{path}: cannot be decoded as an image ({problem})") from e


class StartedInput:
  """A shard's input pipeline, built and started: its first batch is already decoded.

  A worker makes the next shard's StartedInput while the model still runs the current shard,
  so building the pipeline (tracing its map functions) and filling it are off the critical
  path. An error of the first batch is kept and raised where the batches are consumed.
  """

  def __init__(self, model, source, image_ids: Sequence[int], batch_size: int = 1):
    self.model, self.image_ids = model, list(image_ids)
    self._iterator = iter(
        input_dataset(model, source, batch_size=batch_size, image_ids=self.image_ids))
    self._first, self._error = None, None
    try:
      self._first = next(self._iterator)
    except StopIteration:
      pass
    except tf.errors.OpError as e:
      self._error = e

  def __iter__(self):
    if self._error is not None:
      raise self._error
    if self._first is not None:
      first, self._first = self._first, None
      yield first
    yield from self._iterator


def run(model, source, category_ids, *, max_images: int | None = None, skip_missing: bool = False,
        batch_size: int = 1, with_masks: bool = True, box_frame: str = "image",
        keypoint_category_ids: Sequence[int] = (), log_interval: float | None = 5.0,
        image_ids: Sequence[int] | None = None, started: StartedInput | None = None) -> Detections:
  """Runs `model` on every image of `source`; returns its COCO results.

  image_ids: only these images, in the source's order (a shard of it). log_interval: seconds
  between progress lines; None logs nothing (e.g. a worker of a distributed run). started:
  the images' pipeline, already started (StartedInput of this model and image_ids).
  """
  if started is not None:
    if started.model is not model or (image_ids is not None
                                      and list(image_ids) != started.image_ids):
      raise ValueError("started input of another model or other images")
    image_ids = started.image_ids
  if image_ids is not None:
    total = len(image_ids)
  else:
    total = source.num_images if max_images is None else min(max_images, source.num_images)
  ds = started if started is not None else input_dataset(
      model, source, max_images=max_images, skip_missing=skip_missing, batch_size=batch_size,
      image_ids=image_ids)
  category_ids = frozenset(int(c) for c in category_ids)
  quiet = log_interval is None
  progress = _Progress(total, float("inf") if quiet else log_interval)
  bbox, segm, pending, latencies = [], [], [], []

  def convert(outputs, batch):
    return postprocess.batch_results(outputs, batch["image_id"], batch["height"], batch["width"],
                                     category_ids, with_masks=with_masks, box_frame=box_frame,
                                     keypoint_category_ids=keypoint_category_ids)

  def collect(done):
    b, s = done.result()
    bbox.extend(b)
    segm.extend(s)

  if not quiet:
    logging.info("inference: %d images on %s", total, model.device)
  start = time.perf_counter()
  # One worker: conversion overlaps the next model call (TF releases the GIL) and the results
  # stay in input order.
  with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool, \
      _naming_undecodable_images(source, image_ids, max_images):
    for batch in ds:
      call_start = time.perf_counter()
      outputs = model(batch["image"])  # numpy outputs: the call has finished
      call_seconds = time.perf_counter() - call_start
      meta = {k: batch[k].numpy() for k in ("image_id", "height", "width")}
      latencies += [call_seconds / len(meta["image_id"])] * len(meta["image_id"])
      pending.append(pool.submit(convert, outputs, meta))
      while pending and (pending[0].done() or len(pending) > 8):
        collect(pending.pop(0))
      progress.update(len(meta["image_id"]))
    for done in pending:
      collect(done)
  seconds = time.perf_counter() - start
  if not quiet:
    progress.log()
  has_masks = with_masks and model.has_masks
  return Detections(bbox, segm if has_masks else None, progress.done, seconds, latencies=latencies)


def _file_size(path: str) -> int | None:
  return os.path.getsize(path) if os.path.exists(path) else None


def load_cached(out_dir: str, fingerprint: dict[str, Any]) -> Detections | None:
  """The cached results if OUT/ holds results made with exactly this fingerprint."""
  try:
    with open(os.path.join(out_dir, FINGERPRINT)) as f:
      stored = json.load(f)
  except (FileNotFoundError, json.JSONDecodeError):
    return None
  if stored.get("fingerprint") != json.loads(json.dumps(fingerprint)):
    logging.info("detection cache: %s differs from this run, running inference", FINGERPRINT)
    return None
  files = stored.get("files", {})
  # The sizes guard against results replaced or truncated after the fingerprint was written.
  if any(_file_size(os.path.join(out_dir, name)) != size for name, size in files.items()):
    logging.info("detection cache: results files changed, running inference")
    return None
  with open(os.path.join(out_dir, DETECTIONS)) as f:
    bbox = json.load(f)
  segm = None
  if SEGMENTATIONS in files:
    with open(os.path.join(out_dir, SEGMENTATIONS)) as f:
      segm = json.load(f)
  logging.info("detection cache hit: reusing %s (%d detections, %d images)",
               os.path.join(out_dir, DETECTIONS), len(bbox), stored.get("num_images", 0))
  return Detections(bbox, segm, stored.get("num_images", 0), 0.0, cached=True)


def store(out_dir: str, fingerprint: dict[str, Any], detections: Detections,
          extra: dict[str, Any] | None = None) -> None:
  """Writes the results atomically, then the fingerprint that vouches for them.

  extra: more keys for the fingerprint file (e.g. the model's description), read back with
  the file itself; load_cached() ignores them.
  """
  fp_path = os.path.join(out_dir, FINGERPRINT)
  if os.path.exists(fp_path):
    os.unlink(fp_path)  # stale results must never pass for fresh ones, even if we die midway
  files = {DETECTIONS: detections.bbox}
  if detections.segm is not None:
    files[SEGMENTATIONS] = detections.segm
  elif os.path.exists(os.path.join(out_dir, SEGMENTATIONS)):
    os.unlink(os.path.join(out_dir, SEGMENTATIONS))
  sizes = {}
  for name, results in files.items():
    path = os.path.join(out_dir, name)
    atomic_io.write_text(path, json.dumps(results, separators=(",", ":")) + "\n")
    sizes[name] = os.path.getsize(path)
  atomic_io.write_json(
      fp_path, {
          **(extra or {}), "fingerprint": fingerprint, "files": sizes,
          "num_images": detections.num_images, "inference_seconds": detections.seconds
      })


def detections_fingerprint(saved_model_dir: str, input_identity: dict[str, Any], *,
                           max_images: int | None = None, skip_missing: bool = False,
                           **kwargs) -> dict[str, Any]:
  """What cached results are keyed on (the distributed executor uses the same key)."""
  return {
      "model": model_fingerprint(saved_model_dir),
      "input": input_identity,
      "max_images": max_images,
      "skip_missing": skip_missing,
      # Options that change the results (batch size and logging do not).
      "options": {
          k: kwargs[k] for k in ("with_masks", "box_frame", "keypoint_category_ids")
          # no keypoint categories: the key of every earlier result (the cache stays valid)
          if k in kwargs and not (k == "keypoint_category_ids" and not kwargs[k])
      }
  }


def cached_run(model, source, category_ids, out_dir: str, input_identity: dict[str, Any], *,
               force: bool = False, max_images: int | None = None, skip_missing: bool = False,
               **kwargs) -> Detections:
  """run() unless OUT/ already holds results for the same model, data and options."""
  fingerprint = detections_fingerprint(model.paths.saved_model_dir, input_identity,
                                       max_images=max_images, skip_missing=skip_missing, **kwargs)
  if not force:
    cached = load_cached(out_dir, fingerprint)
    if cached is not None:
      return cached
  else:
    logging.info("--force_inference: running inference")
  detections = run(model, source, category_ids, max_images=max_images, skip_missing=skip_missing,
                   **kwargs)
  store(out_dir, fingerprint, detections)
  return detections
