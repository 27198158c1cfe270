"""Records written from a COCO dict read back as the same ground truth, and as the same images."""
import hashlib
import os

from absl.testing import absltest
import numpy as np
from pycocotools import mask as mask_utils
import tensorflow as tf

from eval.data import image_sources
from eval.data import label_map
from eval.data import test_data
from eval.data import tfrecords

_KEYS = {
    "image/height", "image/width", "image/filename", "image/source_id", "image/key/sha256",
    "image/encoded", "image/format", "image/object/bbox/xmin", "image/object/bbox/xmax",
    "image/object/bbox/ymin", "image/object/bbox/ymax", "image/object/class/text",
    "image/object/class/label", "image/object/is_crowd", "image/object/area"
}


def _examples(path):
  return [tf.train.Example.FromString(r) for r in tf.data.TFRecordDataset(path).as_numpy_iterator()]


class TfRecordsTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.dir = absltest.get_default_test_tmpdir() + "/tfrecords_test"
    os.makedirs(cls.dir, exist_ok=True)
    cls.coco = test_data.make_dataset(cls.dir)
    cls.items = [label_map.Item(c["id"], c["name"]) for c in test_data.CATEGORIES]
    cls.label_map_path = os.path.join(cls.dir, "label_map.pbtxt")
    label_map.write(cls.label_map_path, cls.items)
    cls.prefix = os.path.join(cls.dir, "out", "coco.record")
    cls.stats = tfrecords.write_coco(cls.coco, cls.dir, cls.prefix, num_shards=3,
                                     include_masks=True)

  def test_shards_and_counts(self):
    self.assertEqual(
        self.stats,
        tfrecords.WriteStats(num_images=4, num_annotations=4, num_skipped=2,
                             shard_paths=tuple(f"{self.prefix}-0000{i}-of-00003"
                                               for i in range(3))))
    self.assertEqual(sorted(os.listdir(os.path.dirname(self.prefix))),
                     [os.path.basename(p) for p in self.stats.shard_paths])  # no temporaries
    self.assertEqual([len(_examples(p)) for p in self.stats.shard_paths], [2, 1, 1])

  def test_keys_and_values_as_create_coco_tf_record(self):
    first, png = _examples(self.stats.shard_paths[0])  # images 0 and 3: round-robin
    self.assertEqual(set(first.features.feature), _KEYS | {"image/object/mask"})
    f = first.features.feature
    with open(os.path.join(self.dir, "a.jpg"), "rb") as img:
      encoded = img.read()
    self.assertEqual(f["image/encoded"].bytes_list.value, [encoded])
    self.assertEqual(f["image/key/sha256"].bytes_list.value,
                     [hashlib.sha256(encoded).hexdigest().encode()])
    self.assertEqual(f["image/source_id"].bytes_list.value, [b"100"])
    self.assertEqual(f["image/filename"].bytes_list.value, [b"a.jpg"])
    self.assertEqual(f["image/format"].bytes_list.value, [b"jpeg"])
    self.assertEqual((f["image/height"].int64_list.value, f["image/width"].int64_list.value),
                     ([48], [64]))
    self.assertEqual(f["image/object/class/text"].bytes_list.value, [b"person", b"dog"])
    self.assertEqual(f["image/object/class/label"].int64_list.value, [1, 18])
    self.assertEqual(f["image/object/is_crowd"].int64_list.value, [0, 0])
    np.testing.assert_array_equal(f["image/object/bbox/xmin"].float_list.value,
                                  np.float32([3.3 / 64, 40 / 64]))
    np.testing.assert_array_equal(f["image/object/bbox/ymax"].float_list.value,
                                  np.float32([(4.7 + 30.1) / 48, 48 / 48]))
    self.assertEqual(png.features.feature["image/format"].bytes_list.value, [b"png"])
    self.assertEqual(png.features.feature["image/object/bbox/xmin"].float_list.value, [])

  def test_without_masks_there_is_no_mask_key(self):
    prefix = os.path.join(self.create_tempdir().full_path, "nomask")
    stats = tfrecords.write_coco(self.coco, self.dir, prefix)
    self.assertEqual(set(_examples(stats.shard_paths[0])[0].features.feature), _KEYS)
    self.assertNotIn("segmentation",
                     tfrecords.read_ground_truth(prefix + "-*", self.items)["annotations"][0])

  def test_ground_truth_round_trip(self):
    gt = tfrecords.read_ground_truth(self.prefix + "-*", self.items)
    self.assertEqual(
        gt["categories"],
        [{"id": 1, "name": "person"}, {"id": 3, "name": "car"}, {"id": 18, "name": "dog"}])
    # Shards are read in order, and filled round-robin.
    self.assertEqual([im["id"] for im in gt["images"]], [100, 121, 107, 114])
    originals = {im["id"]: im for im in self.coco["images"]}
    for image in gt["images"]:
      self.assertEqual(
          image, {k: originals[image["id"]][k] for k in ("id", "width", "height", "file_name")})
    kept = [a for a in self.coco["annotations"] if a["id"] not in (3, 11)]
    by_image = {im["id"]: [] for im in gt["images"]}
    for ann in kept:
      by_image[ann["image_id"]].append(ann)
    expected = [a for image_id in by_image for a in by_image[image_id]]  # gt's order
    self.assertEqual([a["id"] for a in gt["annotations"]], list(range(1, len(expected) + 1)))
    for want, got in zip(expected, gt["annotations"], strict=True):
      image = originals[want["image_id"]]
      self.assertEqual((got["image_id"], got["category_id"], got["iscrowd"]),
                       (want["image_id"], want["category_id"], want["iscrowd"]))
      self.assertEqual(got["area"], float(np.float32(want["area"])))  # exact, float32-stored
      scale = np.array([image["width"], image["height"]] * 2)
      np.testing.assert_array_less(np.abs(np.subtract(got["bbox"], want["bbox"])),
                                   tfrecords.BOX_TOLERANCE * scale + 1e-12)
      rle = mask_utils.frPyObjects(want["segmentation"], image["height"], image["width"])
      want_mask = mask_utils.decode(rle)
      want_mask = want_mask.max(axis=2) if want_mask.ndim == 3 else want_mask
      got_rle = dict(got["segmentation"], counts=got["segmentation"]["counts"].encode())
      np.testing.assert_array_equal(mask_utils.decode(got_rle), want_mask)

  def test_pipeline_images_match_the_ground_truth(self):
    source = image_sources.TfRecordSource([self.prefix + "-00000-*", self.prefix + "-0000[12]-*"],
                                          self.label_map_path)
    self.assertEqual(source.num_images, 4)
    names = {im["id"]: im["file_name"] for im in source.ground_truth["images"]}
    elements = list(source.dataset().as_numpy_iterator())
    self.assertEqual([e["image_id"] for e in elements],
                     [im["id"] for im in source.ground_truth["images"]])
    for e in elements:
      want = test_data.expected_rgb(self.dir, names[e["image_id"]])
      self.assertEqual((e["height"], e["width"]), want.shape[:2])
      self.assertEqual(e["image"].dtype, np.uint8)
      if names[e["image_id"]].endswith(".png"):
        np.testing.assert_array_equal(e["image"], want)
      else:  # TF's and PIL's JPEG decoders may round differently
        self.assertLess(np.abs(e["image"].astype(int) - want).mean(), 1)
    self.assertLen(list(source.dataset(max_images=2)), 2)

  def test_pipeline_errors_name_the_file_and_image(self):
    path = os.path.join(self.create_tempdir().full_path, "bad.record")
    example, = _examples(self.stats.shard_paths[1])
    example.features.feature["image/encoded"].bytes_list.value[:] = [b"garbage"]
    with tf.io.TFRecordWriter(path) as writer:
      writer.write(example.SerializeToString())
    source = image_sources.TfRecordSource(path, self.label_map_path)
    with self.assertRaisesRegex(
        tf.errors.InvalidArgumentError,
        rf"Not a JPEG, PNG, GIF or BMP image:\] \[{path}: record 0 \(image id 107\)\]"):
      list(source.dataset())

  def test_class_text_through_the_label_map_when_label_is_absent(self):
    path = os.path.join(self.create_tempdir().full_path, "text_only.record")
    with tf.io.TFRecordWriter(path) as writer:
      for example in _examples(self.stats.shard_paths[0]):
        del example.features.feature["image/object/class/label"]
        del example.features.feature["image/object/area"]
        writer.write(example.SerializeToString())
    items = [label_map.Item(1, "/m/01g317", "person"), label_map.Item(18, "/m/0bt9lr", "dog")]
    gt = tfrecords.read_ground_truth(path, items)
    self.assertEqual([a["category_id"] for a in gt["annotations"]], [1, 18])
    for a in gt["annotations"]:  # without image/object/area: the box area
      self.assertAlmostEqual(a["area"], a["bbox"][2] * a["bbox"][3])
    with self.assertRaisesRegex(
        ValueError, rf"^{path}: record 0 \(image id 100\): object 1 "
        r"class/text 'dog' is not in the label map"):
      tfrecords.read_ground_truth(path, items[:1])

  def test_read_errors_name_file_and_record(self):
    path = os.path.join(self.create_tempdir().full_path, "bad.record")
    examples = _examples(self.stats.shard_paths[1])
    bad_id, = _examples(self.stats.shard_paths[1])
    bad_id.features.feature["image/source_id"].bytes_list.value[:] = [b"b.jpg"]
    uneven, = _examples(self.stats.shard_paths[1])
    uneven.features.feature["image/object/bbox/xmax"].float_list.value.append(0.5)
    cases = [([bad_id], r"record 0: image/source_id 'b.jpg' is not an integer image id"),
             ([examples[0], examples[0]],
              r"record 1 \(image id 107\): duplicate image id, first in record 0 of "),
             ([uneven], r"record 0 \(image id 107\): 1 boxes but 2 "
              "image/object/bbox/xmax values")]
    for records, pattern in cases:
      with self.subTest(pattern=pattern):
        with tf.io.TFRecordWriter(path) as writer:
          for example in records:
            writer.write(example.SerializeToString())
        with self.assertRaisesRegex(ValueError, f"^{path}: {pattern}"):
          tfrecords.read_ground_truth(path, self.items)
    with self.assertRaisesRegex(FileNotFoundError, "nothing-\\*: no TFRecord file matches"):
      tfrecords.read_ground_truth(os.path.join(self.dir, "nothing-*"), self.items)

  def test_write_errors_leave_no_output(self):
    out = self.create_tempdir().full_path
    broken = dict(
        self.coco, images=self.coco["images"]
        + [{"id": 999, "file_name": "missing.jpg", "width": 4, "height": 4}])
    with self.assertRaisesRegex(FileNotFoundError, "missing.jpg: cannot read image id 999"):
      tfrecords.write_coco(broken, self.dir, os.path.join(out, "r"), num_shards=2)
    wrong_size = dict(self.coco, images=[dict(self.coco["images"][0], width=65)])
    with self.assertRaisesRegex(
        ValueError, r"a.jpg: image is 64x48 but the annotations say "
        r"65x48 \(image id 100\)"):
      tfrecords.write_coco(wrong_size, self.dir, os.path.join(out, "r"))
    no_category = dict(self.coco, categories=self.coco["categories"][:2])
    with self.assertRaisesRegex(
        ValueError, r"image id 100 \(a.jpg\): annotation 2: category_id "
        "18 is not in the categories"):
      tfrecords.write_coco(no_category, self.dir, os.path.join(out, "r"))
    self.assertEqual(os.listdir(out), [])


if __name__ == "__main__":
  absltest.main()
