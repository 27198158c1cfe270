"""What the benchmark graphs share with the zoo's exports: the in-graph resize and the export."""
import os

import tensorflow as tf


def resize_and_pad(images: tf.Tensor, size: int) -> tuple[tf.Tensor, tf.Tensor]:
  """uint8 [1, H, W, 3] -> (float32 [1, size, size, 3] with the image top-left, the resized
  image's (height, width) in pixels): keep_aspect_ratio_resizer with pad_to_max_dimension."""
  shape = tf.cast(tf.shape(images)[1:3], tf.float32)
  true_hw = tf.round(shape * (size / tf.reduce_max(shape)))
  resized = tf.image.resize(tf.cast(images, tf.float32), tf.cast(true_hw, tf.int32))
  return tf.image.pad_to_bounding_box(resized, 0, 0, size, size), true_hw


def save(module: tf.Module, path: str) -> str:
  """Exports module.serve as <path>/saved_model's serving_default signature; returns path."""
  tf.saved_model.save(module, os.path.join(path, "saved_model"),
                      signatures={"serving_default": module.serve})
  return path
