"""//eval/analysis: the analysis object and folder of a real evaluation (the COCO fixture)."""
import csv
import dataclasses
import json
import os

from absl.testing import absltest
import numpy as np
from PIL import Image

import cocoeval_cc
from cocoeval_cc import _cocoeval_cc as native
from cocoeval_cc import evaluation
from eval.analysis import analyze
from eval.analysis import gallery

_FIXTURES = os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", "third_party", "coco_fixtures"))
_GT = os.path.join(_FIXTURES, "instances_val2014_100.json")
_DT = os.path.join(_FIXTURES, "instances_val2014_fakebbox100_results.json")


def _evaluate(params=None):
  gt = native.load_ground_truth(_GT)
  dt = native.load_results(gt, _DT)
  return evaluation.evaluate_loaded(gt, dt, "bbox", params, 0), gt, dt


def _read_csv(path):
  with open(path, newline="") as f:
    return list(csv.reader(f))


class AnalyzeTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.result, cls.gt, cls.dt = _evaluate()
    cls.analysis = analyze.compute(cls.result)
    with open(_GT) as f:
      cls.ground_truth = json.load(f)
    root = absltest.get_default_test_tmpdir()
    # The fixture has no images: grey ones of the annotated sizes stand in (the gallery draws
    # boxes on whatever the file holds).
    cls.image_dir = os.path.join(root, "images")
    os.makedirs(cls.image_dir, exist_ok=True)
    for im in cls.ground_truth["images"]:
      Image.new("RGB", (im["width"], im["height"]),
                (90, 90, 90)).save(os.path.join(cls.image_dir, im["file_name"]))
    cls.gallery_inputs = analyze.GalleryInputs.from_coco(cls.result.evaluator, cls.gt, cls.dt,
                                                         cls.ground_truth, cls.image_dir)
    cls.folder = os.path.join(root, "analysis")
    cls.written = analyze.write(cls.folder, cls.analysis, cls.gallery_inputs)

  def test_keys_and_analysis_json(self):
    self.assertEqual(tuple(self.analysis), analyze.KEYS)
    self.assertEqual(self.analysis["iou_type"], "bbox")
    self.assertEqual(self.written[-1], os.path.join(self.folder, analyze.ANALYSIS_JSON))
    self.assertEqual(analyze.read(self.folder), self.analysis)
    self.assertEqual([n for n in os.listdir(self.folder) if n.endswith(".tmp")], [])

  def test_tide_ap_is_each_categorys_ap50(self):
    # TIDE integrates AP its own way (tidecv's); per category it stays within 0.01 of COCO's.
    ap50 = dict(zip(self.result.category_ids, self.result.category_stats[1]))
    tide = self.analysis["tide"]
    self.assertEqual(tide["pos_thr"], 0.5)
    with_gt = [c for c in tide["per_category"] if ap50[c["id"]] >= 0]
    self.assertGreater(len(with_gt), 60)
    for c in tide["per_category"]:
      if ap50[c["id"]] >= 0:
        self.assertAlmostEqual(c["ap"], ap50[c["id"]], delta=0.01, msg=c["name"])
      else:  # detections without ground truth: 0 in TIDE's mean
        self.assertEqual(c["ap"], 0.0)
    self.assertAlmostEqual(np.mean([c["ap"] for c in with_gt]), self.result.stats[1], delta=1e-3)

  def test_f1_thresholds_every_category_at_both_ious(self):
    rows = self.analysis["f1_thresholds"]
    k = len(self.result.category_ids)
    self.assertLen(rows, 2 * k)
    self.assertEqual([r["iou"] for r in rows], [0.5] * k + [0.75] * k)
    self.assertEqual([r["id"] for r in rows[:k]], self.result.category_ids)
    num_gt = {r["id"]: r["num_gt"] for r in rows}
    ap50 = dict(zip(self.result.category_ids, self.result.category_stats[1]))
    for cid, n in num_gt.items():
      self.assertEqual(n > 0, ap50[cid] >= 0)

  def test_csvs_hold_the_analysis(self):
    f1 = _read_csv(os.path.join(self.folder, analyze.F1_CSV))
    self.assertEqual(f1[0], list(analyze.F1_COLUMNS))
    self.assertLen(f1, len(self.analysis["f1_thresholds"]) + 1)
    for line, row in zip(f1[1:], self.analysis["f1_thresholds"]):
      self.assertEqual(int(line[0]), row["id"])
      self.assertEqual(line[6], "" if row["f1"] is None else repr(row["f1"]))
    tide = _read_csv(os.path.join(self.folder, analyze.TIDE_CSV))
    self.assertLen(tide, len(self.analysis["tide"]["per_category"]) + 1)
    self.assertEqual(float(tide[1][tide[0].index("dAP_Cls")]),
                     self.analysis["tide"]["per_category"][0]["delta_ap"]["Cls"])
    confusion = _read_csv(os.path.join(self.folder, analyze.CONFUSION_CSV))
    matrix = [[int(v) for v in line[1:]] for line in confusion[1:]]
    self.assertEqual(matrix, self.analysis["confusion"]["matrix"])
    self.assertEqual(confusion[-1][0], "background")
    self.assertEqual(confusion[0][-1], "missed")
    images = _read_csv(os.path.join(self.folder, analyze.IMAGES_CSV))
    self.assertLen(images, len(self.analysis["image_diagnostics"]["images"]) + 1)
    ranked = [line for line in images[1:] if line[-1]]
    self.assertLen(ranked, len(self.analysis["image_diagnostics"]["worst"]))

  def test_pngs(self):
    for name in analyze.PNGS.values():
      with Image.open(os.path.join(self.folder, name)) as im:
        self.assertEqual(im.format, "PNG")
        self.assertGreater(im.width, 300)

  def test_gallery_draws_the_worst_images_in_their_colours(self):
    worst = self.analysis["image_diagnostics"]["worst"]
    names = sorted(os.listdir(os.path.join(self.folder, analyze.GALLERY_DIR)))
    self.assertEqual(
        names, [f"{i:02d}_image_{row['image_id']}.png" for i, row in enumerate(worst, start=1)])
    for name, row in zip(names, worst):
      with Image.open(os.path.join(self.folder, analyze.GALLERY_DIR, name)) as im:
        below_legend = im.convert("RGB").crop((0, gallery.HEADER, im.width, im.height))
        body = {c for _, c in below_legend.getcolors(1 << 20)}
      self.assertEqual(gallery.COLOURS["missed"] in body, row["fn"] > 0, name)
      self.assertEqual(gallery.COLOURS["FP"] in body, row["fp"] > 0, name)

  def test_gallery_boxes_agree_with_the_per_image_counts(self):
    # The gallery's own reading of the matching must count what the core's diagnostics count.
    for score_thr in (0.0, 0.3, 0.5):
      settings = analyze.Settings(score_thr=score_thr)
      images = analyze.compute(self.result, settings=settings)["image_diagnostics"]["images"]
      self.assertLen(images, len(self.ground_truth["images"]))
      for row in images:
        boxes = gallery.image_boxes(self.result.evaluator, self.gallery_inputs.detection_boxes,
                                    self.gallery_inputs.detection_scores,
                                    self.gallery_inputs.gt_boxes, row["image_id"], iou=0.5,
                                    score_thr=score_thr,
                                    category_names=self.gallery_inputs.category_names)
        counts = [sum(b.status == s for b in boxes) for s in ("TP", "FP", "missed")]
        self.assertEqual(counts, [row["tp"], row["fp"], row["fn"]], (score_thr, row))

  def test_an_unreadable_image_is_left_out_of_the_gallery(self):
    worst = self.analysis["image_diagnostics"]["worst"]
    broken = self.create_tempdir().full_path
    files = {}
    for i, row in enumerate(worst[:3]):
      files[row["image_id"]] = os.path.join(broken, f"{i}.jpg")
      with open(files[row["image_id"]], "wb") as f:
        f.write(b"\xff\xd8\xff\xe0 not a jpeg" if i == 1 else b"")
    good = self.gallery_inputs.image_path_of(worst[0]["image_id"])
    files[worst[0]["image_id"]] = good
    inputs = dataclasses.replace(self.gallery_inputs, image_path_of=files.get)
    folder = self.create_tempdir().full_path
    with self.assertLogs(level="WARNING") as logs:
      analyze.write(folder, self.analysis, inputs)
    self.assertEqual(os.listdir(os.path.join(folder, analyze.GALLERY_DIR)),
                     [f"01_image_{worst[0]['image_id']}.png"])
    self.assertLen([m for m in logs.output if "left out" in m], 2)
    self.assertTrue(os.path.isfile(os.path.join(folder, analyze.ANALYSIS_JSON)))

  def test_rewrite_leaves_nothing_of_the_earlier_run(self):
    folder = self.create_tempdir().full_path
    analyze.write(folder, self.analysis, self.gallery_inputs)
    self.assertTrue(os.path.isdir(os.path.join(folder, analyze.GALLERY_DIR)))
    partial = {k: v for k, v in self.analysis.items() if k not in ("confusion", "tide")}
    analyze.write(folder, partial)  # no gallery, no confusion, no TIDE
    self.assertCountEqual(os.listdir(folder), [
        analyze.ANALYSIS_JSON, analyze.F1_CSV, analyze.IMAGES_CSV, analyze.PNGS["pr_curves"],
        analyze.PNGS["calibration"]
    ])
    analyze.remove(folder)
    self.assertFalse(os.path.exists(folder))

  def test_a_user_slice_is_the_evaluation_of_its_images(self):
    ids = sorted(im["id"] for im in self.ground_truth["images"])[::3]
    analysis = analyze.compute(self.result, {"every third": ids})
    params = cocoeval_cc.Params("bbox")
    params.imgIds = ids
    alone, _, _ = _evaluate(params)
    got = analysis["slices"]["every third"]
    self.assertEqual(got["num_images"], len(ids))
    self.assertEqual(got["stats"], [float(v) for v in alone.stats])
    self.assertLen(analysis["slices"], len(self.analysis["slices"]) + 1)

  def test_bad_slices_name_the_file(self):
    root = self.create_tempdir().full_path
    cases = {
        "broken.json": "{not json", "list.json": "[1, 2]", "empty.json": "{}",
        "notalist.json": '{"a": 3}', "strings.json": '{"a": ["x"]}'
    }
    for name, text in cases.items():
      path = os.path.join(root, name)
      with open(path, "w") as f:
        f.write(text)
      with self.assertRaisesRegex(ValueError, name):
        analyze.load_slices(path)
    with self.assertRaisesRegex(ValueError, r"s\.json: slice 'night'.*123456789"):
      analyze.compute(self.result, {"night": [123456789]}, slices_source="s.json")

  def test_keypoints_and_bad_parameters_are_refused(self):
    result, _, _ = _evaluate()
    result.iou_type = "keypoints"
    with self.assertRaisesRegex(ValueError, "keypoints"):
      analyze.compute(result)
    with self.assertRaisesRegex(ValueError, "n_bins"):
      analyze.compute(self.result, settings=analyze.Settings(n_bins=0))
    with self.assertRaisesRegex(ValueError, "iou"):
      analyze.compute(self.result, settings=analyze.Settings(iou=1.5))


if __name__ == "__main__":
  absltest.main()
