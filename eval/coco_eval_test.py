"""//eval:coco_eval end to end: outputs, relative paths, parameters and errors."""
import json
import os
import subprocess

from absl.testing import absltest
import numpy as np
from PIL import Image

_FIXTURES = os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "third_party", "coco_fixtures"))
_BINARY = os.path.join(os.path.dirname(__file__), "coco_eval")


def _run(*args, cwd=None):
  env = dict(os.environ)
  if cwd:
    env["BUILD_WORKING_DIRECTORY"] = cwd
  return subprocess.run([_BINARY, *args], capture_output=True, text=True, env=env)


class CocoEvalBinaryTest(absltest.TestCase):

  def setUp(self):
    super().setUp()
    self.out = self.create_tempdir().full_path
    with open(os.path.join(_FIXTURES, "expected_stats.json")) as f:
      self.expected = json.load(f)

  def test_writes_results_and_arrays_relative_to_the_callers_directory(self):
    proc = _run("--annotations=instances_val2014_100.json",
                "--detections=instances_val2014_fakebbox100_results.json",
                f"--output_json={self.out}/out.json", f"--arrays_npz={self.out}/arrays.npz",
                cwd=_FIXTURES)
    self.assertEqual(proc.returncode, 0, proc.stderr)
    self.assertIn("Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.505",
                  proc.stdout)
    self.assertIn("person", proc.stdout)
    with open(f"{self.out}/out.json") as f:
      out = json.load(f)
    self.assertEqual(out["stats"], self.expected["bbox"]["stats"])
    self.assertEqual(out["metrics"]["DetectionBoxes_Precision/mAP"], out["stats"][0])
    self.assertLen(out["per_category"], 80)
    person = next(c for c in out["per_category"] if c["name"] == "person")
    self.assertEqual(person["id"], 1)
    self.assertLen(person["stats"], 12)
    self.assertEqual(out["metrics"]["DetectionBoxes_Recall/AR@100 ByCategory/person"],
                     person["stats"][8])
    arrays = np.load(f"{self.out}/arrays.npz")
    self.assertEqual(arrays["precision"].shape, (10, 101, 80, 4, 3))
    self.assertEqual(arrays["recall"].shape, (10, 80, 4, 3))
    self.assertEqual(arrays["scores"].shape, (10, 101, 80, 4, 3))
    self.assertEqual([n for n in os.listdir(self.out) if n.endswith(".tmp")], [])

  def test_custom_parameters(self):
    proc = _run(
        f"--annotations={_FIXTURES}/instances_val2014_100.json",
        f"--detections={_FIXTURES}/instances_val2014_fakesegm100_results.json", "--iou_type=segm",
        "--area_ranges=all:0:1e10,nano:0:64,micro:64:256,"
        "small:256:1024,medium:1024:9216,large:9216:1e10", f"--output_json={self.out}/out.json",
        "--noper_category_table")
    self.assertEqual(proc.returncode, 0, proc.stderr)
    with open(f"{self.out}/out.json") as f:
      out = json.load(f)
    self.assertLen(out["stats"], 16)
    self.assertIn("DetectionMasks_Precision/mAP (nano)", out["metrics"])
    self.assertIn("DetectionMasks_Recall/AR@100 (micro)", out["metrics"])
    np.testing.assert_allclose(out["stats"], self.expected["custom_area_ranges"]["segm"],
                               rtol=1e-15)

  def test_without_categories_and_with_other_thresholds(self):
    proc = _run(f"--annotations={_FIXTURES}/instances_val2014_100.json",
                f"--detections={_FIXTURES}/instances_val2014_fakebbox100_results.json",
                "--nouse_cats", "--iou_thresholds=0.5,0.75", "--max_dets=5,50",
                f"--output_json={self.out}/out.json")
    self.assertEqual(proc.returncode, 0, proc.stderr)
    with open(f"{self.out}/out.json") as f:
      out = json.load(f)
    self.assertEqual(out["params"]["iouThrs"], [0.5, 0.75])
    self.assertEqual(out["per_category"], [])
    self.assertIn("DetectionBoxes_Recall/AR@50", out["metrics"])
    self.assertGreater(out["stats"][0], 0)

  def test_bad_input_is_a_clear_error(self):
    broken = os.path.join(self.out, "broken.json")
    with open(broken, "w") as f:
      f.write('[{"image_id": 42, "category_id": 18, "bbox": [1, 2, 3], "score": 0.5}]')
    proc = _run(f"--annotations={_FIXTURES}/instances_val2014_100.json", f"--detections={broken}",
                f"--output_json={self.out}/out.json")
    self.assertNotEqual(proc.returncode, 0)
    self.assertIn("broken.json", proc.stderr)
    self.assertIn("bbox", proc.stderr)
    self.assertNotIn("Traceback", proc.stderr)
    self.assertFalse(os.path.exists(f"{self.out}/out.json"))

  def _keypoint_files(self, num_keypoints):
    """Two people found exactly and one missed, as ground truth and results files."""
    gt = {
        "images": [{"id": 1, "width": 200, "height": 200}],
        "categories": [{"id": 1, "name": "person"}], "annotations": []
    }
    results = []
    for i in range(3):
      kp = [v for j in range(num_keypoints) for v in (10.0 + 60 * i + j, 20.0 + 3 * j, 2)]
      gt["annotations"].append({
          "id": i + 1, "image_id": 1, "category_id": 1, "bbox": [10 + 60 * i, 10, 50, 100],
          "area": 5000, "iscrowd": 0, "keypoints": kp, "num_keypoints": num_keypoints
      })
      if i < 2:
        results.append({"image_id": 1, "category_id": 1, "keypoints": kp, "score": 0.9 - i / 10})
    paths = (f"{self.out}/kp_gt.json", f"{self.out}/kp_results.json")
    for path, data in zip(paths, (gt, results)):
      with open(path, "w") as f:
        json.dump(data, f)
    return paths

  def test_keypoints(self):
    gt, results = self._keypoint_files(17)
    proc = _run(f"--annotations={gt}", f"--detections={results}", "--iou_type=keypoints",
                f"--output_json={self.out}/out.json")
    self.assertEqual(proc.returncode, 0, proc.stderr)
    self.assertIn("Average Recall     (AR) @[ IoU=0.50      | area=   all | maxDets= 20 ]",
                  proc.stdout)
    with open(f"{self.out}/out.json") as f:
      out = json.load(f)
    self.assertEqual(out["stat_names"], [
        "AP", "AP50", "AP75", "AP_medium", "AP_large", "AR", "AR50", "AR75", "AR_medium", "AR_large"
    ])
    self.assertAlmostEqual(out["stats"][5], 2 / 3)  # AR: two of three people
    self.assertEqual(out["metrics"]["Keypoints_Recall/AR@1 ByCategory/person"], out["stats"][5])
    self.assertEqual(out["metrics"]["Keypoints_Precision/mAP (large)"], -1.0)  # area 5000: medium
    self.assertEqual(out["params"]["maxDets"], [20])
    self.assertLen(out["per_category"][0]["stats"], 10)

  def test_keypoints_with_custom_sigmas(self):
    gt, results = self._keypoint_files(2)
    proc = _run(f"--annotations={gt}", f"--detections={results}", "--iou_type=keypoints",
                "--kpt_oks_sigmas=0.05,0.1", f"--output_json={self.out}/out.json")
    self.assertEqual(proc.returncode, 0, proc.stderr)
    with open(f"{self.out}/out.json") as f:
      self.assertAlmostEqual(json.load(f)["stats"][5], 2 / 3)
    proc = _run(f"--annotations={gt}", f"--detections={results}", "--iou_type=keypoints")
    self.assertNotEqual(proc.returncode, 0)
    self.assertIn("has 2 keypoints (kpt_oks_sigmas has 17)", proc.stderr)
    self.assertNotIn("Traceback", proc.stderr)


class CocoEvalOutputsAndFlagsTest(absltest.TestCase):

  def run_fixture(self, *args):
    return _run(f"--annotations={_FIXTURES}/instances_val2014_100.json",
                f"--detections={_FIXTURES}/instances_val2014_fakebbox100_results.json",
                "--noper_category_table", *args)

  def test_output_to_a_symlink_writes_its_target(self):
    out = self.create_tempdir().full_path
    os.symlink(f"{out}/real.json", f"{out}/link.json")
    proc = self.run_fixture(f"--output_json={out}/link.json")
    self.assertEqual(proc.returncode, 0, proc.stderr)
    self.assertTrue(os.path.islink(f"{out}/link.json"))
    with open(f"{out}/real.json") as f:
      self.assertEqual(json.load(f)["params"]["maxDets"], [1, 10, 100])

  def test_output_to_dev_stdout_prints_the_json(self):
    proc = self.run_fixture("--output_json=/dev/stdout")
    self.assertEqual(proc.returncode, 0, proc.stderr)
    start = proc.stdout.index("{")
    self.assertLen(json.loads(proc.stdout[start:])["stats"], 12)

  def test_unwritable_outputs_name_the_users_path(self):
    for path, message in (("/dev/full", "cannot write /dev/full: No space left"),
                          ("/proc/version", "cannot write /proc/version")):
      proc = self.run_fixture(f"--output_json={path}")
      self.assertEqual(proc.returncode, 1)
      self.assertIn(message, proc.stderr)
      self.assertNotIn("Traceback", proc.stderr)
      self.assertNotIn(".tmp", proc.stderr)
    self.assertFalse(os.path.isfile("/dev/full"))

  def test_bad_thresholds_are_refused(self):
    for flag, message in (("--iou_thresholds=1.5,-0.2", "numbers in (0, 1]"),
                          ("--iou_thresholds=half", "numbers in (0, 1]"), ("--max_dets=0,10",
                                                                           "positive integers")):
      proc = self.run_fixture(flag)
      self.assertNotEqual(proc.returncode, 0)
      self.assertIn(message, proc.stderr)


class CocoEvalAnalysisTest(absltest.TestCase):

  def run_fixture(self, *args):
    return _run(f"--annotations={_FIXTURES}/instances_val2014_100.json",
                f"--detections={_FIXTURES}/instances_val2014_fakebbox100_results.json",
                "--noper_category_table", *args)

  def test_analysis_in_the_output_json_and_as_a_folder_with_a_gallery(self):
    out = self.create_tempdir().full_path
    with open(f"{_FIXTURES}/instances_val2014_100.json") as f:
      gt = json.load(f)
    os.makedirs(f"{out}/images")
    for im in gt["images"]:  # the fixture has no image files: grey stand-ins of the right size
      Image.new("RGB", (im["width"], im["height"]),
                (80, 80, 80)).save(f"{out}/images/{im['file_name']}")
    first_ten = sorted(im["id"] for im in gt["images"])[:10]
    with open(f"{out}/slices.json", "w") as f:
      json.dump({"first ten": first_ten}, f)
    proc = self.run_fixture("--analysis", f"--slices={out}/slices.json",
                            f"--analysis_dir={out}/analysis", f"--image_dir={out}/images",
                            f"--output_json={out}/out.json")
    self.assertEqual(proc.returncode, 0, proc.stderr)
    self.assertIn("TIDE (its AP at IoU 0.5: ", proc.stdout)
    with open(f"{out}/out.json") as f:
      result = json.load(f)
    with open(f"{_FIXTURES}/expected_stats.json") as f:
      self.assertEqual(result["stats"], json.load(f)["bbox"]["stats"])  # analysis changes nothing
    analysis = result["analysis"]
    self.assertEqual(list(analysis), [
        "iou_type", "tide", "f1_thresholds", "confusion", "calibration", "pr_curves",
        "image_diagnostics", "slices"
    ])
    with open(f"{out}/analysis/analysis.json") as f:
      self.assertEqual(json.load(f), analysis)
    # TIDE's AP (its own integration) within 0.01 of each category's AP50 of the same run.
    ap50 = {c["id"]: c["stats"][1] for c in result["per_category"]}
    for c in analysis["tide"]["per_category"]:
      if ap50[c["id"]] >= 0:
        self.assertAlmostEqual(c["ap"], ap50[c["id"]], delta=0.01, msg=c["name"])
    self.assertEqual(sorted(r["id"] for r in analysis["f1_thresholds"]),
                     sorted(list(ap50) * 2))  # every category at IoU 0.5 and 0.75
    self.assertLen(analysis["confusion"]["matrix"], 81)
    self.assertEqual(analysis["calibration"]["n_bins"], 10)
    self.assertEqual(analysis["slices"]["first ten"]["num_images"], 10)
    self.assertLen(analysis["image_diagnostics"]["images"], 100)
    names = os.listdir(f"{out}/analysis")
    for name in ("f1_thresholds.csv", "tide_per_category.csv", "image_diagnostics.csv",
                 "confusion.csv", "tide.png", "pr_curves.png", "confusion.png", "reliability.png"):
      self.assertIn(name, names)
    self.assertLen(os.listdir(f"{out}/analysis/gallery"), 20)

  def test_bad_slices_are_named(self):
    out = self.create_tempdir().full_path
    for name, text, message in (("broken.json", "{not json", "cannot read it as JSON"),
                                ("strings.json", '{"a": ["x"]}', "image ids must be integers"),
                                ("unknown.json", '{"night": [987654321]}', "slice 'night'")):
      with open(f"{out}/{name}", "w") as f:
        f.write(text)
      proc = self.run_fixture("--analysis", f"--slices={out}/{name}",
                              f"--output_json={out}/out.json")
      self.assertNotEqual(proc.returncode, 0)
      self.assertIn(f"{out}/{name}", proc.stderr)
      self.assertIn(message, proc.stderr)
      self.assertNotIn("Traceback", proc.stderr)
      self.assertFalse(os.path.exists(f"{out}/out.json"))
    proc = self.run_fixture(f"--slices={out}/unknown.json")
    self.assertNotEqual(proc.returncode, 0)
    self.assertIn("--slices and --analysis_dir need --analysis", proc.stderr)


if __name__ == "__main__":
  absltest.main()
