"""Fuzz tests of the COCO JSON + image folder input (CocoJsonSource), as //eval:evaluate_model
reads it: the annotations, the images found on disk, the decoded images, and the ground truth
the evaluation then loads (cocoeval_cc.COCO).

Property: a document either loads, and then its images decode (or fail naming the image file)
and its ground truth loads in the evaluator, or the source refuses it at once with a ValueError
(or FileNotFoundError) whose message starts with the annotations path and, for a problem in a
record, names the record ("images[3] (id 7)", "annotations[0] (id 1)"). Nothing else escapes
(no TypeError, KeyError, RecursionError, UnicodeDecodeError, raw TensorFlow error).

Inputs: mutations of a real annotations document (hypothesis, derandomized): keys removed or
given values of other types, negative, zero, huge or non-finite numbers, nested containers;
duplicated or dropped records (duplicate ids); annotations moved to unknown images or
categories; byte mutations of the file (non-UTF-8 bytes, truncation); deep nesting.
"""
import copy
import json
import os
import re
import time

from absl.testing import absltest
import hypothesis
from hypothesis import strategies as st
import tensorflow as tf

import cocoeval_cc
from eval.data import fuzz_strategies
from eval.data import image_sources
from eval.data import test_data

_SETTINGS = hypothesis.settings(max_examples=300, deadline=None, derandomize=True,
                                suppress_health_check=list(hypothesis.HealthCheck))
_SECONDS = 30  # per input: a hang fails instead of stalling CI
_KEYS = {
    "images": ("id", "file_name", "height", "width"),
    "annotations": ("id", "image_id", "category_id", "bbox", "area", "iscrowd", "segmentation"),
    "categories": ("id", "name", "supercategory"),
}
_FILE_NAMES = [name for name, *_ in test_data.IMAGES] + ["instances.json", "missing.jpg"]
_HOSTILE = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3),
    st.sampled_from([2 ** 31, 2 ** 63, 2 ** 64, -2 ** 63]),
    st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from([0.5, -1.5, 1e308]),
    st.text(max_size=8) | st.sampled_from(["", "100", "a.jpg", "../a.jpg", "é/ü.jpg", "a\0.jpg"]),
    st.lists(st.integers(-2, 50), max_size=5),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.recursive(st.integers(0, 9), lambda c: st.lists(c, max_size=2), max_leaves=6))


@st.composite
def _mutated_document(draw, original: dict) -> dict:
  """The document with 1-4 changes to its records, keys and values."""
  doc = copy.deepcopy(original)
  for _ in range(draw(st.integers(1, 4))):
    section = draw(st.sampled_from(tuple(_KEYS)))
    records = doc[section]
    op = draw(
        st.sampled_from(("set", "set", "delete", "duplicate", "drop", "unknown_ref", "not_a_record",
                         "section", "plausible")))
    if op == "section":  # the section itself replaced or removed
      if draw(st.booleans()):
        del doc[section]
      else:
        doc[section] = draw(_HOSTILE)
      break
    if not records:
      continue
    index = draw(st.integers(0, len(records) - 1))
    if op in ("set", "delete", "unknown_ref", "plausible") and not isinstance(records[index], dict):
      continue  # an earlier change made it a non-record
    if op == "set":
      records[index][draw(st.sampled_from(_KEYS[section]))] = draw(_HOSTILE)
    elif op == "delete":
      records[index].pop(draw(st.sampled_from(_KEYS[section])), None)
    elif op == "duplicate":  # a second record with the same id
      records.append(copy.deepcopy(records[index]))
    elif op == "drop":
      del records[index]
    elif op == "unknown_ref" and section == "annotations":
      records[index][draw(st.sampled_from(("image_id", "category_id")))] = 99999
    elif op == "not_a_record":
      records[index] = draw(_HOSTILE)
    elif op == "plausible" and section == "images":  # another size, another image's file
      key = draw(st.sampled_from(("height", "width", "file_name")))
      records[index][key] = draw(
          st.integers(1, 100) if key != "file_name" else st.sampled_from(_FILE_NAMES))
  return doc


class CocoJsonFuzzTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.dir = os.path.join(absltest.get_default_test_tmpdir(), "coco_json_fuzz")
    os.makedirs(cls.dir, exist_ok=True)
    cls.document = test_data.make_dataset(cls.dir)
    cls.path = os.path.join(cls.dir, "fuzz.json")

  def write(self, data) -> str:
    with open(self.path, "wb") as f:
      f.write(data if isinstance(data, bytes) else json.dumps(data).encode())
    return self.path

  def outcome(self, path: str) -> str:
    """"loaded", "undecodable" or "refused", after checking the property."""
    start = time.monotonic()
    try:
      source = image_sources.CocoJsonSource(path, self.dir)
    except (ValueError, FileNotFoundError) as e:
      message = str(e)
      self.assertTrue(message.startswith(f"{path}: "), message)
      record = re.match(rf"{re.escape(path)}: (images|annotations|categories)\[", message)
      if record:  # a record is named by its index, and by its id when it has a usable one
        self.assertRegex(message, rf"^{re.escape(path)}: \w+\[\d+\]")
      return "refused"
    finally:
      self.assertLess(time.monotonic() - start, _SECONDS)
    try:
      ids = image_sources.image_ids(source, skip_missing=True)
      gt = source.ground_truth
      self.assertEqual(ids, [im["id"] for im in gt["images"]])
      cocoeval_cc.COCO(gt)  # the evaluation's loader takes what the source kept
      try:
        elements = list(source.dataset(skip_missing=True))
      except tf.errors.InvalidArgumentError as e:
        # A size the annotations get wrong, or a file that is not an image: named.
        bad = image_sources.find_undecodable(source)
        message = f"{bad[0]}: {bad[1]}" if bad else e.message
        self.assertIn(self.dir, message)
        return "undecodable"
      self.assertEqual([int(e["image_id"]) for e in elements], ids)
      return "loaded"
    finally:
      self.assertLess(time.monotonic() - start, _SECONDS)

  def test_the_original_loads(self):
    self.assertEqual(self.outcome(self.write(self.document)), "loaded")

  def test_named_refusals(self):
    d = self.document
    p = re.escape(self.path)
    cases = [
        (b"[1, 2]", "a JSON list, not a COCO annotations file"),
        (b'{"images": [], "categories": []}', "no 'annotations' list"),
        (b"\xff\xfe{}", "not UTF-8 text"),
        (b'{"images": ' + b"[" * 100000 + b"]" * 100000 + b"}", r"invalid JSON"),
        ({**d, "images": [5]}, r"images\[0\] is not an object"),
        ({**d, "images": [{**d["images"][0], "id": "100"}]},
         r"images\[0\]: 'id' must be an integer in \[.*\], got '100'"),
        ({**d, "images": [{**d["images"][0], "id": 2 ** 64}]},
         r"images\[0\]: 'id' must be an integer in \[.*\], got 18446744073709551616"),
        ({**d, "images": [*d["images"], d["images"][1]]},
         r"images\[4\] \(id 107\): duplicate id \(also used by images\[1\]\)"),
        ({**d, "images": [{**d["images"][0], "file_name": 7}]},
         r"images\[0\] \(id 100\): 'file_name' must be a non-empty string"),
        ({**d, "images": [{**d["images"][0], "width": 0}]},
         r"images\[0\] \(id 100\): 'width' must be an integer in \[1, 2147483647\], got 0"),
        ({**d, "images": [{**d["images"][0], "height": -48}]},
         r"images\[0\] \(id 100\): 'height' must be an integer in \[1, 2147483647\], got -48"),
        ({**d, "categories": [*d["categories"], {"id": "7", "name": "x"}]},
         r"categories\[3\]: 'id' must be an integer in \[.*\], got '7'"),
        ({**d, "annotations": [{**d["annotations"][0], "image_id": None}]},
         r"annotations\[0\]: 'image_id' must be an integer in \[.*\], got None"),
        ({**d, "annotations": [{**d["annotations"][0], "bbox": [1, 2, "3", 4]}]},
         r"annotations\[0\] \(id 1\): 'bbox' must be a list of 4 numbers"),
        ({**d, "annotations": [{**d["annotations"][0], "area": 1e400}]},
         r"annotations\[0\] \(id 1\): 'area' must be a number"),
    ]
    for data, message in cases:
      with self.subTest(message=message):
        self.assertEqual(self.outcome(self.write(data)), "refused")
        with self.assertRaisesRegex(ValueError, f"^{p}: {message}"):
          image_sources.CocoJsonSource(self.path, self.dir)
    with self.assertRaisesRegex(ValueError, f"^{re.escape(self.dir)}: is a directory"):
      image_sources.CocoJsonSource(self.dir, self.dir)

  def test_what_loads_is_evaluable(self):
    # Annotations on unknown images and categories are left to the evaluation (ignored there,
    # as pycocotools does); a wrong image size is caught when the image is decoded.
    d = self.document
    unknown = {**d, "annotations": [{**d["annotations"][0], "image_id": 99999, "category_id": 5}]}
    self.assertEqual(self.outcome(self.write(unknown)), "loaded")
    wrong_size = {**d, "images": [{**d["images"][0], "width": 65}]}
    self.assertEqual(self.outcome(self.write(wrong_size)), "undecodable")

  def test_mutated_documents(self):
    seen = []

    @_SETTINGS
    @hypothesis.given(_mutated_document(self.document))
    def check(doc):
      seen.append(self.outcome(self.write(doc)))

    check()
    self.assertContainsSubset({"loaded", "refused", "undecodable"}, set(seen))

  def test_byte_mutations_of_the_file(self):
    seen = []
    original = json.dumps(self.document, indent=1).encode()

    @_SETTINGS
    @hypothesis.given(fuzz_strategies.mutated_bytes(original))
    def check(data):
      seen.append(self.outcome(self.write(data)))

    check()
    self.assertContainsSubset({"loaded", "refused"}, set(seen))


if __name__ == "__main__":
  absltest.main()
