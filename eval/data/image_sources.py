"""Images and their ground truth, from a COCO JSON + image folder or from TF OD API records.

Both forms give the inference side the same thing: a COCO ground-truth dict and a tf.data
dataset of decoded images, in a fixed order, whose ids match the ground truth.
"""
from __future__ import annotations

import abc
import json
import os
from typing import Sequence

from absl import logging
import tensorflow as tf

import cocoeval_cc

from eval import user_paths
from eval.data import label_map
from eval.data import pipeline_config
from eval.data import tfrecords

_UNCONFIGURED = "PATH_TO_BE_CONFIGURED"


def decode(encoded: tf.Tensor, height: tf.Tensor, width: tf.Tensor, name: tf.Tensor) -> tf.Tensor:
  """uint8 [H, W, 3] from JPEG/PNG/GIF/BMP bytes; gray and RGBA become RGB.

  Checks the signature and the size in the graph so that a bad file fails with its name
  (TF's own decode errors do not say which image).
  """
  signature_ok = tf.reduce_any(
      tf.stack([
          tf.equal(tf.strings.substr(encoded, 0, len(magic)), magic) for magic in tfrecords.MAGIC
      ]))
  with tf.control_dependencies(
      [tf.debugging.Assert(signature_ok, ["Not a JPEG, PNG, GIF or BMP image:", name])]):
    image = tf.io.decode_image(encoded, channels=3, dtype=tf.uint8, expand_animations=False)
  image.set_shape([None, None, 3])
  shape = tf.shape(image, out_type=tf.int64)
  with tf.control_dependencies([
      tf.debugging.Assert(tf.reduce_all(tf.equal(shape[:2], tf.stack([height, width]))), [
          "Decoded image size (height, width) differs from the ground truth:", name, shape[0],
          shape[1], "expected", height, width
      ])
  ]):
    return tf.identity(image)


def _finish(ds: tf.data.Dataset) -> tf.data.Dataset:

  def decode_element(e):
    image = decode(e["encoded"], e["height"], e["width"], e["name"])
    return {
        "image_id": e["image_id"], "image": image, "height": tf.cast(e["height"], tf.int32),
        "width": tf.cast(e["width"], tf.int32)
    }

  return ds.map(decode_element, num_parallel_calls=tf.data.AUTOTUNE,
                deterministic=True).prefetch(tf.data.AUTOTUNE)


class ImageSource(abc.ABC):
  """What the inference side consumes."""

  @property
  @abc.abstractmethod
  def ground_truth(self) -> dict:
    """A COCO dataset dict (images, annotations, categories) of the images dataset() yields."""

  @property
  @abc.abstractmethod
  def num_images(self) -> int:
    """How many images dataset() yields (without max_images)."""

  @abc.abstractmethod
  def dataset(self, max_images: int | None = None, skip_missing: bool = False) -> tf.data.Dataset:
    """Decoded images in ground_truth["images"] order; max_images keeps the first ones.

    Elements: {"image_id": int64, "image": uint8 [H, W, 3], "height": int32, "width": int32}.
    """

  def dataset_for_ids(self, image_ids: Sequence[int]) -> tf.data.Dataset:
    """dataset()'s elements of only `image_ids`, in dataset() order (a shard of the images).

    This generic form decodes every image and keeps the wanted ones; the sources below read
    only what they need (the COCO JSON source) or skip undecoded records (TF records).
    """
    return _keep_ids(self.dataset(), image_ids)


def _keep_ids(ds: tf.data.Dataset, image_ids: Sequence[int]) -> tf.data.Dataset:
  wanted = tf.constant(sorted(set(int(i) for i in image_ids)), tf.int64)
  return ds.filter(lambda e: tf.reduce_any(tf.equal(e["image_id"], wanted)))


def image_ids(source, max_images: int | None = None, skip_missing: bool = False) -> list[int]:
  """The ids source.dataset(max_images, skip_missing) yields, in its order, without decoding.

  Raises as dataset() would for images missing on disk (unless skip_missing). Works for any
  object with ground_truth (and optionally check_missing), like dataset_for_ids() below.
  """
  check = getattr(source, "check_missing", None)
  if check is not None:
    check(skip_missing)
  ids = [int(im["id"]) for im in source.ground_truth["images"]]
  return ids if max_images is None else ids[:max_images]


def dataset_for_ids(source, ids: Sequence[int]) -> tf.data.Dataset:
  """source.dataset_for_ids(ids), or the generic filter for sources without that method."""
  method = getattr(source, "dataset_for_ids", None)
  if method is not None:
    return method(ids)
  return _keep_ids(source.dataset(), ids)


def find_undecodable(source, image_ids: Sequence[int] | None = None,
                     max_images: int | None = None) -> tuple[str, str] | None:
  """(path, problem) of the first image of `source` (these ids, or the first max_images) that
  does not decode, or None; for sources with files or records. Slow: for error messages."""
  records = getattr(source, "undecodable", None)
  if records is not None:
    return records(image_ids, max_images)
  paths = getattr(source, "image_paths", None)
  if paths is None:
    return None
  for path in paths(image_ids, max_images):
    try:
      tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError) as e:
      return path, e.message.splitlines()[0]
  return None


def restrict_ground_truth(ground_truth: dict, image_ids: Sequence[int]) -> dict:
  """The ground truth of only `image_ids` (e.g. after max_images), categories unchanged."""
  keep = set(int(i) for i in image_ids)
  return {
      **ground_truth, "images": [im for im in ground_truth["images"] if im["id"] in keep],
      "annotations": [a for a in ground_truth["annotations"] if a["image_id"] in keep]
  }


def _load_coco_json(path: str) -> dict:
  """The annotations document, checked now so that a bad record fails before inference, naming
  the file and the record: what this source, the inference and the evaluation rely on (integer
  ids, file names, positive sizes), then the rest as the evaluation will load it (cocoeval_cc's
  loader: boxes, areas, segmentations, duplicate ids)."""
  try:
    with open(path, "rb") as f:
      raw = f.read()
  except IsADirectoryError:
    raise ValueError(f"{path}: is a directory, not a COCO annotations file") from None
  except OSError as e:
    raise FileNotFoundError(f"{path}: cannot read ({e.strerror})") from e
  try:
    data = json.loads(raw.decode("utf-8"))  # not json's guess of UTF-16 or -32 from the bytes
  except UnicodeDecodeError as e:
    raise ValueError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
  except json.JSONDecodeError as e:
    raise ValueError(f"{path}: invalid JSON ({e})") from None
  except RecursionError:
    raise ValueError(f"{path}: invalid JSON (nested too deeply)") from None
  if not isinstance(data, dict):
    raise ValueError(f"{path}: a JSON {type(data).__name__}, not a COCO annotations file (an "
                     "object with images, annotations and categories lists)")
  for key in ("images", "annotations", "categories"):
    if not isinstance(data.get(key), list):
      raise ValueError(f"{path}: no '{key}' list: not a COCO annotations file")
  seen: dict[int, int] = {}
  for index, image in enumerate(data["images"]):
    if not isinstance(image, dict):
      raise ValueError(f"{path}: images[{index}] is not an object")
    missing = [k for k in ("id", "file_name", "height", "width") if k not in image]
    if missing:
      raise ValueError(f"{path}: images[{index}] has no {', '.join(missing)}")
    _check_int(image["id"], f"{path}: images[{index}]", "id", -_INT64_MAX, _INT64_MAX)
    where = f"{path}: images[{index}] (id {image['id']})"
    if image["id"] in seen:
      raise ValueError(f"{where}: duplicate id (also used by images[{seen[image['id']]}])")
    seen[image["id"]] = index
    if not isinstance(image["file_name"], str) or not image["file_name"]:
      raise ValueError(f"{where}: 'file_name' must be a non-empty string")
    for key in ("height", "width"):
      _check_int(image[key], where, key, 1, _MAX_SIDE)
  for section, keys in (("categories", ("id",)), ("annotations", ("id", "image_id",
                                                                  "category_id"))):
    for index, record in enumerate(data[section]):
      if not isinstance(record, dict):
        raise ValueError(f"{path}: {section}[{index}] is not an object")
      for key in keys:
        _check_int(record.get(key), f"{path}: {section}[{index}]", key, -_INT64_MAX, _INT64_MAX)
  try:  # the rest (boxes, areas, segmentations, duplicate ids) as the evaluation checks it
    cocoeval_cc.COCO(path)
  except ValueError as e:
    message = str(e)
    raise ValueError(message if message.startswith(path) else f"{path}: {message}") from None
  return data


_INT64_MAX = 2 ** 63 - 1
_MAX_SIDE = 2 ** 31 - 1  # what TensorFlow's image decoders can return


def _check_int(value, where: str, key: str, low: int, high: int) -> None:
  if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
    raise ValueError(f"{where}: '{key}' must be an integer in [{low}, {high}], got {value!r:.40}")


class CocoJsonSource(ImageSource):
  """A COCO annotations JSON and the folder its images' file_name entries are relative to.

  Images missing on disk are found up front: dataset() raises listing them, or with
  skip_missing=True leaves them out with a warning. ground_truth never holds a missing image,
  so an evaluation over what dataset() yielded stays honest either way.
  """

  def __init__(self, annotations_path: str, image_dir: str):
    self.annotations_path = annotations_path
    self.image_dir = image_dir
    data = _load_coco_json(annotations_path)
    self._all = data
    self.missing_files = [
        self._path(im) for im in data["images"] if not os.path.isfile(self._path(im))
    ]
    missing_set = set(self.missing_files)
    self._images = [im for im in data["images"] if self._path(im) not in missing_set]
    self._ground_truth = restrict_ground_truth(data, [im["id"] for im in self._images]) \
        if self.missing_files else data

  def _path(self, image: dict) -> str:
    return os.path.join(self.image_dir, image["file_name"])

  @property
  def ground_truth(self) -> dict:
    return self._ground_truth

  @property
  def num_images(self) -> int:
    return len(self._images)

  def image_paths(self, image_ids: Sequence[int] | None = None,
                  max_images: int | None = None) -> list[str]:
    """Paths of the images on disk: these ids, or the first max_images, in source order."""
    images = self._images[:max_images] if max_images is not None else self._images
    if image_ids is not None:
      wanted = set(int(i) for i in image_ids)
      images = [im for im in self._images if im["id"] in wanted]
    return [self._path(im) for im in images]

  def check_missing(self, skip_missing: bool = False) -> None:
    """Raises listing the images missing on disk, or with skip_missing warns about them."""
    if self.missing_files:
      listing = "\n  ".join(self.missing_files[:20])
      more = f"\n  ... and {len(self.missing_files) - 20} more" if len(self.missing_files) > 20 \
          else ""
      message = (f"{len(self.missing_files)} of {len(self._all['images'])} images listed in "
                 f"{self.annotations_path} are missing:\n  {listing}{more}")
      if not skip_missing:
        raise FileNotFoundError(message + "\n(//eval:evaluate_model --skip_missing_images "
                                "evaluates without them; a sweep needs every image: "
                                "delete its extracted copy in the cache to extract it again)")
      logging.warning("%s\nSkipping them; they are left out of the ground truth too.", message)

  def dataset(self, max_images: int | None = None, skip_missing: bool = False) -> tf.data.Dataset:
    self.check_missing(skip_missing)
    images = self._images[:max_images] if max_images is not None else self._images
    return self._dataset_of(images)

  def dataset_for_ids(self, image_ids: Sequence[int]) -> tf.data.Dataset:
    """Reads only these images (in dataset() order); ids must be of images found on disk."""
    wanted = set(int(i) for i in image_ids)
    images = [im for im in self._images if int(im["id"]) in wanted]
    if len(images) != len(wanted):
      unknown = sorted(wanted - set(int(im["id"]) for im in images))
      raise KeyError(f"{self.annotations_path}: image ids {unknown[:20]} are not images of this "
                     f"source found in {self.image_dir}")
    return self._dataset_of(images)

  def _dataset_of(self, images: list[dict]) -> tf.data.Dataset:
    paths = [self._path(im) for im in images]
    ds = tf.data.Dataset.from_tensor_slices({
        "image_id": tf.constant([int(im["id"]) for im in images], tf.int64),
        "name": tf.constant(paths, tf.string),
        "height": tf.constant([int(im["height"]) for im in images], tf.int64),
        "width": tf.constant([int(im["width"]) for im in images], tf.int64),
    })
    ds = ds.map(lambda e: {**e, "encoded": tf.io.read_file(e["name"])},
                num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return _finish(ds)


class TfRecordSource(ImageSource):
  """TF OD API records (globs allowed) and the label map that names their classes."""

  def __init__(self, file_patterns: str | Sequence[str], label_map_path: str):
    self.files = tfrecords.list_files(file_patterns)
    self.label_map_path = label_map_path
    self.items = label_map.load_items(label_map_path)
    self._ground_truth: dict | None = None

  @property
  def ground_truth(self) -> dict:
    if self._ground_truth is None:  # reads every record once: deferred until needed
      self._ground_truth = tfrecords.read_ground_truth(self.files, self.items)
    return self._ground_truth

  @property
  def num_images(self) -> int:
    return len(self.ground_truth["images"])

  def dataset(self, max_images: int | None = None, skip_missing: bool = False) -> tf.data.Dataset:
    del skip_missing  # records carry their images
    ds = tfrecords.encoded_images(self.files)
    if max_images is not None:
      ds = ds.take(max_images)
    return _finish(ds)

  def dataset_for_ids(self, image_ids: Sequence[int]) -> tf.data.Dataset:
    """Reads every record but decodes only these images (records have no index to seek)."""
    return _finish(_keep_ids(tfrecords.encoded_images(self.files), image_ids))

  def undecodable(self, image_ids: Sequence[int] | None = None,
                  max_images: int | None = None) -> tuple[str, str] | None:
    """("PATH: record N (image id I)", problem) of the first image (of these ids, or of the
    first max_images) that TensorFlow cannot decode, or None. Slow: for error messages."""
    _ = self.ground_truth  # checks every record first
    wanted = None if image_ids is None else set(int(i) for i in image_ids)
    seen = 0
    for path in self.files:
      for index, raw in tfrecords.records(path):
        f = tf.train.Example.FromString(raw).features.feature
        image_id = int(f["image/source_id"].bytes_list.value[0])
        if wanted is not None and image_id not in wanted:
          continue
        if max_images is not None and seen >= max_images:
          return None
        seen += 1
        try:
          tf.io.decode_image(f["image/encoded"].bytes_list.value[0], channels=3,
                             expand_animations=False)
        except tf.errors.InvalidArgumentError as e:
          return f"{path}: record {index} (image id {image_id})", tfrecords.tf_message(e)
    return None


def _configured(path: str | None, what: str, config: pipeline_config.PipelineConfig) -> str:
  if not path:
    raise ValueError(f"{config.path}: eval_input_reader has no {what}; pass one explicitly")
  if _UNCONFIGURED in path:
    raise ValueError(f"{config.path}: eval_input_reader {what} is the placeholder {path!r}; "
                     "pass the real path explicitly")
  return user_paths.resolve(path)


def from_pipeline_config(config: pipeline_config.PipelineConfig, *,
                         input_patterns: Sequence[str] | None = None,
                         label_map_path: str | None = None,
                         reader_index: int = 0) -> TfRecordSource:
  """The records of the config's eval_input_reader; arguments override the config's paths."""
  readers = config.eval_input_readers
  if not (input_patterns and label_map_path) and reader_index >= len(readers):
    raise ValueError(f"{config.path}: no eval_input_reader #{reader_index} "
                     f"(the config has {len(readers)})")
  reader = readers[reader_index] if reader_index < len(readers) else None
  if input_patterns:
    patterns = [user_paths.resolve(p) for p in input_patterns]
  else:
    if not reader.input_paths:
      raise ValueError(f"{config.path}: eval_input_reader has no tf_record_input_reader "
                       "input_path; pass the records explicitly")
    patterns = [_configured(p, "input_path", config) for p in reader.input_paths]
  if label_map_path:
    label_map_path = user_paths.resolve(label_map_path)
  else:
    label_map_path = _configured(reader.label_map_path, "label_map_path", config)
  return TfRecordSource(patterns, label_map_path)
