"""A small COCO dataset made on the fly for the tests: real image files and varied annotations."""
from __future__ import annotations

import json
import os

import numpy as np
from PIL import Image

CATEGORIES = [{"id": 1, "name": "person",
               "supercategory": "person"}, {"id": 3, "name": "car", "supercategory": "vehicle"},
              {"id": 18, "name": "dog", "supercategory": "animal"}]

# file name, PIL mode, width, height: landscape, portrait, grayscale JPEG, RGBA PNG.
IMAGES = [("a.jpg", "RGB", 64, 48), ("tall/b.jpg", "RGB", 40, 72), ("gray.jpg", "L", 50, 30),
          ("c.png", "RGBA", 36, 36)]


def pixels(mode: str, width: int, height: int, seed: int) -> np.ndarray:
  """Smooth content (JPEG keeps it well) that differs between images."""
  y, x = np.mgrid[0:height, 0:width]
  channels = {"RGB": 3, "L": 1, "RGBA": 4}[mode]
  planes = [x + y + 40 * c + 10 * seed for c in range(channels)]  # < 256: no sharp wrap
  if mode == "RGBA":
    planes[3] = np.full_like(planes[3], 128)  # alpha must be dropped, not blended
  array = np.stack(planes, axis=-1).astype(np.uint8)
  return array[..., 0] if channels == 1 else array


def uncompressed_rle(mask: np.ndarray) -> dict:
  """COCO's crowd segmentation: column-major run lengths, starting with a run of zeros."""
  flat = mask.flatten(order="F")
  counts, current, run = [], 0, 0
  for v in flat:
    if v != current:
      counts.append(run)
      current, run = v, 0
    run += 1
  counts.append(run)
  return {"counts": counts, "size": list(mask.shape)}


def make_dataset(directory: str) -> dict:
  """Writes the images under `directory` and returns the COCO dict (also in instances.json)."""
  images = []
  for index, (name, mode, width, height) in enumerate(IMAGES):
    path = os.path.join(directory, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(pixels(mode, width, height, index), mode).save(path, quality=95)
    images.append(
        {"id": 100 + 7 * index, "file_name": name, "width": width, "height": height, "license": 1})
  crowd_mask = np.zeros((30, 50), np.uint8)
  crowd_mask[5:20, 10:40] = 1
  annotations = [
      # image 100 (64x48): polygon, non-representable float32 area, fractional box
      {
          "id": 1, "image_id": 100, "category_id": 1, "bbox": [3.3, 4.7, 20.25,
                                                               30.1], "area": 523.4567,
          "iscrowd": 0, "segmentation": [[3.3, 4.7, 23.55, 4.7, 23.55, 34.8, 3.3, 34.8]]
      },
      {
          "id": 2, "image_id": 100, "category_id": 18, "bbox": [40, 10, 24, 38], "area": 700.5,
          "iscrowd": 0, "segmentation": [[40, 10, 63.9, 10, 52, 47.9], [41, 40, 45, 40, 43, 44]]
      },
      {
          "id": 3, "image_id": 100, "category_id": 3, "bbox": [10, 10, 0, 5], "area": 0.0,
          "iscrowd": 0, "segmentation": [[10, 10, 10, 15, 10, 10]]
      },  # zero width: skipped
      # image 107 (40x72): one box, one past the bottom edge (skipped)
      {
          "id": 10, "image_id": 107, "category_id": 3, "bbox": [0, 0, 40, 72], "area": 2880.0,
          "iscrowd": 0, "segmentation": [[0, 0, 40, 0, 40, 72, 0, 72]]
      },
      {
          "id": 11, "image_id": 107, "category_id": 1, "bbox": [5, 60, 10, 12.5], "area": 100.0,
          "iscrowd": 0, "segmentation": [[5, 60, 15, 60, 15, 72, 5, 72]]
      },
      # image 114 (50x30, grayscale): a crowd region with an RLE mask
      {
          "id": 20, "image_id": 114, "category_id": 1, "bbox": [10, 5, 30, 15],
          "area": float(crowd_mask.sum()), "iscrowd": 1,
          "segmentation": uncompressed_rle(crowd_mask)
      },
      # image 121 (36x36 PNG): none
  ]
  dataset = {
      "info": {"description": "test"}, "images": images, "annotations": annotations,
      "categories": CATEGORIES
  }
  with open(os.path.join(directory, "instances.json"), "w") as f:
    json.dump(dataset, f)
  return dataset


def expected_rgb(directory: str, name: str) -> np.ndarray:
  """PIL's decoding of image `name` as uint8 [H, W, 3] (gray replicated, alpha dropped)."""
  with Image.open(os.path.join(directory, name)) as image:
    return np.asarray(image.convert("RGB"))
