"""Tests of //eval/tracking:model_result: ModelInfo, ModelResult over the result schema."""
import dataclasses
import os
import tempfile

from absl.testing import absltest

from configs import model_registry
from eval import results
from eval.tracking import model_result
from eval.tracking.testing import synthetic_results

_NAMES = ("AP", "AP50")


def _run(categories, ap=0.5) -> results.ModelRunResult:
  """A two-statistic run; categories: (id, name, supercategory or None, AP)."""
  evaluation = results.IouTypeResult(
      iou_type="bbox", stat_names=_NAMES, stats=(ap, ap + 0.25), per_category=tuple(
          results.CategoryResult(cid, name, (cat_ap, -1.0), sup)
          for cid, name, sup, cat_ap in categories), params={"num_images": 2})
  return results.ModelRunResult(evaluations=(evaluation,), metrics={"DetectionBoxes_mAP": ap})


class ModelInfoTest(absltest.TestCase):

  def test_from_registry(self):
    info = model_result.ModelInfo.from_registry(model_registry.get("d1"))
    self.assertEqual((info.key, info.task_name, info.phi, info.input_size),
                     ("d1", "efficientdet_d1_coco17_tpu-32", 1, 640))
    self.assertEqual((info.published_map, info.published_ms), (38.4, 54))
    self.assertEqual(info.label, "D1 (phi=1)")
    ssd = model_result.ModelInfo.from_registry(model_registry.get("ssd_mobilenet_v2_320x320"))
    self.assertEqual((ssd.phi, ssd.published_ms, ssd.label), (None, 19, "ssd_mobilenet_v2_320x320"))

  def test_scale_axis_phi_else_published_speed_rank(self):

    def result(key):
      return model_result.ModelResult(model_result.ModelInfo.from_registry(model_registry.get(key)),
                                      _run([(1, "person", "person", 0.5)]))

    d1, d0 = result("d1"), result("d0")
    axis = model_result.scale_axis([d1, d0])
    self.assertEqual((axis.short, axis.x(d0.info), axis.x(d1.info)), ("phi", 0, 1))
    self.assertEqual(axis.tick(d1.info), "1\nD1")
    self.assertEqual([r.info.key for r in model_result.by_phi([d1, d0])], ["d0", "d1"])
    # Another family in the set: no common phi; ranked by published speed, fastest first,
    # a model without a published speed (ExtremeNet) last.
    mixed = [d1, result("extremenet"), result("ssd_mobilenet_v2_320x320"), d0]
    axis = model_result.scale_axis(mixed)
    self.assertEqual(axis.short, "speed rank")
    self.assertEqual([r.info.key for r in model_result.by_phi(mixed)],
                     ["ssd_mobilenet_v2_320x320", "d0", "d1", "extremenet"])
    self.assertEqual([axis.x(r.info) for r in model_result.by_phi(mixed)], [1, 2, 3, 4])


class ModelResultTest(absltest.TestCase):

  def setUp(self):
    super().setUp()
    self.info = synthetic_results.efficientdet_info("d0")
    self.result = model_result.ModelResult(
        self.info,
        _run([(1, "person", "person", 0.75), (18, "dog", "animal", -1.0),
              (7, "thing", None, 0.25)]))

  def test_properties(self):
    r = self.result
    self.assertEqual(r.stat_names, ["AP", "AP50"])
    self.assertEqual(r.stats, [0.5, 0.75])
    self.assertEqual(r.metrics, {"DetectionBoxes_mAP": 0.5})
    self.assertEqual(r.iou_type, "bbox")
    self.assertEqual(r.stat("AP50"), 0.75)
    self.assertEqual(r.category_names, ["person", "dog", "thing"])
    self.assertEqual([(c.id, c.name, c.stats) for c in r.per_category],
                     [(1, "person", (0.75, -1.0)), (18, "dog", (-1.0, -1.0)),
                      (7, "thing", (0.25, -1.0))])
    self.assertEqual(r.category_stat("person"), 0.75)
    self.assertEqual(r.category_stat("person", "AP50"), -1.0)
    self.assertEqual(r.category_stat("unicorn"), -1.0)  # not in this run
    self.assertIsNone(r.metrics_path)
    self.assertIsNone(r.per_category_csv)
    self.assertAlmostEqual(r.ap_per_ms, 0.5 * 100.0 / 39)
    untimed = dataclasses.replace(r, info=dataclasses.replace(self.info, published_ms=None))
    self.assertIsNone(untimed.ap_per_ms)

  def test_supercategory_from_the_ground_truth(self):
    self.assertEqual(self.result.supercategory("dog"), "animal")
    self.assertEqual(self.result.supercategory("thing"), "other")  # none in the ground truth
    self.assertEqual(self.result.supercategory("unicorn"), "other")  # not in the run

  def test_across_results(self):
    d1 = synthetic_results.efficientdet_info("d1")
    other = model_result.ModelResult(
        d1,
        _run([(5, "airplane", "vehicle", 0.5), (7, "thing", "misc", 0.5),
              (1, "person", None, 0.5)]))
    self.assertEqual([r.info.key for r in model_result.by_phi([other, self.result])], ["d0", "d1"])
    self.assertEqual(model_result.common_categories([self.result, other]),
                     ["person", "dog", "thing", "airplane"])
    # The first supercategory a ground truth gives; their order of first appearance.
    supercategories = model_result.supercategories([self.result, other])
    self.assertEqual(supercategories,
                     {"person": "person", "dog": "animal", "thing": "misc", "airplane": "vehicle"})
    self.assertEqual(list(dict.fromkeys(supercategories.values())),
                     ["person", "animal", "misc", "vehicle"])

  def test_load_model_result(self):
    with tempfile.TemporaryDirectory() as tmp:
      path = os.path.join(tmp, results.METRICS)
      results.write_model_result(path, self.result.run)
      loaded = model_result.load_model_result(os.path.relpath(path), self.info)
      self.assertEqual(loaded.run, self.result.run)
      self.assertEqual(loaded.info, self.info)
      self.assertEqual(loaded.metrics_path, path)  # absolute
      self.assertIsNone(loaded.per_category_csv)
      csv_path = os.path.join(tmp, results.PER_CATEGORY_CSV)
      with open(csv_path, "w") as f:
        f.write("iou_type,category_id,category,AP,AP50\n")
      self.assertEqual(loaded.per_category_csv, csv_path)
      with open(path, "w") as f:
        f.write('{"stats": []}')
      with self.assertRaisesRegex(results.SchemaError, f"{path}: no 'metrics'"):
        model_result.load_model_result(path, self.info)
      with self.assertRaises(OSError):
        model_result.load_model_result(os.path.join(tmp, "absent.json"), self.info)


if __name__ == "__main__":
  absltest.main()
