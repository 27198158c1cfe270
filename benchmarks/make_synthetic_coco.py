"""Writes a synthetic, COCO-val-shaped evaluation set (gt.json + dt.json), deterministic by --seed.

Shape targets (COCO 2017 val): 80 categories with the real ids, ~7.36 objects per image, 41/34/25 %
small/medium/large by `area`, ~1 % crowd, 100 detections per image with many score ties.
bbox: 5,000 images, detections as boxes (~45 MB of JSON). segm: 500 images, detections as
compressed RLE without `bbox`, so their area comes from the mask.
"""
import json
import os
import tempfile

from absl import app, flags
import numpy as np

FLAGS = flags.FLAGS
flags.DEFINE_string("output_dir", None, "Where gt.json and dt.json are written.")
flags.DEFINE_integer("num_images", None, "Number of images (default 5000 for bbox, 500 for segm).")
flags.DEFINE_enum("iou_type", "bbox", ["bbox", "segm"], "Which kind of detections to write.")
flags.DEFINE_integer("seed", 0, "Seed of the generator: same seed, same files.")
flags.mark_flag_as_required("output_dir")

DETS_PER_IMAGE = 100
MEAN_OBJECTS = 7.36
SIZE_MIX = (0.41, 0.34, 0.25)  # small, medium, large by `area`, as in COCO val.
CROWD_FRACTION = 0.01
# Typical COCO image sizes (width, height) and roughly how common they are.
IMAGE_SIZES = [((640, 480), 0.34), ((640, 427), 0.19), ((480, 640), 0.09), ((640, 426), 0.07),
               ((427, 640), 0.06), ((640, 428), 0.05), ((500, 375), 0.05), ((640, 425), 0.04),
               ((375, 500), 0.03), ((640, 640), 0.03), ((612, 612), 0.03), ((640, 360), 0.02)]
SUPERCATEGORIES = [
    ("person", ["person"]),
    ("vehicle", ["bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat"]),
    ("outdoor", ["traffic light", "fire hydrant", "stop sign", "parking meter", "bench"]),
    ("animal",
     ["bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe"]),
    ("accessory", ["backpack", "umbrella", "handbag", "tie", "suitcase"]),
    ("sports", [
        "frisbee", "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove",
        "skateboard", "surfboard", "tennis racket"
    ]),
    ("kitchen", ["bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl"]),
    ("food", [
        "banana", "apple", "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut",
        "cake"
    ]),
    ("furniture", ["chair", "couch", "potted plant", "bed", "dining table", "toilet"]),
    ("electronic", ["tv", "laptop", "mouse", "remote", "keyboard", "cell phone"]),
    ("appliance", ["microwave", "oven", "toaster", "sink", "refrigerator"]),
    ("indoor", ["book", "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush"]),
]
# COCO's 80 ids: 1..90 with the 10 ids of the paper's unused classes left out.
CATEGORY_IDS = [i for i in range(1, 91) if i not in (12, 26, 29, 30, 45, 66, 68, 69, 71, 83)]


def categories():
  names = [(sup, name) for sup, members in SUPERCATEGORIES for name in members]
  return [{"supercategory": sup, "id": cid, "name": name}
          for cid, (sup, name) in zip(CATEGORY_IDS, names)]


def category_weights(rng):
  # COCO is long-tailed with person at ~30 % of the objects.
  rest = rng.lognormal(0.0, 1.0, len(CATEGORY_IDS) - 1)
  return np.concatenate([[0.30], 0.70 * rest / rest.sum()])


def shoelace(xy):
  x, y = xy[:, 0], xy[:, 1]
  return 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def unit_polygon(rng):
  """A star-shaped blob spanning exactly [0, 1]^2, so the box is tight like COCO's."""
  k = int(rng.integers(6, 21))
  angles = (np.arange(k) + rng.uniform(-0.3, 0.3, k)) * (2 * np.pi / k)
  radii = rng.uniform(0.65, 1.0, k)
  xy = np.stack([np.cos(angles) * radii, np.sin(angles) * radii], axis=1)
  xy -= xy.min(axis=0)
  return xy / xy.max(axis=0)


def place_polygon(unit, x, y, w, h):
  """Scales a unit polygon into a box, rounded to 2 decimals as COCO's files are."""
  xy = np.round(unit * [w, h] + [x, y], 2)
  bbox = np.round([xy[:, 0].min(), xy[:, 1].min(), np.ptp(xy[:, 0]), np.ptp(xy[:, 1])], 2)
  return xy, bbox


def object_box(rng, size_bin, fill, width, height):
  """A box whose polygon (covering `fill` of it) has an area in the requested COCO size bin."""
  lo, hi = [(12.0, 32.0 ** 2), (32.0 ** 2, 96.0 ** 2), (96.0 ** 2, 0.5 * width * height)][size_bin]
  area = np.exp(rng.uniform(np.log(lo), np.log(hi)))
  box_area = area / fill
  aspect = np.exp(rng.normal(0.0, 0.5))
  w, h = np.sqrt(box_area * aspect), np.sqrt(box_area / aspect)
  # Keep the area, change the aspect when the box would not fit the image.
  if w > 0.98 * width:
    w = 0.98 * width
    h = box_area / w
  if h > 0.98 * height:
    h = 0.98 * height
    w = min(box_area / h, 0.98 * width)
  return rng.uniform(0, width - w), rng.uniform(0, height - h), w, h


def uncompressed_rle(mask_utils, xy, width, height):
  """COCO's crowd format: counts of alternating 0/1 runs over the column-major mask."""
  mask = mask_utils.decode(mask_utils.frPyObjects([xy.ravel().tolist()], height, width))[:, :, 0]
  flat = mask.ravel(order="F")
  edges = np.flatnonzero(np.diff(flat)) + 1
  bounds = np.concatenate([[0], edges, [flat.size]])
  counts = np.diff(bounds).tolist()
  if flat[0]:
    counts = [0] + counts
  return {"counts": counts, "size": [height, width]}


def make_images(rng, num_images):
  sizes, probs = zip(*IMAGE_SIZES)
  picks = rng.choice(len(sizes), num_images, p=np.array(probs) / sum(probs))
  # COCO ids are sparse, and the file lists images in no particular id order.
  ids = rng.choice(581929, num_images, replace=False) + 1
  return [{
      "license": int(rng.integers(1, 9)), "file_name": f"{int(i):012d}.jpg", "height": sizes[p][1],
      "width": sizes[p][0], "id": int(i)
  } for i, p in zip(ids, picks)]


def make_ground_truth(rng, images, cat_weights, mask_utils):
  """Returns the annotations and, per image, (annotation, unit polygon) pairs for the detections."""
  # Negative binomial: like COCO, many images with a few objects and a long tail of crowded ones.
  counts = rng.negative_binomial(2.0, 2.0 / (2.0 + MEAN_OBJECTS), len(images))
  # Nudge random images by one object until the total is exactly the mean's, whatever the seed.
  target = round(MEAN_OBJECTS * len(images))
  while counts.sum() != target:
    diff = int(target - counts.sum())
    picks = rng.choice(len(images), abs(diff))
    if diff > 0:
      np.add.at(counts, picks, 1)
    else:
      counts[picks] = np.maximum(counts[picks] - 1, 0)  # a repeated pick removes one: loop again
  anns, per_image = [], []
  next_id = int(rng.integers(1, 100000))
  for img, n in zip(images, counts):
    objects = []
    width, height = img["width"], img["height"]
    for _ in range(n):
      unit = unit_polygon(rng)
      fill = shoelace(unit)
      size_bin = int(rng.choice(3, p=SIZE_MIX))
      xy, bbox = place_polygon(unit, *object_box(rng, size_bin, fill, width, height))
      crowd = rng.random() < CROWD_FRACTION
      ann = {
          "segmentation": None, "area": round(float(shoelace(xy)),
                                              5), "iscrowd": int(crowd), "image_id": img["id"],
          "bbox": bbox.tolist(), "category_id": int(rng.choice(CATEGORY_IDS, p=cat_weights))
      }
      if crowd:
        # COCO's crowd regions carry uncompressed RLE and ids above 2**32.
        ann["segmentation"] = uncompressed_rle(mask_utils, xy, width, height)
        ann["id"] = 900100000000 + next_id
      else:
        ann["segmentation"] = [xy.ravel().tolist()]
        ann["id"] = next_id
      next_id += int(rng.integers(1, 50))
      anns.append(ann)
      objects.append((ann, unit))
    per_image.append(objects)
  return anns, per_image


def jitter(rng, bbox, width, height):
  """A detector's imprecise copy of a box: a mix of tight, loose and poor localisations."""
  x, y, w, h = bbox
  s = rng.choice([0.03, 0.08, 0.2], p=[0.4, 0.4, 0.2])
  w2, h2 = w * np.exp(rng.normal(0, s)), h * np.exp(rng.normal(0, s))
  x2 = np.clip(x + rng.normal(0, s) * w, 0, width - 1)
  y2 = np.clip(y + rng.normal(0, s) * h, 0, height - 1)
  return x2, y2, max(min(w2, width - x2), 1.0), max(min(h2, height - y2), 1.0), s


def background_boxes(rng, n, width, height):
  """False positives placed at random: sizes log-uniform from 4x4 to half the image."""
  area = np.exp(rng.uniform(np.log(16.0), np.log(0.5 * width * height), n))
  aspect = np.exp(rng.normal(0.0, 0.6, n))
  w = np.minimum(np.sqrt(area * aspect), width - 1.0)
  h = np.minimum(np.sqrt(area / aspect), height - 1.0)
  return rng.uniform(0, 1, n) * (width - w), rng.uniform(0, 1, n) * (height - h), w, h


def make_detections(rng, images, per_image, cat_weights, iou_type, mask_utils):
  dets = []
  for img, objects in zip(images, per_image):
    width, height = img["width"], img["height"]
    cands = []  # (score, category, x, y, w, h, unit polygon)
    for ann, unit in objects:
      if rng.random() < 0.15:  # missed object
        continue
      for _ in range(1 + min(int(rng.poisson(0.7)), 4)):
        x, y, w, h, s = jitter(rng, ann["bbox"], width, height)
        cat = ann["category_id"] if rng.random() < 0.9 else int(
            rng.choice(CATEGORY_IDS, p=cat_weights))
        score = rng.beta(6.0, 1.5) * (1.0 - s)
        cands.append((score, cat, x, y, w, h, unit))
    cands.sort(key=lambda c: -c[0])
    cands = cands[:DETS_PER_IMAGE]  # a detector keeps its top 100
    present = [ann["category_id"] for ann, _ in objects]
    n_bg = DETS_PER_IMAGE - len(cands)
    # Half the background boxes take a class present in the image, half any class.
    global_cats = rng.choice(CATEGORY_IDS, n_bg, p=cat_weights)
    local_cats = rng.choice(present, n_bg) if present else global_cats
    cats = np.where(rng.random(n_bg) < 0.5, local_cats, global_cats)
    bg_scores = rng.beta(1.2, 6.0, n_bg)
    for i, (x, y, w, h) in enumerate(zip(*background_boxes(rng, n_bg, width, height))):
      unit = unit_polygon(rng) if iou_type == "segm" else None
      cands.append((bg_scores[i], int(cats[i]), x, y, w, h, unit))
    # File order within an image is arbitrary: score ties then depend on it, as they should.
    order = rng.permutation(len(cands))
    cands = [cands[i] for i in order]
    # Three decimals: ~1,000 distinct scores for 500,000 detections, so ties are everywhere.
    scores = [max(round(float(c[0]), 3), 0.001) for c in cands]
    if iou_type == "bbox":
      for sc, (_, cat, x, y, w, h, _) in zip(scores, cands):
        dets.append({
            "image_id": img["id"], "category_id": cat,
            "bbox": [round(float(v), 2) for v in (x, y, w, h)], "score": sc
        })
    else:
      polys = []
      for _, _, x, y, w, h, unit in cands:
        xy, _ = place_polygon(unit, x, y, w, h)
        polys.append(np.clip(xy, 0, [width, height]).ravel().tolist())
      rles = mask_utils.frPyObjects(polys, height, width)
      for sc, c, rle in zip(scores, cands, rles):
        dets.append({
            "image_id": img["id"], "category_id": c[1],
            "segmentation": {"size": rle["size"],
                             "counts": rle["counts"].decode("ascii")}, "score": sc
        })
  return dets


def write_json_atomically(obj, path):
  """Readers never see a half-written file: write beside it, then rename over it."""
  fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-", suffix=".json")
  try:
    with os.fdopen(fd, "w") as f:
      json.dump(obj, f)
    os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide the data from other users
    os.replace(tmp, path)
  except BaseException:
    os.unlink(tmp)
    raise


def resolve(path):
  # `bazel run` changes the working directory; user paths are relative to where it was typed.
  return os.path.join(os.environ.get("BUILD_WORKING_DIRECTORY", ""), os.path.expanduser(path))


def generate(output_dir, num_images, iou_type, seed):
  # Polygon rasterisation and RLE, as the evaluators read them.
  from pycocotools import mask as mask_utils

  rng = np.random.default_rng(seed)
  cat_weights = category_weights(rng)
  images = make_images(rng, num_images)
  anns, per_image = make_ground_truth(rng, images, cat_weights, mask_utils)
  dets = make_detections(rng, images, per_image, cat_weights, iou_type, mask_utils)
  gt = {
      "info": {
          "description": f"synthetic COCO-val-shaped {iou_type} set, seed {seed}", "version": "1.0"
      }, "licenses": [{"id": i, "name": f"license {i}", "url": ""} for i in range(1, 9)],
      "images": images, "annotations": anns, "categories": categories()
  }
  os.makedirs(output_dir, exist_ok=True)
  write_json_atomically(gt, os.path.join(output_dir, "gt.json"))
  write_json_atomically(dets, os.path.join(output_dir, "dt.json"))
  return describe(gt, dets, output_dir)


def describe(gt, dets, output_dir):
  areas = np.array([a["area"] for a in gt["annotations"]])
  n = max(len(areas), 1)
  return {
      "images": len(gt["images"]
                   ), "gt_objects": len(areas), "small": float(np.sum(areas < 32 ** 2)) / n,
      "medium": float(np.sum((areas >= 32 ** 2) & (areas < 96 ** 2))) / n,
      "large": float(np.sum(areas >= 96 ** 2)) / n, "crowd": sum(a["iscrowd"]
                                                                 for a in gt["annotations"]) / n,
      "detections": len(dets), "distinct_scores": len({d["score"] for d in dets}),
      "gt_json_mb": os.path.getsize(os.path.join(output_dir, "gt.json")) / 1e6,
      "dt_json_mb": os.path.getsize(os.path.join(output_dir, "dt.json")) / 1e6
  }


def main(argv):
  del argv
  num_images = FLAGS.num_images or (5000 if FLAGS.iou_type == "bbox" else 500)
  print(json.dumps(generate(resolve(FLAGS.output_dir), num_images, FLAGS.iou_type, FLAGS.seed)))


if __name__ == "__main__":
  app.run(main)
