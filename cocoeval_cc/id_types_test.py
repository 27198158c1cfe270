"""Ids of other types on property_test's random datasets: string and numpy ids evaluate as in
pycocotools 2.0.11 (its sort order of images and categories, so score ties break the same)."""
import copy

from absl.testing import absltest
import hypothesis
from hypothesis import strategies as st
import numpy as np

from cocoeval_cc import property_test as pt

_SETTINGS = dict(database=None, derandomize=True, deadline=None, print_blob=True,
                 suppress_health_check=list(hypothesis.HealthCheck))


@st.composite
def relabellings(draw, gt):
  """A function giving each image and category id a new id of another type, injective."""
  style = draw(st.sampled_from(["str", "names", "np_int64", "float", "mixed_numpy"]))
  img_ids = [i["id"] for i in gt["images"]]
  cat_ids = [c["id"] for c in gt["categories"]]
  names = draw(
      st.lists(st.text("abcXYZ019-_", min_size=1, max_size=4), min_size=len(img_ids),
               max_size=len(img_ids), unique=True))
  cat_names = draw(
      st.lists(st.text("abc019", min_size=1, max_size=3), min_size=len(cat_ids),
               max_size=len(cat_ids), unique=True))

  def new_id(kind, old):
    if style == "str":
      return str(old)  # "10" sorts before "9"
    if style == "names":
      table = dict(zip(img_ids, names)) if kind == "image" else dict(zip(cat_ids, cat_names))
      return table.get(old, f"none{old}")  # ids the dataset refers to but does not have
    if style == "np_int64":
      return np.int64(old)
    if style == "float":
      return float(old)  # integral floats: the same keys as the ints in pycocotools
    return np.uint64(old) if kind == "image" else np.int32(old % 2 ** 31)

  if style == "mixed_numpy" and len({c % 2 ** 31 for c in cat_ids}) != len(cat_ids):
    style = "np_int64"
  if style == "float" and max(img_ids + cat_ids) >= 2 ** 53:
    style = "str"
  return style, new_id


def relabel(gt, results, p, new_id):
  gt, results, p = copy.deepcopy(gt), copy.deepcopy(results), copy.deepcopy(p)
  for img in gt["images"]:
    img["id"] = new_id("image", img["id"])
  for c in gt["categories"]:
    c["id"] = new_id("category", c["id"])
  for a in gt["annotations"] + results:
    a["image_id"] = new_id("image", a["image_id"])
    a["category_id"] = new_id("category", a["category_id"])
  if "imgIds" in p:
    p["imgIds"] = [new_id("image", i) for i in p["imgIds"]]
  if "catIds" in p:
    p["catIds"] = [new_id("category", c) for c in p["catIds"]]
  return gt, results, p


class IdTypesTest(absltest.TestCase):

  assert_identical = pt.PropertyTest.assert_identical

  def check_relabelled(self, data, segm):
    gt, results = data.draw(pt.datasets(segm=segm))
    p = data.draw(pt.params(gt))
    style, new_id = data.draw(relabellings(gt))
    gt, results, p = relabel(gt, results, p, new_id)
    hypothesis.note(f"id style {style}")
    iou_type = "segm" if segm else "bbox"
    theirs = pt.run_pycocotools(gt, results, iou_type, p)
    ours = pt.run_ours(gt, results, iou_type, p)
    self.assert_identical(ours, theirs)
    if theirs.params.useCats:
      self.assertEqual(ours.category_ids, list(theirs.params.catIds))

  @hypothesis.settings(max_examples=40, **_SETTINGS)
  @hypothesis.given(st.data())
  def test_bbox_ids_of_other_types(self, data):
    self.check_relabelled(data, segm=False)

  @hypothesis.settings(max_examples=15, **_SETTINGS)
  @hypothesis.given(st.data())
  def test_segm_ids_of_other_types(self, data):
    self.check_relabelled(data, segm=True)


if __name__ == "__main__":
  absltest.main()
