"""The benchmarks' model graphs keep the zoo export's contract, and D0 its shapes."""
import tempfile

from absl.testing import absltest
import numpy as np
import tensorflow as tf

from benchmarks import centernet_mobilenet_graph
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
  """Each graph, exported, answers the zoo's serving signature with the zoo's outputs."""

  def _check_export(self, save):
    with tempfile.TemporaryDirectory() as work:
      save(work)
      model = tf.saved_model.load(f"{work}/saved_model")
      serve = model.signatures["serving_default"]
      image = tf.constant(np.random.default_rng(1).integers(0, 255, (1, 427, 640, 3), np.uint8))
      out = serve(input_tensor=image)
    self.assertEqual(out["detection_boxes"].shape, (1, 100, 4))
    self.assertEqual(out["detection_scores"].shape, (1, 100))
    self.assertEqual(out["detection_classes"].shape, (1, 100))
    self.assertEqual(out["num_detections"].shape, (1,))
    self.assertEqual(out["detection_boxes"].dtype, tf.float32)
    n = int(out["num_detections"][0])
    self.assertGreater(n, 0)
    boxes, classes = out["detection_boxes"].numpy()[0, :n], out["detection_classes"].numpy()[0, :n]
    self.assertTrue(np.all((boxes >= 0) & (boxes <= 1)))
    self.assertTrue(np.all((classes >= 1) & (classes <= 90)))

  def test_efficientdet_d0(self):
    self._check_export(graph.save)

  def test_centernet_mobilenetv3(self):
    self._check_export(centernet_mobilenet_graph.save)


if __name__ == "__main__":
  absltest.main()
