"""What a worker needs to rebuild the driver's image source: paths, not image bytes.

Workers read their shard's images themselves (CocoJsonSource.dataset_for_ids reads only those
files). On one machine or with a shared folder the driver's paths are the workers' paths. On a
node without them, a spec with `fetch` (the sweep's COCO val2017) downloads the same zips into
that node's download cache (node_data.py), sha256-checked against the driver's copy. Shipping
image bytes through the object store instead would cost the driver's network link every image
of every model (8x the dataset for the sweep), so paths it is.
"""
from __future__ import annotations

import dataclasses
import os
from typing import Any

from eval.data import image_sources
from eval.distributed import node_data


@dataclasses.dataclass(frozen=True)
class SourceSpec:
  kind: str  # "coco_json" or "tfrecord"
  annotations_path: str | None = None  # coco_json
  image_dir: str | None = None  # coco_json
  file_patterns: tuple[str, ...] = ()  # tfrecord
  label_map_path: str | None = None  # tfrecord
  fetch: node_data.CocoVal2017Fetch | None = None  # coco_json: for nodes without the files

  def __post_init__(self):  # hashable also when made from JSON (lists)
    object.__setattr__(self, "file_patterns", tuple(self.file_patterns))

  def build(self) -> image_sources.ImageSource:
    if self.kind == "coco_json":
      annotations, images = self.annotations_path, self.image_dir
      if self.fetch is not None and not (os.path.isfile(annotations) and os.path.isdir(images)):
        files = self.fetch.local_paths()
        annotations, images = files.annotations_json, files.image_dir
      return image_sources.CocoJsonSource(annotations, images)
    if self.kind == "tfrecord":
      return image_sources.TfRecordSource(list(self.file_patterns), self.label_map_path)
    raise ValueError(f"unknown source kind {self.kind!r}")


def spec_of(source: Any, fetch: node_data.CocoVal2017Fetch | None = None) -> SourceSpec:
  """The spec of an image_sources source (a SourceSpec is returned as it is). fetch: how a
  node without the source's files downloads them (a CocoJsonSource of COCO val2017)."""
  if isinstance(source, SourceSpec):
    return source
  if isinstance(source, image_sources.CocoJsonSource):
    return SourceSpec("coco_json", annotations_path=os.path.abspath(source.annotations_path),
                      image_dir=os.path.abspath(source.image_dir), fetch=fetch)
  if isinstance(source, image_sources.TfRecordSource):
    return SourceSpec("tfrecord", file_patterns=tuple(os.path.abspath(f) for f in source.files),
                      label_map_path=os.path.abspath(source.label_map_path))
  raise TypeError(f"{type(source).__name__}: the distributed executor runs CocoJsonSource and "
                  "TfRecordSource sources (workers rebuild them from their paths)")
