"""The parts of a TF OD API pipeline.config (TrainEvalPipelineConfig) that evaluation needs.

Everything else in the file (train_config, losses, anchors, ...) is parsed for syntax and
ignored, so configs from any API version load. Defaults are the proto defaults.
"""
from __future__ import annotations

import dataclasses

from eval.data import textproto


@dataclasses.dataclass(frozen=True)
class InputReader:
  """An input_reader.proto InputReader with a tf_record_input_reader (or none)."""
  label_map_path: str | None
  input_paths: tuple[str, ...]  # tf_record_input_reader.input_path; globs allowed
  load_instance_masks: bool = False
  name: str | None = None  # set on the repeated eval_input_reader of newer configs


@dataclasses.dataclass(frozen=True)
class EvalConfig:
  metrics_set: tuple[str, ...] = ()  # empty: the API's default, coco_detection_metrics
  include_metrics_per_category: bool = False
  all_metrics_per_category: bool = False
  batch_size: int = 1
  num_examples: int | None = None  # deprecated; None when the config does not set it
  use_moving_averages: bool = False


@dataclasses.dataclass(frozen=True)
class ImageResizer:
  kind: str | None  # the oneof member: keep_aspect_ratio_resizer, fixed_shape_resizer, ...
  min_dimension: int | None = None  # keep_aspect_ratio_resizer
  max_dimension: int | None = None
  pad_to_max_dimension: bool = False
  height: int | None = None  # fixed_shape_resizer
  width: int | None = None


@dataclasses.dataclass(frozen=True)
class FeatureExtractor:
  type: str | None
  bifpn_min_level: int | None = None  # the bifpn fields are None without a bifpn block
  bifpn_max_level: int | None = None
  bifpn_num_iterations: int | None = None
  bifpn_num_filters: int | None = None


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
  path: str
  model_type: str  # the DetectionModel oneof member: ssd, faster_rcnn, center_net, ...
  num_classes: int | None
  image_resizer: ImageResizer
  feature_extractor: FeatureExtractor
  eval_config: EvalConfig
  eval_input_readers: tuple[InputReader, ...]
  raw: textproto.Message = dataclasses.field(repr=False, compare=False)

  @property
  def eval_input_reader(self) -> InputReader | None:
    return self.eval_input_readers[0] if self.eval_input_readers else None


def _input_reader(msg: textproto.Message) -> InputReader:
  tf_record = msg.message("tf_record_input_reader")
  return InputReader(label_map_path=msg.get("label_map_path", "string"),
                     input_paths=tuple(tf_record.get_all("input_path", "string")),
                     load_instance_masks=msg.get("load_instance_masks", "bool",
                                                 False), name=msg.get("name", "string"))


def _eval_config(msg: textproto.Message) -> EvalConfig:
  return EvalConfig(
      metrics_set=tuple(msg.get_all("metrics_set", "string")),
      include_metrics_per_category=msg.get("include_metrics_per_category", "bool", False),
      all_metrics_per_category=msg.get("all_metrics_per_category", "bool",
                                       False), batch_size=msg.get("batch_size", "int", 1),
      num_examples=msg.get("num_examples",
                           "int"), use_moving_averages=msg.get("use_moving_averages", "bool",
                                                               False))


def _image_resizer(msg: textproto.Message) -> ImageResizer:
  kind = msg.first_field()
  if kind == "keep_aspect_ratio_resizer":
    r = msg.message(kind)
    return ImageResizer(kind, min_dimension=r.get("min_dimension", "int", 600),
                        max_dimension=r.get("max_dimension", "int", 1024),
                        pad_to_max_dimension=r.get("pad_to_max_dimension", "bool", False))
  if kind == "fixed_shape_resizer":
    r = msg.message(kind)
    return ImageResizer(kind, height=r.get("height", "int", 300), width=r.get("width", "int", 300))
  return ImageResizer(kind)


def _feature_extractor(msg: textproto.Message) -> FeatureExtractor:
  if not msg.has("bifpn"):
    return FeatureExtractor(msg.get("type", "string"))
  bifpn = msg.message("bifpn")
  return FeatureExtractor(msg.get("type",
                                  "string"), bifpn_min_level=bifpn.get("min_level", "int", 3),
                          bifpn_max_level=bifpn.get("max_level", "int", 7),
                          bifpn_num_iterations=bifpn.get("num_iterations", "int"),
                          bifpn_num_filters=bifpn.get("num_filters", "int"))


def from_message(root: textproto.Message) -> PipelineConfig:
  model_wrapper = root.message("model")
  model_type = model_wrapper.first_field()
  if model_type is None:
    raise textproto.TextFormatError(root.path, model_wrapper.line or 1,
                                    "no model: expected e.g. 'model { ssd { ... } }'")
  model = model_wrapper.message(model_type)
  return PipelineConfig(
      path=root.path, model_type=model_type, num_classes=model.get("num_classes", "int"),
      image_resizer=_image_resizer(model.message("image_resizer")),
      feature_extractor=_feature_extractor(model.message("feature_extractor")),
      eval_config=_eval_config(root.message("eval_config")),
      eval_input_readers=tuple(_input_reader(m)
                               for m in root.messages("eval_input_reader")), raw=root)


def parse(text: str, path: str = "<string>") -> PipelineConfig:
  return from_message(textproto.parse(text, path))


def load(path: str) -> PipelineConfig:
  """Reads a pipeline.config; raises TextFormatError naming the file and line on bad input."""
  return from_message(textproto.parse_file(path))
