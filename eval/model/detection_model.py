"""Loads a TF2 Object Detection API export and runs its `serving_default` signature.

Accepts the exporter's directory (`saved_model/`, `pipeline.config`, `checkpoint/`) or a bare
SavedModel directory. Input types handled: `image_tensor` (uint8 [1,H,W,3], the zoo's),
`float_image_tensor` (float32 [1,H,W,3], pixel values 0..255), batched image signatures
([None,H,W,3]) and `encoded_image_string_tensor` (string [N]: images are re-encoded as PNG,
losslessly). `tf_example` exports are refused: the tool feeds decoded images.
"""
from __future__ import annotations

import dataclasses
import os

from absl import logging
import numpy as np
import tensorflow as tf

SIGNATURE = "serving_default"
REQUIRED_OUTPUTS = ("detection_boxes", "detection_scores", "detection_classes")


class NotADetectorError(ValueError):
  """The SavedModel has no usable detection signature; the message lists what it has."""


@dataclasses.dataclass(frozen=True)
class ModelPaths:
  model_dir: str
  saved_model_dir: str
  pipeline_config: str | None  # the export's own pipeline.config, if any
  checkpoint_dir: str | None


def find_paths(model_dir: str) -> ModelPaths:
  """Finds the SavedModel in an exporter_main_v2.py output directory or a bare SavedModel."""
  model_dir = os.path.abspath(model_dir)
  if os.path.exists(model_dir) and not os.path.isdir(model_dir):
    raise ValueError(f"--model_dir {model_dir} is a file: give the exported model's folder "
                     "(the one holding saved_model/ and pipeline.config) or a SavedModel folder")
  if not os.path.isdir(model_dir):
    raise FileNotFoundError(f"model directory {model_dir} does not exist")
  nested = os.path.join(model_dir, "saved_model")
  if os.path.isfile(os.path.join(nested, "saved_model.pb")):
    saved_model_dir = nested
  elif os.path.isfile(os.path.join(model_dir, "saved_model.pb")):
    saved_model_dir = model_dir
  else:
    raise FileNotFoundError(
        f"{model_dir} holds no SavedModel: expected {nested}/saved_model.pb (an "
        f"exporter_main_v2.py output) or {model_dir}/saved_model.pb; found "
        f"{sorted(os.listdir(model_dir))}")
  parent = os.path.dirname(saved_model_dir) if saved_model_dir == nested else model_dir
  config = os.path.join(parent, "pipeline.config")
  checkpoint = os.path.join(parent, "checkpoint")
  return ModelPaths(model_dir, saved_model_dir, config if os.path.isfile(config) else None,
                    checkpoint if os.path.isdir(checkpoint) else None)


def _describe_specs(specs) -> str:
  return ", ".join(f"{name}: {spec.dtype.name} {_shape(spec.shape)}"
                   for name, spec in sorted(specs.items())) or "(none)"


def _shape(shape: tf.TensorShape) -> str:
  if shape.rank is None:
    return "[unknown rank]"
  return "[" + ",".join("None" if d is None else str(d) for d in shape.as_list()) + "]"


def describe_signatures(loaded) -> str:
  """One line per signature: its inputs and outputs with dtypes and shapes."""
  lines = []
  for key, fn in sorted(loaded.signatures.items()):
    inputs = fn.structured_input_signature[1]
    lines.append(f"  {key}: inputs {{{_describe_specs(inputs)}}} -> outputs "
                 f"{{{_describe_specs(fn.structured_outputs)}}}")
  return "\n".join(lines) or "  (no signatures)"


def default_device() -> str:
  """The first GPU when TensorFlow sees one, else the CPU."""
  return "/GPU:0" if tf.config.list_physical_devices("GPU") else "/CPU:0"


class DetectionModel:
  """A loaded detector: call it on a uint8 batch [N,H,W,3] of same-size images."""

  def __init__(self, model_dir: str, device: str | None = None):
    self.paths = find_paths(model_dir)
    self.device = device or default_device()
    logging.info("loading %s on %s", self.paths.saved_model_dir, self.device)
    with tf.device(self.device):
      # Keep the loaded object: the signature's variables live only as long as it does.
      self._loaded = tf.saved_model.load(self.paths.saved_model_dir)
    self._fn, self.input_name, self.input_spec = self._find_signature()
    self.input_type = self._input_type()
    self.outputs = dict(self._fn.structured_outputs)
    self.has_masks = "detection_masks" in self.outputs
    # Images per call: the signature's batch dimension (1 for the zoo's), None for any.
    self.max_batch_size = self.input_spec.shape[0]
    logging.info("signature %s: input %s %s %s (%s); outputs %s; device %s",
                 SIGNATURE, self.input_name, self.input_spec.dtype.name,
                 _shape(self.input_spec.shape), self.input_type, sorted(self.outputs), self.device)

  def _not_a_detector(self, problem: str) -> NotADetectorError:
    return NotADetectorError(
        f"{self.paths.saved_model_dir} does not look like a TF2 Object Detection API export "
        f"({problem}). Its signatures:\n{describe_signatures(self._loaded)}\nExpected "
        f"'{SIGNATURE}' with one image input (uint8 or float32 [1,None,None,3], as "
        "exporter_main_v2.py --input_type=image_tensor writes) and outputs "
        f"{', '.join(REQUIRED_OUTPUTS)}.")

  def _find_signature(self):
    signatures = self._loaded.signatures
    if SIGNATURE not in signatures:
      raise self._not_a_detector(f"no '{SIGNATURE}' signature")
    fn = signatures[SIGNATURE]
    args, inputs = fn.structured_input_signature
    if args or len(inputs) != 1:
      raise self._not_a_detector(f"'{SIGNATURE}' takes {len(inputs) + len(args)} inputs, not 1")
    missing = [k for k in REQUIRED_OUTPUTS if k not in fn.structured_outputs]
    if missing:
      raise self._not_a_detector(f"outputs {', '.join(missing)} missing")
    (name, spec), = inputs.items()
    return fn, name, spec

  def _input_type(self) -> str:
    spec = self.input_spec
    if spec.dtype == tf.string:
      if spec.shape.rank == 1:
        return "encoded_image_string_tensor"
      raise self._not_a_detector(
          f"input {self.input_name} is a string {_shape(spec.shape)}: tf_example exports are "
          "not supported, export with --input_type=image_tensor")
    image_shape = spec.shape.rank == 4 and spec.shape[3] in (3, None)
    if spec.dtype == tf.uint8 and image_shape:
      return "image_tensor"
    if spec.dtype == tf.float32 and image_shape:
      return "float_image_tensor"
    raise self._not_a_detector(
        f"input {self.input_name} is {spec.dtype.name} {_shape(spec.shape)}, not an image batch")

  @property
  def loaded(self):
    return self._loaded

  def prepare(self, image: tf.Tensor) -> tf.Tensor:
    """Turns one decoded uint8 [H,W,3] image into one element of the signature's input.

    Meant for the tf.data pipeline (parallel, off the accelerator's critical path).
    """
    if self.input_type == "float_image_tensor":
      return tf.cast(image, tf.float32)
    if self.input_type == "encoded_image_string_tensor":
      return tf.io.encode_png(image)
    return image

  def __call__(self, batch: tf.Tensor) -> dict[str, np.ndarray]:
    """Runs the signature on prepared inputs [N,...]; returns numpy outputs [N,...]."""
    with tf.device(self.device):
      outputs = self._fn(**{self.input_name: batch})
    return {k: v.numpy() for k, v in outputs.items()}

  def info(self) -> dict:
    return {
        "model_dir": self.paths.model_dir,
        "saved_model_dir": self.paths.saved_model_dir,
        "pipeline_config": self.paths.pipeline_config,
        "signature": SIGNATURE,
        "input_name": self.input_name,
        "input_type": self.input_type,
        "input_dtype": self.input_spec.dtype.name,
        "input_shape": _shape(self.input_spec.shape),
        "outputs": sorted(self.outputs),
        "device": self.device,
    }
