"""The instances + person keypoints merge: what it copies, what it leaves alone, and that
pycocotools reads the result as keypoint ground truth."""
import json
import os

from absl.testing import absltest
from pycocotools.coco import COCO

from eval.data import coco_keypoints

_NAMES = [f"k{i}" for i in range(17)]


def _instances():
  return {
      "images": [{"id": 1, "height": 100, "width": 100}],
      "categories": [{"id": 1, "name": "person"}, {"id": 3, "name": "car"}], "annotations": [
          {
              "id": 10, "image_id": 1, "category_id": 1, "bbox": [1, 1, 50, 80], "area": 3000,
              "iscrowd": 0
          },
          {
              "id": 11, "image_id": 1, "category_id": 1, "bbox": [60, 1, 30, 80], "area": 2000,
              "iscrowd": 1
          },
          {
              "id": 12, "image_id": 1, "category_id": 3, "bbox": [5, 5, 10, 10], "area": 100,
              "iscrowd": 0
          },
      ]
  }


def _keypoints():
  points = [v for i in range(17) for v in (2.0 + i, 3.0 + i, 2)]
  return {
      "images": [{"id": 1, "height": 100, "width": 100}],
      "categories": [{"id": 1, "name": "person", "keypoints": _NAMES,
                      "skeleton": [[1, 2]]}], "annotations": [{
                          "id": 10, "image_id": 1, "category_id": 1, "bbox": [1, 1, 50, 80],
                          "area": 3000, "iscrowd": 0, "keypoints": points, "num_keypoints": 17
                      }]
  }


class MergeTest(absltest.TestCase):

  def test_keypoints_copied_by_id_others_unchanged(self):
    merged = coco_keypoints.merge(_instances(), _keypoints())
    person, car = merged["categories"]
    self.assertEqual((person["keypoints"], person["skeleton"]), (_NAMES, [[1, 2]]))
    self.assertNotIn("keypoints", car)
    labelled, unlabelled, other = merged["annotations"]
    self.assertEqual(labelled["num_keypoints"], 17)
    self.assertEqual(labelled["keypoints"], _keypoints()["annotations"][0]["keypoints"])
    self.assertEqual((unlabelled["num_keypoints"], unlabelled["keypoints"]), (0, [0] * 51))
    self.assertEqual(other, _instances()["annotations"][2])
    self.assertEqual(merged["images"], _instances()["images"])

  def test_file_is_written_once_and_read_by_pycocotools(self):
    root = self.create_tempdir().full_path
    paths = []
    for name, data in (("instances_val2017.json", _instances()), ("person_keypoints_val2017.json",
                                                                  _keypoints())):
      paths.append(os.path.join(root, name))
      with open(paths[-1], "w") as f:
        json.dump(data, f)
    out = os.path.join(root, "derived")
    path = coco_keypoints.merged_file(*paths, out)
    self.assertRegex(os.path.basename(path),
                     r"^instances_val2017_with_person_keypoints_[0-9a-f]{16}\.json$")
    mtime = os.stat(path).st_mtime_ns
    self.assertEqual(coco_keypoints.merged_file(*paths, out), path)
    self.assertEqual(os.stat(path).st_mtime_ns, mtime)  # reused, not rewritten
    gt = COCO(path)
    self.assertEqual(gt.loadAnns(10)[0]["num_keypoints"], 17)
    self.assertEqual(gt.loadCats(1)[0]["keypoints"], _NAMES)

  def test_bad_inputs_are_named(self):
    with self.assertRaisesRegex(ValueError, "kp.json: no category lists keypoints"):
      coco_keypoints.merge(_instances(), _instances(), "kp.json")
    root = self.create_tempdir().full_path
    bad = os.path.join(root, "bad.json")
    with open(bad, "w") as f:
      f.write("{not json")
    good = os.path.join(root, "good.json")
    with open(good, "w") as f:
      json.dump(_keypoints(), f)
    with self.assertRaisesRegex(ValueError, "bad.json: not a readable COCO JSON file"):
      coco_keypoints.merged_file(bad, good, root)


if __name__ == "__main__":
  absltest.main()
