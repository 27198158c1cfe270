"""TF OD API detection records (the tf.train.Example keys of create_coco_tf_record.py).

Writing follows that tool: same keys, same annotation filter (non-positive width/height, or a
box past the right/bottom edge, is skipped), shards `<prefix>-00000-of-00004` filled round-robin.

Reading back gives a COCO ground-truth dict. Exactness of a round trip:
- image ids, sizes and file names, category ids, crowd flags: exact.
- areas: the format stores them as float32, so an area comes back as float(np.float32(area))
  (exact for the integers and halves that small masks have; ~1e-7 relative otherwise).
- boxes: stored as float32 fractions of the image size, so each of x, y, w, h comes back within
  BOX_TOLERANCE * (image width or height) pixels (about 1e-4 px on a 1000 px image).
- annotation ids are not in the format: they are renumbered 1..N in record order.
- masks come back as compressed RLE of the rasterised mask (polygons are not kept).
"""
from __future__ import annotations

import collections
import contextlib
import dataclasses
import hashlib
import io
import math
import os
import re
from typing import Callable, Iterable, Iterator, Sequence

from absl import logging
import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils
import tensorflow as tf

from eval import atomic_io
from eval.data import label_map

# Two float32 roundings of a fraction in [0, 1] (half an ulp, 2**-25, each) bound w and h.
BOX_TOLERANCE = 2.0 ** -24

_FORMATS = {b"\xff\xd8\xff": "jpeg", b"\x89PNG\r\n\x1a\n": "png", b"GIF8": "gif", b"BM": "bmp"}
MAGIC = tuple(_FORMATS)  # the signatures of the formats tf.io.decode_image reads


def image_format(encoded: bytes) -> str | None:
  """jpeg, png, gif or bmp from the file signature; None for anything else."""
  return next((fmt for magic, fmt in _FORMATS.items() if encoded.startswith(magic)), None)


def shard_paths(output_prefix: str, num_shards: int) -> list[str]:
  return [f"{output_prefix}-{i:05d}-of-{num_shards:05d}" for i in range(num_shards)]


def list_files(file_patterns: str | Sequence[str]) -> list[str]:
  """Expands globs (each sorted, as the API's reader does); an unmatched pattern is an error."""
  if isinstance(file_patterns, str):
    file_patterns = [file_patterns]
  files: list[str] = []
  for pattern in file_patterns:
    matches = sorted(tf.io.gfile.glob(pattern))
    if not matches:
      raise FileNotFoundError(f"{pattern}: no TFRecord file matches")
    for match in matches:
      if tf.io.gfile.isdir(match):
        raise ValueError(f"{match}: is a directory, not a TFRecord file")
    files.extend(m for m in matches if m not in files)
  return files


# ----------------------------------------------------------------------------------- writing


def _bytes(values: Iterable[bytes]) -> tf.train.Feature:
  return tf.train.Feature(bytes_list=tf.train.BytesList(value=list(values)))


def _ints(values: Iterable[int]) -> tf.train.Feature:
  return tf.train.Feature(int64_list=tf.train.Int64List(value=list(values)))


def _floats(values: Iterable[float]) -> tf.train.Feature:
  return tf.train.Feature(float_list=tf.train.FloatList(value=list(values)))


def _mask_png(segmentation, height: int, width: int) -> bytes:
  """The annotation's mask as a 0/1 single-channel PNG, as create_coco_tf_record.py encodes it."""
  if isinstance(segmentation, dict) and isinstance(segmentation.get("counts"), (str, bytes)):
    rle = dict(segmentation)  # already compressed RLE
    if isinstance(rle["counts"], str):
      rle["counts"] = rle["counts"].encode("ascii")
  else:
    rle = mask_utils.frPyObjects(segmentation, height, width)
  binary = mask_utils.decode(rle)
  if binary.ndim == 3:  # polygons: one mask per part
    binary = np.amax(binary, axis=2)
  out = io.BytesIO()
  Image.fromarray(binary.astype(np.uint8)).save(out, format="PNG")
  return out.getvalue()


def coco_example(image: dict, annotations: Sequence[dict], encoded: bytes,
                 category_names: dict[int, str], include_masks: bool = False,
                 where: str = "") -> tuple[tf.train.Example, int]:
  """One image's record and the number of annotations skipped (as create_coco_tf_record.py)."""
  height, width = int(image["height"]), int(image["width"])
  boxes, texts, labels, crowd, areas, masks = [], [], [], [], [], []
  skipped = 0
  for ann in annotations:
    x, y, w, h = (float(v) for v in ann["bbox"])
    if w <= 0 or h <= 0 or x + w > width or y + h > height:
      skipped += 1
      continue
    category_id = int(ann["category_id"])
    if category_id not in category_names:
      raise ValueError(f"{where}annotation {ann.get('id')}: category_id {category_id} is not in "
                       "the categories")
    boxes.append((x / width, (x + w) / width, y / height, (y + h) / height))
    texts.append(category_names[category_id].encode("utf-8"))
    labels.append(category_id)
    crowd.append(int(ann.get("iscrowd", 0)))
    areas.append(float(ann["area"]))
    if include_masks:
      if "segmentation" not in ann:
        raise ValueError(f"{where}annotation {ann.get('id')} has no segmentation for the mask")
      masks.append(_mask_png(ann["segmentation"], height, width))
  xmin, xmax, ymin, ymax = (list(c) for c in zip(*boxes)) if boxes else ([], [], [], [])
  fmt = image_format(encoded) or "jpeg"
  feature = {
      "image/height": _ints([height]),
      "image/width": _ints([width]),
      "image/filename": _bytes([image["file_name"].encode("utf-8")]),
      "image/source_id": _bytes([str(image["id"]).encode("utf-8")]),
      "image/key/sha256": _bytes([hashlib.sha256(encoded).hexdigest().encode("ascii")]),
      "image/encoded": _bytes([encoded]),
      "image/format": _bytes([fmt.encode("ascii")]),
      "image/object/bbox/xmin": _floats(xmin),
      "image/object/bbox/xmax": _floats(xmax),
      "image/object/bbox/ymin": _floats(ymin),
      "image/object/bbox/ymax": _floats(ymax),
      "image/object/class/text": _bytes(texts),
      "image/object/class/label": _ints(labels),
      "image/object/is_crowd": _ints(crowd),
      "image/object/area": _floats(areas),
  }
  if include_masks:
    feature["image/object/mask"] = _bytes(masks)
  return tf.train.Example(features=tf.train.Features(feature=feature)), skipped


def _read_image(image: dict, image_dir: str) -> bytes:
  path = os.path.join(image_dir, image["file_name"])
  try:
    with open(path, "rb") as f:
      encoded = f.read()
  except OSError as e:
    raise FileNotFoundError(f"{path}: cannot read image id {image['id']} ({e.strerror})") from e
  if image_format(encoded) is None:
    raise ValueError(f"{path}: not a JPEG, PNG, GIF or BMP image (image id {image['id']})")
  try:
    size = Image.open(io.BytesIO(encoded)).size  # header only: cheap
  except Exception as e:  # pylint: disable=broad-except
    raise ValueError(f"{path}: cannot read the image header ({e})") from e
  if size != (int(image["width"]), int(image["height"])):
    raise ValueError(f"{path}: image is {size[0]}x{size[1]} but the annotations say "
                     f"{image['width']}x{image['height']} (image id {image['id']})")
  return encoded


@dataclasses.dataclass(frozen=True)
class WriteStats:
  num_images: int
  num_annotations: int  # written
  num_skipped: int  # annotations left out by the create_coco_tf_record.py filter
  shard_paths: tuple[str, ...]


def write_coco(dataset: dict, image_dir: str, output_prefix: str, num_shards: int = 1,
               include_masks: bool = False,
               progress: Callable[[int, int], None] | None = None) -> WriteStats:
  """Writes a COCO dataset dict and its images as sharded records.

  Every shard is written to a temporary file and renamed only when all are complete, so a
  failure (missing image, bad annotation) leaves no partial output.
  """
  if num_shards < 1:
    raise ValueError(f"num_shards must be >= 1, got {num_shards}")
  names = {int(c["id"]): c["name"] for c in dataset.get("categories", [])}
  by_image = collections.defaultdict(list)
  for ann in dataset.get("annotations", []):
    by_image[ann["image_id"]].append(ann)
  images = dataset["images"]
  paths = shard_paths(output_prefix, num_shards)
  written = skipped = 0
  skipped_examples = []
  with contextlib.ExitStack() as stack:
    writers = []
    for path in paths:
      tmp = stack.enter_context(atomic_io.atomic_path(path))
      writers.append(stack.enter_context(tf.io.TFRecordWriter(tmp)))
    for index, image in enumerate(images):
      encoded = _read_image(image, image_dir)
      where = f"image id {image['id']} ({image['file_name']}): "
      example, n = coco_example(image, by_image.get(image["id"], []), encoded, names, include_masks,
                                where)
      writers[index % num_shards].write(example.SerializeToString())
      if n and len(skipped_examples) < 5:
        skipped_examples.append(image["id"])
      skipped += n
      written += len(by_image.get(image["id"], [])) - n
      if progress:
        progress(index + 1, len(images))
    for writer in writers:
      writer.close()  # flush before the renames of the atomic paths
  if skipped:
    logging.warning(
        "Skipped %d annotations with non-positive width/height or past the image "
        "edge (as create_coco_tf_record.py does), e.g. in image ids %s.", skipped, skipped_examples)
  return WriteStats(len(images), written, skipped, tuple(paths))


# ----------------------------------------------------------------------------------- reading

_KINDS = {"bytes_list": "bytes", "int64_list": "int64", "float_list": "float"}
_INT64_MAX = 2 ** 63 - 1
_MAX_SIDE = 2 ** 31 - 1  # what TensorFlow's image decoders can return
_IMAGE_ID = re.compile(r"-?[0-9]{1,19}")  # what int() and tf.strings.to_number both read


def _values(f, key: str, kind: str, where: str) -> list:
  """The values of feature `key` (none if absent or empty); ValueError if of another type."""
  feature = f.get(key)
  if feature is None:
    return []
  actual = feature.WhichOneof("kind")
  if actual is None:
    return []
  if actual != kind:
    raise ValueError(f"{where}: {key} holds {_KINDS[actual]} values, expected {_KINDS[kind]}")
  return list(getattr(feature, kind).value)


def _text(values: list[bytes]) -> str:
  return b"".join(values).decode("utf-8", "replace")


def _mask_rle(png: bytes, height: int, width: int, where: str) -> dict:
  try:
    binary = np.asarray(Image.open(io.BytesIO(png)))
  except Exception as e:  # pylint: disable=broad-except
    raise ValueError(f"{where}: undecodable image/object/mask PNG ({e})") from e
  if binary.shape[:2] != (height, width):
    raise ValueError(f"{where}: mask is {binary.shape[1]}x{binary.shape[0]}, image is "
                     f"{width}x{height}")
  if binary.ndim == 3:
    binary = binary[..., 0]
  rle = mask_utils.encode(np.asfortranarray((binary > 0).astype(np.uint8)))
  return {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode("ascii")}


class _GroundTruthReader:

  def __init__(self, items: Sequence[label_map.Item]):
    self.text_to_id = label_map.text_to_id(items)
    self.images: list[dict] = []
    self.annotations: list[dict] = []
    self.seen: dict[int, str] = {}

  def add(self, example: tf.train.Example, path: str, index: int) -> None:
    """Checks everything encoded_images() parses in the graph, so that it cannot fail there."""
    where = f"{path}: record {index}"
    f = example.features.feature
    source_id = _text(_values(f, "image/source_id", "bytes_list", where))
    if not _IMAGE_ID.fullmatch(source_id) or abs(int(source_id)) > _INT64_MAX:
      raise ValueError(f"{where}: image/source_id {source_id[:40]!r} is not an integer image id")
    image_id = int(source_id)
    if image_id in self.seen:
      raise ValueError(f"{where} (image id {image_id}): duplicate image id, first in "
                       f"{self.seen[image_id]}")
    self.seen[image_id] = f"record {index} of {path}"
    where = f"{where} (image id {image_id})"
    height = _values(f, "image/height", "int64_list", where)
    width = _values(f, "image/width", "int64_list", where)
    if (len(height) != 1 or len(width) != 1 or not 0 < height[0] <= _MAX_SIDE
        or not 0 < width[0] <= _MAX_SIDE):
      raise ValueError(f"{where}: needs one image/height and one image/width in [1, {_MAX_SIDE}], "
                       f"got {height[:3]} and {width[:3]}")
    height, width = int(height[0]), int(width[0])
    encoded = _values(f, "image/encoded", "bytes_list", where)
    if len(encoded) != 1:
      raise ValueError(f"{where}: needs one image/encoded image, got {len(encoded)}")
    filename = _text(_values(f, "image/filename", "bytes_list", where))
    self.images.append({"id": image_id, "width": width, "height": height, "file_name": filename})

    coords = {
        k: _values(f, f"image/object/bbox/{k}", "float_list", where)
        for k in ("xmin", "ymin", "xmax", "ymax")
    }
    n = len(coords["xmin"])
    labels = _values(f, "image/object/class/label", "int64_list", where)
    texts = _values(f, "image/object/class/text", "bytes_list", where)
    crowd = _values(f, "image/object/is_crowd", "int64_list", where)
    areas = _values(f, "image/object/area", "float_list", where)
    masks = _values(f, "image/object/mask", "bytes_list", where)
    optional = {
        "class/label": labels, "class/text": texts, "is_crowd": crowd, "area": areas, "mask": masks
    }  # absent, or one value per box
    for key, values in [*((f"bbox/{k}", v) for k, v in coords.items()), *optional.items()]:
      if len(values) != n and (key not in optional or values):
        raise ValueError(f"{where}: {n} boxes but {len(values)} image/object/{key} values")
    if n and not labels and not texts:
      raise ValueError(f"{where}: boxes without image/object/class/label or class/text")
    for i in range(n):
      values = [coords[k][i] for k in ("xmin", "ymin", "xmax", "ymax")] + (areas[i:i + 1])
      if not all(math.isfinite(v) for v in values):
        raise ValueError(f"{where}: object {i}: box or area not finite: {values}")
      if labels:
        category_id = int(labels[i])
      else:
        text = texts[i].decode("utf-8", "replace")
        if text not in self.text_to_id:
          raise ValueError(f"{where}: object {i} class/text {text!r} is not in the label map")
        category_id = self.text_to_id[text]
      # float64 arithmetic on the stored float32 fractions.
      x, y = coords["xmin"][i] * width, coords["ymin"][i] * height
      w = (coords["xmax"][i] - coords["xmin"][i]) * width
      h = (coords["ymax"][i] - coords["ymin"][i]) * height
      ann = {
          "id": len(self.annotations) + 1, "image_id": image_id, "category_id": category_id,
          "bbox": [x, y, w, h], "area": float(areas[i]) if areas else w * h,
          "iscrowd": int(crowd[i]) if crowd else 0
      }
      if masks:
        ann["segmentation"] = _mask_rle(masks[i], height, width, f"{where} object {i}")
      self.annotations.append(ann)


def tf_message(e: tf.errors.OpError) -> str:
  """TensorFlow's message without its function-node and op decorations."""
  message = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", e.message)
  message = re.sub(r"\s*\[Op:[^\]]*\](\s*name:\s*)?$", "", message)
  return message.strip()


def records(path: str) -> Iterator[tuple[int, bytes]]:
  """(index, serialized record) of one file; ValueError naming the file and record if its
  framing or a CRC is bad, or it ends inside a record."""
  index, consumed = 0, 0
  try:
    for raw in tf.data.TFRecordDataset(path).as_numpy_iterator():
      yield index, raw
      index += 1
      consumed += len(raw) + 16  # length (8), its CRC (4), the data, its CRC (4)
  except tf.errors.DataLossError as e:
    raise ValueError(f"{path}: record {index}: corrupt TFRecord data, a bad CRC or a truncated "
                     f"file ({tf_message(e)})") from None
  except tf.errors.OpError as e:
    raise ValueError(f"{path}: cannot be read as TFRecords ({tf_message(e)})") from None
  size = tf.io.gfile.stat(path).length
  if size != consumed:  # TensorFlow ends quietly on a partial record header
    raise ValueError(f"{path}: record {index}: truncated TFRecord file (it ends "
                     f"{size - consumed} bytes into the record)")


def read_ground_truth(file_patterns: str | Sequence[str], items: Sequence[label_map.Item]) -> dict:
  """A COCO ground-truth dict from records, images in record order; categories from `items`."""
  reader = _GroundTruthReader(items)
  for path in list_files(file_patterns):
    for index, raw in records(path):
      try:
        example = tf.train.Example.FromString(raw)
      except Exception as e:  # pylint: disable=broad-except
        raise ValueError(f"{path}: record {index}: not a tf.train.Example ({e})") from None
      reader.add(example, path, index)
  known = {item.id for item in items}
  unknown = collections.Counter(a["category_id"] for a in reader.annotations
                                if a["category_id"] not in known)
  if unknown:
    logging.warning("Ground-truth class ids not in the label map (ignored by evaluation): %s",
                    dict(unknown))
  return {
      "images": reader.images, "annotations": reader.annotations,
      "categories": label_map.categories(items)
  }


def encoded_images(files: Sequence[str]) -> tf.data.Dataset:
  """{"image_id": int64, "encoded": string, "height": int64, "width": int64, "name": string}.

  In record order, files one after the other, so the order matches read_ground_truth(); `name`
  says which file, record and image ("PATH: record 3 (image id 42)"), for error messages.
  Decoding is left to the caller (image_sources) so that both input forms share it. Records
  are parsed as read_ground_truth() checked them: read that first, or a bad record fails here
  with TensorFlow's words.
  """
  features = {
      "image/encoded": tf.io.FixedLenFeature([], tf.string),
      "image/source_id": tf.io.FixedLenFeature([], tf.string),
      "image/height": tf.io.FixedLenFeature([], tf.int64),
      "image/width": tf.io.FixedLenFeature([], tf.int64),
  }

  def parse(path, index, raw):
    f = tf.io.parse_single_example(raw, features)
    source_id = f["image/source_id"]
    name = tf.strings.join(
        [path, ": record ",
         tf.strings.as_string(index), " (image id ", source_id, ")"])
    return {
        "image_id": tf.strings.to_number(source_id, tf.int64), "encoded": f["image/encoded"],
        "height": f["image/height"], "width": f["image/width"], "name": name
    }

  paths = tf.data.Dataset.from_tensor_slices(tf.constant(list(files), tf.string))
  raw_records = paths.flat_map(lambda path: tf.data.TFRecordDataset(path).enumerate().map(
      lambda index, raw: (path, index, raw)))
  return raw_records.map(parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
