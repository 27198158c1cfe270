"""//eval:all_efficientdet end to end, over loopback HTTP only.

The test builds a zoo-like tree (<zoo>/20200711/efficientdet_d{0,1}_coco17_tpu-32.tar.gz, each
holding <name>/saved_model/ (a real SavedModel with the TF OD API export signature: a table
model returning perturbed ground truth, D1 less perturbed than D0), <name>/pipeline.config (a
real EfficientDet config) and <name>/checkpoint/) and a COCO-like one (<coco>/zips/val2017.zip
with real JPEGs, <coco>/annotations/annotations_trainval2017.zip), serves both from a
ThreadingHTTPServer on 127.0.0.1 (port 0), and runs the binary as a subprocess with ClearML
offline. Nothing but 127.0.0.1 is contacted.

Checked: each model's statistics equal pycocotools' on that model's detections.json; the
ClearML offline sessions (per-model scalars, the comparison's mAP-vs-phi series); the report
files; a run SIGKILLed in the middle of the second model resumes without redoing the first
and without partial files; one model failing (its tarball 404s) leaves the other done and the
exit status non-zero; a stalled COCO server gives a clear error within bounded time.
"""
import csv
import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import threading
import time
import zipfile

from absl.testing import absltest
import numpy as np
from PIL import Image
from PIL import ImageDraw
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from eval.distributed.testing import fixtures as ray_fixtures  # first: Ray's environment
from eval.model.testing import fake_models
from ray import cluster_utils

_HERE = os.path.dirname(os.path.abspath(__file__))
_BINARY = os.path.join(_HERE, "..", "eval", "all_efficientdet")
_ZOO_BINARY = os.path.join(_HERE, "..", "eval", "evaluate_zoo")
# The same binary with a SIGKILL injected at a chosen stage (tests/all_efficientdet_kill_at.py).
_KILL_AT_BINARY = os.path.join(_HERE, "all_efficientdet_kill_at")
_CONFIG = os.path.join(_HERE, "..", "eval", "data", "testdata",
                       "ssd_efficientdet_d0_512x512_coco17_tpu-8.config")
_RELEASE = "20200711"
_NAMES = {"d0": "efficientdet_d0_coco17_tpu-32", "d1": "efficientdet_d1_coco17_tpu-32"}
# A model of another family, for //eval:evaluate_zoo (registry key ssd_mobilenet_v2_320x320).
_SSD_KEY = "ssd_mobilenet_v2_320x320"
_SSD_NAME = "ssd_mobilenet_v2_320x320_coco17_tpu-8"
# A keypoint model (CenterNet keypoints export: detection_keypoints [N, 17, 2]).
_KPTS_KEY = "centernet_resnet50_v1_fpn_512x512_kpts"
_KPTS_NAME = "centernet_resnet50_v1_fpn_512x512_kpts_coco17_tpu-8"
_ALL_NAMES = {**_NAMES, _SSD_KEY: _SSD_NAME, _KPTS_KEY: _KPTS_NAME}
_PHI = {"d0": 0, "d1": 1}
# Every image has its own size: the table models recognise images by size.
_SIZES = [(480, 640), (427, 640), (640, 480), (375, 500), (500, 375), (333, 500), (612, 612),
          (360, 640)]
_CATEGORIES = [{"id": 1, "name": "person",
                "supercategory": "person"}, {"id": 3, "name": "car", "supercategory": "vehicle"},
               {"id": 18, "name": "dog", "supercategory": "animal"},
               {"id": 44, "name": "bottle", "supercategory": "kitchen"},
               {"id": 62, "name": "chair", "supercategory": "furniture"}]
_BOX_SIZES = [(20.0, 25.0), (60.0, 50.0), (200.0, 150.0), (35.0, 40.0)]  # small..large
# How far each model is from the ground truth: (box jitter, wrong-class rate, false positives).
_QUALITY = {
    "d0": (0.25, 0.35, 4), "d1": (0.04, 0.05, 1), _SSD_KEY: (0.15, 0.2, 6), _KPTS_KEY: (0.1, 0.1, 2)
}
_REPORT_PNGS = ("overall_vs_phi.png", "accuracy_vs_speed.png", "per_category_heatmap.png",
                "per_category_small_multiples.png", "selected_categories.png")
_REPORT_CSVS = ("models_stats.csv", "category_ap_by_model.csv", "per_category_all_models.csv")
_CLEARML_ENV = ("CLEARML_API_HOST", "CLEARML_API_ACCESS_KEY", "CLEARML_API_SECRET_KEY",
                "CLEARML_AUTH_TOKEN", "CLEARML_CONFIG_FILE", "TRAINS_CONFIG_FILE",
                "CLEARML_WEB_HOST", "CLEARML_FILES_HOST")
_PROXY_ENV = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy")


def _write_coco(root, rng):
  """COCO val2017-like ground truth and JPEGs; returns (gt dict, gt path, image dir)."""
  image_dir = os.path.join(root, "val2017")
  os.makedirs(image_dir)
  images, annotations = [], []
  for index, (h, w) in enumerate(_SIZES):
    image_id = 139 + 1000 * index
    name = f"{image_id:012d}.jpg"
    # A real photo-like JPEG: a gradient with noise and the objects drawn in.
    yy, xx = np.mgrid[0:h, 0:w]
    pixels = np.stack([xx * 255 // w, yy * 255 // h, (xx + yy) * 127 // (w + h)], -1)
    pixels = np.clip(pixels + rng.normal(0, 12, pixels.shape), 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    draw = ImageDraw.Draw(image)
    for k in range(2 + index % 3):
      bw, bh = _BOX_SIZES[(index + k) % len(_BOX_SIZES)]
      x, y = float(rng.integers(0, w - bw)), float(rng.integers(0, h - bh))
      draw.rectangle([x, y, x + bw, y + bh], fill=tuple(int(v) for v in rng.integers(0, 255, 3)))
      annotations.append({
          "id": len(annotations) + 1, "image_id": image_id, "bbox": [x, y, bw, bh],
          "area": 0.7 * bw * bh, "iscrowd": 0, "category_id": _CATEGORIES[
              (2 * index + k) % len(_CATEGORIES)]["id"],
          "segmentation": [[x, y, x + bw, y, x + bw, y + bh, x, y + bh]]
      })
    image.save(os.path.join(image_dir, name), quality=90)
    images.append({
        "id": image_id, "file_name": name, "height": h, "width": w, "license": 1,
        "coco_url": f"http://images.cocodataset.org/val2017/{name}"
    })
  gt = {
      "info": {"description": "test subset"}, "licenses": [{"id": 1, "name": "test"}],
      "images": images, "annotations": annotations, "categories": _CATEGORIES
  }
  gt_path = os.path.join(root, "instances_val2017.json")
  with open(gt_path, "w") as f:
    json.dump(gt, f)
  return gt, gt_path, image_dir


def _person_keypoints(gt, rng):
  """COCO's person_keypoints_val2017.json for the test images: 17 keypoints per person."""
  names = [f"kp{i}" for i in range(17)]
  annotations = []
  for a in gt["annotations"]:
    if a["category_id"] != 1:
      continue
    x, y, bw, bh = a["bbox"]
    visibility = rng.choice([0, 1, 2], 17, p=[0.2, 0.2, 0.6])
    points = [(x + rng.uniform(0, bw), y + rng.uniform(0, bh)) for _ in range(17)]
    annotations.append({
        **a, "keypoints": [
            v for (px, py), vis in zip(points, visibility) for v in (float(px), float(py), int(vis))
        ], "num_keypoints": int(np.count_nonzero(visibility))
    })
  return {
      "images": gt["images"], "annotations": annotations,
      "categories": [{**_CATEGORIES[0], "keypoints": names, "skeleton": [[1, 2]]}]
  }


def _perturbed_table(gt, rng, jitter, wrong_rate, false_positives, keypoints=None):
  """keypoints: a person_keypoints dataset; the model then also returns keypoints (near the
  true ones for a detection made from a person annotation, zeros otherwise)."""
  table = {}
  ids = [c["id"] for c in _CATEGORIES]
  truth = {
      a["id"]: np.asarray(a["keypoints"], np.float64).reshape(17, 3)[:, :2]
      for a in (keypoints or {}).get("annotations", [])
  }
  for im in gt["images"]:
    h, w = im["height"], im["width"]
    boxes, scores, classes, points = [], [], [], []
    for a in gt["annotations"]:
      if a["image_id"] != im["id"]:
        continue
      x, y, bw, bh = a["bbox"]
      for _ in range(2):
        nx = np.clip(x + rng.normal(0, jitter * bw), 0, w - 2)
        ny = np.clip(y + rng.normal(0, jitter * bh), 0, h - 2)
        nw = min(bw * rng.uniform(1 - jitter, 1 + jitter), w - nx)
        nh = min(bh * rng.uniform(1 - jitter, 1 + jitter), h - ny)
        boxes.append([nx, ny, nw, nh])
        scores.append(rng.uniform(0.3, 1.0))
        classes.append(a["category_id"] if rng.random() >= wrong_rate else rng.choice(ids))
        moved = truth.get(a["id"], np.zeros([17, 2])) + rng.normal(0, jitter * 10, (17, 2))
        points.append(np.stack([moved[:, 1] / h, moved[:, 0] / w], axis=1))
    for _ in range(false_positives):
      bw, bh = rng.uniform(10, w / 3), rng.uniform(10, h / 3)
      boxes.append([rng.uniform(0, w - bw), rng.uniform(0, h - bh), bw, bh])
      scores.append(rng.uniform(0.05, 0.9))
      classes.append(rng.choice(ids))
      points.append(np.zeros([17, 2]))
    order = np.argsort(-np.asarray(scores), kind="stable")
    table[(h, w)] = fake_models.ImageDetections(
        boxes=np.array([[b[1] / h, b[0] / w, (b[1] + b[3]) / h, (b[0] + b[2]) / w]
                        for b in (boxes[i] for i in order)]),
        scores=np.asarray(scores, np.float32)[order], classes=np.asarray(classes)[order],
        keypoints=np.asarray(points, np.float32)[order] if keypoints else None)
  return table


def _zip(path, files):
  """files: {member name: source path}."""
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
    for member, source in files.items():
      z.write(source, member)


class _Handler(http.server.SimpleHTTPRequestHandler):
  """Serves the test tree; /stall/... sends headers and a little data, then goes silent."""

  stop = threading.Event()

  def do_GET(self):  # pylint: disable=invalid-name
    if self.path.startswith("/stall/"):
      self.send_response(200)
      self.send_header("Content-Length", str(10 << 20))
      self.end_headers()
      self.wfile.write(b"x" * 1024)
      self.wfile.flush()
      self.stop.wait(120)  # never more data: the client must time out
      return
    super().do_GET()

  def log_message(self, *args):  # quiet
    pass


def _pycocotools_stats(gt_path, detections_path):
  gt = COCO(gt_path)
  e = COCOeval(gt, gt.loadRes(detections_path), "bbox")
  e.evaluate()
  e.accumulate()
  e.summarize()
  return [float(v) for v in e.stats]


def _events(session_folder):
  events = []
  with open(os.path.join(session_folder, "metrics.jsonl")) as f:
    for line in f:
      if line.strip():
        events.extend(json.loads(line))
  return events


def _files_under(root):
  return sorted(
      os.path.relpath(os.path.join(d, n), root) for d, _, names in os.walk(root) for n in names)


class AllEfficientDetTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.root = tempfile.mkdtemp(dir=absltest.get_default_test_tmpdir())
    rng = np.random.default_rng(7)
    serve = os.path.join(cls.root, "serve")
    work = os.path.join(cls.root, "work")
    cls.gt, cls.gt_path, image_dir = _write_coco(os.path.join(work, "coco"), rng)
    _zip(os.path.join(serve, "coco", "zips", "val2017.zip"),
         {f"val2017/{n}": os.path.join(image_dir, n) for n in sorted(os.listdir(image_dir))})
    keypoint_rng = np.random.default_rng(11)  # its own: the other models' tables stay the same
    cls.person_keypoints = _person_keypoints(cls.gt, keypoint_rng)
    keypoints_path = os.path.join(work, "coco", "person_keypoints_val2017.json")
    with open(keypoints_path, "w") as f:
      json.dump(cls.person_keypoints, f)
    _zip(
        os.path.join(serve, "coco", "annotations", "annotations_trainval2017.zip"), {
            "annotations/instances_val2017.json": cls.gt_path,
            "annotations/person_keypoints_val2017.json": keypoints_path
        })
    for key, name in _ALL_NAMES.items():
      if key == _KPTS_KEY:
        table = _perturbed_table(cls.gt, keypoint_rng, *_QUALITY[key],
                                 keypoints=cls.person_keypoints)
      else:
        table = _perturbed_table(cls.gt, rng, *_QUALITY[key])
      model_dir = fake_models.save_table_model(os.path.join(work, "models", name), table)
      shutil.copy(_CONFIG, os.path.join(model_dir, "pipeline.config"))  # a real config
      tarball = os.path.join(serve, "zoo", _RELEASE, f"{name}.tar.gz")
      os.makedirs(os.path.dirname(tarball), exist_ok=True)
      with tarfile.open(tarball, "w:gz") as tar:
        tar.add(model_dir, arcname=name)
      if key == "d0":  # a mirror that lacks D1: its tarball 404s
        partial = os.path.join(serve, "zoo_without_d1", _RELEASE, f"{name}.tar.gz")
        os.makedirs(os.path.dirname(partial))
        shutil.copy(tarball, partial)

    handler = lambda *a, **k: _Handler(*a, directory=serve, **k)
    cls.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    cls.server.daemon_threads = True
    cls.thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
    cls.thread.start()
    cls.base = f"http://127.0.0.1:{cls.server.server_address[1]}"
    with socket.socket() as s:  # a loopback port nobody listens on
      s.bind(("127.0.0.1", 0))
      cls.closed_port = s.getsockname()[1]

  @classmethod
  def tearDownClass(cls):
    _Handler.stop.set()
    cls.server.shutdown()
    cls.server.server_close()
    super().tearDownClass()

  def run_sweep(self, name, *args, kill_at=None, zoo="zoo", coco="coco", check=True, timeout=240,
                binary=None, models="d0,d1"):
    """Runs the binary with its own output and cache folders under `name`."""
    base = os.path.join(self.root, name)
    env = {k: v for k, v in os.environ.items() if k not in _CLEARML_ENV + _PROXY_ENV}
    env.update(HOME=os.path.join(base, "home"), CLEARML_OFFLINE_MODE="1",
               CLEARML_CACHE_DIR=os.path.join(base, "clearml"),
               MPLCONFIGDIR=os.path.join(base, "mpl"), XDG_CACHE_HOME=os.path.join(base, "xdg"))
    # Loopback only. Task.init's repository detection asks https://updates.clear.ml for a newer
    # SDK even offline: that request goes to a dead proxy on 127.0.0.1 instead of the internet
    # (no DNS lookup either); the test server is reached directly.
    dead_proxy = f"http://127.0.0.1:{self.closed_port}"
    env.update({name: dead_proxy for name in _PROXY_ENV if "ALL" not in name.upper()})
    env.update(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    os.makedirs(env["HOME"], exist_ok=True)
    start = time.monotonic()
    binary = binary or ([_KILL_AT_BINARY, f"--kill_at={kill_at}"] if kill_at else [_BINARY])
    proc = subprocess.run([
        *binary, f"--models={models}", f"--zoo_base_url={self.base}/{zoo}",
        f"--coco_base_url={self.base}/{coco}", f"--cache_dir={base}/cache",
        f"--output_dir={base}/out", *args
    ], capture_output=True, text=True, env=env, timeout=timeout)
    proc.seconds = time.monotonic() - start
    if check:
      self.assertEqual(proc.returncode, 0, proc.stderr[-5000:])
    return proc, os.path.join(base, "out")

  def read_json(self, *parts):
    with open(os.path.join(*parts)) as f:
      return json.load(f)

  def assert_no_partial_files(self, out):
    for path in _files_under(out):
      self.assertFalse(path.endswith((".tmp", ".partial")), path)

  def assert_matches_pycocotools(self, out, key):
    model_out = os.path.join(out, _ALL_NAMES[key])
    metrics = self.read_json(model_out, "metrics.json")
    expected = _pycocotools_stats(self.gt_path, os.path.join(model_out, "detections.json"))
    self.assertEqual(metrics["stats"], expected, key)
    self.assertEqual(metrics["metrics"]["DetectionBoxes_Precision/mAP"], expected[0])
    self.assertEqual(metrics["params"]["num_images"], len(_SIZES))
    self.assertIn("DetectionBoxes_Recall/AR@100 (small) ByCategory/dog", metrics["metrics"])
    with open(os.path.join(model_out, "per_category.csv")) as f:
      self.assertLen(f.read().splitlines(), 1 + len(_CATEGORIES))
    return metrics

  def test_sweep_killed_mid_model_resumes_and_reports(self):
    # Run 1: SIGKILLed in the middle of D1 (its detections written, not yet evaluated).
    # One worker in this process: the models run in order (the Ray path is tested below).
    # Without the error analysis: run 2 adds D0's to its reused results.
    proc, out = self.run_sweep("main", "--num_workers=1", "--noanalysis",
                               kill_at="inference_done:d1", check=False)
    self.assertEqual(proc.returncode, -signal.SIGKILL, proc.stderr[-5000:])
    self.assertIn("model 1/2 (efficientdet_d0_coco17_tpu-32)", proc.stderr)
    self.assertIn("model 2/2 (efficientdet_d1_coco17_tpu-32)", proc.stderr)
    d0, d1 = (os.path.join(out, _NAMES[k]) for k in ("d0", "d1"))
    self.assertTrue(os.path.isfile(os.path.join(d0, "metrics.json")))
    self.assertTrue(os.path.isfile(os.path.join(d0, "clearml.json")))
    self.assertFalse(os.path.exists(os.path.join(d0, "analysis")))
    self.assertTrue(os.path.isfile(os.path.join(d1, "detections.json")))
    self.assertFalse(os.path.exists(os.path.join(d1, "metrics.json")))
    self.assertFalse(os.path.exists(os.path.join(out, "report")))
    self.assert_no_partial_files(out)
    before = {
        n: os.stat(os.path.join(d0, n)).st_mtime_ns
        for n in ("metrics.json", "detections.json", "per_category.csv", "clearml.json")
    }
    with open(os.path.join(d0, "detections.json")) as f:
      d0_detections = f.read()
    d0_clearml = self.read_json(d0, "clearml.json")

    # Run 2: D0 is reused as it is, D1 picks up its detections and finishes.
    proc, out = self.run_sweep("main", "--num_workers=1")
    self.assertRegex(proc.stderr, r"model 1/2 \(efficientdet_d0_coco17_tpu-32\): reused")
    self.assertIn("ClearML task already logged", proc.stderr)
    self.assertIn("detection cache hit", proc.stderr)
    self.assertNotIn("inference: 8/8 images", proc.stderr)  # neither model ran again
    after = {n: os.stat(os.path.join(d0, n)).st_mtime_ns for n in before}
    self.assertEqual(after, before)
    with open(os.path.join(d0, "detections.json")) as f:
      self.assertEqual(f.read(), d0_detections)
    self.assertEqual(self.read_json(d0, "clearml.json"), d0_clearml)
    self.assert_no_partial_files(out)
    # The error analysis: added to D0's reused results (from its detections.json), written
    # with D1's; both of their own runs (TIDE's AP per category is each category's AP50).
    self.assertRegex(
        proc.stderr, r"model 1/2 \(efficientdet_d0_coco17_tpu-32\): error analysis "
        "added to the reused results")
    for model_out in (d0, d1):
      analysis = self.read_json(model_out, "analysis", "analysis.json")
      ap50 = {
          c["id"]: c["stats"][1] for c in self.read_json(model_out, "metrics.json")["per_category"]
      }
      for c in analysis["tide"]["per_category"]:
        if ap50.get(c["id"], -1) >= 0:
          self.assertAlmostEqual(c["ap"], ap50[c["id"]], delta=0.01)

    # Statistics: pycocotools on each model's own detections is the oracle.
    m0 = self.assert_matches_pycocotools(out, "d0")
    m1 = self.assert_matches_pycocotools(out, "d1")
    self.assertGreater(m1["stats"][0], m0["stats"][0] + 0.05)  # D1 is the better model
    self.assertEqual(m1["sweep"]["model"], _NAMES["d1"])

    # Summary table: one row per model with its status and AP in percent.
    rows = {
        line.split()[0]: line.split() for line in proc.stdout.splitlines()
        if line.startswith("efficientdet_")
    }
    self.assertEqual(rows[_NAMES["d0"]][1], "reused")
    self.assertEqual(rows[_NAMES["d1"]][1], "done")
    self.assertEqual(rows[_NAMES["d1"]][2], f"{m1['stats'][0] * 100:.1f}")

    # ClearML: one offline task per model (D0's from run 1) with the TF OD API scalars.
    for key, metrics in (("d0", m0), ("d1", m1)):
      record = self.read_json(out, _NAMES[key], "clearml.json")
      self.assertTrue(record["offline"])
      self.assertTrue(os.path.isfile(record["session_zip"]), record)
      self.assertIn("--import-offline-session", record["upload_command"])
      scalars = {(e["metric"], e["variant"]): e["value"] for e in _events(record["session_folder"])
                 if e["type"] == "training_stats_scalar"}
      self.assertEqual(scalars[("DetectionBoxes_Precision", "mAP")], metrics["stats"][0])
      self.assertEqual(scalars[("DetectionBoxes_Recall", "AR@100")], metrics["stats"][8])
      task = self.read_json(record["session_folder"], "task.json")
      self.assertEqual(task["name"], _NAMES[key])
      if key == "d1":  # logged after its analysis (D0's task was logged in run 1, without)
        plots = {e["metric"] for e in _events(record["session_folder"]) if e["type"] == "plot"}
        self.assertIn("TIDE errors", plots)
        self.assertIn("F1-optimal score thresholds", plots)
      self.assertIn("ssd_efficientnet-b0_bifpn_keras",
                    task["configuration"]["pipeline.config"]["value"])
      self.assertRegex(task["hyperparams"]["TF_DEFINE"]["models"]["value"], r"d0.*d1")
    self.assertIn(self.read_json(out, _NAMES["d1"], "clearml.json")["session_zip"],
                  proc.stdout)  # where the new session is, and how to upload it
    self.assertIn("clearml-task --import-offline-session", proc.stdout)

    # The comparison task: mAP vs the compound scaling factor, x = phi.
    comparison = self.read_json(out, "report", "clearml_comparison.json")
    plots = {(e["metric"], e["variant"]): json.loads(e["plot_str"])
             for e in _events(comparison["session_folder"]) if e["type"] == "plot"}
    measured = plots[("mAP vs compound scaling factor", "measured")]["data"][0]
    self.assertEqual(measured["x"], [0, 1])
    self.assertEqual(measured["y"], [m0["stats"][0], m1["stats"][0]])
    per_category = [v for (m, v) in plots if m == "per-category mAP vs scaling factor"]
    self.assertCountEqual(per_category, [c["name"] for c in _CATEGORIES])
    self.assertIn(("models x statistics", "bbox"), plots)

    # The local report.
    report = os.path.join(out, "report")
    for name in ("index.html",) + _REPORT_PNGS + _REPORT_CSVS:
      self.assertGreater(os.path.getsize(os.path.join(report, name)), 0, name)
    with open(os.path.join(report, "models_stats.csv")) as f:
      models = list(csv.DictReader(f))
    self.assertLen(models, 2)
    with open(os.path.join(report, "index.html")) as f:
      page = f.read()
    self.assertIn(_NAMES["d1"], page)
    self.assertNotRegex(page, r"(src|href)=\"https?://")

    # Why AP is lost: the paired bootstrap of D0 -> D1 (cached in OUT/comparison/) in the
    # report, the comparison task and the summary.
    pair = self.read_json(out, "comparison", f"{_NAMES['d0']}__{_NAMES['d1']}.json")
    ap = pair["stats"][0]
    self.assertEqual((ap["name"], ap["a"], ap["b"]), ("AP", m0["stats"][0], m1["stats"][0]))
    self.assertAlmostEqual(ap["delta"], m1["stats"][0] - m0["stats"][0], places=12)
    self.assertEqual(ap["significant"], not ap["lo"] <= 0 <= ap["hi"])
    self.assertEqual(pair["n_bootstrap"], 1000)
    for key in ("d0", "d1"):
      intervals = self.read_json(out, "comparison", f"{_NAMES[key]}.intervals.json")
      self.assertLessEqual(intervals["stats"][0]["lo"], intervals["stats"][0]["hi"])
    self.assertIn("<h2>Why AP is lost</h2>", page)
    self.assertIn("<tr><td>D0 -&gt; D1</td><td>AP</td>", page)
    self.assertIn(("consecutive models: significance", "bbox"), plots)
    self.assertRegex(
        proc.stdout, r"D0 -> D1: [+-]\d+\.\d\d \[[+-]\d+\.\d\d, [+-]\d+\.\d\d\] "
        r"(significant|not significant)")

    # Run 3: nothing left to do; no new task, comparison not logged again.
    proc, _ = self.run_sweep("main", "--num_workers=1")
    self.assertRegex(proc.stderr, r"model 2/2 \(efficientdet_d1_coco17_tpu-32\): reused")
    self.assertIn("comparison of these 2 models already logged", proc.stderr)
    self.assertEqual(self.read_json(out, "report", "clearml_comparison.json"), comparison)

  def test_sweep_on_two_ray_workers_equals_one_process(self):
    # Two one-thread Ray workers (a local Ray on 127.0.0.1), one shard of 4 images each, both
    # models at once; then the same sweep with one worker and no Ray.
    ray_proc, ray_out = self.run_sweep("ray", "--noclearml", "--num_workers=2",
                                       "--tf_threads_per_worker=1", "--shard_size=4")
    self.assertIn("on 2 workers", ray_proc.stderr)
    one_proc, one_out = self.run_sweep("one", "--noclearml", "--num_workers=1")
    self.assertNotIn("Ray at", one_proc.stderr)
    for key in ("d0", "d1"):
      ray_metrics = self.assert_matches_pycocotools(ray_out, key)
      one_metrics = self.assert_matches_pycocotools(one_out, key)
      self.assertEqual(ray_metrics["stats"], one_metrics["stats"])
      self.assertEqual(ray_metrics["per_category"], one_metrics["per_category"])
      with open(os.path.join(ray_out, _NAMES[key], "detections.json")) as f:
        ray_detections = json.load(f)
      with open(os.path.join(one_out, _NAMES[key], "detections.json")) as f:
        self.assertEqual(ray_detections, json.load(f))
      speed = ray_metrics["speed"]
      self.assertEqual(speed["mode"], "ray")
      self.assertEqual(speed["tf_threads_per_worker"], 1)
      self.assertGreater(speed["latency_ms"]["p50"], 0)
      self.assertEqual(one_metrics["speed"]["mode"], "in_process")
    self.assert_no_partial_files(ray_out)
    # AP against the latency measured by the workers, beside the zoo's published speeds.
    self.assertTrue(
        os.path.isfile(os.path.join(ray_out, "report", "accuracy_vs_measured_latency.png")))
    self.assertIn("From the latencies measured on this run's workers:", ray_proc.stdout)

  def test_sweep_on_a_two_node_cluster(self):
    # A real 2-node Ray cluster (a head and a second raylet, both on 127.0.0.1) started here;
    # the binary joins it with --ray_address and runs both models' shards on its workers.
    ray_tmp = ray_fixtures.set_ray_environment()
    node_args = {"num_cpus": 1, "object_store_memory": 80 * 1024 * 1024}
    ray_cluster = cluster_utils.Cluster(initialize_head=True,
                                        head_node_args={**node_args, "include_dashboard": False})
    try:
      ray_cluster.add_node(**node_args)
      ray_cluster.wait_for_nodes()
      proc, out = self.run_sweep("cluster", "--noclearml", f"--ray_address={ray_cluster.address}",
                                 "--shard_size=4")
    finally:
      ray_cluster.shutdown()
      ray_fixtures.remove_ray_tmpdir(ray_tmp)
    self.assertRegex(proc.stderr, r"2 workers ready in .* on Ray at 127\.0\.0\.1:\d+")
    for key in ("d0", "d1"):
      speed = self.assert_matches_pycocotools(out, key)["speed"]
      self.assertEqual(speed["mode"], "ray")
      # Two one-CPU workers on two one-CPU nodes: one worker on each node.
      self.assertEqual(speed["pool_workers"], 2)
      self.assertEqual(speed["tf_threads_per_worker"], 1)
      self.assertEqual(speed["shards"]["total"], 2)
    self.assert_no_partial_files(out)

  def test_evaluate_zoo_runs_models_of_any_family(self):
    # //eval:evaluate_zoo: an SSD and an EfficientDet (no common scaling factor) compared along
    # the zoo's published speed (SSD 19 ms, D1 54 ms), with the same machinery and outputs.
    proc, out = self.run_sweep("zoo", "--num_workers=1", binary=[_ZOO_BINARY],
                               models=f"{_SSD_KEY},d1")
    stats = [self.assert_matches_pycocotools(out, key)["stats"] for key in (_SSD_KEY, "d1")]
    self.assertIn(f"model 1/2 ({_SSD_NAME})", proc.stderr)
    with open(os.path.join(out, "report", "index.html")) as f:
      page = f.read()
    self.assertIn("TF2 zoo models on COCO: accuracy vs speed", page)
    self.assertIn("Overall statistics vs published speed rank", page)
    with open(os.path.join(out, "report", "models_stats.csv")) as f:
      rows = list(csv.DictReader(f))
    self.assertEqual([r["model"] for r in rows], [_SSD_KEY, "d1"])  # fastest first
    self.assertEqual([r["phi"] for r in rows], ["", "1"])
    comparison = self.read_json(out, "report", "clearml_comparison.json")
    self.assertEqual(comparison["task_name"], "zoo_comparison")
    plots = {(e["metric"], e["variant"]): json.loads(e["plot_str"])
             for e in _events(comparison["session_folder"]) if e["type"] == "plot"}
    measured = plots[("mAP vs published speed rank", "measured")]["data"][0]
    self.assertEqual(measured["x"], [1, 2])
    self.assertEqual(measured["y"], [stats[0][0], stats[1][0]])
    self.assert_no_partial_files(out)
    # An unknown key is a usage error listing the known ones; nothing runs.
    proc, _ = self.run_sweep("zoo_bad", binary=[_ZOO_BINARY], models="d0,nope", check=False)
    self.assertEqual(proc.returncode, 1)
    self.assertIn("unknown zoo model 'nope'; known keys: d0, d1", proc.stderr)

  def test_evaluate_zoo_scores_a_keypoint_model_on_boxes_and_keypoints(self):
    # The sweep takes COCO's person keypoints too when a model has keypoint outputs; a model
    # finished on the instances alone is reused (its results do not depend on keypoints).
    proc, out = self.run_sweep("kpts", "--noclearml", "--num_workers=1", binary=[_ZOO_BINARY],
                               models=_SSD_KEY)
    self.assertNotIn("with the person keypoints", proc.stderr)
    proc, out = self.run_sweep("kpts", "--noclearml", "--num_workers=1", binary=[_ZOO_BINARY],
                               models=f"{_SSD_KEY},{_KPTS_KEY}")
    self.assertIn("with the person keypoints", proc.stderr)
    self.assertRegex(proc.stderr, rf"model 1/2 \({_SSD_NAME}\): reused")
    self.assertEqual(self.read_json(out, _SSD_NAME, "metrics.json")["iou_types"], ["bbox"])
    metrics = self.read_json(out, _KPTS_NAME, "metrics.json")
    self.assertEqual(metrics["iou_types"], ["bbox", "keypoints"])
    merged = metrics["annotations"]
    self.assertRegex(os.path.basename(merged), r"instances_val2017_with_person_keypoints_")
    # Boxes: as on instances_val2017.json alone; keypoints: pycocotools on the merged file.
    detections = os.path.join(out, _KPTS_NAME, "detections.json")
    self.assertEqual(metrics["stats"], _pycocotools_stats(self.gt_path, detections))
    gt = COCO(merged)
    with open(detections) as f:
      results = [d for d in json.load(f) if "keypoints" in d]
    e = COCOeval(gt, gt.loadRes(results), "keypoints")
    e.params.catIds = [1]
    e.evaluate()
    e.accumulate()
    e.summarize()
    self.assertEqual(metrics["keypoints"]["stats"], [float(v) for v in e.stats])
    self.assertGreater(metrics["keypoints"]["stats"][0], 0.0)
    self.assertIn("Keypoints_Precision/mAP ByCategory/person", metrics["metrics"])

  def test_one_model_failing_leaves_the_others_done(self):
    proc, out = self.run_sweep("failing", "--noclearml", zoo="zoo_without_d1", check=False)
    self.assertEqual(proc.returncode, 1, proc.stderr[-5000:])
    url = f"{self.base}/zoo_without_d1/{_RELEASE}/{_NAMES['d1']}.tar.gz"
    self.assertIn(f"model 2/2 ({_NAMES['d1']}) FAILED", proc.stderr)
    self.assertIn(url, proc.stderr)
    self.assertIn("Traceback", proc.stderr)
    self.assertIn("1 of 2 model(s) failed", proc.stderr)
    rows = {
        line.split()[0]: line.split() for line in proc.stdout.splitlines()
        if line.startswith("efficientdet_")
    }
    self.assertEqual(rows[_NAMES["d0"]][1], "done")
    self.assertEqual(rows[_NAMES["d1"]][1], "FAILED")
    self.assert_matches_pycocotools(out, "d0")
    self.assertFalse(os.path.exists(os.path.join(out, _NAMES["d1"], "metrics.json")))
    self.assertFalse(os.path.exists(os.path.join(out, _NAMES["d0"], "clearml.json")))
    with open(os.path.join(out, "report", "models_stats.csv")) as f:
      self.assertLen(list(csv.DictReader(f)), 1)
    self.assert_no_partial_files(out)

  def test_stalled_coco_server_fails_clearly_in_bounded_time(self):
    proc, out = self.run_sweep("stalled", "--noclearml", "--download_timeout=1",
                               "--download_retries=1", coco="stall/coco", check=False, timeout=150)
    self.assertNotEqual(proc.returncode, 0)
    self.assertLess(proc.seconds, 120)
    self.assertIn("COCO 2017 val is not available", proc.stderr)
    self.assertIn(f"{self.base}/stall/coco/annotations/annotations_trainval2017.zip", proc.stderr)
    self.assertIn("timed out", proc.stderr)
    self.assertIn("--coco_base_url", proc.stderr)  # how to use a mirror or local copies
    self.assertFalse([p for p in _files_under(out)
                      if p.endswith("metrics.json")] if os.path.isdir(out) else [])
    self.assertFalse(re.search(r"model \d/2 .*(done|reused)", proc.stderr))


if __name__ == "__main__":
  absltest.main()
