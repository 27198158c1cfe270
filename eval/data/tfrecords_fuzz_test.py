"""Fuzz tests of the TF OD API records input (TfRecordSource: tfrecords.py + image_sources.py),
as //eval:evaluate_model reads it: the ground truth first, then the decoded images.

Property: any file either parses (its images decode in record order, as the ground truth lists
them) or fails with an error that names the file and, for a problem inside it, the record
("PATH: record N ..."); a record whose image TensorFlow cannot decode is found and named as
inference names it (image_sources.find_undecodable). Nothing else escapes (no TypeError, no raw
TensorFlow error, no hang). Inputs: arbitrary bytes, byte mutations of a real file (bad CRCs,
truncation), and records re-framed with valid CRCs whose tf.train.Example lacks keys, has
values of the wrong type or count, or is not an Example at all (hypothesis, derandomized).
"""
import os
import re
import time

from absl.testing import absltest
import hypothesis
from hypothesis import strategies as st
import tensorflow as tf

from eval.data import fuzz_strategies
from eval.data import image_sources
from eval.data import label_map
from eval.data import test_data
from eval.data import tfrecords

_SETTINGS = hypothesis.settings(max_examples=150, deadline=None, derandomize=True,
                                suppress_health_check=list(hypothesis.HealthCheck))
_KEYS = ("image/height", "image/width", "image/filename", "image/source_id", "image/encoded",
         "image/format", "image/object/bbox/xmin", "image/object/bbox/xmax",
         "image/object/bbox/ymin", "image/object/bbox/ymax", "image/object/class/text",
         "image/object/class/label", "image/object/is_crowd", "image/object/area",
         "image/object/mask")
_SECONDS = 30  # per input: a hang fails instead of stalling CI


def _feature(kind: str, values: list) -> tf.train.Feature:
  return {"bytes": tfrecords._bytes, "int64": tfrecords._ints,
          "float": tfrecords._floats}[kind](values)  # pylint: disable=protected-access


_VALUES = {
    "bytes":
        st.lists(
            st.binary(max_size=12) | st.sampled_from([b"100", b"-3", b"person", b""]), max_size=3),
    "int64":
        st.lists(st.integers(-2 ** 63, 2 ** 63 - 1) | st.integers(-2, 100), max_size=3),
    "float":
        st.lists(st.floats(width=32) | st.floats(-0.5, 1.5, width=32), max_size=3),
}


@st.composite
def _mutated_examples(draw, serialized: list[bytes]) -> list[bytes]:
  """The records with 1-4 changes: a key removed, emptied, retyped, given other values, an image
  cut short, or a record replaced by bytes that are not an Example."""
  examples = [tf.train.Example.FromString(s) for s in serialized]
  out = None
  for _ in range(draw(st.integers(1, 4))):
    index = draw(st.integers(0, len(examples) - 1))
    f = examples[index].features.feature
    key = draw(st.sampled_from(_KEYS))
    op = draw(
        st.sampled_from(("delete", "empty", "retype", "values", "cut_image", "not_an_example")))
    if op == "delete":
      if key in f:
        del f[key]
    elif op == "empty":
      f[key].CopyFrom(tf.train.Feature())
    elif op == "cut_image":  # the signature survives, the picture does not
      encoded = f["image/encoded"].bytes_list.value
      if encoded and encoded[0]:
        encoded[0] = encoded[0][:draw(st.integers(0, len(encoded[0]) - 1))]
    elif op == "not_an_example":
      out = (index, draw(st.binary(min_size=1, max_size=40)))
    else:  # another type, or the same type with other values
      kind = draw(st.sampled_from(tuple(_VALUES)))
      f[key].CopyFrom(_feature(kind, draw(_VALUES[kind])))
  records = [e.SerializeToString() for e in examples]
  if out is not None:
    records[out[0]] = out[1]
  return records


class TfRecordsFuzzTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.dir = os.path.join(absltest.get_default_test_tmpdir(), "tfrecords_fuzz")
    os.makedirs(cls.dir, exist_ok=True)
    coco = test_data.make_dataset(cls.dir)
    cls.label_map_path = os.path.join(cls.dir, "label_map.pbtxt")
    label_map.write(cls.label_map_path,
                    [label_map.Item(c["id"], c["name"]) for c in coco["categories"]])
    stats = tfrecords.write_coco(coco, cls.dir, os.path.join(cls.dir, "val.record"),
                                 include_masks=True)
    with open(stats.shard_paths[0], "rb") as f:
      cls.file_bytes = f.read()
    cls.serialized = [
        bytes(r) for r in tf.data.TFRecordDataset(stats.shard_paths[0]).as_numpy_iterator()
    ]
    cls.path = os.path.join(cls.dir, "fuzz.record")

  def write_bytes(self, data: bytes) -> str:
    with open(self.path, "wb") as f:
      f.write(data)
    return self.path

  def write_records(self, records: list[bytes]) -> str:
    with tf.io.TFRecordWriter(self.path) as writer:
      for record in records:
        writer.write(record)
    return self.path

  def outcome(self, path: str) -> str:
    """"parsed", "undecodable" or "error", after checking the property."""
    start = time.monotonic()
    where = re.escape(path)
    try:
      source = image_sources.TfRecordSource(path, self.label_map_path)
      images = source.ground_truth["images"]
      try:
        elements = list(source.dataset())
      except tf.errors.InvalidArgumentError as e:
        # Inference names the image: the check's own message, or the record TF cannot decode.
        bad = image_sources.find_undecodable(source)
        message = f"{bad[0]}: {bad[1]}" if bad else e.message
        self.assertRegex(message, rf"{where}: record \d+ \(image id -?\d+\)")
        return "undecodable"
      self.assertEqual([int(e["image_id"]) for e in elements], [im["id"] for im in images])
      self.assertEqual([(int(e["height"]), int(e["width"])) for e in elements],
                       [(im["height"], im["width"]) for im in images])
      for e in elements:
        self.assertEqual(e["image"].shape[2], 3)
      return "parsed"
    except ValueError as e:
      self.assertRegex(str(e), rf"^{where}: (record \d+|is a directory)")
      return "error"
    finally:
      self.assertLess(time.monotonic() - start, _SECONDS)

  def test_the_original_parses(self):
    self.assertEqual(self.outcome(self.write_bytes(self.file_bytes)), "parsed")
    self.assertEqual(self.outcome(self.write_records(self.serialized)), "parsed")

  def test_empty_file_directory_and_truncations(self):
    self.assertEqual(self.outcome(self.write_bytes(b"")), "parsed")  # a shard with no records
    self.assertEmpty(
        image_sources.TfRecordSource(self.path, self.label_map_path).ground_truth["images"])
    directory = self.create_tempdir().full_path
    with self.assertRaisesRegex(ValueError, f"^{directory}: is a directory, not a TFRecord file"):
      image_sources.TfRecordSource(directory, self.label_map_path)
    with self.assertRaisesRegex(ValueError, f"^{directory}: is a directory, not a label map"):
      image_sources.TfRecordSource(self.path, directory)
    with self.assertRaisesRegex(FileNotFoundError, f"^{directory}/none: cannot read the label map"):
      image_sources.TfRecordSource(self.path, f"{directory}/none")
    # Cut at every point: a named error, except exactly between two records (the format has no
    # end marker: those files are whole files of fewer records).
    boundaries, offset = {0}, 0
    for record in self.serialized:
      offset += len(record) + 16
      boundaries.add(offset)
    for size in [*range(1, 40), *range(40, len(self.file_bytes), 211), *sorted(boundaries)]:
      with self.subTest(size=size):
        outcome = self.outcome(self.write_bytes(self.file_bytes[:size]))
        self.assertEqual(outcome, "parsed" if size in boundaries else "error")
    self.assertRegex(str(self._error(self.file_bytes[:5])), "record 0: truncated TFRecord file")
    self.assertRegex(
        str(self._error(self.file_bytes[:len(self.file_bytes) - 3])),
        rf"record {len(self.serialized) - 1}: corrupt TFRecord data, a bad CRC or a truncated file")

  def _error(self, data: bytes) -> ValueError:
    with self.assertRaises(ValueError) as raised:
      _ = image_sources.TfRecordSource(self.write_bytes(data), self.label_map_path).ground_truth
    return raised.exception

  def test_bad_crc_names_the_record(self):
    second = len(self.serialized[0]) + 16  # the second record's length field
    for at, record in ((3, 0), (10, 0), (20, 0), (second + 20, 1), (len(self.file_bytes) - 1, 3)):
      data = bytearray(self.file_bytes)
      data[at] ^= 0x40
      with self.subTest(at=at):
        self.assertRegex(str(self._error(bytes(data))),
                         f"^{re.escape(self.path)}: record {record}: corrupt")

  def test_wrong_keys_types_and_values_name_the_record(self):
    cases = [
        ("image/encoded", None, r"record 1 \(image id 107\): needs one image/encoded image, got 0"),
        ("image/height", _feature("float", [72.0]),
         r"record 1 \(image id 107\): image/height holds float values, expected int64"),
        ("image/width", _feature("int64",
                                 [0]), r"record 1 \(image id 107\): needs one image/height"),
        ("image/source_id", _feature("bytes", [b"1e3"]),
         r"record 1: image/source_id '1e3' is not an integer image id"),
        ("image/object/bbox/xmin", _feature("bytes", [b"0"]),
         r"record 1 \(image id 107\): image/object/bbox/xmin holds bytes values, expected float"),
        ("image/object/bbox/ymax", _feature("float", [float("nan")]),
         r"record 1 \(image id 107\): object 0: box or area not finite"),
        ("image/object/class/label", _feature("float", [3.0]),
         r"record 1 \(image id 107\): image/object/class/label holds float values, expected int64"),
        ("image/object/mask", _feature("bytes", [b"not a png"]),
         r"record 1 \(image id 107\) object 0: undecodable image/object/mask PNG"),
    ]
    for key, feature, message in cases:
      with self.subTest(key=key):
        example = tf.train.Example.FromString(self.serialized[1])
        if feature is None:
          del example.features.feature[key]
        else:
          example.features.feature[key].CopyFrom(feature)
        records = list(self.serialized)
        records[1] = example.SerializeToString()
        with self.assertRaisesRegex(ValueError, f"^{re.escape(self.path)}: {message}"):
          _ = image_sources.TfRecordSource(self.write_records(records),
                                           self.label_map_path).ground_truth

  def test_an_undecodable_image_is_named_with_its_record(self):
    example = tf.train.Example.FromString(self.serialized[2])
    jpeg = example.features.feature["image/encoded"].bytes_list.value[0]
    example.features.feature["image/encoded"].bytes_list.value[:] = [jpeg[:len(jpeg) // 3]]
    records = list(self.serialized)
    records[2] = example.SerializeToString()
    source = image_sources.TfRecordSource(self.write_records(records), self.label_map_path)
    with self.assertRaises(tf.errors.InvalidArgumentError):
      list(source.dataset())
    path, problem = image_sources.find_undecodable(source)
    self.assertEqual(path, f"{self.path}: record 2 (image id 114)")
    self.assertNotIn("function_node", problem)
    self.assertIsNone(image_sources.find_undecodable(source, max_images=2))
    self.assertIsNone(image_sources.find_undecodable(source, image_ids=[100, 121]))

  def test_arbitrary_bytes(self):
    seen = []

    @_SETTINGS
    @hypothesis.given(st.binary(max_size=300))
    def check(data):
      seen.append(self.outcome(self.write_bytes(data)))

    check()
    self.assertIn("error", seen)

  def test_byte_mutations_of_a_real_file(self):
    seen = []

    @_SETTINGS
    @hypothesis.given(fuzz_strategies.mutated_bytes(self.file_bytes))
    def check(data):
      seen.append(self.outcome(self.write_bytes(data)))

    check()
    self.assertIn("error", seen)

  def test_mutated_examples_with_valid_framing(self):
    seen = []

    @_SETTINGS
    @hypothesis.given(_mutated_examples(self.serialized))
    def check(records):
      seen.append(self.outcome(self.write_records(records)))

    check()
    # The mutations reach every outcome: some still parse, some fail, some do not decode.
    self.assertContainsSubset({"parsed", "error", "undecodable"}, set(seen))


if __name__ == "__main__":
  absltest.main()
