"""Tests of eval/results.py: metrics.json round trip and named schema errors."""
import json
import os
import tempfile

from absl.testing import absltest

from eval import results

_NAMES = ["AP", "AP50"]


def _evaluation(iou_type: str, ap: float) -> results.IouTypeResult:
  return results.IouTypeResult(
      iou_type=iou_type, stat_names=tuple(_NAMES), stats=(ap, -1.0),
      per_category=(results.CategoryResult(1, "person", (ap, -1.0), "person"),
                    results.CategoryResult("x", "odd", (0.0, 0.5))),
      params={"maxDets": [1, 10, 100]}, timings_seconds={"evaluate": 0.5})


def _run() -> results.ModelRunResult:
  return results.ModelRunResult(evaluations=(_evaluation("bbox", 0.25), _evaluation("segm", 0.125)),
                                metrics={"bbox/mAP": 0.25,
                                         "segm/mAP": 0.125}, model={"device": "/CPU:0"},
                                input={"annotations": {"path": "/a.json"}}, annotations="/a.json",
                                detections="/out/detections.json", area_source="box",
                                include_metrics_per_category=True, all_metrics_per_category=False,
                                inference=results.InferenceRun(False, 3, 1.5,
                                                               2.0), model_load_seconds=0.25,
                                evaluation_seconds=0.5, sweep={"model": "m"})


class ResultsTest(absltest.TestCase):

  def test_round_trip_through_a_file(self):
    run = _run()
    with tempfile.TemporaryDirectory() as tmp:
      path = os.path.join(tmp, results.METRICS)
      results.write_model_result(path, run)
      self.assertEqual(results.read_model_result(path), run)
      with open(path) as f:
        data = json.load(f)
    # The flat layout every reader relies on: the primary evaluation at the top level.
    self.assertEqual(data["schema_version"], results.SCHEMA_VERSION)
    self.assertEqual(data["stats"], [0.25, -1.0])
    self.assertEqual(data["iou_types"], ["bbox", "segm"])
    self.assertEqual(data["segm"]["stats"], [0.125, -1.0])
    self.assertEqual(data["per_category"][0]["supercategory"], "person")
    self.assertNotIn("supercategory", data["per_category"][1])
    self.assertNotIn("speed", data)

  def test_lookups(self):
    run = _run()
    self.assertEqual(run.primary.stat("AP"), 0.25)
    self.assertEqual(run.evaluation("segm").stat("AP"), 0.125)
    with self.assertRaisesRegex(KeyError, "no keypoints evaluation"):
      run.evaluation("keypoints")
    self.assertTrue(results.is_missing(-1.0))
    self.assertTrue(results.is_missing(float("nan")))
    self.assertFalse(results.is_missing(0.0))

  def test_schema_errors_name_the_file_and_the_field(self):
    good = _run().to_json()
    cases = {
        "not a JSON object": [],
        "no 'stats'": {k: v for k, v in good.items() if k != "stats"},
        "2 stat_names but 1 stats": {**good, "stats": [0.5]},
        "schema_version 99": {**good, "schema_version": 99},
        "iou_types names 'segm' but it has no section": {
            k: v for k, v in good.items() if k != "segm"
        },
        r"per_category\[0\]: no 'stats'": {**good, "per_category": [{"name": "a"}]},
        "ValueError": {**good, "stats": ["high", 1]},
    }
    for message, data in cases.items():
      with self.subTest(message), self.assertRaisesRegex(results.SchemaError,
                                                         f"m.json: .*{message}"):
        results.ModelRunResult.from_json(data, where="m.json")

  def test_unreadable_json_is_a_schema_error(self):
    with tempfile.TemporaryDirectory() as tmp:
      path = os.path.join(tmp, "metrics.json")
      with open(path, "w") as f:
        f.write("{truncated")
      with self.assertRaisesRegex(results.SchemaError, "metrics.json: not JSON"):
        results.read_model_result(path)


if __name__ == "__main__":
  absltest.main()
