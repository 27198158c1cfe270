"""The inference loop on an in-memory image source: batching by size, results, the cache."""
import json
import os

from absl.testing import absltest
import numpy as np
import tensorflow as tf

from eval.model import detection_model
from eval.model import inference
from eval.model.testing import fake_models

_SIZES = [(6, 8), (10, 4), (6, 8), (7, 7), (10, 4), (6, 8)]  # repeated sizes batch together


class _MemorySource:
  """The ImageSource interface over blank images of the given sizes (ids 1, 2, ...)."""

  def __init__(self, sizes):
    self.sizes = sizes
    self.ground_truth = {
        "images": [{"id": i + 1, "height": h, "width": w} for i, (h, w) in enumerate(sizes)],
        "annotations": [], "categories": [{"id": 1, "name": "a"}]
    }

  @property
  def num_images(self):
    return len(self.sizes)

  def dataset(self, max_images=None, skip_missing=False):
    del skip_missing
    sizes = self.sizes[:max_images]

    def gen():
      for i, (h, w) in enumerate(sizes):
        yield {
            "image_id": np.int64(i + 1), "image": np.zeros([h, w, 3], np.uint8),
            "height": np.int32(h), "width": np.int32(w)
        }

    return tf.data.Dataset.from_generator(
        gen, output_signature={
            "image_id": tf.TensorSpec([], tf.int64), "image": tf.TensorSpec([None, None, 3],
                                                                            tf.uint8),
            "height": tf.TensorSpec([], tf.int32), "width": tf.TensorSpec([], tf.int32)
        })


def _table():
  # One box per size, over the image's left half, class 1; class 5 is not in the label map.
  return {(h, w):
              fake_models.ImageDetections(boxes=np.array([[0, 0, 1, 0.5], [0, 0, 1, 1]]),
                                          scores=np.array([0.9, 0.8]), classes=np.array([1, 5]))
          for (h, w) in set(_SIZES)}


class InferenceTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    root = absltest.get_default_test_tmpdir()
    cls.single = detection_model.DetectionModel(
        fake_models.save_table_model(os.path.join(root, "single"), _table()))
    cls.batched = detection_model.DetectionModel(
        fake_models.save_table_model(os.path.join(root, "batched"), _table(), input_type="batched"))

  def check(self, detections, sizes):
    self.assertEqual(detections.num_images, len(sizes))
    self.assertIsNone(detections.segm)
    by_id = {d["image_id"]: d for d in detections.bbox}
    self.assertLen(detections.bbox, len(sizes))  # class 5 dropped
    for i, (h, w) in enumerate(sizes):
      self.assertEqual(by_id[i + 1]["bbox"], [0.0, 0.0, w / 2, float(h)])

  def test_single_image_signature(self):
    source = _MemorySource(_SIZES)
    self.check(inference.run(self.single, source, [1], batch_size=4), _SIZES)

  def test_batches_group_images_of_one_size(self):
    source = _MemorySource(_SIZES)
    batches = list(inference.input_dataset(self.batched, source, batch_size=2))
    shapes = sorted(tuple(b["image"].shape) for b in batches)
    self.assertEqual(shapes, [(1, 6, 8, 3), (1, 7, 7, 3), (2, 6, 8, 3), (2, 10, 4, 3)])
    self.check(inference.run(self.batched, source, [1], batch_size=2), _SIZES)

  def test_max_images(self):
    self.check(inference.run(self.single, _MemorySource(_SIZES), [1], max_images=2), _SIZES[:2])

  def test_subset_of_image_ids_and_latencies(self):
    source = _MemorySource(_SIZES)
    full = inference.run(self.single, source, [1], log_interval=None)
    self.assertLen(full.latencies, len(_SIZES))
    self.assertTrue(all(t > 0 for t in full.latencies))
    part = inference.run(self.single, source, [1], image_ids=[2, 5, 6], log_interval=None)
    self.assertEqual(part.num_images, 3)
    self.assertEqual(part.bbox, [r for r in full.bbox if r["image_id"] in (2, 5, 6)])
    self.assertLen(part.latencies, 3)
    batched = inference.run(self.batched, source, [1], image_ids=[1, 3, 6], batch_size=4)
    self.assertLen(batched.latencies, 3)
    self.assertEqual(sorted(r["image_id"] for r in batched.bbox), [1, 3, 6])

  def test_started_input_gives_the_same_results(self):
    source = _MemorySource(_SIZES)
    plain = inference.run(self.batched, source, [1], image_ids=[2, 3, 6], batch_size=2,
                          log_interval=None)
    started = inference.StartedInput(self.batched, source, [2, 3, 6], batch_size=2)
    again = inference.run(self.batched, source, [1], log_interval=None, started=started)
    self.assertEqual(again.bbox, plain.bbox)
    self.assertEqual(again.num_images, 3)
    with self.assertRaisesRegex(ValueError, "another model or other images"):
      inference.run(self.single, source, [1], started=started)

  def test_started_input_keeps_a_first_batch_error_for_the_run(self):

    class _Broken(_MemorySource):

      def dataset(self, max_images=None, skip_missing=False):
        return super().dataset().map(
            lambda e: {**e, "image": tf.io.decode_jpeg(tf.constant(b"not a jpeg"))})

    started = inference.StartedInput(self.single, _Broken(_SIZES), [1, 2])  # no raise here
    with self.assertRaises(tf.errors.InvalidArgumentError):
      inference.run(self.single, _Broken(_SIZES), [1], log_interval=None, started=started)

  def test_cache_file_keeps_extra_keys(self):
    out = self.create_tempdir().full_path
    fingerprint = inference.detections_fingerprint(self.single.paths.saved_model_dir, {"s": 1})
    detections = inference.run(self.single, _MemorySource(_SIZES), [1], log_interval=None)
    inference.store(out, fingerprint, detections, extra={"model_info": {"a": 1}})
    with open(os.path.join(out, inference.FINGERPRINT)) as f:
      self.assertEqual(json.load(f)["model_info"], {"a": 1})
    self.assertEqual(inference.load_cached(out, fingerprint).bbox, detections.bbox)

  def test_cache(self):
    out = self.create_tempdir().full_path
    source = _MemorySource(_SIZES)
    identity = {"source": "memory"}
    first = inference.cached_run(self.single, source, [1], out, identity)
    self.assertFalse(first.cached)
    again = inference.cached_run(self.single, source, [1], out, identity)
    self.assertTrue(again.cached)
    self.assertEqual(again.bbox, first.bbox)
    self.assertEqual(again.num_images, len(_SIZES))
    # Other input, other options, or results edited since: inference again.
    self.assertFalse(inference.cached_run(self.single, source, [1], out, {"source": "x"}).cached)
    self.assertFalse(
        inference.cached_run(self.single, source, [1], out, {"source": "x"}, max_images=3).cached)
    self.assertFalse(
        inference.cached_run(self.single, source, [1], out, {"source": "x"}, max_images=3,
                             box_frame="padded_square").cached)
    with open(os.path.join(out, inference.DETECTIONS), "a") as f:
      f.write(" ")
    self.assertFalse(
        inference.cached_run(self.single, source, [1], out, {"source": "x"}, max_images=3,
                             box_frame="padded_square").cached)
    self.assertTrue(
        inference.cached_run(self.single, source, [1], out, {"source": "x"}, max_images=3,
                             box_frame="padded_square").cached)
    forced = inference.cached_run(self.single, source, [1], out, {"source": "x"}, force=True,
                                  max_images=3, box_frame="padded_square")
    self.assertFalse(forced.cached)
    with open(os.path.join(out, inference.FINGERPRINT)) as f:
      self.assertEqual(json.load(f)["fingerprint"]["max_images"], 3)
    self.assertEqual([n for n in os.listdir(out) if n.endswith(".tmp")], [])


if __name__ == "__main__":
  absltest.main()
