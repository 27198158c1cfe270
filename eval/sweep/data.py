"""The data every model of a sweep is evaluated on, prepared once and passed in as a value."""
from __future__ import annotations

import dataclasses
import time
from typing import Any, Mapping

from absl import logging

from eval import model_evaluation
from eval.data import image_sources
from eval.distributed import node_data
from eval.download import cache as cache_lib
from eval.download import http_fetch

# Bumped when a sweep's results stop being comparable with earlier ones (resume refuses them).
SWEEP_VERSION = 1


@dataclasses.dataclass(frozen=True)
class PreparedData:
  """COCO val2017 ready for every model: the source, its cache identity and the sweep id.

  sweep_id: what a model's results depend on besides the model (annotations' sha256, image
  count, --max_images, --area_source); stored in each metrics.json and compared on resume.
  """
  source: image_sources.CocoJsonSource
  identity: Mapping[str, Any]
  sweep_id: Mapping[str, Any]
  description: str
  fetch: node_data.CocoVal2017Fetch | None = None  # for cluster nodes without these files
  # person_keypoints_val2017.json's sha256 when the ground truth includes it
  keypoints_sha256: str | None = None

  def model_sweep_id(self, model_name: str, keypoints: bool = False) -> dict:
    """What a model's results depend on; keypoints: a keypoint model's also on the keypoint
    ground truth (the other models' results stay valid with or without it)."""
    extra = {"person_keypoints_sha256": self.keypoints_sha256} if keypoints else {}
    return {**self.sweep_id, **extra, "model": model_name}


def prepare_coco_val2017(coco_base_url: str, cache: cache_lib.DownloadCache, *,
                         max_images: int | None, area_source: str,
                         with_person_keypoints: bool = False) -> PreparedData:
  """Downloads COCO val2017 (cached) and loads its ground truth once for every model.

  with_person_keypoints: the ground truth includes COCO's person keypoints (a sweep with
  keypoint models: they are scored on boxes and keypoints, the other models as always)."""
  start = time.perf_counter()
  logging.info("COCO 2017 val: from %s (cache %s)%s", coco_base_url, cache.cache_dir,
               ", with the person keypoints" if with_person_keypoints else "")
  coco = node_data.coco_val2017(coco_base_url, cache, with_person_keypoints=with_person_keypoints)
  logging.info("COCO 2017 val ready in %.1fs: %s, %s",
               time.perf_counter() - start, coco.annotations_json, coco.image_dir)
  start = time.perf_counter()
  source, identity = model_evaluation.coco_json_source(coco.annotations_json, coco.image_dir)
  if coco.instances_json != coco.annotations_json:
    # The detection cache and the results of models without keypoints are keyed on the box
    # ground truth (the instances file, which the merged file only adds keypoints to), so a
    # sweep that adds a keypoint model reuses the others' results.
    identity = {**identity, "annotations": model_evaluation.file_identity(coco.instances_json)}
  num_images = (source.num_images if max_images is None else min(max_images, source.num_images))
  sweep_id = {
      "version": SWEEP_VERSION, "annotations_sha256": http_fetch.sha256_of(coco.instances_json),
      "num_images": num_images, "max_images": max_images, "area_source": area_source
  }
  logging.info("ground truth: %d images, %d annotations, %d categories (%.1fs)", source.num_images,
               len(source.ground_truth["annotations"]), len(source.ground_truth["categories"]),
               time.perf_counter() - start)
  return PreparedData(
      source=source, identity=identity, sweep_id=sweep_id,
      description=f"{num_images} COCO val2017 images; object areas from {area_source}.",
      fetch=node_data.CocoVal2017Fetch.of(coco_base_url, cache, with_person_keypoints),
      keypoints_sha256=(http_fetch.sha256_of(coco.person_keypoints_json)
                        if coco.person_keypoints_json else None))
