"""Test helper: a COCOeval's evalImgs, ious and evaluateImg equal pycocotools' COCOeval's."""
import numpy as np


def _assert_value_equal(test, ours, theirs, where):
  if isinstance(theirs, np.ndarray):
    test.assertIsInstance(ours, np.ndarray, where)
    test.assertEqual(ours.dtype, theirs.dtype, where)
    test.assertEqual(ours.shape, theirs.shape, where)
    test.assertTrue(np.array_equal(ours, theirs), (where, ours, theirs))
  else:
    test.assertIsInstance(ours, list if isinstance(theirs, list) else object, where)
    test.assertEqual(ours, theirs, where)


def assert_eval_img_equal(test, ours, theirs, where):
  """One evalImgs entry: None at the same place, the same keys in order, equal values."""
  if theirs is None:
    test.assertIsNone(ours, where)
    return
  test.assertIsNotNone(ours, where)
  test.assertEqual(list(ours), list(theirs), where)
  for key, value in theirs.items():
    _assert_value_equal(test, ours[key], value, (where, key))


def assert_per_image_equal(test, ours, theirs):
  """evalImgs element by element, ious, and evaluateImg at the first and last maxDets."""
  test.assertEqual(len(ours.evalImgs), len(theirs.evalImgs))
  for i, (a, b) in enumerate(zip(ours.evalImgs, theirs.evalImgs)):
    assert_eval_img_equal(test, a, b, i)
  test.assertEqual(list(ours.ious), list(theirs.ious))
  for key, value in theirs.ious.items():
    _assert_value_equal(test, ours.ious[key], value, ("ious", key))
  p = theirs.params
  cat_ids = p.catIds if p.useCats else [-1]
  # pycocotools' accumulate() sets params.catIds = [-1] without useCats, and its evaluateImg
  # then pools nothing; ours pools the evaluated categories, as its evaluate() did.
  evaluated_cat_ids, p.catIds = p.catIds, theirs._paramsEval.catIds
  try:
    _assert_evaluate_img_equal(test, ours, theirs, cat_ids)
  finally:
    p.catIds = evaluated_cat_ids


def _assert_evaluate_img_equal(test, ours, theirs, cat_ids):
  p = theirs.params
  for img_id in p.imgIds:
    for cat_id in cat_ids:
      for a_rng in (p.areaRng[0], p.areaRng[-1]):
        for max_det in (p.maxDets[0], p.maxDets[-1]):
          assert_eval_img_equal(test, ours.evaluateImg(img_id, cat_id, a_rng, max_det),
                                theirs.evaluateImg(img_id, cat_id, a_rng, max_det),
                                ("evaluateImg", img_id, cat_id, a_rng, max_det))
  compute = theirs.computeOks if p.iouType == "keypoints" else theirs.computeIoU
  ours_compute = ours.computeOks if p.iouType == "keypoints" else ours.computeIoU
  for img_id in p.imgIds[:3]:
    for cat_id in cat_ids[:3]:
      _assert_value_equal(test, ours_compute(img_id, cat_id), compute(img_id, cat_id),
                          ("compute", img_id, cat_id))
