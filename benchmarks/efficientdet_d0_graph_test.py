"""The benchmark's EfficientDet-D0 graph keeps the zoo export's contract and D0's shapes."""
import tempfile

from absl.testing import absltest
import numpy as np
import tensorflow as tf

from benchmarks import efficientdet_d0_graph as graph


class AnchorsTest(absltest.TestCase):

  def test_nine_anchors_per_location_on_levels_3_to_7(self):
    anchors = graph.anchors()
    self.assertEqual(anchors.shape, (9 * (64 ** 2 + 32 ** 2 + 16 ** 2 + 8 ** 2 + 4 ** 2), 4))
    # Level 3's first location: centre half a stride in; sizes 4 x stride x 2^(i/3).
    np.testing.assert_allclose(anchors[0, :2], [4 / 512, 4 / 512])
    np.testing.assert_allclose(anchors[0, 2:], [32 / 512, 32 / 512], rtol=1e-6)
    self.assertAlmostEqual(float(anchors[-1, 2] * anchors[-1, 3]),
                           (4 * 128 * 2 ** (2 / 3) / 512) ** 2, places=5)


class PerClassNmsTest(absltest.TestCase):

  def test_sorted_capped_clipped_and_one_based(self):
    rng = np.random.default_rng(0)
    corners = rng.uniform(0, 1, size=(500, 2, 2)).astype(np.float32)
    boxes = tf.constant(np.concatenate([corners.min(1), corners.max(1)], axis=1))
    scores = tf.constant(rng.uniform(0, 1, size=(500, graph.NUM_CLASSES)).astype(np.float32))
    window = tf.constant([0.75, 1.0])
    out = {k: v.numpy()[0] for k, v in graph._per_class_nms(boxes, scores, window).items()}  # pylint: disable=protected-access
    n = int(out["num_detections"])
    self.assertEqual(n, 100)
    self.assertTrue(np.all(np.diff(out["detection_scores"][:n]) <= 0))
    self.assertTrue(
        np.all((out["detection_classes"][:n] >= 1) &
               (out["detection_classes"][:n] <= graph.NUM_CLASSES)))
    self.assertTrue(np.all((out["detection_boxes"] >= 0) & (out["detection_boxes"] <= 1)))
    # NMS keeps each class's best box: the top detection is the best score of the boxes
    # that keep an area inside the window.
    inside = boxes.numpy()[:, 0] < 0.75
    self.assertAlmostEqual(float(out["detection_scores"][0]), float(scores.numpy()[inside].max()))


class ExportTest(absltest.TestCase):

  def test_serving_signature_as_the_zoo_export(self):
    with tempfile.TemporaryDirectory() as work:
      graph.save(work)
      model = tf.saved_model.load(f"{work}/saved_model")
      serve = model.signatures["serving_default"]
      image = tf.constant(np.random.default_rng(1).integers(0, 255, (1, 427, 640, 3), np.uint8))
      out = serve(input_tensor=image)
    self.assertEqual(out["detection_boxes"].shape, (1, 100, 4))
    self.assertEqual(out["detection_scores"].shape, (1, 100))
    self.assertEqual(out["detection_classes"].shape, (1, 100))
    self.assertEqual(out["num_detections"].shape, (1,))
    self.assertEqual(out["detection_boxes"].dtype, tf.float32)
    self.assertGreater(float(out["num_detections"][0]), 0)


if __name__ == "__main__":
  absltest.main()
