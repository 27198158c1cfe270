"""Consistency of the zoo registry: keys, EfficientDet scaling, URL layout."""
import dataclasses

from absl.testing import absltest

from configs import model_registry as reg


class ModelRegistryTest(absltest.TestCase):

  def test_eight_efficientdets_in_phi_order(self):
    models = reg.efficientdet_models()
    self.assertLen(models, 8)
    self.assertEqual([m.key for m in models], [f"d{i}" for i in range(8)])
    self.assertEqual([m.efficientdet.phi for m in models], list(range(8)))
    for m in models:
      with self.subTest(m.key):
        self.assertEqual(m.family, "efficientdet")
        self.assertEqual(m.file_name, f"efficientdet_{m.key}_coco17_tpu-32.tar.gz")
        self.assertEqual(m.model_name, f"efficientdet_{m.key}_coco17_tpu-32")
        self.assertEqual(m.relative_url, f"20200711/{m.file_name}")
        self.assertEqual(m.input_size[0], m.input_size[1])
        for value in (m.zoo_speed_ms, m.zoo_coco_map, m.efficientdet.paper_val_ap):
          self.assertIsNotNone(value)
        self.assertIs(m, reg.get(m.key))

  def test_scaling_grows_with_phi(self):
    models = reg.efficientdet_models()
    sizes = [m.input_size[0] for m in models]
    self.assertEqual(sizes, sorted(set(sizes)), "input size must grow strictly with phi")
    for field in ("bifpn_iterations", "bifpn_filters", "head_layers"):
      values = [getattr(m.efficientdet, field) for m in models]
      self.assertEqual(values, sorted(values), field)
    speeds = [m.zoo_speed_ms for m in models]
    self.assertEqual(speeds, sorted(speeds))
    self.assertEqual(reg.get("d0").efficientdet.bifpn_filters, 64)
    self.assertEqual(reg.get("d6").input_size, (1408, 1408))  # the config's, not the title's

  def test_keys_and_urls_are_unique(self):
    keys = [m.key for m in reg.MODELS]
    self.assertLen(set(keys), len(keys))
    urls = [m.url() for m in reg.MODELS]
    self.assertLen(set(urls), len(urls))
    self.assertGreater(len(reg.OTHERS), 30)
    self.assertEqual({m.family for m in reg.OTHERS},
                     {"centernet", "ssd", "faster_rcnn", "mask_rcnn", "extremenet"})
    for m in reg.MODELS:
      self.assertTrue(m.file_name.endswith(".tar.gz"), m.file_name)

  def test_custom_base_keeps_layout(self):
    d3 = reg.get("d3")
    self.assertEqual(
        d3.url(), "http://download.tensorflow.org/models/object_detection/tf2/20200711/"
        "efficientdet_d3_coco17_tpu-32.tar.gz")
    for base in ("http://127.0.0.1:8000/zoo", "http://127.0.0.1:8000/zoo/", "file:///srv/zoo"):
      with self.subTest(base):
        self.assertEqual(d3.url(base), base.rstrip("/") + "/20200711/" + d3.file_name)
    self.assertEqual(reg.coco_url(reg.COCO_VAL2017_IMAGES_ZIP),
                     "http://images.cocodataset.org/zips/val2017.zip")
    self.assertEqual(reg.coco_url(reg.COCO_ANNOTATIONS_ZIP, "file:///data/coco/"),
                     "file:///data/coco/annotations/annotations_trainval2017.zip")

  def test_records_are_frozen_and_eval_settings(self):
    with self.assertRaises(dataclasses.FrozenInstanceError):
      reg.get("d0").key = "x"
    self.assertEqual(reg.EVAL_SETTINGS.metrics_set, ("coco_detection_metrics",))
    self.assertTrue(reg.EVAL_SETTINGS.include_metrics_per_category)
    self.assertTrue(reg.EVAL_SETTINGS.all_metrics_per_category)

  def test_lookup_errors_list_keys(self):
    with self.assertRaisesRegex(KeyError, "unknown zoo model 'd9'.*d0, d1"):
      reg.get("d9")
    self.assertEqual([m.key for m in reg.efficientdet_models(["D7", "d0 "])], ["d0", "d7"])
    with self.assertRaisesRegex(KeyError, "d8"):
      reg.efficientdet_models(["d8"])


if __name__ == "__main__":
  absltest.main()
