r"""Images per second of the whole evaluation pipeline against the model alone, on CPU.

  bazel run //benchmarks:inference_benchmark -- [--num_images=48] [--output_markdown=inf.md]

The model (--architecture) is, by default, EfficientDet-D0's whole graph as the TF OD API
exports it, with random weights (efficientdet_d0_graph.py: EfficientNet-B0, 3 BiFPN layers,
weight-shared towers on levels 3-7, one NMS per class); `d0_backbone` is the lighter model
the tables before 2026-12-04 were measured with (the same backbone, a small head on two levels
and combined NMS); `centernet_mobilenetv3` is the kind of model ../shared/docs/ray.md measured
(centernet_mobilenet_graph.py; the real one ran only 1.16x faster on a second thread). All
take the TF OD API's serving signature (uint8 [1,None,None,3] -> detection_boxes, ...) and
resize with keep-aspect-ratio + padding inside the graph as the zoo's models do. Or pass
--model_dir.

"model alone" feeds pre-decoded images already in memory to the signature; "pipeline" reads
JPEGs from disk, decodes them in the tf.data pipeline, runs the model, converts the outputs to
COCO results and evaluates them, as //eval:evaluate_model does. Target: pipeline >= 90%.
"""
from __future__ import annotations

import json
import os
import resource
import tempfile
import time

from absl import app
from absl import flags
from absl import logging
import numpy as np
from PIL import Image
import tensorflow as tf

from benchmarks import centernet_mobilenet_graph
from benchmarks import efficientdet_d0_graph
from benchmarks import zoo_export
import cocoeval_cc
from cocoeval_cc import evaluation
from eval import atomic_io
from eval import user_paths
from eval.data import image_sources
from eval.model import detection_model
from eval.model import inference

_NUM_IMAGES = flags.DEFINE_integer("num_images", 48, "Images per measurement.")
_WARMUP = flags.DEFINE_integer("warmup", 3, "Untimed model calls first.")
_REPEATS = flags.DEFINE_integer("repeats", 5, "Rounds of both measurements; the best counts.")
_MODEL_DIR = flags.DEFINE_string("model_dir", None, "An exported model (default: build the "
                                 "--architecture one).")
_WORK_DIR = flags.DEFINE_string(
    "work_dir", None, "Where the model and images go (default: a "
    "temporary directory, removed at the end).")
_ARCHITECTURE = flags.DEFINE_enum(
    "architecture", "efficientdet_d0", ["efficientdet_d0", "d0_backbone", "centernet_mobilenetv3"],
    "The model built when --model_dir is not given (see the module's docstring).")
_OUTPUT_MARKDOWN = flags.DEFINE_string("output_markdown", None, "Also write the table here.")

_INPUT_SIZE = 512
_NUM_CLASSES = 90
_ANCHORS = 9
# COCO's most common image sizes (height, width).
_SIZES = [(480, 640), (427, 640), (640, 480), (640, 427), (425, 640), (512, 640), (640, 640),
          (360, 640)]


class _D0BackboneDetector(tf.Module):
  """EfficientNet-B0 at 512x512, a 3-layer head on strides 16 and 32, combined NMS."""

  def __init__(self):
    super().__init__()
    import keras  # pylint: disable=g-import-not-at-top
    backbone = keras.applications.EfficientNetB0(weights=None, include_top=False,
                                                 input_shape=(_INPUT_SIZE, _INPUT_SIZE, 3))
    levels = [
        backbone.get_layer("block6a_expand_activation").output,  # stride 16
        backbone.get_layer("top_activation").output
    ]  # stride 32
    outputs = []
    for feature in levels:
      x = feature
      for _ in range(3):
        x = keras.layers.SeparableConv2D(64, 3, padding="same", activation="swish")(x)
      boxes = keras.layers.Conv2D(_ANCHORS * 4, 3, padding="same")(x)
      logits = keras.layers.Conv2D(_ANCHORS * _NUM_CLASSES, 3, padding="same")(x)
      outputs += [
          keras.layers.Reshape((-1, 4))(boxes),
          keras.layers.Reshape((-1, _NUM_CLASSES))(logits)
      ]
    self.net = keras.Model(backbone.input, outputs)
    anchors = []
    for stride in (16, 32):
      n = _INPUT_SIZE // stride
      centers = (np.arange(n) + 0.5) / n
      cy, cx = np.meshgrid(centers, centers, indexing="ij")
      for scale in (1.0, 1.26, 1.59):
        for ratio in (0.5, 1.0, 2.0):
          h = 4 * scale * stride / _INPUT_SIZE / np.sqrt(ratio)
          w = 4 * scale * stride / _INPUT_SIZE * np.sqrt(ratio)
          anchors.append(np.stack([cy, cx, np.full_like(cy, h), np.full_like(cx, w)], -1))
    # [n, n, 9, 4] per level in the head's reshape order.
    per_level = [np.stack(anchors[i * 9:(i + 1) * 9], axis=2).reshape(-1, 4) for i in range(2)]
    self.anchors = tf.constant(np.concatenate(per_level), tf.float32)

  @tf.function(input_signature=[tf.TensorSpec([1, None, None, 3], tf.uint8, name="input_tensor")])
  def serve(self, images):
    shape = tf.cast(tf.shape(images)[1:3], tf.float32)
    scale = _INPUT_SIZE / tf.reduce_max(shape)
    true_hw = tf.round(shape * scale)
    resized = tf.image.resize(tf.cast(images, tf.float32), tf.cast(true_hw, tf.int32))
    padded = tf.image.pad_to_bounding_box(resized, 0, 0, _INPUT_SIZE, _INPUT_SIZE)
    box_a, logit_a, box_b, logit_b = self.net(padded, training=False)
    deltas = tf.concat([box_a, box_b], axis=1)[0] * 0.1
    scores = tf.sigmoid(tf.concat([logit_a, logit_b], axis=1))
    a = self.anchors
    cy, cx = a[:, 0] + deltas[:, 0] * a[:, 2], a[:, 1] + deltas[:, 1] * a[:, 3]
    h, w = a[:, 2] * tf.exp(deltas[:, 2]), a[:, 3] * tf.exp(deltas[:, 3])
    boxes = tf.stack([cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2], axis=1)
    # As the TF OD API: clip to the true image inside the padding, express boxes in its frame.
    window = tf.tile(true_hw / _INPUT_SIZE, [2])
    boxes = tf.clip_by_value(boxes, 0.0, window) / window
    nms = tf.image.combined_non_max_suppression(boxes[tf.newaxis, :, tf.newaxis], scores,
                                                max_output_size_per_class=100, max_total_size=100,
                                                iou_threshold=0.5, score_threshold=1e-8,
                                                clip_boxes=True)
    return {
        "detection_boxes": nms.nmsed_boxes, "detection_scores": nms.nmsed_scores,
        "detection_classes": nms.nmsed_classes + 1.0,
        "num_detections": tf.cast(nms.valid_detections, tf.float32)
    }


def default_model_dir(work: str) -> str:
  """Where the --architecture model is built (and, with --work_dir, found again)."""
  return os.path.join(work, _ARCHITECTURE.value)


def build_model(path: str) -> str:
  """Exports the --architecture model to path/saved_model; returns path."""
  logging.info("building the %s model in %s", _ARCHITECTURE.value, path)
  if _ARCHITECTURE.value == "efficientdet_d0":
    return efficientdet_d0_graph.save(path)
  if _ARCHITECTURE.value == "centernet_mobilenetv3":
    return centernet_mobilenet_graph.save(path)
  return zoo_export.save(_D0BackboneDetector(), path)


def write_images(root: str, n: int, rng: np.random.Generator) -> tuple[str, str]:
  """n JPEGs of COCO-like sizes with smooth content (JPEG sizes like photos), and their GT."""
  image_dir = os.path.join(root, "images")
  os.makedirs(image_dir, exist_ok=True)
  images, annotations = [], []
  for i in range(n):
    h, w = _SIZES[i % len(_SIZES)]
    small = rng.integers(0, 255, size=(h // 16 + 1, w // 16 + 1, 3), dtype=np.uint8)
    pixels = np.asarray(Image.fromarray(small).resize((w, h), Image.BILINEAR))
    name = f"{i:06d}.jpg"
    Image.fromarray(pixels).save(os.path.join(image_dir, name), quality=90)
    images.append({"id": i + 1, "file_name": name, "height": h, "width": w})
    for _ in range(7):  # COCO averages ~7 objects per image
      bw, bh = rng.uniform(10, w / 2), rng.uniform(10, h / 2)
      annotations.append({
          "id": len(annotations) + 1, "image_id": i + 1, "iscrowd": 0,
          "bbox": [rng.uniform(0, w - bw), rng.uniform(0, h - bh), bw,
                   bh], "area": bw * bh, "category_id": int(rng.integers(1, 81))
      })
  gt = {
      "images": images, "annotations": annotations,
      "categories": [{"id": c, "name": f"class{c}"} for c in range(1, 91)]
  }
  gt_path = os.path.join(root, "gt.json")
  with open(gt_path, "w") as f:
    json.dump(gt, f)
  return gt_path, image_dir


def _cpu_seconds() -> float:
  usage = resource.getrusage(resource.RUSAGE_SELF)
  return usage.ru_utime + usage.ru_stime


def model_alone(model, images: list[tf.Tensor]) -> tuple[float, float]:
  """Wall and CPU seconds for the signature alone on decoded images already in memory."""
  start, cpu = time.perf_counter(), _cpu_seconds()
  for image in images:
    model(image[tf.newaxis])
  return time.perf_counter() - start, _cpu_seconds() - cpu


def pipeline(model, gt_path: str, image_dir: str) -> tuple[float, float, float, float, int]:
  """Wall and CPU seconds for read + decode + inference + conversion, for that plus the
  evaluation, and the number of detections."""
  source = image_sources.CocoJsonSource(gt_path, image_dir)
  categories = [c["id"] for c in source.ground_truth["categories"]]
  start, cpu = time.perf_counter(), _cpu_seconds()
  detections = inference.run(model, source, categories, log_interval=1e9)
  infer, infer_cpu = time.perf_counter() - start, _cpu_seconds() - cpu
  gt = cocoeval_cc.COCO(source.ground_truth)
  dt = gt.loadRes(detections.bbox)
  evaluation.evaluate_loaded(gt.native_ground_truth, dt.native_detections, "bbox", None, 0)
  return (infer, infer_cpu, time.perf_counter() - start, _cpu_seconds() - cpu, len(detections.bbox))


def run(work: str) -> None:
  rng = np.random.default_rng(0)
  n = _NUM_IMAGES.value
  model_dir = user_paths.resolve(_MODEL_DIR.value) if _MODEL_DIR.value else None
  if model_dir is None:
    model_dir = default_model_dir(work)
    if not os.path.exists(os.path.join(model_dir, "saved_model", "saved_model.pb")):
      build_model(model_dir)
  gt_path, image_dir = write_images(os.path.join(work, "data"), n, rng)
  model = detection_model.DetectionModel(model_dir)

  with open(gt_path) as f:
    names = [im["file_name"] for im in json.load(f)["images"]]
  decoded = [
      tf.io.decode_jpeg(tf.io.read_file(os.path.join(image_dir, name)), channels=3)
      for name in names
  ]
  for image in decoded[:_WARMUP.value]:
    model(image[tf.newaxis])

  # Alternate the two and keep each one's best (wall and CPU separately): other processes on
  # the machine only ever slow a round down.
  alone, infer, full = [], [], []
  for _ in range(_REPEATS.value):
    alone.append(model_alone(model, decoded))
    infer_s, infer_cpu, full_s, full_cpu, num_dets = pipeline(model, gt_path, image_dir)
    infer.append((infer_s, infer_cpu))
    full.append((full_s, full_cpu))
  best = lambda runs: (min(r[0] for r in runs), min(r[1] for r in runs))
  (alone_s, alone_cpu), (infer_s, infer_cpu), (full_s, full_cpu) = (best(alone), best(infer),
                                                                    best(full))
  rows = [
      ("model alone (decoded images in memory)", alone_s, alone_cpu),
      ("pipeline: read + decode + inference + conversion", infer_s, infer_cpu),
      ("pipeline + COCO evaluation", full_s, full_cpu),
  ]
  header = (f"Inference benchmark: {n} JPEGs ({len(_SIZES)} COCO-like sizes), "
            f"{model.device}, model {model_dir}, {num_dets} detections; "
            f"TensorFlow {tf.__version__}, {os.cpu_count()} CPUs, best of {_REPEATS.value}\n")
  lines = [
      "| measurement | seconds | images/s | vs model alone | CPU s/image |",
      "| --- | ---: | ---: | ---: | ---: |"
  ]
  lines += [
      f"| {name} | {s:.2f} | {n / s:.2f} | {100 * alone_s / s:.1f}% | {cpu / n:.3f} |"
      for name, s, cpu in rows
  ]
  verdict = alone_s / full_s >= 0.9
  footer = (f"\nTarget pipeline >= 90% of model alone: {'met' if verdict else 'NOT met'} "
            f"({100 * alone_s / full_s:.1f}%).\n")
  table = header + "\n" + "\n".join(lines) + "\n" + footer
  print(table)
  if _OUTPUT_MARKDOWN.value:
    atomic_io.write_text(user_paths.resolve(_OUTPUT_MARKDOWN.value), table)


def main(argv):
  del argv
  if _WORK_DIR.value:
    run(user_paths.resolve(_WORK_DIR.value))
  else:
    with tempfile.TemporaryDirectory(prefix="inference_benchmark.") as work:
      run(work)


if __name__ == "__main__":
  app.run(main)
