"""EfficientDet-D0's inference graph as the TF OD API exports it, random weights, for timing.

The CPU time of a zoo export is spread over many small ops (depthwise convolutions on small
maps, the BiFPN's fusions, one NMS per class), which is what decides how well one process
uses several threads and so whether several one-thread workers beat it. A backbone with a
light head hides that, so the benchmarks time this graph, built from the zoo's
ssd_efficientdet_d0_512x512_coco17_tpu-8.config and the TF OD API's code it names:
- EfficientNet-B0 (keras.applications, no weights) at 512x512, keep-aspect-ratio resize and
  zero padding inside the graph; levels 3-5 from the backbone, 6-7 by 1x1 conv + max pooling;
- BiFPN: 3 iterations, 64 filters, fast normalized ("fast attention") fusion, each node
  swish -> 3x3 depthwise-separable conv -> batch norm;
- weight-shared box and class towers: 3 separable convs of 64 with batch norm per level and
  swish, separable predictors (class bias -4.6, weights N(0, 0.01) as the config);
- 9 anchors per location (scales 2^(i/3), aspect ratios 1, 2, 0.5, anchor scale 4) on levels
  3-7: 49,104 anchors; Faster R-CNN box coder (10, 10, 5, 5); sigmoid scores;
- post-processing as `batch_non_max_suppression` without combined NMS: one
  non_max_suppression_with_scores per class over every anchor (score threshold 1e-8, IoU 0.5,
  100 per class), merged, sorted, clipped to the image window, 100 in total.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from benchmarks import zoo_export

INPUT_SIZE = 512
NUM_CLASSES = 90
_LEVELS = (3, 4, 5, 6, 7)
_FILTERS = 64
_BIFPN_ITERATIONS = 3
_TOWER_LAYERS = 3
_ASPECT_RATIOS = (1.0, 2.0, 0.5)
_SCALES_PER_OCTAVE = 3
_ANCHOR_SCALE = 4.0
_ANCHORS_PER_LOCATION = len(_ASPECT_RATIOS) * _SCALES_PER_OCTAVE
# Keras' names for the TF OD API's EfficientNet endpoints of levels 3, 4 and 5.
_BACKBONE_ENDPOINTS = ("block3b_add", "block5c_add", "block7a_project_bn")
_BOX_CODER_SCALES = (10.0, 10.0, 5.0, 5.0)
_MAX_PER_CLASS = 100
_MAX_TOTAL = 100


class _FastAttentionFusion(keras.layers.Layer):
  """sum_i relu(w_i) x_i / (sum_i relu(w_i) + eps): EfficientDet's fast normalized fusion."""

  def build(self, input_shape):
    self.fusion_weights = self.add_weight(shape=(len(input_shape),), initializer="ones",
                                          name="fusion_weights")

  def call(self, inputs):
    ops = keras.ops
    weights = ops.relu(self.fusion_weights)
    weights = weights / (ops.sum(weights) + 1e-4)
    return sum(weights[i] * x for i, x in enumerate(inputs))


def _conv_bn(x, filters: int, kernel: int, name: str):
  x = keras.layers.Conv2D(filters, kernel, padding="same", name=f"{name}_conv")(x)
  return keras.layers.BatchNormalization(epsilon=1e-3, name=f"{name}_bn")(x)


def _resample(x, source_level: int, target_level: int, name: str):
  """To the node's width (1x1 conv + BN when it differs) and size (nearest up, 3x3 max-pool
  down), as the BiFPN resamples each input."""
  if x.shape[-1] != _FILTERS:
    x = _conv_bn(x, _FILTERS, 1, name)
  if source_level < target_level:
    x = keras.layers.MaxPooling2D(3, 2 ** (target_level - source_level), padding="same",
                                  name=f"{name}_down")(x)
  elif source_level > target_level:
    x = keras.layers.UpSampling2D(2 ** (source_level - target_level), name=f"{name}_up")(x)
  return x


def _bifpn_node(inputs, name: str):
  x = _FastAttentionFusion(name=f"{name}_fuse")(inputs)
  x = keras.layers.Activation("swish", name=f"{name}_act")(x)
  x = keras.layers.SeparableConv2D(_FILTERS, 3, padding="same", name=f"{name}_sepconv")(x)
  return keras.layers.BatchNormalization(epsilon=1e-3, name=f"{name}_bn")(x)


def _bifpn(features: dict, iteration: int) -> dict:
  """One BiFPN layer: top-down from level 7 to 3, then bottom-up from 3 to 7."""
  name = f"bifpn{iteration}"
  top_down = {7: features[7]}
  for level in (6, 5, 4, 3):
    top_down[level] = _bifpn_node([
        _resample(features[level], level, level, f"{name}_td{level}_in"),
        _resample(top_down[level + 1], level + 1, level, f"{name}_td{level}_from{level + 1}")
    ], f"{name}_td{level}")
  outputs = {3: top_down[3]}
  for level in (4, 5, 6, 7):
    inputs = [
        _resample(features[level], level, level, f"{name}_bu{level}_in"),
        _resample(outputs[level - 1], level - 1, level, f"{name}_bu{level}_from{level - 1}")
    ]
    if level != 7:
      inputs.insert(1, top_down[level])
    outputs[level] = _bifpn_node(inputs, f"{name}_bu{level}")
  return outputs


def _towers(features: dict) -> tuple:
  """Weight-shared box and class towers (batch norm per level) -> [1, anchors, 4] box
  encodings and [1, anchors, classes] logits in level, row, column, anchor order."""
  predictor_init = keras.initializers.RandomNormal(stddev=0.01)
  outputs = []
  for head, width, bias in (("box", 4, 0.0), ("class", NUM_CLASSES, -4.6)):
    convs = [
        keras.layers.SeparableConv2D(_FILTERS, 3, padding="same", name=f"{head}_tower{i}")
        for i in range(_TOWER_LAYERS)
    ]
    predictor = keras.layers.SeparableConv2D(_ANCHORS_PER_LOCATION * width, 3, padding="same",
                                             depthwise_initializer=predictor_init,
                                             pointwise_initializer=predictor_init,
                                             bias_initializer=keras.initializers.Constant(bias),
                                             name=f"{head}_predictor")
    per_level = []
    for level in _LEVELS:
      x = features[level]
      for i, conv in enumerate(convs):
        x = conv(x)
        x = keras.layers.BatchNormalization(epsilon=1e-3, name=f"{head}_bn{i}_level{level}")(x)
        x = keras.layers.Activation("swish")(x)
      per_level.append(keras.layers.Reshape((-1, width))(predictor(x)))
    outputs.append(keras.layers.Concatenate(axis=1, name=f"{head}_outputs")(per_level))
  return tuple(outputs)


def _network():
  backbone = keras.applications.EfficientNetB0(weights=None, include_top=False,
                                               input_shape=(INPUT_SIZE, INPUT_SIZE, 3))
  features = {
      level: backbone.get_layer(endpoint).output
      for level, endpoint in zip((3, 4, 5), _BACKBONE_ENDPOINTS)
  }
  features[6] = _resample(features[5], 5, 6, "p6")
  features[7] = _resample(features[6], 6, 7, "p7")
  for iteration in range(_BIFPN_ITERATIONS):
    features = _bifpn(features, iteration)
  return keras.Model(backbone.input, _towers(features))


def anchors() -> np.ndarray:
  """[49104, 4] (y center, x center, height, width), normalised, in the towers' order."""
  per_level = []
  for level in _LEVELS:
    stride = 2 ** level
    n = INPUT_SIZE // stride
    centers = (np.arange(n) + 0.5) * stride / INPUT_SIZE
    cy, cx = np.meshgrid(centers, centers, indexing="ij")
    shapes = []
    for octave in range(_SCALES_PER_OCTAVE):
      base = _ANCHOR_SCALE * stride * 2 ** (octave / _SCALES_PER_OCTAVE) / INPUT_SIZE
      for ratio in _ASPECT_RATIOS:
        shapes.append((base / np.sqrt(ratio), base * np.sqrt(ratio)))
    grid = [np.stack([cy, cx, np.full_like(cy, h), np.full_like(cx, w)], -1) for h, w in shapes]
    per_level.append(np.stack(grid, axis=2).reshape(-1, 4))
  return np.concatenate(per_level).astype(np.float32)


def _decode(encodings: tf.Tensor, anchor_boxes: tf.Tensor) -> tf.Tensor:
  """Faster R-CNN box coder: [N, 4] encodings -> [ymin, xmin, ymax, xmax]."""
  ty, tx, th, tw = tf.unstack(encodings / _BOX_CODER_SCALES, axis=1)
  ya, xa, ha, wa = tf.unstack(anchor_boxes, axis=1)
  h, w = tf.exp(th) * ha, tf.exp(tw) * wa
  yc, xc = ty * ha + ya, tx * wa + xa
  return tf.stack([yc - h / 2, xc - w / 2, yc + h / 2, xc + w / 2], axis=1)


def _per_class_nms(boxes: tf.Tensor, scores: tf.Tensor, window: tf.Tensor) -> dict:
  """The TF OD API's multiclass_non_max_suppression (one NMS op per class, then merged, sorted,
  clipped to the image window and re-framed into it), padded to 100 as the export pads."""
  selected_boxes, selected_scores, selected_classes = [], [], []
  for class_index in range(NUM_CLASSES):
    class_scores = scores[:, class_index]
    indices, kept_scores = tf.image.non_max_suppression_with_scores(boxes, class_scores,
                                                                    _MAX_PER_CLASS,
                                                                    iou_threshold=0.5,
                                                                    score_threshold=1e-8)
    selected_boxes.append(tf.gather(boxes, indices))
    selected_scores.append(kept_scores)
    selected_classes.append(tf.fill(tf.shape(indices), float(class_index)))
  boxes = tf.concat(selected_boxes, 0)
  scores = tf.concat(selected_scores, 0)
  classes = tf.concat(selected_classes, 0)
  order = tf.argsort(scores, direction="DESCENDING", stable=True)
  boxes, scores, classes = (tf.gather(t, order) for t in (boxes, scores, classes))
  # Clip to the window, drop what has no area left, express boxes in the window's frame.
  ymax, xmax = window[0], window[1]
  boxes = tf.clip_by_value(boxes, 0.0, tf.stack([ymax, xmax, ymax, xmax]))
  keep = tf.where((boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1]))[:, 0]
  keep = keep[:_MAX_TOTAL]
  boxes = tf.gather(boxes, keep) / tf.stack([ymax, xmax, ymax, xmax])
  scores, classes = tf.gather(scores, keep), tf.gather(classes, keep)
  valid = tf.shape(keep)[0]
  pad = _MAX_TOTAL - valid
  return {
      "detection_boxes": tf.pad(boxes, [[0, pad], [0, 0]])[tf.newaxis],
      "detection_scores": tf.pad(scores, [[0, pad]])[tf.newaxis],
      "detection_classes": tf.pad(classes + 1.0, [[0, pad]])[tf.newaxis],
      "num_detections": tf.cast(valid, tf.float32)[tf.newaxis],
  }


class EfficientDetD0(tf.Module):
  """The graph above behind the TF OD API's serving signature."""

  def __init__(self):
    super().__init__()
    self.net = _network()
    self.anchor_boxes = tf.constant(anchors())

  @tf.function(input_signature=[tf.TensorSpec([1, None, None, 3], tf.uint8, name="input_tensor")])
  def serve(self, images):
    padded, true_hw = zoo_export.resize_and_pad(images, INPUT_SIZE)
    encodings, logits = self.net(padded, training=False)
    boxes = _decode(encodings[0], self.anchor_boxes)
    return _per_class_nms(boxes, tf.sigmoid(logits[0]), true_hw / INPUT_SIZE)


def save(path: str) -> str:
  """Exports the graph as <path>/saved_model with the serving signature; returns path."""
  return zoo_export.save(EfficientDetD0(), path)
