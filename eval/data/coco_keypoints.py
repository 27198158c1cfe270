"""COCO val2017's instances with the person keypoints, as one ground truth for a sweep that
scores keypoint models on their boxes (80 categories) and their keypoints (person).

COCO ships the keypoints apart (person_keypoints_val2017.json: the person annotations, same
ids, with "keypoints" and "num_keypoints"; the person category with "keypoints" and
"skeleton"). The merge copies them onto the instances file: a person annotation the keypoint
file lacks gets no labelled keypoint (num_keypoints 0: ignored by keypoint evaluation, as
pycocotools ignores such ground truth), and everything else is unchanged, so the box
statistics stay those of instances_val2017.json.
"""
from __future__ import annotations

import hashlib
import json
import os

from eval import atomic_io


def _load(path: str) -> dict:
  try:
    with open(path, encoding="utf-8") as f:
      data = json.load(f)
  except (OSError, ValueError) as e:
    raise ValueError(f"{path}: not a readable COCO JSON file ({e})") from e
  if not isinstance(data, dict) or not isinstance(data.get("annotations"), list):
    raise ValueError(f"{path}: not a COCO dataset (no annotations list)")
  return data


def merge(instances: dict, person_keypoints: dict, where: str = "person keypoints") -> dict:
  """instances with the keypoint categories' "keypoints"/"skeleton" and every annotation of
  those categories carrying "keypoints" and "num_keypoints"."""
  keypoint_categories = {
      c["id"]: c for c in person_keypoints.get("categories", [])
      if isinstance(c, dict) and c.get("keypoints")
  }
  if not keypoint_categories:
    raise ValueError(f"{where}: no category lists keypoints")
  categories = []
  for c in instances.get("categories", []):
    extra = keypoint_categories.get(c.get("id"))
    categories.append({**c, "keypoints": extra["keypoints"], "skeleton": extra.get("skeleton", [])}
                      if extra else c)
  labelled = {
      a["id"]: a for a in person_keypoints["annotations"]
      if isinstance(a, dict) and "keypoints" in a and "num_keypoints" in a
  }
  annotations = []
  for a in instances["annotations"]:
    category = keypoint_categories.get(a.get("category_id"))
    if category is not None:
      found = labelled.get(a.get("id"))
      if found is not None:
        a = {**a, "keypoints": found["keypoints"], "num_keypoints": found["num_keypoints"]}
      else:
        a = {**a, "keypoints": [0] * (3 * len(category["keypoints"])), "num_keypoints": 0}
    annotations.append(a)
  return {**instances, "categories": categories, "annotations": annotations}


def merged_file(instances_path: str, person_keypoints_path: str, out_dir: str) -> str:
  """merge() of the two files, written once (atomically) into out_dir under a name keyed by
  both inputs' contents; returns its path."""
  digest = hashlib.sha256()
  for path in (instances_path, person_keypoints_path):
    with open(path, "rb") as f:
      for block in iter(lambda: f.read(1 << 20), b""):
        digest.update(block)
  name = (f"{os.path.splitext(os.path.basename(instances_path))[0]}_with_person_keypoints_"
          f"{digest.hexdigest()[:16]}.json")
  path = os.path.join(out_dir, name)
  if not os.path.isfile(path):
    merged = merge(_load(instances_path), _load(person_keypoints_path), person_keypoints_path)
    os.makedirs(out_dir, exist_ok=True)
    atomic_io.write_text(path, json.dumps(merged, separators=(",", ":")))
  return path
