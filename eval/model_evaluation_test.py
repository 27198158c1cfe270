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
      Image.new("RGB", (im["width"], im["height"]),
                (90, 90, 90)).save(os.path.join(image_dir, im["file_name"]))
    cls.source = image_sources.CocoJsonSource(annotations, image_dir)
    with open(os.path.join(_FIXTURES, "instances_val2014_fakebbox100_results.json")) as f:
      cls.detections = json.load(f)

  def evaluate(self, options):
    """An output folder as evaluate_model leaves it, from the cached 'detections'."""
    out = self.create_tempdir().full_path
    with open(os.path.join(out, results.DETECTIONS), "w") as f:
      json.dump(self.detections, f)
    ran = model_evaluation.InferenceOutput(
        inference.Detections(self.detections, None, len(self.source.ground_truth["images"]), 0.0,
                             cached=True), {}, False, 0.0)
    run = model_evaluation.evaluate_detections(self.source, out, options, ran, identity={})
    return out, run

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
