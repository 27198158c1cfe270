"""Loading exports: layouts, input types, batching, and the error for other SavedModels."""
import os

from absl.testing import absltest
import numpy as np
import tensorflow as tf

from eval.model import detection_model
from eval.model.testing import fake_models

_TABLE = {(6, 8):
              fake_models.ImageDetections(boxes=np.array([[0.0, 0.25, 0.5, 1.0]]),
                                          scores=np.array([0.75]), classes=np.array([3]))}


def _image(h=6, w=8):
  return tf.zeros([h, w, 3], tf.uint8)


class DetectionModelTest(absltest.TestCase):

  def save(self, **kwargs):
    path = os.path.join(self.create_tempdir().full_path, "model")
    return fake_models.save_table_model(path, _TABLE, **kwargs)

  def check_outputs(self, model, n=1):
    batch = tf.stack([model.prepare(_image()) for _ in range(n)])
    out = model(batch)
    self.assertEqual(out["detection_boxes"].shape, (n, 100, 4))
    np.testing.assert_allclose(out["detection_boxes"][:, 0], [[0.0, 0.25, 0.5, 1.0]] * n)
    np.testing.assert_array_equal(out["num_detections"], [1.0] * n)
    np.testing.assert_array_equal(out["detection_classes"][:, 0], [3.0] * n)

  def test_exported_layout(self):
    path = self.save()
    model = detection_model.DetectionModel(path)
    self.assertEqual(model.paths.saved_model_dir, os.path.join(path, "saved_model"))
    self.assertEqual(model.paths.pipeline_config, os.path.join(path, "pipeline.config"))
    self.assertEqual(model.paths.checkpoint_dir, os.path.join(path, "checkpoint"))
    self.assertEqual(model.input_type, "image_tensor")
    self.assertEqual(model.max_batch_size, 1)
    self.assertFalse(model.has_masks)
    self.assertEqual(model.device, "/CPU:0")  # no GPU in this test environment
    self.assertIsNotNone(model.loaded)
    self.check_outputs(model)
    # The saved_model/ directory itself works too.
    self.assertEqual(
        detection_model.DetectionModel(os.path.join(path, "saved_model")).paths.pipeline_config,
        None)

  def test_bare_saved_model_float_input_and_masks(self):
    table = {
        k: fake_models.ImageDetections(v.boxes, v.scores, v.classes, masks=np.ones([1, 15, 15]))
        for k, v in _TABLE.items()
    }
    path = os.path.join(self.create_tempdir().full_path, "m")
    fake_models.save_table_model(path, table, input_type="float_image_tensor",
                                 exported_layout=False)
    model = detection_model.DetectionModel(path)
    self.assertEqual(model.paths.saved_model_dir, path)
    self.assertEqual(model.input_type, "float_image_tensor")
    self.assertEqual(model.prepare(_image()).dtype, tf.float32)
    self.assertTrue(model.has_masks)
    self.check_outputs(model)

  def test_batched_signature(self):
    model = detection_model.DetectionModel(self.save(input_type="batched"))
    self.assertIsNone(model.max_batch_size)
    self.check_outputs(model, n=3)

  def test_encoded_image_string_signature(self):
    model = detection_model.DetectionModel(self.save(input_type="encoded_image_string_tensor"))
    self.assertEqual(model.input_type, "encoded_image_string_tensor")
    self.check_outputs(model)

  def test_not_a_detector_lists_its_signatures(self):
    path = fake_models.save_non_detector(os.path.join(self.create_tempdir().full_path, "m"))
    with self.assertRaises(detection_model.NotADetectorError) as cm:
      detection_model.DetectionModel(path)
    message = str(cm.exception)
    self.assertIn("does not look like a TF2 Object Detection API export", message)
    self.assertIn("outputs detection_boxes, detection_scores, detection_classes missing", message)
    self.assertIn(
        "serving_default: inputs {features: float32 [None,10]} -> outputs "
        "{logits: float32 [None,3]}", message)

  def test_no_serving_default(self):
    path = fake_models.save_without_serving_default(
        os.path.join(self.create_tempdir().full_path, "m"))
    with self.assertRaisesRegex(detection_model.NotADetectorError,
                                r"no 'serving_default'(.|\n)*predict: inputs"):
      detection_model.DetectionModel(path)

  def test_not_a_saved_model(self):
    empty = self.create_tempdir().full_path
    with self.assertRaisesRegex(FileNotFoundError, "holds no SavedModel"):
      detection_model.DetectionModel(empty)
    with self.assertRaisesRegex(FileNotFoundError, "does not exist"):
      detection_model.DetectionModel(os.path.join(empty, "nope"))
    a_file = self.create_tempfile("saved_model.pb").full_path
    with self.assertRaisesRegex(ValueError, f"--model_dir {a_file} is a file: give the"):
      detection_model.DetectionModel(a_file)


if __name__ == "__main__":
  absltest.main()
