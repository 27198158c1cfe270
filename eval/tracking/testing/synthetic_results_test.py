"""Tests of //eval/tracking/testing:synthetic_results: schema-valid runs with supercategories."""
import csv
import os
import tempfile

from absl.testing import absltest

from eval import results
from eval.tracking.testing import synthetic_results


class SyntheticResultsTest(absltest.TestCase):

  def test_run_is_schema_valid_with_supercategories(self):
    info = synthetic_results.efficientdet_info("d2")
    run = synthetic_results.synthetic_run(info, no_ground_truth=("hair drier",))
    self.assertEqual(results.ModelRunResult.from_json(run.to_json(), "synthetic"), run)
    self.assertLen(run.primary.per_category, 80)
    by_name = {c.name: c for c in run.primary.per_category}
    self.assertEqual(by_name["zebra"].supercategory, "animal")
    self.assertEqual(by_name["hair drier"].stats, (-1.0,) * 12)
    self.assertEqual(run.metrics["DetectionBoxes_Precision/mAP"], run.primary.stat("AP"))
    self.assertEqual(run.metrics["DetectionBoxes_PerformanceByCategory/mAP/zebra"],
                     by_name["zebra"].stats[0])
    self.assertEqual(run.metrics["DetectionBoxes_Recall/AR@100 (small) ByCategory/zebra"],
                     by_name["zebra"].stats[9])
    self.assertLen(run.metrics, 12 + 80 + 12 * 80)
    self.assertAlmostEqual(run.primary.stat("AP"), info.published_map / 100.0 - 0.004)
    # The same seed gives the same per-category offsets for every model.
    self.assertEqual(run, synthetic_results.synthetic_run(info, no_ground_truth=("hair drier",)))

  def test_write_synthetic_results(self):
    out = tempfile.mkdtemp(dir=absltest.get_default_test_tmpdir())
    written = synthetic_results.write_synthetic_results(out, ["d0", "d1"])
    self.assertEqual([r.info.key for r in written], ["d0", "d1"])
    for r in written:
      self.assertEqual(r.metrics_path, os.path.join(out, r.info.task_name, results.METRICS))
      self.assertEqual(results.read_model_result(r.metrics_path), r.run)
      with open(r.per_category_csv, newline="") as f:
        rows = list(csv.reader(f))
      self.assertEqual(rows[0][:4], ["iou_type", "category_id", "category", "AP"])
      self.assertLen(rows, 81)
      self.assertEqual(float(rows[1][3]), r.category_stat(rows[1][2]))


if __name__ == "__main__":
  absltest.main()
