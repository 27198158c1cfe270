"""//eval:evaluate_model end to end, with real TensorFlow SavedModels on synthetic images.

Every image has its own size (the fake models recognise images by size) and the set mixes
landscape, portrait, grayscale JPEG and PNG, so a coordinate mix-up between axes or between
original and resized sizes cannot pass.
"""
import glob
import json
import os
import shutil
import subprocess

from absl.testing import absltest
import numpy as np
from PIL import Image
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from eval.data import label_map
from eval.data import tfrecords
from eval.model.testing import fake_models

_BINARY = os.path.join(os.path.dirname(__file__), "evaluate_model")
# pycocotools' perfect AP where its epsilon shows (precision tp / (tp + fp + eps) with tp = 1:
# a category with a single instance); elsewhere float rounding may absorb it into 1.0.
_PERFECT = 0.9999999999999998
# (height, width, mode, format)
_IMAGES = [(480, 640, "RGB", "jpg"), (427, 640, "RGB", "jpg"), (640, 480, "RGB", "jpg"),
           (333, 500, "L", "jpg"), (200, 300, "RGB", "png"), (512, 512, "RGB", "jpg"),
           (90, 700, "RGB", "png")]
_CATEGORIES = [{"id": 1, "name": "person"}, {"id": 3, "name": "car"}, {"id": 7, "name": "train"},
               {"id": 9, "name": "boat"}]
_NOT_IN_LABEL_MAP = 2
# The run's progress line once the model has run on every image (not printed on a cache hit).
_RAN_ALL_IMAGES = r"inference: .*\b7/7 images"


def _write_dataset(root, rng):
  """Images, and ground truth whose annotation area is 0.6 * box area (not box-like objects)."""
  image_dir = os.path.join(root, "images")
  os.makedirs(image_dir)
  images, annotations = [], []
  for index, (h, w, mode, fmt) in enumerate(_IMAGES):
    image_id = 100 + 7 * index
    name = f"img_{index}.{fmt}"
    pixels = rng.integers(0, 255, size=(h, w) if mode == "L" else (h, w, 3), dtype=np.uint8)
    Image.fromarray(pixels, mode).save(os.path.join(image_dir, name))
    images.append({"id": image_id, "file_name": name, "height": h, "width": w})
    for k in range(1 + index % 3):
      bw = [12.0, 40.0, 150.0, 35.0][(index + k) % 4]  # small, medium, large, 35*35 straddles
      bh = min([14.0, 30.0, 120.0, 35.0][(index + k) % 4], h - 2)
      x = float(rng.integers(0, w - bw))
      y = float(rng.integers(0, h - bh))
      annotations.append({
          "id": len(annotations) + 1,
          "image_id": image_id,
          "bbox": [x, y, bw, bh],
          "area": 0.6 * bw * bh,
          "iscrowd": 0,
          # One boat in all: pycocotools' epsilon shows in a single-instance category's AP.
          "category_id": 9 if (index, k) == (4, 1) else _CATEGORIES[(index + k) % 3]["id"],
          "segmentation": [[x, y, x + bw, y, x + bw, y + bh, x, y + bh]]
      })
  gt = {"images": images, "annotations": annotations, "categories": _CATEGORIES}
  gt_path = os.path.join(root, "gt.json")
  with open(gt_path, "w") as f:
    json.dump(gt, f)
  return gt, gt_path, image_dir


def _normalised(x, y, w, h, height, width):
  return [y / height, x / width, (y + h) / height, (x + w) / width]


def _oracle_table(gt, masks=False):
  table = {}
  for im in gt["images"]:
    anns = [a for a in gt["annotations"] if a["image_id"] == im["id"]]
    n = len(anns)
    table[(im["height"], im["width"])] = fake_models.ImageDetections(
        boxes=np.array([_normalised(*a["bbox"], im["height"], im["width"]) for a in anns]),
        scores=np.linspace(0.9, 0.5, n), classes=np.array([a["category_id"] for a in anns]),
        masks=np.ones([n, fake_models.MASK_SIZE, fake_models.MASK_SIZE]) if masks else None)
  return table


def _perturbed_table(gt, rng):
  """Jittered boxes, wrong classes, false positives, duplicates and an id outside the map;
  returns the table and the pixel boxes expected in detections.json per image."""
  table, expected = {}, {}
  for im in gt["images"]:
    h, w = im["height"], im["width"]
    boxes, scores, classes = [], [], []
    for a in gt["annotations"]:
      if a["image_id"] != im["id"]:
        continue
      x, y, bw, bh = a["bbox"]
      for _ in range(3):
        dx, dy = rng.normal(0, 0.08 * bw), rng.normal(0, 0.08 * bh)
        sw, sh = bw * rng.uniform(0.8, 1.2), bh * rng.uniform(0.8, 1.2)
        boxes.append([x + dx, y + dy, sw, sh])
        scores.append(rng.uniform(0.05, 1.0))
        classes.append(a["category_id"] if rng.random() <
                       0.8 else rng.choice([1, 3, 7, 9, _NOT_IN_LABEL_MAP]))
    for _ in range(4):  # false positives
      bw, bh = rng.uniform(5, w / 2), rng.uniform(5, h / 2)
      boxes.append([rng.uniform(0, w - bw), rng.uniform(0, h - bh), bw, bh])
      scores.append(rng.uniform(0.05, 1.0))
      classes.append(rng.choice([1, 3, 7, 9, _NOT_IN_LABEL_MAP]))
    order = np.argsort(-np.asarray(scores), kind="stable")
    boxes = [boxes[i] for i in order]
    scores = np.asarray(scores, np.float32)[order]
    classes = np.asarray(classes)[order]
    table[(h,
           w)] = fake_models.ImageDetections(boxes=np.array([_normalised(*b, h, w) for b in boxes]),
                                             scores=scores, classes=classes)
    expected[im["id"]] = [(b, int(c)) for b, c in zip(boxes, classes) if c != _NOT_IN_LABEL_MAP]
  return table, expected


def _write_json(root, name, data):
  path = os.path.join(root, name)
  with open(path, "w") as f:
    json.dump(data, f)
  return path


def _write_bytes(path, data):
  with open(path, "wb") as f:
    f.write(data)
  return path


def _without_image(gt, image_id):
  return {
      **gt, "images": [im for im in gt["images"] if im["id"] != image_id],
      "annotations": [a for a in gt["annotations"] if a["image_id"] != image_id]
  }


def _pycocotools_stats(gt_path, results_path, iou_type="bbox"):
  gt = COCO(gt_path)
  dt = gt.loadRes(results_path)
  e = COCOeval(gt, dt, iou_type)
  e.evaluate()
  e.accumulate()
  e.summarize()
  return [float(v) for v in e.stats]


class EvaluateModelTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    rng = np.random.default_rng(0)
    cls.root = absltest.get_default_test_tmpdir()
    cls.data = os.path.join(cls.root, "data")
    cls.gt, cls.gt_path, cls.image_dir = _write_dataset(cls.data, rng)
    models = os.path.join(cls.root, "models")
    cls.oracle = fake_models.save_table_model(os.path.join(models, "oracle"), _oracle_table(cls.gt))
    table, cls.expected_boxes = _perturbed_table(cls.gt, rng)
    cls.perturbed = fake_models.save_table_model(os.path.join(models, "perturbed"), table)

  def run_binary(self, *args, model=None, out=None, check=True):
    out = out or self.create_tempdir().full_path
    proc = subprocess.run([
        _BINARY, f"--model_dir={model or self.oracle}", f"--annotations={self.gt_path}",
        f"--image_dir={self.image_dir}", f"--output_dir={out}", *args
    ], capture_output=True, text=True)
    if check:
      self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    return proc, out

  def read_json(self, out, name):
    with open(os.path.join(out, name)) as f:
      return json.load(f)

  def assert_complete(self, out):
    names = os.listdir(out)
    for name in ("detections.json", "metrics.json", "per_category.csv"):
      self.assertIn(name, names)
    self.assertLen(glob.glob(os.path.join(out, "events.out.tfevents.*")), 1)
    self.assertEqual([n for n in names if n.endswith(".tmp")], [])

  def assert_perfect(self, metrics, out, gt_path=None):
    """pycocotools' perfect score, bit for bit, with its epsilon in the single-boat category."""
    self.assertEqual(metrics["stats"],
                     _pycocotools_stats(gt_path or self.gt_path, f"{out}/detections.json"))
    for stat in metrics["stats"]:
      self.assertBetween(stat, 1.0 - 3e-16, 1.0)
    self.assertEqual(metrics["metrics"]["DetectionBoxes_PerformanceByCategory/mAP/boat"], _PERFECT)

  def test_oracle_is_perfect_and_the_cache_is_reused(self):
    proc, out = self.run_binary()
    self.assert_complete(out)
    metrics = self.read_json(out, "metrics.json")
    self.assert_perfect(metrics, out)
    self.assertEqual(metrics["metrics"]["DetectionBoxes_Precision/mAP"], metrics["stats"][0])
    self.assertEqual(metrics["model"]["input_type"], "image_tensor")
    self.assertEqual(metrics["model"]["device"], "/CPU:0")
    self.assertFalse(metrics["inference"]["cached"])
    self.assertEqual(metrics["inference"]["num_images"], len(_IMAGES))
    self.assertIn("DetectionBoxes_Recall/AR@100 ByCategory/car", metrics["metrics"])
    with open(f"{out}/per_category.csv") as f:
      rows = f.read().splitlines()
    self.assertTrue(rows[0].startswith("iou_type,category_id,category,AP,AP50,AP75"))
    self.assertLen(rows, 1 + len(_CATEGORIES))
    self.assertRegex(proc.stderr, _RAN_ALL_IMAGES)

    detections_mtime = os.stat(f"{out}/detections.json").st_mtime_ns
    proc, _ = self.run_binary(out=out)
    self.assertIn("detection cache hit", proc.stderr)
    self.assertNotIn("1 to run", proc.stderr)  # the executor ran no shard
    self.assertEqual(os.stat(f"{out}/detections.json").st_mtime_ns, detections_mtime)
    metrics2 = self.read_json(out, "metrics.json")
    self.assertTrue(metrics2["inference"]["cached"])
    self.assertEqual(metrics2["stats"], metrics["stats"])
    self.assert_complete(out)

    proc, _ = self.run_binary("--force_inference", out=out)
    self.assertNotIn("detection cache hit", proc.stderr)
    self.assertRegex(proc.stderr, _RAN_ALL_IMAGES)
    self.assertNotEqual(os.stat(f"{out}/detections.json").st_mtime_ns, detections_mtime)

    # Other data (fewer images) is another fingerprint: inference runs again.
    proc, _ = self.run_binary("--max_images=3", out=out)
    self.assertNotIn("detection cache hit", proc.stderr)
    self.assertEqual(self.read_json(out, "metrics.json")["params"]["num_images"], 3)

  def test_cache_notices_images_replaced_under_the_same_names(self):
    root = self.create_tempdir().full_path
    image_dir = shutil.copytree(self.image_dir, f"{root}/images", copy_function=shutil.copy2)
    args = [
        f"--model_dir={self.oracle}", f"--annotations={self.gt_path}", f"--image_dir={image_dir}",
        f"--output_dir={root}/out"
    ]
    proc = subprocess.run([_BINARY, *args], capture_output=True, text=True)
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    self.assertFalse(self.read_json(f"{root}/out", "metrics.json")["inference"]["cached"])
    # Every image becomes another picture (same size, so it still decodes as the ground truth
    # says) under the same name, with its times restored, as a copy that keeps times leaves it.
    for im in self.gt["images"]:
      path = os.path.join(image_dir, im["file_name"])
      st = os.stat(path)
      with Image.open(path) as old:
        Image.new(old.mode, old.size, 77).save(path, format=old.format)
      os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    proc = subprocess.run([_BINARY, *args], capture_output=True, text=True)
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    self.assertNotIn("detection cache hit", proc.stderr)
    self.assertRegex(proc.stderr, _RAN_ALL_IMAGES)
    self.assertFalse(self.read_json(f"{root}/out", "metrics.json")["inference"]["cached"])

  def test_perturbed_model_scores_as_pycocotools_says(self):
    _, out = self.run_binary(model=self.perturbed)
    self.assert_complete(out)
    metrics = self.read_json(out, "metrics.json")
    expected = _pycocotools_stats(self.gt_path, f"{out}/detections.json")
    self.assertEqual(metrics["stats"], expected)
    self.assertLess(metrics["stats"][0], 0.9)
    self.assertGreater(metrics["stats"][1], 0.1)
    # Every box in original pixels, whatever the image's shape; id 2 is not in the map.
    detections = self.read_json(out, "detections.json")
    for image_id, boxes in self.expected_boxes.items():
      got = [(d["bbox"], d["category_id"]) for d in detections if d["image_id"] == image_id]
      self.assertLen(got, len(boxes))
      for (box, cls), (want, want_cls) in zip(got, boxes):
        np.testing.assert_allclose(box, want, atol=2e-3, rtol=1e-5)
        self.assertEqual(cls, want_cls)
    # The error analysis of the same run, written before metrics.json (which stays last).
    analysis_dir = os.path.join(out, "analysis")
    analysis = self.read_json(analysis_dir, "analysis.json")
    self.assertLessEqual(os.path.getmtime(os.path.join(analysis_dir, "analysis.json")),
                         os.path.getmtime(os.path.join(out, "metrics.json")))
    self.assertEqual(analysis["iou_type"], "bbox")
    ap50 = {c["id"]: c["stats"][1] for c in metrics["per_category"]}
    self.assertLen(ap50, 4)
    for c in analysis["tide"]["per_category"]:  # TIDE integrates AP its own way (tidecv's)
      if ap50.get(c["id"], -1) >= 0:
        self.assertAlmostEqual(c["ap"], ap50[c["id"]], delta=0.01, msg=c["name"])
    self.assertEqual(sorted((r["iou"], r["id"]) for r in analysis["f1_thresholds"]),
                     sorted((iou, i) for iou in (0.5, 0.75) for i in ap50))
    self.assertLen(analysis["image_diagnostics"]["images"], len(_IMAGES))
    self.assertLen(analysis["confusion"]["matrix"], 5)
    worst = analysis["image_diagnostics"]["worst"]
    self.assertNotEmpty(worst)
    self.assertLen(os.listdir(os.path.join(analysis_dir, "gallery")), len(worst))
    for name in ("f1_thresholds.csv", "tide_per_category.csv", "confusion.csv", "tide.png",
                 "reliability.png"):
      self.assertTrue(os.path.isfile(os.path.join(analysis_dir, name)), name)

  def test_area_source_box(self):
    _, out = self.run_binary("--area_source=box", "--noanalysis", model=self.perturbed)
    metrics = self.read_json(out, "metrics.json")
    self.assertFalse(os.path.exists(os.path.join(out, "analysis")))
    gt = json.loads(json.dumps(self.gt))
    for a in gt["annotations"]:
      a["area"] = a["bbox"][2] * a["bbox"][3]
    box_gt = os.path.join(self.create_tempdir().full_path, "gt_box_area.json")
    with open(box_gt, "w") as f:
      json.dump(gt, f)
    self.assertEqual(metrics["stats"], _pycocotools_stats(box_gt, f"{out}/detections.json"))
    self.assertEqual(metrics["area_source"], "box")
    annotation = _pycocotools_stats(self.gt_path, f"{out}/detections.json")
    self.assertNotEqual(metrics["stats"][3:6], annotation[3:6])  # small/medium/large moved

  def test_missing_image_fails_unless_skipped(self):
    root = self.create_tempdir().full_path
    gt = json.loads(json.dumps(self.gt))
    gt["images"][1]["file_name"] = "not_there.jpg"
    gt_path = os.path.join(root, "gt.json")
    with open(gt_path, "w") as f:
      json.dump(gt, f)
    args = [
        f"--model_dir={self.oracle}", f"--annotations={gt_path}", f"--image_dir={self.image_dir}",
        f"--output_dir={root}/out"
    ]
    proc = subprocess.run([_BINARY, *args], capture_output=True, text=True)
    self.assertNotEqual(proc.returncode, 0)
    self.assertIn("not_there.jpg", proc.stderr)
    self.assertFalse(os.path.exists(f"{root}/out/metrics.json"))
    proc = subprocess.run([_BINARY, *args, "--skip_missing_images"], capture_output=True, text=True)
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    with open(f"{root}/out/metrics.json") as f:
      metrics = json.load(f)
    self.assertEqual(metrics["params"]["num_images"], len(_IMAGES) - 1)
    self.assertEqual(
        metrics["stats"],
        _pycocotools_stats(
            _write_json(root, "gt_present.json", _without_image(gt, gt["images"][1]["id"])),
            f"{root}/out/detections.json"))
    self.assertBetween(metrics["stats"][0], 1.0 - 3e-16, 1.0)

  def test_a_truncated_jpeg_is_named(self):
    root = self.create_tempdir().full_path
    image_dir = shutil.copytree(self.image_dir, f"{root}/images")
    name = next(im["file_name"] for im in self.gt["images"] if im["file_name"].endswith(".jpg"))
    with open(os.path.join(image_dir, name), "r+b") as f:
      f.truncate(300)  # the header survives, the picture does not
    proc = subprocess.run([
        _BINARY, f"--model_dir={self.oracle}", f"--annotations={self.gt_path}",
        f"--image_dir={image_dir}", f"--output_dir={root}/out"
    ], capture_output=True, text=True)
    self.assertNotEqual(proc.returncode, 0)
    self.assertIn(f"{os.path.join(image_dir, name)}: cannot be decoded as an image", proc.stderr)
    self.assertFalse(os.path.exists(f"{root}/out/metrics.json"))

  def test_bad_outputs_and_empty_ground_truth_give_named_errors(self):
    root = self.create_tempdir().full_path
    # A rerun into a folder where an earlier model finished, with a model that fails: the old
    # metrics.json must not stay beside the new run's files.
    _, out = self.run_binary(out=f"{root}/out")
    self.assertTrue(os.path.exists(f"{out}/metrics.json"))
    proc, _ = self.run_binary(model=self.gt_path, out=out, check=False)
    self.assertNotEqual(proc.returncode, 0)
    self.assertFalse(os.path.exists(f"{out}/metrics.json"))
    # --output_dir that is a file.
    proc, _ = self.run_binary(out=self.gt_path, check=False)
    self.assertNotEqual(proc.returncode, 0)
    self.assertIn(f"--output_dir={self.gt_path} is a file, not a directory", proc.stderr)
    self.assertNotIn("Traceback", proc.stderr)
    # Ground truth without images, or without categories.
    for key in ("images", "categories"):
      gt_path = _write_json(root, f"no_{key}.json", {**self.gt, key: []})
      proc = subprocess.run([
          _BINARY, f"--model_dir={self.oracle}", f"--annotations={gt_path}",
          f"--image_dir={self.image_dir}", f"--output_dir={root}/o_{key}"
      ], capture_output=True, text=True)
      self.assertNotEqual(proc.returncode, 0)
      self.assertIn(f"{gt_path}: no {key}", proc.stderr)
      self.assertNotIn("Traceback", proc.stderr)

  def test_bad_records_and_annotations_are_named(self):
    """One line naming the file and the record, no traceback; before inference when the
    ground truth is at fault."""
    root = self.create_tempdir().full_path
    image_dir = shutil.copytree(self.image_dir, f"{root}/images")
    with open(f"{image_dir}/img_0.jpg", "r+b") as f:
      f.truncate(os.path.getsize(f"{image_dir}/img_0.jpg") // 2)  # the header survives
    label_map.write(f"{root}/labels.pbtxt", {c["id"]: c["name"] for c in _CATEGORIES})
    cut_jpeg, = tfrecords.write_coco(self.gt, image_dir, f"{root}/cut_jpeg.record").shard_paths
    good, = tfrecords.write_coco(self.gt, self.image_dir, f"{root}/good.record").shard_paths
    with open(good, "rb") as f:
      data = bytearray(f.read())
    data[20] ^= 1
    bad_crc = _write_bytes(f"{root}/bad_crc.record", bytes(data))
    empty = _write_bytes(f"{root}/empty.record", b"")
    bad_box = _write_json(
        root, "bad_box.json",
        {**self.gt, "annotations": [{**self.gt["annotations"][0], "bbox": [1, 2, "3", 4]}]})
    records = [f"--label_map_path={root}/labels.pbtxt"]
    for args, message in (([
        f"--tfrecord={cut_jpeg}", *records
    ], f"{cut_jpeg}: record 0 (image id 100): cannot be decoded as an image"), ([
        f"--tfrecord={bad_crc}", *records
    ], f"{bad_crc}: record 0: corrupt TFRecord data"), ([
        f"--tfrecord={empty}", *records
    ], f"{empty}: no images to evaluate"), ([
        f"--annotations={bad_box}", f"--image_dir={self.image_dir}"
    ], f"{bad_box}: annotations[0] (id 1): 'bbox' must be a list of 4 numbers")):
      with self.subTest(message=message):
        proc = subprocess.run(
            [_BINARY, f"--model_dir={self.oracle}", f"--output_dir={root}/out", *args],
            capture_output=True, text=True)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn(f"evaluate_model: {message}", proc.stderr)
        self.assertNotIn("Traceback", proc.stderr)
        if "decoded" not in message:
          self.assertNotRegex(proc.stderr, r"inference: .*images")  # refused before it

  def test_input_flags_are_validated(self):
    for args, message in (([], "Exactly one of (annotations, pipeline_config_path, tfrecord)"),
                          ([f"--annotations={self.gt_path}"],
                           "--annotations and --image_dir go together"), ([
                               f"--annotations={self.gt_path}", f"--image_dir={self.image_dir}",
                               "--tfrecord=x.record"
                           ], "Exactly one of (annotations, pipeline_config_path, tfrecord)"),
                          (["--tfrecord=x.record"], "--tfrecord needs --label_map_path")):
      proc = subprocess.run([_BINARY, f"--model_dir={self.oracle}", "--output_dir=/tmp/o", *args],
                            capture_output=True, text=True)
      self.assertNotEqual(proc.returncode, 0)
      self.assertIn(message, proc.stderr)

  def test_mask_model_float_and_batched_exports(self):
    models = self.create_tempdir().full_path
    masks = fake_models.save_table_model(f"{models}/masks", _oracle_table(self.gt, masks=True),
                                         input_type="float_image_tensor")
    _, out = self.run_binary(model=masks)
    metrics = self.read_json(out, "metrics.json")
    self.assertEqual(metrics["iou_types"], ["bbox", "segm"])
    self.assertEqual(metrics["model"]["input_type"], "float_image_tensor")
    self.assert_perfect(metrics, out)
    self.assertEqual(metrics["segm"]["stats"],
                     _pycocotools_stats(self.gt_path, f"{out}/segmentations.json", "segm"))
    self.assertGreater(metrics["metrics"]["DetectionMasks_Precision/mAP@.50IOU"], 0.99)
    with open(f"{out}/per_category.csv") as f:
      self.assertLen(f.read().splitlines(), 1 + 2 * len(_CATEGORIES))

    batched = fake_models.save_table_model(f"{models}/batched", _oracle_table(self.gt),
                                           input_type="batched", exported_layout=False)
    _, out = self.run_binary("--batch_size=4", "--noinclude_metrics_per_category", model=batched)
    metrics = self.read_json(out, "metrics.json")
    self.assertEqual(metrics["stats"], _pycocotools_stats(self.gt_path, f"{out}/detections.json"))
    self.assertBetween(metrics["stats"][0], 1.0 - 3e-16, 1.0)
    self.assertFalse([k for k in metrics["metrics"] if "ByCategory" in k])

  def test_keypoint_model_is_scored_for_boxes_and_keypoints(self):
    # A CenterNet-keypoints-like export (detection_keypoints [N, 17, 2], normalised (y, x)) on
    # ground truth whose "person" category has COCO's 17 keypoints.
    rng = np.random.default_rng(5)
    gt = json.loads(json.dumps(self.gt))
    names = [f"k{i}" for i in range(17)]
    gt["categories"] = [{**c, "keypoints": names} if c["name"] == "person" else c
                        for c in gt["categories"]]
    people = {}  # annotation id -> its keypoints in pixels [17, 2] (x, y)
    for a in gt["annotations"]:
      if a["category_id"] != 1:
        continue
      x, y, w, h = a["bbox"]
      points = np.stack([x + rng.uniform(0, w, 17), y + rng.uniform(0, h, 17)], axis=1)
      visibility = rng.choice([0, 1, 2], 17, p=[0.2, 0.2, 0.6])
      a["keypoints"] = [
          v for (px, py), vis in zip(points, visibility) for v in (float(px), float(py), int(vis))
      ]
      a["num_keypoints"] = int(np.count_nonzero(visibility))
      people[a["id"]] = points
    gt_path = _write_json(self.create_tempdir().full_path, "person_keypoints.json", gt)
    table = _oracle_table(gt)
    for im in gt["images"]:
      anns = [a for a in gt["annotations"] if a["image_id"] == im["id"]]
      height, width = im["height"], im["width"]
      keypoints = np.zeros([len(anns), 17, 2], np.float32)
      for i, a in enumerate(anns):
        if a["id"] in people:  # the true keypoints, moved a little: OKS below 1
          moved = people[a["id"]] + rng.normal(0, 2.0, (17, 2))
          keypoints[i] = np.stack([moved[:, 1] / height, moved[:, 0] / width], axis=1)
      table[(height, width)].keypoints = keypoints
    model = fake_models.save_table_model(f"{self.create_tempdir().full_path}/kpts", table)
    proc, out = self.run_binary(f"--annotations={gt_path}", model=model)
    metrics = self.read_json(out, "metrics.json")
    self.assertEqual(metrics["iou_types"], ["bbox", "keypoints"])
    detections = self.read_json(out, "detections.json")
    with_keypoints = [d for d in detections if "keypoints" in d]
    self.assertEqual({d["category_id"] for d in with_keypoints}, {1})  # person only
    self.assertTrue(
        all(
            len(d["keypoints"]) == 51 and d["num_keypoints"] == 17
            and set(d["keypoints"][2::3]) == {2} for d in with_keypoints))
    # pycocotools on the same results file (its keypoint categories: person).
    coco_gt = COCO(gt_path)
    e = COCOeval(coco_gt, coco_gt.loadRes([d for d in detections if "keypoints" in d]), "keypoints")
    e.params.catIds = [1]
    e.evaluate()
    e.accumulate()
    e.summarize()
    self.assertEqual(metrics["keypoints"]["stats"], [float(v) for v in e.stats])
    self.assertBetween(metrics["keypoints"]["stats"][0], 0.05, 0.999)
    self.assertEqual(metrics["stats"], _pycocotools_stats(gt_path, f"{out}/detections.json"))
    self.assertEqual(metrics["metrics"]["Keypoints_Precision/mAP ByCategory/person"],
                     float(e.stats[0]))
    with open(f"{out}/per_category.csv") as f:
      rows = f.read().splitlines()
    self.assertLen(rows, 1 + len(_CATEGORIES) + 1)  # bbox per category, keypoints for person
    self.assertTrue(rows[-1].startswith("keypoints,1,person,"))
    self.assertIn("keypoints", proc.stdout)

  def test_pipeline_config_and_tfrecords(self):
    root = self.create_tempdir().full_path
    stats = tfrecords.write_coco(self.gt, self.image_dir, f"{root}/val.record", num_shards=2,
                                 include_masks=True)
    label_map.write(f"{root}/label_map.pbtxt", {c["id"]: c["name"] for c in _CATEGORIES})
    with open(f"{root}/pipeline.config", "w") as f:
      f.write(f"""
model {{ ssd {{ num_classes: 90 }} }}
train_config {{ batch_size: 64 }}
eval_config {{
  metrics_set: "coco_detection_metrics"
  metrics_set: "coco_mask_metrics"
  include_metrics_per_category: true
}}
eval_input_reader {{
  label_map_path: "{root}/label_map.pbtxt"
  tf_record_input_reader {{ input_path: "{root}/val.record-?????-of-00002" }}
}}
""")
    masks = fake_models.save_table_model(f"{root}/masks", _oracle_table(self.gt, masks=True))
    proc = subprocess.run([
        _BINARY, f"--model_dir={masks}", f"--pipeline_config_path={root}/pipeline.config",
        f"--output_dir={root}/out"
    ], capture_output=True, text=True)
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    with open(f"{root}/out/metrics.json") as f:
      metrics = json.load(f)
    self.assertEqual(metrics["iou_types"], ["bbox", "segm"])
    self.assertEqual(metrics["params"]["num_images"], len(_IMAGES))
    for stat in metrics["stats"]:
      self.assertBetween(stat, 1.0 - 3e-16, 1.0)
    keys = metrics["metrics"]
    self.assertIn("DetectionBoxes_PerformanceByCategory/mAP/boat", keys)
    self.assertIn("DetectionMasks_PerformanceByCategory/mAP/boat", keys)
    self.assertFalse([k for k in keys if "ByCategory/" in k and "PerformanceByCategory" not in k])
    self.assertTrue(metrics["include_metrics_per_category"])
    self.assertFalse(metrics["all_metrics_per_category"])

    # The same records given directly; the flag adds every per-category statistic.
    proc = subprocess.run([
        _BINARY, f"--model_dir={self.oracle}", f"--tfrecord={','.join(stats.shard_paths)}",
        f"--label_map_path={root}/label_map.pbtxt", f"--output_dir={root}/out2",
        "--all_metrics_per_category"
    ], capture_output=True, text=True)
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    with open(f"{root}/out2/metrics.json") as f:
      metrics = json.load(f)
    self.assertEqual(metrics["iou_types"], ["bbox"])
    self.assertIn("DetectionBoxes_Recall/AR@100 (small) ByCategory/boat", metrics["metrics"])

  def test_a_model_that_finds_nothing_scores_zero(self):
    blind = fake_models.save_table_model(os.path.join(self.create_tempdir().full_path, "blind"), {},
                                         masks=True)
    _, out = self.run_binary(model=blind)
    self.assertEqual(self.read_json(out, "detections.json"), [])
    metrics = self.read_json(out, "metrics.json")
    self.assertEqual(metrics["iou_types"], ["bbox", "segm"])
    self.assertEqual(metrics["stats"], [0.0] * 12)
    self.assertEqual(metrics["segm"]["stats"], [0.0] * 12)

  def test_not_a_detector(self):
    path = fake_models.save_non_detector(os.path.join(self.create_tempdir().full_path, "m"))
    proc, _ = self.run_binary(model=path, check=False)
    self.assertNotEqual(proc.returncode, 0)
    self.assertIn("does not look like a TF2 Object Detection API export", proc.stderr)
    self.assertIn("features: float32 [None,10]", proc.stderr)


if __name__ == "__main__":
  absltest.main()
