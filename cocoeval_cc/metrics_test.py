"""metrics: statistic names from the native definition, unchanged for their users."""
from absl.testing import absltest
import numpy as np

from cocoeval_cc import metrics
from cocoeval_cc.metrics import StatSpec


class MetricsTest(absltest.TestCase):

  def test_default_statistics(self):
    specs = metrics.stat_specs(("all", "small", "medium", "large"), (1, 10, 100))
    self.assertEqual([s.key for s in specs], [
        "Precision/mAP", "Precision/mAP@.50IOU", "Precision/mAP@.75IOU", "Precision/mAP (small)",
        "Precision/mAP (medium)", "Precision/mAP (large)", "Recall/AR@1", "Recall/AR@10",
        "Recall/AR@100", "Recall/AR@100 (small)", "Recall/AR@100 (medium)", "Recall/AR@100 (large)"
    ])
    self.assertEqual(metrics.short_names(specs), [
        "AP", "AP50", "AP75", "AP_small", "AP_medium", "AP_large", "AR1", "AR10", "AR100",
        "AR_small", "AR_medium", "AR_large"
    ])
    self.assertEqual(specs[1], StatSpec(True, 0.5, "all", 100, "Precision/mAP@.50IOU"))

  def test_custom_parameters(self):
    """maxDets in any order; 'all' rows whatever the labels; one row per other label."""
    specs = metrics.stat_specs(["big", "all", "tiny"], np.array([100, 1, 3]))
    self.assertEqual(specs, [
        StatSpec(True, None, "all", 100, "Precision/mAP"),
        StatSpec(True, 0.5, "all", 100, "Precision/mAP@.50IOU"),
        StatSpec(True, 0.75, "all", 100, "Precision/mAP@.75IOU"),
        StatSpec(True, None, "big", 100, "Precision/mAP (big)"),
        StatSpec(True, None, "tiny", 100, "Precision/mAP (tiny)"),
        StatSpec(False, None, "all", 1, "Recall/AR@1"),
        StatSpec(False, None, "all", 3, "Recall/AR@3"),
        StatSpec(False, None, "all", 100, "Recall/AR@100"),
        StatSpec(False, None, "big", 100, "Recall/AR@100 (big)"),
        StatSpec(False, None, "tiny", 100, "Recall/AR@100 (tiny)"),
    ])
    self.assertEqual(
        metrics.short_names(specs),
        ["AP", "AP50", "AP75", "AP_big", "AP_tiny", "AR1", "AR3", "AR100", "AR_big", "AR_tiny"])

  def test_tf_metrics_keys(self):
    specs = metrics.stat_specs(("all", "small"), (1, 100))
    got = metrics.tf_metrics("segm", specs, [0.5] * len(specs), ["cat"], np.ones((len(specs), 1)))
    self.assertIn("DetectionMasks_Precision/mAP", got)
    self.assertIn("DetectionMasks_Recall/AR@100 (small) ByCategory/cat", got)
    self.assertEqual(got["DetectionMasks_PerformanceByCategory/mAP/cat"], 1.0)


if __name__ == "__main__":
  absltest.main()
