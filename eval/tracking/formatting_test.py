"""Tests of //eval/tracking:formatting."""
from absl.testing import absltest

from eval import results
from eval.tracking import formatting


class FormattingTest(absltest.TestCase):

  def test_fmt(self):
    self.assertEqual(formatting.fmt(-1.0), formatting.MISSING)
    self.assertEqual(formatting.fmt(None), formatting.MISSING)
    self.assertEqual(formatting.fmt(float("nan")), formatting.MISSING)
    self.assertEqual(formatting.fmt(0.0), "0.000")
    self.assertEqual(formatting.fmt(0.3361, 1, 100), "33.6")
    self.assertEqual(formatting.fmt(0.3361, 1, scale=100.0), "33.6")

  def test_is_missing_is_the_schemas(self):
    self.assertIs(formatting.is_missing, results.is_missing)

  def test_stat_tables(self):
    self.assertEqual(formatting.STAT_NAMES,
                     ("AP", "AP50", "AP75", "AP_small", "AP_medium", "AP_large", "AR1", "AR10",
                      "AR100", "AR_small", "AR_medium", "AR_large"))
    self.assertEqual(formatting.TF_KEYS[0], "Precision/mAP")
    self.assertEqual(formatting.TF_KEYS[-1], "Recall/AR@100 (large)")
    self.assertEqual(set(formatting.STAT_LABELS), set(formatting.STAT_NAMES))


if __name__ == "__main__":
  absltest.main()
