"""Tests of eval/sweep/records.py: which earlier results a sweep reuses, and logging once."""
import dataclasses
import os
import tempfile

from absl.testing import absltest

from eval import results
from eval.sweep import records

_SWEEP_ID = {"version": 1, "annotations_sha256": "abc", "max_images": None, "model": "m"}


def _run(sweep=None, stats=12) -> results.ModelRunResult:
  names = tuple(f"s{i}" for i in range(stats))
  evaluation = results.IouTypeResult("bbox", names, tuple(0.5 for _ in names), (), {})
  return results.ModelRunResult(evaluations=(evaluation,), metrics={"k": 0.5}, sweep=sweep)


@dataclasses.dataclass
class _Closed:  # the fields of clearml_session.CloseResult a record keeps
  task_id: str = "t1"
  offline: bool = True
  session_folder: str = "/s"
  session_zip: str = "/s.zip"
  upload_command: str = "clearml-task --import-offline-session /s.zip"
  web_url: str | None = None


class CompleteResultTest(absltest.TestCase):

  def setUp(self):
    super().setUp()
    self.dir = self.create_tempdir().full_path

  def write(self, run, *files):
    results.write_model_result(os.path.join(self.dir, results.METRICS), run)
    for name in files:
      with open(os.path.join(self.dir, name), "w") as f:
        f.write("x")

  def test_reasons(self):
    self.assertEqual(records.complete_result(self.dir, _SWEEP_ID), (None, "no metrics.json yet"))
    self.write(_run(sweep=None))
    self.assertEqual(
        records.complete_result(self.dir, _SWEEP_ID)[1],
        "metrics.json was not written by this sweep")
    self.write(_run(sweep={**_SWEEP_ID, "max_images": 5, "annotations_sha256": "x"}))
    self.assertEqual(
        records.complete_result(self.dir, _SWEEP_ID)[1],
        "metrics.json was made with other annotations_sha256, max_images")
    self.write(_run(sweep=_SWEEP_ID, stats=10))
    self.assertEqual(records.complete_result(self.dir, _SWEEP_ID)[1], "metrics.json is incomplete")
    self.write(_run(sweep=_SWEEP_ID), results.DETECTIONS)
    self.assertEqual(records.complete_result(self.dir, _SWEEP_ID)[1], "per_category.csv missing")
    self.write(_run(sweep=_SWEEP_ID), results.DETECTIONS, results.PER_CATEGORY_CSV)
    run, why = records.complete_result(self.dir, _SWEEP_ID)
    self.assertEqual((run, why), (_run(sweep=_SWEEP_ID), ""))

  def test_unreadable_metrics_are_not_reused(self):
    with open(os.path.join(self.dir, results.METRICS), "w") as f:
      f.write('{"stats": ')
    self.assertEqual(records.complete_result(self.dir, _SWEEP_ID),
                     (None, "metrics.json is unreadable"))


class LoggedOnceTest(absltest.TestCase):

  def test_logs_again_only_when_the_fingerprint_changes(self):
    with tempfile.TemporaryDirectory() as tmp:
      path = os.path.join(tmp, "sub", "clearml.json")
      once = records.LoggedOnce(path, {"metrics_sha256": "aaa"})
      self.assertIsNone(once.previous())
      saved = once.save(_Closed(), project="p", scalars=3)
      self.assertEqual(saved["metrics_sha256"], "aaa")
      self.assertEqual(saved["scalars"], 3)
      self.assertEqual(records.LoggedOnce(path, {"metrics_sha256": "aaa"}).previous(), saved)
      self.assertIsNone(records.LoggedOnce(path, {"metrics_sha256": "bbb"}).previous())
      with open(path, "w") as f:
        f.write("not json")
      self.assertIsNone(records.LoggedOnce(path, {"metrics_sha256": "aaa"}).previous())


if __name__ == "__main__":
  absltest.main()
