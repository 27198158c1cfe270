"""//eval:evaluate_model interrupted in the middle of inference (SIGKILL, SIGINT), then rerun
into the same output folder, with a real TensorFlow SavedModel.

While the run goes, the output folder is watched: a metrics.json, detections.json or shard
file that exists is complete JSON, and metrics.json never exists without detections.json.
After the interruption nothing but finished shards is left (no metrics.json, no
detections.json, no temporary file), the output lock does not block the rerun, and the rerun
(which resumes from the finished shards) gives the detections and metrics of an
uninterrupted run. SIGINT exits non-zero with one short line, no traceback.

The run is slowed by worker.TEST_IMAGE_DELAY_ENV (each shard waits before it runs, in this
process as on Ray workers), so the interruption lands between two shards' inference.
"""
import glob
import json
import os
import signal
import subprocess
import time

from absl.testing import absltest
import numpy as np
from PIL import Image

from eval.model.testing import fake_models

_BINARY = os.path.join(os.path.dirname(__file__), "evaluate_model")
_DELAY_ENV = "DETECTOR_EVAL_TEST_IMAGE_DELAY"  # eval/distributed/worker.py
_SIZES = [(48, 64), (72, 40), (30, 50), (36, 36), (60, 80), (50, 30), (40, 41)]  # (h, w)
_SHARD_FLAGS = ["--shard_size=2", "--num_workers=1"]  # 4 shards, in this process
_OUTPUTS = ("detections.json", "metrics.json", "per_category.csv")


def _write_data(root: str, rng) -> tuple[str, str, dict]:
  """Images, their ground truth, and a model table that gets some right and some wrong."""
  image_dir = os.path.join(root, "images")
  os.makedirs(image_dir)
  images, annotations, table = [], [], {}
  for index, (h, w) in enumerate(_SIZES):
    name = f"{index}.png"
    Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(f"{image_dir}/{name}")
    images.append({"id": 10 + index, "file_name": name, "height": h, "width": w})
    boxes, scores, classes = [], [], []
    for k in range(2):
      bw, bh = w // (2 + k), h // (3 - k)
      x, y = float(rng.integers(0, w - bw)), float(rng.integers(0, h - bh))
      category = 1 + (index + k) % 3
      annotations.append({
          "id": len(annotations) + 1, "image_id": 10 + index, "category_id": category,
          "bbox": [x, y, bw, bh], "area": float(bw * bh), "iscrowd": 0
      })
      dx, dy = rng.normal(0, 0.1 * bw), rng.normal(0, 0.1 * bh)
      boxes.append([(y + dy) / h, (x + dx) / w, (y + dy + bh) / h, (x + dx + bw) / w])
      scores.append(rng.uniform(0.2, 1.0))
      classes.append(category if rng.random() < 0.8 else 3)
    order = np.argsort(-np.asarray(scores), kind="stable")
    table[(h, w)] = fake_models.ImageDetections(boxes=np.clip(np.asarray(boxes)[order], 0,
                                                              1), scores=np.asarray(scores)[order],
                                                classes=np.asarray(classes)[order])
  gt = {
      "images": images, "annotations": annotations,
      "categories": [{"id": i, "name": n} for i, n in ((1, "a"), (2, "b"), (3, "c"))]
  }
  gt_path = os.path.join(root, "gt.json")
  with open(gt_path, "w") as f:
    json.dump(gt, f)
  return gt_path, image_dir, table


def _read(path: str):
  with open(path) as f:
    return json.load(f)


class EvaluateModelSignalTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    root = absltest.get_default_test_tmpdir()
    cls.gt_path, cls.image_dir, table = _write_data(os.path.join(root, "data"),
                                                    np.random.default_rng(3))
    cls.model = fake_models.save_table_model(os.path.join(root, "model"), table)
    cls.reference = os.path.join(root, "reference")
    proc = subprocess.run(cls.command(cls.reference), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]

  @classmethod
  def command(cls, out: str) -> list[str]:
    return [
        _BINARY, f"--model_dir={cls.model}", f"--annotations={cls.gt_path}",
        f"--image_dir={cls.image_dir}", f"--output_dir={out}", *_SHARD_FLAGS
    ]

  def assert_consistent(self, out: str) -> None:
    """Whatever is in OUT now is complete; metrics.json only beside detections.json."""
    names = set(os.listdir(out)) if os.path.isdir(out) else set()
    if "metrics.json" in names:
      self.assertIn("detections.json", names)
    paths = [os.path.join(out, n) for n in names & {"metrics.json", "detections.json"}]
    for path in paths + glob.glob(os.path.join(out, "shards", "*.json")):
      try:
        _read(path)
      except FileNotFoundError:  # a shard file removed once detections.json is written
        pass

  def interrupt(self, sig: int) -> tuple[subprocess.Popen, str, str]:
    """Runs the binary slowed down, sends `sig` once the first shard is saved; returns the
    process (exited), its stderr and OUT."""
    out = self.create_tempdir().full_path
    env = {**os.environ, _DELAY_ENV: "1.5"}  # each shard of 2 images waits 3 s
    proc = subprocess.Popen(self.command(out), env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    try:
      while not glob.glob(os.path.join(out, "shards", "*.json")):
        self.assertIsNone(proc.poll(), "the run ended before its first shard was saved")
        self.assertLess(time.monotonic(), deadline, "no shard saved in 240 s")
        self.assert_consistent(out)
        time.sleep(0.02)
      self.assertNotIn("detections.json", os.listdir(out))  # in the middle of inference
      proc.send_signal(sig)
      _, stderr = proc.communicate(timeout=60)  # SIGINT must not hang either
    finally:
      if proc.poll() is None:
        proc.kill()
        proc.wait()
    # Nothing half-written: finished shards and the (released) lock file only.
    self.assertEqual(sorted(os.listdir(out)), [".lock", "shards"])
    shards = os.listdir(os.path.join(out, "shards"))
    self.assertNotEmpty(shards)
    self.assertEqual([n for n in shards if not n.endswith(".json")], [])
    self.assert_consistent(out)
    return proc, stderr, out

  def assert_rerun_equals_reference(self, out: str) -> None:
    proc = subprocess.Popen(self.command(out), stderr=subprocess.PIPE, text=True)
    while proc.poll() is None:  # watched as it writes its outputs
      self.assert_consistent(out)
      time.sleep(0.02)
    stderr = proc.stderr.read()
    proc.stderr.close()
    self.assertEqual(proc.returncode, 0, stderr[-3000:])
    self.assertRegex(stderr,
                     r"7 images in 4 shards: [123] to run, [123] finished in an earlier run")
    self.assertEqual(_read(f"{out}/detections.json"), _read(f"{self.reference}/detections.json"))
    metrics, reference = _read(f"{out}/metrics.json"), _read(f"{self.reference}/metrics.json")
    self.assertEqual(metrics["stats"], reference["stats"])
    self.assertEqual(metrics["metrics"], reference["metrics"])
    self.assertEqual(metrics["inference"]["num_images"], len(_SIZES))
    # Neither 0 nor 1: losing or doubling an image's detections would move it.
    self.assertBetween(reference["stats"][0], 0.05, 0.95)
    for name in _OUTPUTS:
      self.assertTrue(os.path.exists(os.path.join(out, name)), name)
    self.assertFalse(os.path.exists(os.path.join(out, "shards")))  # removed once complete

  def test_sigkill_mid_inference_then_rerun(self):
    proc, _, out = self.interrupt(signal.SIGKILL)
    self.assertEqual(proc.returncode, -signal.SIGKILL)
    self.assert_rerun_equals_reference(out)

  def test_sigint_mid_inference_exits_cleanly_then_rerun(self):
    proc, stderr, out = self.interrupt(signal.SIGINT)
    self.assertNotIn(proc.returncode, (0, None))
    self.assertNotIn("Traceback", stderr)
    last = stderr.strip().splitlines()[-1]
    self.assertRegex(last, r"^evaluate_model: interrupted")
    self.assertIn(out, last)  # says where the finished shards are kept
    self.assert_rerun_equals_reference(out)


if __name__ == "__main__":
  absltest.main()
