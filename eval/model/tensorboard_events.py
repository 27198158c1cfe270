"""Metrics as TensorBoard scalars, under the TF Object Detection API's key names.

The TF2 eval loop writes each metric with tf.summary.scalar(key, value, step=global_step);
writing the same records here means TensorBoard, and ClearML's TensorBoard capture (which
splits tags on "/" into title and series), show this tool's results under the same names.
"""
from __future__ import annotations

import glob
import os
import shutil
import tempfile

import tensorflow as tf
from tensorflow.core.framework import summary_pb2

SUFFIX = ".evaluate_model"  # marks our event files, so a re-run replaces only them
# What tf.summary.scalar writes, spelled out: TensorBoard's scalar plugin marker (its
# ScalarPluginData at version 0 serialises to nothing). tf.summary.scalar itself lives in the
# tensorboard package, which TensorFlow 2.21 no longer requires; tf.summary.write is core TF.
_SCALAR_METADATA = summary_pb2.SummaryMetadata(
    plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars", content=b""))


def write_scalars(out_dir: str, metrics: dict[str, float], step: int = 0) -> str:
  """Writes every metric at `step` into one event file in out_dir; returns its path.

  The file is written beside its destination and renamed into place, and earlier event files
  of this tool in out_dir are removed, so TensorBoard never sees a partial or a stale run.
  """
  os.makedirs(out_dir, exist_ok=True)
  tmp_dir = tempfile.mkdtemp(dir=out_dir, prefix=".events.", suffix=".tmp")
  try:
    writer = tf.summary.create_file_writer(tmp_dir, filename_suffix=SUFFIX)
    with writer.as_default():
      for key, value in metrics.items():
        tf.summary.write(key, tf.constant(float(value), tf.float32), step=step,
                         metadata=_SCALAR_METADATA)
    writer.close()
    written, = glob.glob(os.path.join(tmp_dir, "events.out.tfevents.*" + SUFFIX))
    for old in glob.glob(os.path.join(out_dir, "events.out.tfevents.*" + SUFFIX)):
      os.unlink(old)
    path = os.path.join(out_dir, os.path.basename(written))
    os.replace(written, path)
    return path
  finally:
    shutil.rmtree(tmp_dir, ignore_errors=True)
