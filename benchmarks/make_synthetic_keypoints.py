"""Writes a synthetic, COCO-val-shaped person keypoint set (gt.json + dt.json), by --seed.

Shape targets (COCO 2017 person_keypoints_val2017): 5,000 images, persons on 2,693 of them, ~11,000
person instances (~4.1 per image with people), about 40 % of them without labelled keypoints
(num_keypoints 0, mostly small), ~1 % crowd; 17 keypoints with visibility 1 or 2. Results: 100
keypoint detections per image with people (no bbox: loadRes' keypoints branch), a few good ones
per person with pose noise that grows with the person's size, the rest background poses, scores
rounded to 3 decimals (ties).
"""
import json
import os
import tempfile

from absl import app, flags
import numpy as np

FLAGS = flags.FLAGS
flags.DEFINE_string("output_dir", None, "Where gt.json and dt.json are written.")
flags.DEFINE_integer("num_images", 5000, "Number of images.")
flags.DEFINE_integer("seed", 0, "Seed of the generator: same seed, same files.")
flags.DEFINE_integer("dets_per_image", 100, "Keypoint detections per image with people.")
flags.mark_flag_as_required("output_dir")

PERSON_IMAGE_FRACTION = 2693 / 5000
MEAN_PERSONS = 11004 / 2693
CROWD_FRACTION = 0.01
SIZE_MIX = (0.42, 0.30, 0.28)  # small, medium, large by `area`
NAMES = [
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
    "right_knee", "left_ankle", "right_ankle"
]
SKELETON = [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7], [6, 8],
            [7, 9], [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7]]
# A standing pose in the unit box: (x, y) of the 17 keypoints.
POSE = np.array([[.5, .08], [.55, .06], [.45, .06], [.6, .08], [.4, .08], [.7, .22], [.3, .22],
                 [.78, .4], [.22, .4], [.8, .55], [.2, .55], [.62, .55], [.38, .55], [.62, .75],
                 [.38, .75], [.62, .95], [.38, .95]])
IMAGE_SIZES = [(640, 480), (640, 427), (480, 640), (640, 426), (427, 640), (500, 375)]


def person_box(rng, width, height):
  """A person-shaped box (taller than wide) whose area falls in a COCO-like size bin."""
  size_bin = rng.choice(3, p=SIZE_MIX)
  lo, hi = [(8 ** 2, 32 ** 2), (32 ** 2, 96 ** 2), (96 ** 2, 400 ** 2)][size_bin]
  area = rng.uniform(lo, hi) / 0.55  # the mask covers ~55 % of the box
  aspect = rng.uniform(0.3, 0.8)  # w / h
  h = min(np.sqrt(area / aspect), height - 1)
  w = min(h * aspect, width - 1)
  x, y = rng.uniform(0, width - w), rng.uniform(0, height - h)
  return [round(float(v), 2) for v in (x, y, w, h)]


def pose_in_box(rng, box, noise):
  xy = POSE + rng.normal(0, 0.03, POSE.shape)
  return np.column_stack([box[0] + xy[:, 0] * box[2], box[1] + xy[:, 1] * box[3]]) + rng.normal(
      0, noise, POSE.shape)


def make_ground_truth(rng, images):
  anns = []
  for img in images:
    if rng.random() >= PERSON_IMAGE_FRACTION:
      continue
    for _ in range(max(1, min(20, rng.poisson(MEAN_PERSONS - 1) + 1))):
      box = person_box(rng, img["width"], img["height"])
      area = round(box[2] * box[3] * rng.uniform(0.45, 0.65), 2)
      crowd = int(rng.random() < CROWD_FRACTION)
      # Small people are mostly unlabelled, as in COCO.
      labelled = not crowd and rng.random() < (0.25 if area < 32 ** 2 else 0.85)
      kp = [0] * 51
      if labelled:
        xy = pose_in_box(rng, box, 0)
        visible = rng.random(17) < rng.uniform(0.4, 1.0)
        visible[rng.integers(17)] = True
        for j in np.flatnonzero(visible):
          kp[3 * j:3 * j
             + 3] = [int(round(xy[j, 0])),
                     int(round(xy[j, 1])),
                     int(rng.choice([1, 2]))]
      anns.append({
          "id": len(anns) + 1, "image_id": img["id"], "category_id": 1, "bbox": box, "area": area,
          "iscrowd": crowd, "keypoints": kp, "num_keypoints": sum(1 for v in kp[2::3] if v > 0)
      })
  return anns


def make_detections(rng, images, anns, per_image):
  by_image = {}
  for a in anns:
    by_image.setdefault(a["image_id"], []).append(a)
  dets = []
  for img in images:
    people = by_image.get(img["id"])
    if not people:
      continue
    out = []
    for a in people:
      for _ in range(rng.integers(1, 3)):
        if len(out) >= per_image:
          break
        noise = rng.uniform(0.02, 0.15) * np.sqrt(max(a["area"], 1.0))
        out.append((pose_in_box(rng, a["bbox"], noise), rng.uniform(0.3, 1.0)))
    while len(out) < per_image:
      box = person_box(rng, img["width"], img["height"])
      out.append((pose_in_box(rng, box, 2.0), rng.uniform(0.0, 0.5)))
    for xy, score in out:
      kp = []
      for x, y in xy:
        kp += [round(float(x), 2), round(float(y), 2), 1]
      dets.append({
          "image_id": img["id"], "category_id": 1, "keypoints": kp, "score": round(float(score), 3)
      })
  return dets


def write_json_atomically(obj, path):
  fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
  with os.fdopen(fd, "w") as f:
    json.dump(obj, f, separators=(",", ":"))
  os.replace(tmp, path)


def resolve(path):
  # `bazel run` changes the working directory; user paths are relative to where it was typed.
  return os.path.join(os.environ.get("BUILD_WORKING_DIRECTORY", ""), os.path.expanduser(path))


def main(argv):
  del argv
  out = resolve(FLAGS.output_dir)
  os.makedirs(out, exist_ok=True)
  rng = np.random.default_rng(FLAGS.seed)
  images = []
  for i in range(FLAGS.num_images):
    w, h = IMAGE_SIZES[rng.integers(len(IMAGE_SIZES))]
    images.append({"id": 100000 + 7 * i, "width": w, "height": h, "file_name": f"{i:012d}.jpg"})
  anns = make_ground_truth(rng, images)
  dets = make_detections(rng, images, anns, FLAGS.dets_per_image)
  gt = {
      "info": {"description": f"synthetic COCO-val-shaped person keypoint set, seed {FLAGS.seed}"},
      "images":
          images, "annotations":
              anns, "categories": [{
                  "id": 1, "name": "person", "supercategory": "person", "keypoints": NAMES,
                  "skeleton": SKELETON
              }]
  }
  write_json_atomically(gt, os.path.join(out, "gt.json"))
  write_json_atomically(dets, os.path.join(out, "dt.json"))
  labelled = sum(a["num_keypoints"] > 0 for a in anns)
  print(
      json.dumps({
          "images": len(images), "persons": len(anns), "labelled": labelled, "detections": len(dets)
      }))


if __name__ == "__main__":
  app.run(main)
