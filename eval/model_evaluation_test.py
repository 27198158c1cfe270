"""model_evaluation's error analysis: written with the outputs, or added to earlier results.

The COCO fixture's ground truth (grey stand-in images of the annotated sizes) and its fake
results play a model's cached detections: no model runs.
"""
import json
import os

from absl.testing import absltest
from PIL import Image

from eval import model_evaluation
from eval import results
from eval.analysis import analyze
from eval.data import image_sources
from eval.data import label_map
from eval.data import tfrecords
from eval.model import inference

_FIXTURES = os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "third_party", "coco_fixtures"))


class AnalysisTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    root = absltest.get_default_test_tmpdir()
    annotations = os.path.join(_FIXTURES, "instances_val2014_100.json")
    with open(annotations) as f:
      gt = json.load(f)
    image_dir = os.path.join(root, "images")
    os.makedirs(image_dir, exist_ok=True)
    for im in gt["images"]:
      # PNG content whatever the name says: lossless in TF records too.
      Image.new("RGB", (im["width"], im["height"]),
                (90, 90, 90)).save(os.path.join(image_dir, im["file_name"]), format="PNG")
    cls.source = image_sources.CocoJsonSource(annotations, image_dir)
    with open(os.path.join(_FIXTURES, "instances_val2014_fakebbox100_results.json")) as f:
      cls.detections = json.load(f)

  def evaluate(self, options, source=None):
    """An output folder as evaluate_model leaves it, from the cached 'detections'."""
    source = source or self.source
    out = self.create_tempdir().full_path
    with open(os.path.join(out, results.DETECTIONS), "w") as f:
      json.dump(self.detections, f)
    ran = model_evaluation.InferenceOutput(
        inference.Detections(self.detections, None, len(source.ground_truth["images"]), 0.0,
                             cached=True), {}, False, 0.0)
    run = model_evaluation.evaluate_detections(source, out, options, ran, identity={})
    return out, run

  def test_gallery_from_tf_records(self):
    # The same images in TF records (PNG inside): the gallery decodes them from the records.
    root = self.create_tempdir().full_path
    gt = self.source.ground_truth
    tfrecords.write_coco(gt, self.source.image_dir, f"{root}/val.record")
    label_map.write(f"{root}/label_map.pbtxt", {c["id"]: c["name"] for c in gt["categories"]})
    records = image_sources.TfRecordSource(f"{root}/val.record-00000-of-00001",
                                           f"{root}/label_map.pbtxt")
    out, _ = self.evaluate(model_evaluation.EvaluationOptions(verbose=False), records)
    worst = analyze.read(os.path.join(out, analyze.ANALYSIS_DIR))["image_diagnostics"]["worst"]
    self.assertLen(worst, 20)
    self.assertEqual(
        sorted(os.listdir(os.path.join(out, analyze.ANALYSIS_DIR, analyze.GALLERY_DIR))),
        [f"{i:02d}_image_{row['image_id']}.png" for i, row in enumerate(worst, start=1)])
    # What the gallery draws on: the records' pixels, losslessly.
    ids = [row["image_id"] for row in worst[:3]]
    decoded = model_evaluation._decoded_images(records, ids, self.create_tempdir().full_path)  # pylint: disable=protected-access
    files = dict(zip([im["id"] for im in gt["images"]], self.source.image_paths()))
    self.assertCountEqual(decoded, ids)
    for image_id, path in decoded.items():
      with Image.open(path) as a, Image.open(files[image_id]) as b:
        self.assertEqual(a.tobytes(), b.tobytes())

  def test_added_analysis_equals_the_one_written_with_the_run(self):
    with_run, _ = self.evaluate(model_evaluation.EvaluationOptions(verbose=False))
    written = analyze.read(os.path.join(with_run, analyze.ANALYSIS_DIR))
    self.assertEqual(tuple(written), analyze.KEYS)

    out, run = self.evaluate(model_evaluation.EvaluationOptions(verbose=False, analysis=False))
    folder = os.path.join(out, analyze.ANALYSIS_DIR)
    self.assertFalse(os.path.exists(folder))
    options = model_evaluation.EvaluationOptions()
    self.assertTrue(model_evaluation.add_missing_analysis(self.source, out, run, options))
    self.assertEqual(analyze.read(folder), written)
    self.assertLen(os.listdir(os.path.join(folder, analyze.GALLERY_DIR)), 20)
    self.assertFalse(model_evaluation.add_missing_analysis(self.source, out, run, options))

  def test_detections_that_do_not_reproduce_the_metrics_get_no_analysis(self):
    out, run = self.evaluate(model_evaluation.EvaluationOptions(verbose=False, analysis=False))
    with open(os.path.join(out, results.DETECTIONS), "w") as f:
      json.dump(self.detections[::2], f)  # not what metrics.json was computed from
    with self.assertLogs(level="WARNING") as logs:
      added = model_evaluation.add_missing_analysis(self.source, out, run,
                                                    model_evaluation.EvaluationOptions())
    self.assertFalse(added)
    self.assertIn("does not reproduce its metrics", logs.output[0])
    self.assertFalse(os.path.exists(os.path.join(out, analyze.ANALYSIS_DIR)))


if __name__ == "__main__":
  absltest.main()
