"""Test data for the executor: real image files of distinct sizes, real SavedModels, and Ray
kept on 127.0.0.1 with a short temporary directory."""
from __future__ import annotations

import json
import os
import shutil
import tempfile

import numpy as np
from PIL import Image

from eval.distributed import cluster
from eval.distributed.ray_env import ray
from eval.model.testing import fake_models

CATEGORIES = [{"id": 1, "name": "person"}, {"id": 3, "name": "car"}, {"id": 7, "name": "train"}]
_NOT_IN_LABEL_MAP = 2


def image_sizes(n: int) -> list[tuple[int, int]]:
  """n distinct (height, width): the table models recognise an image by its size."""
  return [(24 + 3 * i, 40 - i if i % 2 else 30 + 2 * i) for i in range(n)]


def make_dataset(root: str, n: int, seed: int = 0) -> tuple[str, str, dict]:
  """n JPEG/PNG images and their COCO JSON; returns (annotations path, image dir, gt)."""
  rng = np.random.default_rng(seed)
  image_dir = os.path.join(root, "images")
  os.makedirs(image_dir, exist_ok=True)
  images, annotations = [], []
  for index, (h, w) in enumerate(image_sizes(n)):
    name = f"im{index}.{'png' if index % 3 == 2 else 'jpg'}"
    Image.fromarray(rng.integers(0, 255, (h, w, 3),
                                 dtype=np.uint8)).save(os.path.join(image_dir, name))
    image_id = 1000 - 7 * index  # ids not in file order: order must come from the source
    images.append({"id": image_id, "file_name": name, "height": h, "width": w})
    annotations.append({
        "id": index + 1, "image_id": image_id, "category_id": 1, "iscrowd": 0,
        "bbox": [1.0, 1.0, w / 2, h / 2], "area": w * h / 4.0
    })
  gt = {"images": images, "annotations": annotations, "categories": CATEGORIES}
  path = os.path.join(root, "instances.json")
  with open(path, "w") as f:
    json.dump(gt, f)
  return path, image_dir, gt


def make_model(path: str, n: int, seed: int, masks: bool = False) -> str:
  """A table model with random detections (scores with ties, an id outside the label map)."""
  rng = np.random.default_rng(seed)
  table = {}
  for h, w in image_sizes(n):
    k = int(rng.integers(0, 9))
    lo = rng.uniform(0, 0.5, (k, 2))
    boxes = np.concatenate([lo, lo + rng.uniform(0.05, 0.5, (k, 2))], axis=1)
    scores = np.round(rng.uniform(0.05, 1.0, k), 1)  # rounded: ties within an image
    classes = rng.choice([1, 3, 7, _NOT_IN_LABEL_MAP], k)
    table[(h, w)] = fake_models.ImageDetections(
        boxes=boxes, scores=scores, classes=classes,
        masks=rng.uniform(0, 1,
                          (k, fake_models.MASK_SIZE, fake_models.MASK_SIZE)) if masks else None)
  return fake_models.save_table_model(path, table, masks=masks)


def set_ray_environment() -> str:
  """Loopback-only, no usage stats, and a short RAY_TMPDIR (Bazel's TMPDIR is too long for
  Ray's unix sockets); returns that directory (remove it with remove_ray_tmpdir)."""
  os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
  os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
  tmp = tempfile.mkdtemp(prefix="rayt", dir="/tmp")
  os.environ["RAY_TMPDIR"] = tmp
  cluster.ensure_auth_token()  # the sandbox's home is read-only: no ~/.ray/auth_token
  return tmp


def remove_ray_tmpdir(path: str) -> None:
  shutil.rmtree(path, ignore_errors=True)


def init_local_ray(num_cpus: int) -> str:
  """A local Ray of this test's own on 127.0.0.1; returns its GCS address."""
  info = ray.init(address="local", num_cpus=num_cpus, include_dashboard=False,
                  object_store_memory=100 * 1024 * 1024, logging_level="WARNING")
  return info.address_info["gcs_address"]
