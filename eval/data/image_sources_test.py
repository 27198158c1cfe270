"""Image sources: decoding, order, missing images, bad files, and the pipeline.config factory."""
import json
import os
import shutil

from absl.testing import absltest
import numpy as np
import tensorflow as tf

from eval.data import image_sources
from eval.data import label_map
from eval.data import pipeline_config
from eval.data import test_data
from eval.data import tfrecords


class CocoJsonSourceTest(absltest.TestCase):

  def setUp(self):
    super().setUp()
    self.dir = self.create_tempdir().full_path
    self.coco = test_data.make_dataset(self.dir)
    self.json = os.path.join(self.dir, "instances.json")

  def test_decodes_every_form_in_order(self):
    source = image_sources.CocoJsonSource(self.json, self.dir)
    self.assertEqual(source.ground_truth, self.coco)
    self.assertEqual(source.num_images, 4)
    ds = source.dataset()
    self.assertEqual(
        ds.element_spec, {
            "image_id": tf.TensorSpec([], tf.int64), "image": tf.TensorSpec(
                [None, None, 3], tf.uint8), "height": tf.TensorSpec([], tf.int32),
            "width": tf.TensorSpec([], tf.int32)
        })
    elements = list(ds.as_numpy_iterator())
    self.assertEqual([e["image_id"] for e in elements], [100, 107, 114, 121])
    for element, (name, _, width, height) in zip(elements, test_data.IMAGES, strict=True):
      with self.subTest(name=name):
        self.assertEqual((element["height"], element["width"]), (height, width))
        self.assertEqual(element["image"].shape, (height, width, 3))
        want = test_data.expected_rgb(self.dir, name)
        if name.endswith(".png"):  # RGBA: alpha dropped, colours kept exactly
          np.testing.assert_array_equal(element["image"], want)
        else:
          self.assertLess(np.abs(element["image"].astype(int) - want).mean(), 1)
    gray = elements[2]["image"]
    np.testing.assert_array_equal(gray[..., 0], gray[..., 2])  # grayscale replicated
    self.assertEqual([e["image_id"] for e in source.dataset(max_images=2).as_numpy_iterator()],
                     [100, 107])

  def test_missing_images_are_an_error_listing_them(self):
    os.remove(os.path.join(self.dir, "gray.jpg"))
    os.remove(os.path.join(self.dir, "tall", "b.jpg"))
    source = image_sources.CocoJsonSource(self.json, self.dir)
    with self.assertRaisesRegex(
        FileNotFoundError, r"2 of 4 images listed in .*instances.json "
        r"are missing:\n  .*/tall/b.jpg\n  .*/gray.jpg\n"):
      source.dataset()

  def test_missing_images_skipped_and_left_out_of_the_ground_truth(self):
    os.remove(os.path.join(self.dir, "gray.jpg"))
    source = image_sources.CocoJsonSource(self.json, self.dir)
    with self.assertLogs(level="WARNING") as logs:
      ids = [e["image_id"] for e in source.dataset(skip_missing=True).as_numpy_iterator()]
    self.assertIn("gray.jpg", logs.output[0])
    self.assertEqual(ids, [100, 107, 121])
    self.assertEqual(source.num_images, 3)
    gt = source.ground_truth
    self.assertEqual([im["id"] for im in gt["images"]], ids)
    self.assertNotIn(114, {a["image_id"] for a in gt["annotations"]})
    self.assertLen(gt["annotations"], len(self.coco["annotations"]) - 1)
    self.assertEqual(gt["categories"], self.coco["categories"])

  def test_bad_files_name_the_image(self):
    with open(os.path.join(self.dir, "c.png"), "wb") as f:
      f.write(b"this is not an image")
    ds = image_sources.CocoJsonSource(self.json, self.dir).dataset()
    with self.assertRaisesRegex(tf.errors.InvalidArgumentError,
                                r"Not a JPEG, PNG, GIF or BMP image.*c\.png"):
      list(ds)
    coco = dict(self.coco, images=[dict(self.coco["images"][0], height=47)])
    with open(self.json, "w") as f:
      json.dump(coco, f)
    with self.assertRaisesRegex(tf.errors.InvalidArgumentError,
                                r"differs from the ground truth.*a\.jpg"):
      list(image_sources.CocoJsonSource(self.json, self.dir).dataset())

  def test_subsets_by_image_id_keep_the_source_order(self):
    source = image_sources.CocoJsonSource(self.json, self.dir)
    self.assertEqual(image_sources.image_ids(source), [100, 107, 114, 121])
    self.assertEqual(image_sources.image_ids(source, max_images=3), [100, 107, 114])
    full = {e["image_id"]: e["image"] for e in source.dataset().as_numpy_iterator()}
    subset = list(source.dataset_for_ids([121, 107]).as_numpy_iterator())
    self.assertEqual([e["image_id"] for e in subset], [107, 121])  # dataset() order
    for e in subset:
      np.testing.assert_array_equal(e["image"], full[e["image_id"]])
    with self.assertRaisesRegex(KeyError, r"image ids \[5\] are not images of this source"):
      source.dataset_for_ids([100, 5])
    os.remove(os.path.join(self.dir, "gray.jpg"))
    source = image_sources.CocoJsonSource(self.json, self.dir)
    with self.assertRaisesRegex(FileNotFoundError, "1 of 4 images"):
      image_sources.image_ids(source)
    with self.assertLogs(level="WARNING"):
      self.assertEqual(image_sources.image_ids(source, skip_missing=True), [100, 107, 121])

  def test_bad_annotation_files(self):
    with open(self.json, "w") as f:
      f.write("{not json")
    with self.assertRaisesRegex(ValueError, "instances.json: invalid JSON"):
      image_sources.CocoJsonSource(self.json, self.dir)
    with open(self.json, "w") as f:
      json.dump({"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [], "categories": []},
                f)
    with self.assertRaisesRegex(ValueError, r"instances.json: images\[0\] has no height, width"):
      image_sources.CocoJsonSource(self.json, self.dir)


class FromPipelineConfigTest(absltest.TestCase):

  def test_records_and_label_map_from_the_config_or_arguments(self):
    work = self.create_tempdir().full_path
    coco = test_data.make_dataset(work)
    tfrecords.write_coco(coco, work, os.path.join(work, "val.record"), num_shards=2)
    label_map.write(os.path.join(work, "labels.pbtxt"),
                    {c["id"]: c["name"] for c in coco["categories"]})
    config = pipeline_config.parse(f"""model {{ ssd {{ num_classes: 90 }} }}
        eval_input_reader {{ label_map_path: "{work}/labels.pbtxt"
          tf_record_input_reader {{ input_path: "{work}/val.record-?????-of-00002" }} }}""")
    source = image_sources.from_pipeline_config(config)
    self.assertIsInstance(source, image_sources.TfRecordSource)
    self.assertEqual(source.files, [f"{work}/val.record-0000{i}-of-00002" for i in range(2)])
    self.assertEqual(source.num_images, 4)
    self.assertEqual([e["image_id"] for e in source.dataset().as_numpy_iterator()],
                     [im["id"] for im in source.ground_truth["images"]])
    subset = list(source.dataset_for_ids([121, 100]).as_numpy_iterator())
    self.assertEqual([e["image_id"] for e in subset], [100, 121])  # record order
    self.assertEqual(subset[1]["image"].shape, (36, 36, 3))
    order = [im["id"] for im in source.ground_truth["images"]]  # record order
    self.assertEqual(image_sources.image_ids(source, max_images=2), order[:2])

    os.makedirs(os.path.join(work, "sub"))
    shutil.copy(os.path.join(work, "val.record-00001-of-00002"), os.path.join(work, "sub"))
    os.environ["BUILD_WORKING_DIRECTORY"] = work  # relative arguments resolve against it
    self.addCleanup(os.environ.pop, "BUILD_WORKING_DIRECTORY")
    placeholder = pipeline_config.load(
        os.path.join(os.path.dirname(__file__), "testdata",
                     "ssd_efficientdet_d0_512x512_coco17_tpu-8.config"))
    with self.assertRaisesRegex(ValueError, "input_path is the placeholder"):
      image_sources.from_pipeline_config(placeholder)
    source = image_sources.from_pipeline_config(placeholder, input_patterns=["sub/*"],
                                                label_map_path="labels.pbtxt")
    self.assertEqual(source.files, [f"{work}/sub/val.record-00001-of-00002"])
    self.assertEqual(source.num_images, 2)
    with self.assertRaisesRegex(ValueError, "no eval_input_reader #0"):
      image_sources.from_pipeline_config(pipeline_config.parse("model { ssd { } }", "p.config"))


if __name__ == "__main__":
  absltest.main()
