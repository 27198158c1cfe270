"""Label map reading and writing."""
import os

from absl.testing import absltest

from eval.data import label_map
from eval.data import textproto

_MSCOCO_HEAD = """item {
  name: "/m/01g317"
  id: 1
  display_name: "person"
}
item {
  name: "/m/0199g"
  id: 2
  display_name: "bicycle"
}
# ids 12, 26, ... are absent in the COCO map
item {
  name: "/m/02pv19"
  id: 13
  display_name: "stop sign"
}
item { name: "no_display_name" id: 90 }
"""


class LabelMapTest(absltest.TestCase):

  def test_mscoco_format(self):
    path = self.create_tempfile("mscoco_label_map.pbtxt", _MSCOCO_HEAD).full_path
    self.assertEqual(label_map.load(path),
                     {1: "person", 2: "bicycle", 13: "stop sign", 90: "no_display_name"})
    items = label_map.load_items(path)
    self.assertEqual(items[0], label_map.Item(1, "/m/01g317", "person"))
    self.assertEqual(
        label_map.categories(reversed(items))[:2],
        [{"id": 1, "name": "person"}, {"id": 2, "name": "bicycle"}])
    mapping = label_map.text_to_id(items)
    self.assertEqual((mapping["person"], mapping["/m/01g317"], mapping["no_display_name"]),
                     (1, 1, 90))

  def test_background_item_is_allowed_and_dropped(self):
    text = 'item { id: 0 name: "background" } item { id: 1 name: "cat" }'
    self.assertEqual(label_map.to_labels(label_map.parse_items(text)), {1: "cat"})

  def test_errors_name_file_line_and_item(self):
    cases = [
        ('item { id: 1 name: "a" }\nitem {\n id: 1 name: "b" }', 2,
         r"item #2: duplicate id 1 \(first on line 1\)"),
        ('item { id: 1 name: "a" }\nitem { name: "b" }', 2, "item #2 has no id"),
        ('item { id: 3 }', 1, r"item #1 \(id 3\) has no name or display_name"),
        ('item { id: 0 name: "cat" }', 1, "item #1: id 0 is reserved for background"),
        ('item { id: -2 name: "cat" }', 1, "item #1: id -2 is negative"),
        ('item { id: "one" name: "cat" }', 1, "field 'id': expected an int"),
        ('item { id: 1 name: "cat" ', 1, "missing '}'"),
    ]
    for text, line, pattern in cases:
      with self.subTest(text=text):
        with self.assertRaisesRegex(textproto.TextFormatError, rf"^lm.pbtxt:{line}: {pattern}"):
          label_map.parse_items(text, "lm.pbtxt")

  def test_write_round_trips(self):
    out = self.create_tempdir().full_path
    items = [
        label_map.Item(1, "/m/01g317", "person"),
        label_map.Item(7, "q\"uote\\", None),
        label_map.Item(3, None, "only display")
    ]
    label_map.write(os.path.join(out, "items.pbtxt"), items)
    self.assertEqual(label_map.load_items(os.path.join(out, "items.pbtxt")), items)
    label_map.write(os.path.join(out, "dict.pbtxt"), {2: "dog", 1: "cat"})
    self.assertEqual(label_map.load_items(os.path.join(out, "dict.pbtxt")),
                     [label_map.Item(1, "cat", "cat"),
                      label_map.Item(2, "dog", "dog")])
    with self.assertRaisesRegex(ValueError, r"dup.pbtxt: duplicate label map ids \[1\]"):
      label_map.write(os.path.join(out, "dup.pbtxt"),
                      [label_map.Item(1, "a"), label_map.Item(1, "b")])
    self.assertEqual(sorted(os.listdir(out)), ["dict.pbtxt", "items.pbtxt"])


if __name__ == "__main__":
  absltest.main()
