"""Small SavedModels with the TF2 Object Detection API export signature, for tests.

A "table" model recognises its input by the image size (height, width): every test image has
its own size, and the model returns the detections stored for that size (none for an unknown
size). With the ground truth as the table it is an oracle; with a perturbed copy it is a
model whose score is known only to an independent evaluator.
"""
from __future__ import annotations

import dataclasses
import os

import numpy as np
import tensorflow as tf

MAX_DETECTIONS = 100
MASK_SIZE = 15  # box-relative masks, like Mask R-CNN's 33x33


@dataclasses.dataclass
class ImageDetections:
  """What the model returns for one image: normalised [ymin, xmin, ymax, xmax] boxes."""
  boxes: np.ndarray  # [n, 4]
  scores: np.ndarray  # [n]
  classes: np.ndarray  # [n], 1-based label-map ids
  masks: np.ndarray | None = None  # [n, MASK_SIZE, MASK_SIZE] box-relative, in [0, 1]
  # [n, K, 2] normalised (y, x) in the image, as CenterNet keypoint exports return them
  keypoints: np.ndarray | None = None


def _tables(table: dict[tuple[int, int], ImageDetections], num_classes: int, masks: bool):
  """Pads every entry to MAX_DETECTIONS rows: the export signature's fixed output shape."""
  sizes, boxes, scores, classes, nums, mask_rows, multi = [], [], [], [], [], [], []
  num_keypoints = max((np.shape(d.keypoints)[1]
                       for d in table.values() if d.keypoints is not None and len(d.keypoints)),
                      default=0)
  keypoint_rows = []
  for (h, w), det in table.items():
    n = len(det.scores)
    if n > MAX_DETECTIONS:
      raise ValueError(f"{n} detections for size {(h, w)}: at most {MAX_DETECTIONS}")
    pad = MAX_DETECTIONS - n
    sizes.append([h, w])
    boxes.append(np.pad(np.asarray(det.boxes, np.float32).reshape(n, 4), [[0, pad], [0, 0]]))
    scores.append(np.pad(np.asarray(det.scores, np.float32), [0, pad]))
    cls = np.asarray(det.classes, np.float32)
    classes.append(np.pad(cls, [0, pad]))
    one_hot = np.zeros([MAX_DETECTIONS, num_classes + 1], np.float32)
    one_hot[np.arange(n), np.clip(cls.astype(int), 0, num_classes)] = scores[-1][:n]
    multi.append(one_hot)
    nums.append(n)
    if masks:
      m = np.zeros([MAX_DETECTIONS, MASK_SIZE, MASK_SIZE], np.float32)
      if det.masks is not None and n:
        m[:n] = det.masks
      mask_rows.append(m)
    if num_keypoints:
      k = np.zeros([MAX_DETECTIONS, num_keypoints, 2], np.float32)
      if det.keypoints is not None and n:
        k[:n] = det.keypoints
      keypoint_rows.append(k)
  out = {
      "sizes":
          np.asarray(sizes, np.int32).reshape(-1, 2),
      "detection_boxes":
          np.asarray(boxes, np.float32).reshape(-1, MAX_DETECTIONS, 4),
      "detection_scores":
          np.asarray(scores, np.float32).reshape(-1, MAX_DETECTIONS),
      "detection_classes":
          np.asarray(classes, np.float32).reshape(-1, MAX_DETECTIONS),
      "detection_multiclass_scores":
          np.asarray(multi, np.float32).reshape(-1, MAX_DETECTIONS, num_classes + 1),
      "num_detections":
          np.asarray(nums, np.float32),
  }
  if masks:
    out["detection_masks"] = np.asarray(mask_rows,
                                        np.float32).reshape(-1, MAX_DETECTIONS, MASK_SIZE,
                                                            MASK_SIZE)
  if num_keypoints:  # with per-keypoint scores, as the exporter returns them
    out["detection_keypoints"] = np.asarray(keypoint_rows, np.float32)
    out["detection_keypoint_scores"] = np.ones(out["detection_keypoints"].shape[:-1], np.float32)
  return out


class _TableModel(tf.Module):
  """Looks the image size up in constant tables and returns that row as a detector would."""

  def __init__(self, table, num_classes, masks):
    super().__init__()
    tables = _tables(table, num_classes, masks)
    self._sizes = tf.constant(tables.pop("sizes"))
    self._outputs = {k: tf.constant(v) for k, v in tables.items()}
    self._num_classes = num_classes
    # A variable, so the export has variables/ like a real one.
    self.calls = tf.Variable(0, dtype=tf.int64, trainable=False)

  def detect(self, images):
    shape = tf.shape(images)
    batch = shape[0]
    hw = tf.stack([shape[1], shape[2]])
    match = tf.reduce_all(tf.equal(self._sizes, hw), axis=1)
    found = tf.reduce_any(match)
    row = tf.argmax(tf.cast(match, tf.int32), output_type=tf.int32)
    self.calls.assign_add(1)
    out = {}
    for key, table in self._outputs.items():
      value = tf.gather(table, row) if table.shape[0] else tf.zeros(table.shape[1:], table.dtype)
      value = tf.where(found, value, tf.zeros_like(value))
      out[key] = tf.tile(value[tf.newaxis],
                         tf.concat([[batch], tf.ones_like(tf.shape(value))], axis=0))
    # Like the exporter: anchor indices and raw (pre-NMS) outputs are there too.
    out["detection_anchor_indices"] = tf.zeros([batch, MAX_DETECTIONS], tf.float32)
    out["raw_detection_boxes"] = tf.zeros([batch, 10, 4], tf.float32)
    out["raw_detection_scores"] = tf.zeros([batch, 10, self._num_classes + 1], tf.float32)
    return out


def save_table_model(path: str, table: dict[tuple[int, int], ImageDetections], *,
                     num_classes: int = 90, input_type: str = "image_tensor",
                     masks: bool | None = None, exported_layout: bool = True) -> str:
  """Saves a table model; returns the directory to pass as --model_dir.

  input_type: "image_tensor" (uint8 [1,H,W,3]), "float_image_tensor" (float32 [1,H,W,3]),
  "batched" (uint8 [None,H,W,3]) or "encoded_image_string_tensor" (string [None]).
  exported_layout: write <path>/saved_model/ + pipeline.config + checkpoint/ as
  exporter_main_v2.py does, or the bare SavedModel at <path>.
  masks: output detection_masks (default: when any entry has masks).
  """
  if masks is None:
    masks = any(det.masks is not None for det in table.values())
  module = _TableModel(table, num_classes, masks)
  if input_type == "image_tensor":
    spec = tf.TensorSpec([1, None, None, 3], tf.uint8, name="input_tensor")
    fn = tf.function(module.detect, input_signature=[spec])
  elif input_type == "float_image_tensor":
    spec = tf.TensorSpec([1, None, None, 3], tf.float32, name="input_tensor")
    fn = tf.function(lambda x: module.detect(tf.cast(x, tf.uint8)), input_signature=[spec])
  elif input_type == "batched":
    spec = tf.TensorSpec([None, None, None, 3], tf.uint8, name="input_tensor")
    fn = tf.function(module.detect, input_signature=[spec])
  elif input_type == "encoded_image_string_tensor":
    spec = tf.TensorSpec([None], tf.string, name="input_tensor")

    def decode(encoded):
      image = tf.io.decode_image(encoded[0], channels=3, expand_animations=False)
      return module.detect(image[tf.newaxis])

    fn = tf.function(decode, input_signature=[spec])
  else:
    raise ValueError(f"unknown input_type {input_type!r}")
  module.serve = fn
  saved_model_dir = os.path.join(path, "saved_model") if exported_layout else path
  tf.saved_model.save(module, saved_model_dir, signatures={"serving_default": fn})
  if exported_layout:
    with open(os.path.join(path, "pipeline.config"), "w") as f:
      f.write(_PIPELINE_CONFIG.format(num_classes=num_classes))
    tf.train.Checkpoint(model=module).save(os.path.join(path, "checkpoint", "ckpt"))
  return path


def save_non_detector(path: str) -> str:
  """A SavedModel that is not a detector: a classifier on feature vectors."""
  module = tf.Module()
  module.w = tf.Variable(tf.ones([10, 3]))

  @tf.function(input_signature=[tf.TensorSpec([None, 10], tf.float32, name="features")])
  def classify(features):
    return {"logits": tf.matmul(features, module.w)}

  module.classify = classify
  tf.saved_model.save(module, path, signatures={"serving_default": classify})
  return path


def save_without_serving_default(path: str) -> str:
  module = tf.Module()

  @tf.function(input_signature=[tf.TensorSpec([1, None, None, 3], tf.uint8)])
  def other(images):
    return {"detection_boxes": tf.zeros([1, 100, 4])}

  module.other = other
  tf.saved_model.save(module, path, signatures={"predict": other})
  return path


_PIPELINE_CONFIG = """\
model {{
  ssd {{
    num_classes: {num_classes}
    image_resizer {{ keep_aspect_ratio_resizer {{ min_dimension: 512 max_dimension: 512
                                                  pad_to_max_dimension: true }} }}
    feature_extractor {{ type: "fake_table_model" }}
  }}
}}
eval_config {{ metrics_set: "coco_detection_metrics" }}
"""
