"""A CenterNet-MobileNetV3 inference graph in the TF OD API export signature, random weights.

The model of ../shared/docs/ray.md's measurement (a real COCO-trained CenterNet-MobileNetV3
that ran 1.16x faster on two TensorFlow threads than on one, and 1.6x with two one-thread
processes), rebuilt so the Ray benchmark can time the executor on a model whose graph scales
poorly with threads, beside EfficientDet-D0 (efficientdet_d0_graph.py), whose graph scales well.
As the TF OD API's CenterNet with a MobileNet FPN feature extractor:
- MobileNetV3-Large (keras.applications, no weights, its own input scaling) at 512x512,
  keep-aspect-ratio resize and zero padding inside the graph;
- an FPN from strides 32, 16 and 8 up to stride 4 (1x1 lateral convs, nearest upsampling,
  sums, a 3x3 depthwise-separable conv after each merge): a 128x128x64 map;
- three heads (object centre heatmap with 90 classes, box size, centre offset), each a 3x3
  depthwise-separable conv of 64 + ReLU + a 1x1 conv (the zoo's MobileNet CenterNets use
  depthwise heads); heatmap bias -2.19 as CenterNet initialises it;
- decoding: sigmoid heatmap, 3x3 max-pool peaks, top 100 over all classes and locations,
  boxes from the size and offset at each peak, clipped to the image window.
"""
from __future__ import annotations

import keras
import tensorflow as tf

from benchmarks import zoo_export

INPUT_SIZE = 512
NUM_CLASSES = 90
_STRIDE = 4
_FILTERS = 64
_MAX_DETECTIONS = 100


def _fpn(features: list):
  """Top-down merge of the strides-8/16/32 maps into one stride-4 map of _FILTERS channels."""
  x = keras.layers.Conv2D(_FILTERS, 1, name="fpn_lateral_32")(features[-1])
  for i, feature in enumerate(reversed(features[:-1])):
    lateral = keras.layers.Conv2D(_FILTERS, 1, name=f"fpn_lateral_{i}")(feature)
    x = keras.layers.Add()([keras.layers.UpSampling2D(2)(x), lateral])
    x = keras.layers.SeparableConv2D(_FILTERS, 3, padding="same", activation="relu",
                                     name=f"fpn_merge_{i}")(x)
  x = keras.layers.UpSampling2D(2)(x)  # stride 8 -> 4
  return keras.layers.SeparableConv2D(_FILTERS, 3, padding="same", activation="relu",
                                      name="fpn_stride4")(x)


def _head(x, channels: int, name: str, bias: float = 0.0):
  x = keras.layers.SeparableConv2D(_FILTERS, 3, padding="same", activation="relu",
                                   name=f"{name}_conv")(x)
  return keras.layers.Conv2D(channels, 1, bias_initializer=keras.initializers.Constant(bias),
                             name=f"{name}_out")(x)


def _network():
  backbone = keras.applications.MobileNetV3Large(weights=None, include_top=False,
                                                 input_shape=(INPUT_SIZE, INPUT_SIZE, 3),
                                                 include_preprocessing=True)
  # As the TF OD API's MobileNet FPNs: the last activation at strides 8, 16 and 32 (the next
  # block's expansion; found by size, Keras numbers its unnamed activations per session).
  last_at = {layer.output.shape[1]: layer.output for layer in backbone.layers}
  features = [last_at[INPUT_SIZE // stride] for stride in (8, 16, 32)]
  x = _fpn(features)
  return keras.Model(backbone.input, [
      _head(x, NUM_CLASSES, "heatmap", bias=-2.19),
      _head(x, 2, "box_size"),
      _head(x, 2, "offset"),
  ])


class CenterNetMobileNet(tf.Module):
  """The graph above behind the TF OD API's serving signature."""

  def __init__(self):
    super().__init__()
    self.net = _network()

  @tf.function(input_signature=[tf.TensorSpec([1, None, None, 3], tf.uint8, name="input_tensor")])
  def serve(self, images):
    padded, true_hw = zoo_export.resize_and_pad(images, INPUT_SIZE)
    heatmap, size, offset = self.net(padded, training=False)
    heatmap = tf.sigmoid(heatmap[0])
    peaks = tf.where(
        tf.nn.max_pool2d(heatmap[tf.newaxis], 3, 1, "SAME")[0] == heatmap, heatmap,
        tf.zeros_like(heatmap))
    width = INPUT_SIZE // _STRIDE
    scores, flat = tf.math.top_k(tf.reshape(peaks, [-1]), _MAX_DETECTIONS)
    location, classes = flat // NUM_CLASSES, flat % NUM_CLASSES
    rows, cols = location // width, location % width
    at = tf.stack([rows, cols], axis=1)
    size_at = tf.gather_nd(size[0], at) * _STRIDE
    centre = (tf.cast(at, tf.float32) + tf.gather_nd(offset[0], at)) * _STRIDE
    boxes = tf.concat([centre - size_at / 2, centre + size_at / 2], axis=1)
    hw = tf.tile(true_hw, [2])
    boxes = tf.clip_by_value(boxes, 0.0, hw) / hw
    return {
        "detection_boxes": boxes[tf.newaxis], "detection_scores": scores[tf.newaxis],
        "detection_classes": tf.cast(classes + 1, tf.float32)
                             [tf.newaxis], "num_detections": tf.constant([float(_MAX_DETECTIONS)])
    }


def save(path: str) -> str:
  """Exports the graph as <path>/saved_model with the serving signature; returns path."""
  return zoo_export.save(CenterNetMobileNet(), path)
