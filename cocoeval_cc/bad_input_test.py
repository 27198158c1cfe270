"""Bad input raises ValueError naming the source, the record and the problem; never a crash or hang.

Every case runs in the test process, so a crash (abort, segfault, std::terminate) fails the whole
target, which is the point. Each message must name the file (or "<dict>", "<results list>",
"<ndarray>"), the offending record where there is one, and say what is wrong.
"""
import json
import os
import random

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np

import cocoeval_cc
from cocoeval_cc import _cocoeval_cc as native

_IMAGES = [{"id": 1, "width": 20, "height": 10}, {"id": 2, "width": 8, "height": 8}]
_CATEGORIES = [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
_ANNOTATIONS = [
    {
        "id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 4], "area": 20, "iscrowd": 0,
        "segmentation": [[1, 1, 6, 1, 6, 5, 1, 5]]
    },
    {
        "id": 2, "image_id": 2, "category_id": 2, "bbox": [0, 0, 4, 4], "area": 16, "iscrowd": 1,
        "segmentation": {"size": [8, 8], "counts": [0, 4, 4, 4, 4, 4, 4, 4, 4, 32]}
    },
]


def _gt_dict(**changes):
  d = {
      "images": json.loads(json.dumps(_IMAGES)), "categories": json.loads(json.dumps(_CATEGORIES)),
      "annotations": json.loads(json.dumps(_ANNOTATIONS))
  }
  d.update(changes)
  return d


def _rle(h, w, fill=1):
  m = np.zeros((h, w), np.uint8)
  m[:max(1, h // 2), :max(1, w // 2)] = fill
  rle = native.mask_encode(np.asfortranarray(m))
  return {"size": [h, w], "counts": rle["counts"].decode("ascii")}


def _results(n=3):
  return [{
      "image_id": 1 + i % 2, "category_id": 1 + i % 2, "bbox": [1.0, 1.0, 4.0, 3.0],
      "score": 0.5 + 0.1 * i
  } for i in range(n)]


def _keypoint_gt_dict():
  """Two people and a crowd region with COCO's 17 keypoints."""
  d = _gt_dict()
  d["categories"][0]["keypoints"] = [f"k{j}" for j in range(17)]
  for ann, visible in zip(d["annotations"], (17, 0)):
    ann["keypoints"] = [2, 3, 2] * visible + [0, 0, 0] * (17 - visible)
    ann["num_keypoints"] = visible
  return d


def _keypoint_results(n=3):
  return [{
      "image_id": 1 + i % 2, "category_id": 1 + i % 2, "keypoints": [2.0, 3.5, 1] * 17,
      "score": 0.5 + 0.1 * i
  } for i in range(n)]


def _segm_results(n=3):
  out = []
  for i in range(n):
    img = _IMAGES[i % 2]
    out.append({
        "image_id": img["id"], "category_id": 1 + i % 2, "score": 0.9 - 0.01 * i,
        "segmentation": _rle(img["height"], img["width"])
    })
  return out


class BadInputTest(parameterized.TestCase):

  def write(self, text, name="data.json"):
    mode = "wb" if isinstance(text, bytes) else "w"
    path = self.create_tempfile(name).full_path
    with open(path, mode) as f:
      f.write(text)
    return path

  def assert_value_error(self, fn, *words):
    """fn() raises ValueError whose message contains every word (case-insensitive).

    A tuple of words means any one of them.
    """
    with self.assertRaises(ValueError) as ctx:
      fn()
    message = str(ctx.exception)
    for word in words:
      options = word if isinstance(word, tuple) else (word,)
      self.assertTrue(any(o.lower() in message.lower() for o in options),
                      f"{word!r} not in message {message!r}")
    return message

  def gt(self):
    return cocoeval_cc.COCO(_gt_dict())

  # -------------------------------------------------------- ground-truth files
  @parameterized.named_parameters(
      ("invalid_json", '{"images": [', "invalid JSON"),
      ("not_json", "hello", ("invalid JSON", "top-level")),
      ("empty_file", "", "empty"),
      ("whitespace_only", "  \n ", "empty"),
      ("top_level_list", "[]", "top-level"),
      ("top_level_number", "3", "top-level"),
      ("trailing_content", json.dumps(_gt_dict()) + " {}", "trailing"),
      ("missing_images", json.dumps({"categories": [], "annotations": []}), "missing 'images'"),
      ("images_not_list", json.dumps(_gt_dict(images={})), "images", "must be a list"),
      ("huge_number", json.dumps(_gt_dict()).replace('"area": 20',
                                                     '"area": 1e400'), "annotations[0]", "area"),
  )
  def test_bad_ground_truth_file(self, text, *words):
    path = self.write(text)
    self.assert_value_error(lambda: cocoeval_cc.COCO(path), path, *words)

  def test_missing_and_unreadable_files(self):
    missing = os.path.join(self.create_tempdir().full_path, "nope.json")
    self.assert_value_error(lambda: cocoeval_cc.COCO(missing), missing, "cannot open")
    directory = self.create_tempdir().full_path
    self.assert_value_error(lambda: cocoeval_cc.COCO(directory), directory)
    gt = self.gt()
    self.assert_value_error(lambda: gt.loadRes(missing), missing, "cannot open")
    # A FIFO nobody writes to: refused at once, not a read that blocks forever.
    fifo = os.path.join(directory, "fifo.json")
    os.mkfifo(fifo)
    self.assert_value_error(lambda: gt.loadRes(fifo), fifo, "not a regular file")
    self.assert_value_error(lambda: cocoeval_cc.COCO(fifo), fifo, "not a regular file")

  # -------------------------------------------------------- ground-truth records
  def _bad_annotation(self, **changes):
    d = _gt_dict()
    d["annotations"][1].update(changes)
    return d

  @parameterized.named_parameters(
      ("bbox_3_numbers", dict(bbox=[0, 0, 4]), "bbox"),
      ("bbox_strings", dict(bbox=["0", 0, 4, 4]), "bbox"),
      ("area_string", dict(area="16"), "area"),
  )
  def test_mistyped_annotation_fields(self, changes, word):
    d = self._bad_annotation(**changes)
    self.assert_value_error(lambda: cocoeval_cc.COCO(d), "<dict>", "annotations[1]", word)
    path = self.write(json.dumps(d))
    self.assert_value_error(lambda: cocoeval_cc.COCO(path), path, "annotations[1]", word)

  @parameterized.named_parameters(
      ("image_id_string", dict(image_id="2")),
      ("category_id_string", dict(category_id="x")),
      ("id_float", dict(id=2.5)),
  )
  def test_ids_pycocotools_takes(self, changes):
    """Ids of any hashable type are ids (issue 11): an annotation of an image or category that
    does not exist takes no part in evaluation, as in pycocotools."""
    d = self._bad_annotation(**changes)
    for source in (d, self.write(json.dumps(d))):
      gt = cocoeval_cc.COCO(source)
      self.assertEqual(gt.native_ground_truth.num_annotations,
                       len(d["annotations"]) - ("id" not in changes))
    d = _gt_dict(categories=[{"id": "1", "name": "a"}])
    self.assertEqual(cocoeval_cc.COCO(d).getCatIds(), ["1"])

  @parameterized.parameters("id", "image_id", "category_id", "area")
  def test_missing_annotation_fields(self, field):
    d = _gt_dict()
    del d["annotations"][1][field]
    self.assert_value_error(lambda: cocoeval_cc.COCO(d), "<dict>", "annotations[1]", "missing",
                            field)

  def test_duplicate_ids(self):
    d = _gt_dict(images=_IMAGES + [{"id": 1, "width": 3, "height": 3}])
    self.assert_value_error(lambda: cocoeval_cc.COCO(d), "<dict>", "images[2]", "duplicate")
    d = _gt_dict(categories=_CATEGORIES + [{"id": 2, "name": "again"}])
    self.assert_value_error(lambda: cocoeval_cc.COCO(d), "<dict>", "categories[2]", "duplicate")
    d = _gt_dict()
    d["annotations"][1]["id"] = 1
    self.assert_value_error(lambda: cocoeval_cc.COCO(d), "<dict>", "annotations[1]", "duplicate")

  def test_image_and_category_records(self):
    d = _gt_dict(images=[{"width": 3}])
    self.assert_value_error(lambda: cocoeval_cc.COCO(d), "<dict>", "images[0]", "missing 'id'")
    d = _gt_dict(images=[3])
    self.assert_value_error(lambda: cocoeval_cc.COCO(d), "<dict>", "images[0]", "object")

  def test_nan_in_ground_truth_dict(self):
    """A NaN area in an in-memory dataset names the record, not just a JSON position."""
    d = self._bad_annotation(area=float("nan"))
    self.assert_value_error(lambda: cocoeval_cc.COCO(d), "<dict>", "annotations[1]", "area")

  # -------------------------------------------------------- results
  @parameterized.named_parameters(
      ("image_id_string", dict(image_id="1"), "image_id"),
      ("category_id_string", dict(category_id="1"), "category_id"),
      ("bbox_3_numbers", dict(bbox=[1.0, 2.0, 3.0]), "bbox"),
      ("bbox_5_numbers", dict(bbox=[1.0, 2.0, 3.0, 4.0, 5.0]), "bbox"),
      ("negative_width", dict(bbox=[1.0, 2.0, -3.0, 4.0]), "negative"),
      ("negative_height", dict(bbox=[1.0, 2.0, 3.0, -0.5]), "negative"),
      ("score_string", dict(score="0.5"), "score"),
      ("unknown_image", dict(image_id=99), "99", "not in the ground truth"),
      ("unknown_category", dict(category_id=77), "77", "not in the ground truth"),
      ("segmentation_number", dict(segmentation=3), "segmentation"),
  )
  def test_bad_result_record(self, changes, *words):
    results = _results()
    results[1].update(changes)
    gt = self.gt()
    self.assert_value_error(lambda: gt.loadRes(results), "<results list>", "results[1]", *words)
    path = self.write(json.dumps(results), "results.json")
    self.assert_value_error(lambda: gt.loadRes(path), path, "results[1]", *words)

  @parameterized.parameters("image_id", "category_id", "score")
  def test_missing_result_fields(self, field):
    results = _results()
    del results[2][field]
    gt = self.gt()
    self.assert_value_error(lambda: gt.loadRes(results), "<results list>", "results[2]", "missing",
                            field)

  def test_missing_bbox_after_a_bbox_result(self):
    results = _results()
    del results[2]["bbox"]
    gt = self.gt()
    self.assert_value_error(lambda: gt.loadRes(results), "<results list>", "results[2]", "bbox")

  @parameterized.named_parameters(
      ("score_nan", "score", float("nan")),
      ("score_inf", "score", float("inf")),
      ("bbox_nan", "bbox", [1.0, float("nan"), 2.0, 2.0]),
      ("bbox_inf", "bbox", [1.0, 1.0, float("inf"), 2.0]),
  )
  def test_non_finite_values_in_results_list(self, field, value):
    """NaN / inf in a Python results list: a clear error naming the record."""
    results = _results()
    results[1][field] = value
    gt = self.gt()
    self.assert_value_error(lambda: gt.loadRes(results), "<results list>", "results[1]", field)

  @parameterized.named_parameters(
      ("score", '"score": 0.5', '"score": 1e400'),
      ("score_negative", '"score": 0.5', '"score": -1e400'),
      ("bbox", '"bbox": [1.0, 1.0, 4.0, 3.0], "score": 0.5',
       '"bbox": [1.0, 1e999, 4.0, 3.0], "score": 0.5'),
  )
  def test_huge_numbers_in_results_json(self, old, new):
    text = json.dumps(_results(1) + _results(1))
    self.assertIn(old, text)
    text = text[::-1].replace(old[::-1], new[::-1], 1)[::-1]  # the second record
    path = self.write(text, "results.json")
    gt = self.gt()
    self.assert_value_error(lambda: gt.loadRes(path), path, "results[1]")

  @parameterized.named_parameters(
      ("invalid_json", "[{", "invalid JSON"),
      ("empty_file", "", "empty"),
      ("empty_list", "[]", "no results"),
      ("object", "{}", "list", "not a JSON object"),
      ("not_json_after_a_brace", "{not json", "not valid JSON"),
      ("byte_order_mark", "\ufeff" + json.dumps(_results()), "byte-order mark"),
      ("list_of_numbers", "[1, 2]", "results[0]"),
      ("trailing", json.dumps(_results()) + "]", "trailing"),
      ("caption_only",
       json.dumps([{"image_id": 1, "category_id": 1, "score": 1.0, "caption": "a cat"}
                  ]), "no 'bbox', 'segmentation' or 'keypoints'"),
  )
  def test_bad_results_file(self, text, *words):
    path = self.write(text, "results.json")
    gt = self.gt()
    self.assert_value_error(lambda: gt.loadRes(path), path, *words)

  def test_empty_results_list(self):
    gt = self.gt()
    self.assert_value_error(lambda: gt.loadRes([]), "<results list>", "no results")

  # -------------------------------------------------------- segmentations
  @parameterized.named_parameters(
      ("size_mismatch", {"size": [5, 5], "counts": "PP3"}, "mask size"),
      ("random_bytes", {"size": [10, 20], "counts": "\x01\x7f\u00ff~~~"}, "RLE"),
      ("truncated", {"size": [10, 20], "counts": _rle(10, 20)["counts"][:-2] + "b"}, "RLE"),
      ("uncompressed_bad_sum", {"size": [10, 20], "counts": [3, 4, 5]}, "counts add up to"),
      ("negative_counts", {"size": [10, 20], "counts": [-3, 203]}, "counts"),
      ("counts_missing", {"size": [10, 20]}, "counts"),
      ("size_3", {"size": [10, 20, 1], "counts": [200]}, "size"),
  )
  def test_bad_segm_result(self, segmentation, word):
    results = _segm_results()
    results[2]["segmentation"] = segmentation
    gt = self.gt()
    self.assert_value_error(lambda: gt.loadRes(results), "<results list>", "results[2]", word)

  def test_bad_segmentation_in_many_results_with_threads(self):
    """A bad mask deep in a long list, decoded by several threads, is still a ValueError."""
    results = _segm_results(700)
    results[650]["segmentation"] = {"size": [10, 20], "counts": "!!!!"}
    gt = cocoeval_cc.COCO(_gt_dict(), num_threads=4)
    self.assert_value_error(lambda: gt.loadRes(results), "<results list>", "results[650]", "RLE")

  def test_bad_segmentation_of_bbox_mode_results_at_evaluate(self):
    """bbox-mode results decode their masks lazily: the error comes from evaluate(), still named."""
    results = _results(700)
    for i, r in enumerate(results):
      img = _IMAGES[i % 2]
      r["segmentation"] = _rle(img["height"], img["width"])
    results[600]["segmentation"] = {"size": [10, 20], "counts": [1, 2]}
    gt = self.gt()
    dt = gt.loadRes(results)
    e = cocoeval_cc.COCOeval(gt, dt, "segm", num_threads=4)
    self.assert_value_error(e.evaluate, "<results list>", "results[600]", "counts")

  @parameterized.named_parameters(
      ("polygon_one_point", [[1.0, 2.0]], "3 points"),
      ("polygon_strings", [["a", "b", "c", "d", "e", "f"]], "polygon"),
      ("empty_polygon_list", [], "polygon"),
      ("rle_bad_string", {"size": [10, 20], "counts": "\x00\x01"}, "RLE"),
      ("rle_wrong_size", {"size": [3, 3], "counts": [9]}, "mask size"),
  )
  def test_bad_ground_truth_segmentation_at_evaluate(self, segmentation, word):
    """A malformed ground-truth segmentation fails segm evaluation with a named record."""
    d = _gt_dict()
    d["annotations"][0]["segmentation"] = segmentation
    d["annotations"] += [dict(d["annotations"][1], id=10 + i) for i in range(600)]
    gt = cocoeval_cc.COCO(d)
    dt = gt.loadRes(_segm_results())
    e = cocoeval_cc.COCOeval(gt, dt, "segm", num_threads=3)
    self.assert_value_error(e.evaluate, "<dict>", "annotations[0]", word)

  def test_segm_on_an_image_too_large_for_rle(self):
    d = _gt_dict()
    d["images"][0].update(height=70000, width=70000)
    d["annotations"][0]["segmentation"] = [[10, 10, 20, 10, 20, 20]]
    path = self.write(json.dumps(d))
    results = [{
        "image_id": d["images"][0]["id"], "category_id": 1, "score": 0.9,
        "segmentation": [[10, 10, 20, 10, 20, 20]]
    }]
    with self.assertRaisesRegex(ValueError, r"70000x70000, 4900000000 pixels: more than COCO's"):
      gt = cocoeval_cc.COCO(path)
      e = cocoeval_cc.COCOeval(gt, gt.loadRes(results), "segm")
      e.evaluate()

  def test_segm_without_image_size(self):
    d = _gt_dict(images=[{"id": 1}, {"id": 2, "width": 8, "height": 8}])
    gt = cocoeval_cc.COCO(d)
    results = _segm_results()
    results[0]["segmentation"] = _rle(10, 20)
    self.assert_value_error(lambda: gt.loadRes(results), "<results list>", "results[0]", "height")

  # -------------------------------------------------------- numpy results
  @parameterized.named_parameters(
      ("six_columns", np.zeros((3, 6))),
      ("one_dimensional", np.zeros(7)),
      ("three_dimensional", np.zeros((2, 7, 1))),
  )
  def test_numpy_results_with_wrong_shape(self, array):
    gt = self.gt()
    self.assert_value_error(lambda: gt.loadRes(array), "<ndarray>", "shape")

  @parameterized.named_parameters(
      ("nan_score", 5, float("nan"), "score"),
      ("unknown_image", 0, 42.0, "42"),
      ("unknown_category", 6, 9.0, "9"),
      ("negative_width", 3, -1.0, "negative"),
      ("nan_image", 0, float("nan"), "image_id"),
  )
  def test_bad_numpy_rows(self, column, value, word):
    rows = np.array([[1, 1, 1, 4, 3, 0.9, 1], [2, 0, 0, 2, 2, 0.8, 2]], np.float64)
    rows[1, column] = value
    gt = self.gt()
    self.assert_value_error(lambda: gt.loadRes(rows), "<ndarray>", "1", word)

  def test_empty_numpy_results(self):
    gt = self.gt()
    self.assert_value_error(lambda: gt.loadRes(np.zeros((0, 7))), "<ndarray>", "no results")

  # -------------------------------------------------------- evaluation parameters
  def test_unsupported_iou_types(self):
    gt = self.gt()
    dt = gt.loadRes(_results())
    self.assert_value_error(lambda: cocoeval_cc.COCOeval(gt, dt, "boxes"), "boxes", "iouType")
    self.assert_value_error(lambda: native.Params("boxes"), "boxes", "iouType")

  # ----------------------------------------------------------------- keypoints
  @parameterized.named_parameters(
      ("not_a_multiple_of_3", [1, 2, 2, 3], "x, y, v"),
      ("empty", [], "x, y, v"),
      ("string", "1 2 2", "keypoints"),
      ("non_number", [1, "a", 2], "finite numbers"),
      ("nested", [[1, 2, 2]], "finite numbers"),
      ("null_entry", [1, None, 2], "finite numbers"),
      ("object", {"x": 1}, "keypoints"),
  )
  def test_bad_keypoint_results(self, keypoints, word):
    results = _keypoint_results()
    results[1]["keypoints"] = keypoints
    gt = cocoeval_cc.COCO(_keypoint_gt_dict())
    self.assert_value_error(lambda: gt.loadRes(results), "<results list>", "results[1]", word)

  @parameterized.named_parameters(("inf", "1e400"), ("nan", "NaN"), ("minus_inf", "-Infinity"))
  def test_non_finite_keypoints_in_results_json(self, token):
    gt = cocoeval_cc.COCO(_keypoint_gt_dict())
    text = json.dumps(_keypoint_results()).replace("3.5", token, 1)
    self.assertNotEqual(text, json.dumps(_keypoint_results()))
    path = self.write(text, "results.json")
    self.assert_value_error(lambda: gt.loadRes(path), path, ("finite", "invalid JSON"))

  def test_nan_keypoints_in_results_list(self):
    results = _keypoint_results()
    results[0]["keypoints"][4] = float("nan")
    gt = cocoeval_cc.COCO(_keypoint_gt_dict())
    self.assert_value_error(lambda: gt.loadRes(results), "<results list>")

  @parameterized.named_parameters(
      ("string", dict(keypoints="1 2 2"), "'keypoints' must be a list"),
      ("num_keypoints_string", dict(num_keypoints="two"), "num_keypoints"),
      ("num_keypoints_list", dict(num_keypoints=[1]), "num_keypoints"),
  )
  def test_bad_keypoint_ground_truth_at_load(self, changes, word):
    d = _keypoint_gt_dict()
    d["annotations"][1].update(changes)
    self.assert_value_error(lambda: cocoeval_cc.COCO(d), "<dict>", "annotations[1]", word)

  @parameterized.named_parameters(
      ("non_number", dict(keypoints=[1, "a", 2] * 17), "finite numbers"),
      ("not_a_multiple_of_3", dict(keypoints=[1, 2] * 17), "x, y, v"),
      ("fewer_than_sigmas", dict(keypoints=[1, 2, 2] * 3), "has 3 keypoints"),
      ("missing", dict(keypoints=None), "missing 'keypoints'"),
      ("missing_num_keypoints", dict(num_keypoints=None), "missing 'num_keypoints'"),
      ("missing_bbox", dict(bbox=None), "missing 'bbox'"),
  )
  def test_bad_keypoint_ground_truth_at_evaluate(self, changes, word):
    """Ground truth loads (bbox evaluation never reads keypoints); keypoint evaluation names it."""
    d = _keypoint_gt_dict()
    for key, value in changes.items():
      if value is None:
        del d["annotations"][1][key]
      else:
        d["annotations"][1][key] = value
    gt = cocoeval_cc.COCO(d)
    e = cocoeval_cc.COCOeval(gt, gt.loadRes(_keypoint_results()), "keypoints")
    self.assert_value_error(e.evaluate, "<dict>", "annotations[1]", word)

  def test_keypoint_count_must_match_sigmas(self):
    gt = cocoeval_cc.COCO(_keypoint_gt_dict())
    e = cocoeval_cc.COCOeval(gt, gt.loadRes(_keypoint_results()), "keypoints")
    e.params.kpt_oks_sigmas = np.array([0.1] * 5)
    self.assert_value_error(e.evaluate, "annotations[0]", "has 17 keypoints",
                            "kpt_oks_sigmas has 5")
    results = _keypoint_results()
    results[2]["keypoints"] = [1.0, 2.0, 1] * 16
    e = cocoeval_cc.COCOeval(gt, gt.loadRes(results), "keypoints")
    self.assert_value_error(e.evaluate, "<results list>", "results[2]", "has 16 keypoints")
    bbox_only = cocoeval_cc.COCOeval(gt, gt.loadRes(_results()), "keypoints")
    self.assert_value_error(bbox_only.evaluate, "results[0]", "missing 'keypoints'")

  @parameterized.named_parameters(
      ("empty", []),
      ("nan", [0.1, float("nan")]),
      ("zero", [0.0]),
      ("negative", [-0.1]),
  )
  def test_bad_sigmas(self, sigmas):
    gt = cocoeval_cc.COCO(_keypoint_gt_dict())
    e = cocoeval_cc.COCOeval(gt, gt.loadRes(_keypoint_results()), "keypoints")
    e.params.kpt_oks_sigmas = np.array(sigmas)
    self.assert_value_error(e.evaluate, "kpt_oks_sigmas")

  def test_keypoint_results_have_no_masks(self):
    gt = cocoeval_cc.COCO(_keypoint_gt_dict())
    e = cocoeval_cc.COCOeval(gt, gt.loadRes(_keypoint_results()), "segm")
    self.assert_value_error(e.evaluate, "<results list>", "keypoint results", "segm")

  def test_missing_keypoints_after_a_keypoint_result(self):
    results = _keypoint_results()
    del results[1]["keypoints"]
    gt = cocoeval_cc.COCO(_keypoint_gt_dict())
    self.assert_value_error(lambda: gt.loadRes(results), "results[1]", "missing 'keypoints'")

  def test_fuzzed_keypoint_files(self):
    """200 mutations each of keypoint ground truth and results: load and evaluate keypoints (and
    bbox), or ValueError naming the file."""
    rng = random.Random(11)
    good_gt = json.dumps(_keypoint_gt_dict()).encode()
    results = _keypoint_results(4)
    results[3]["bbox"] = [1.0, 1.0, 4.0, 3.0]  # the keypoints branch replaces it
    good_dt = json.dumps(results).encode()
    gt_path, dt_path = self.write(b"", "gt.json"), self.write(b"", "dt.json")
    evaluated = 0
    for i in range(400):
      mutate_gt = i % 2 == 0
      with open(gt_path, "wb") as f:
        f.write(self._mutate(rng, good_gt) if mutate_gt else good_gt)
      with open(dt_path, "wb") as f:
        f.write(good_dt if mutate_gt else self._mutate(rng, good_dt))
      try:
        gt = cocoeval_cc.COCO(gt_path)
        dt = gt.loadRes(dt_path)
      except ValueError as err:
        self.assertIn(gt_path if mutate_gt else dt_path, str(err))
        continue
      for iou_type in ("keypoints", "bbox"):
        e = cocoeval_cc.COCOeval(gt, dt, iou_type)
        try:
          e.evaluate()
        except ValueError:
          continue
        e.accumulate()
        e.summarize(verbose=False)
        evaluated += 1
    self.assertGreater(evaluated, 0)

  @parameterized.named_parameters(
      ("repeated_max_dets", dict(maxDets=[1, 10, 10]), "maxDets"),
      ("negative_max_dets", dict(maxDets=[-1, 10]), "maxDets"),
      ("empty_iou_thrs", dict(iouThrs=np.array([])), "iouThrs"),
      ("nan_iou_thr", dict(iouThrs=np.array([0.5, np.nan])), "iouThrs"),
      ("labels_mismatch", dict(areaRngLbl=["all"]), "areaRngLbl"),
      ("unknown_image", dict(imgIds=[1, 12345]), "12345"),
      ("unknown_category", dict(catIds=[1, 54321]), "54321"),
  )
  def test_bad_params(self, changes, word):
    gt = self.gt()
    e = cocoeval_cc.COCOeval(gt, gt.loadRes(_results()), "bbox")
    for key, value in changes.items():
      setattr(e.params, key, value)
    self.assert_value_error(e.evaluate, "params", word)

  def test_evaluate_images_outside_params(self):
    gt = self.gt()
    e = cocoeval_cc.COCOeval(gt, gt.loadRes(_results()), "bbox")
    e.params.imgIds = [1]
    self.assert_value_error(lambda: e.evaluate_images([2]), "image id 2")

  # -------------------------------------------------------- fuzzing
  def _mutate(self, rng, data):
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
      kind = rng.randrange(6)
      pos = rng.randrange(len(data)) if data else 0
      if kind == 0 and data:
        data[pos] = rng.randrange(256)
      elif kind == 1:
        data.insert(pos, rng.choice(b'{}[],:"0123456789-.eE \\'))
      elif kind == 2 and data:
        del data[pos:pos + rng.randint(1, 8)]
      elif kind == 3:
        data = data[:pos]
      elif kind == 4 and data:
        end = min(len(data), pos + rng.randint(1, 40))
        data[pos:pos] = data[pos:end]
      else:
        digits = b"0123456789"
        for i in range(pos, min(len(data), pos + 6)):
          if data[i] in digits:
            data[i] = rng.choice(digits)
    return bytes(data)

  def _fuzz_gt_dict(self):
    d = _gt_dict()
    d["annotations"].append({
        "id": 3, "image_id": 1, "category_id": 2, "bbox": [2, 2, 3, 3], "area": 9, "iscrowd": 0,
        "segmentation": {"size": [10, 20], "counts": _rle(10, 20)["counts"]}
    })
    return d

  def _evaluate_if_loaded(self, gt, dt, loaded):
    for iou_type in ("bbox", "segm"):
      e = cocoeval_cc.COCOeval(gt, dt, iou_type)
      try:
        e.evaluate()
      except ValueError:
        continue
      e.accumulate()
      e.summarize(verbose=False)
      self.assertLen(e.stats, 12)
      loaded[iou_type] += 1

  def test_fuzzed_ground_truth_files(self):
    """300 random mutations of a small ground-truth file: it loads, or ValueError names the file."""
    rng = random.Random(20240601)
    good = json.dumps(self._fuzz_gt_dict()).encode()
    results = _segm_results() + _results()
    path = self.write(b"")
    loaded = {"gt": 0, "bbox": 0, "segm": 0}
    for _ in range(300):
      with open(path, "wb") as f:
        f.write(self._mutate(rng, good))
      try:
        gt = cocoeval_cc.COCO(path)
      except ValueError as err:
        self.assertIn(path, str(err))
        continue
      loaded["gt"] += 1
      try:
        dt = gt.loadRes(results)
      except ValueError as err:
        self.assertIn("<results list>", str(err))
        continue
      self._evaluate_if_loaded(gt, dt, loaded)
    self.assertBetween(loaded["gt"], 1, 299)

  def test_fuzzed_results_files(self):
    """300 random mutations of a results file (bbox and segm records): load, or ValueError."""
    rng = random.Random(7)
    results = _results(4) + _segm_results(2)
    for r in results[4:]:
      r["bbox"] = [0.0, 0.0, 3.0, 3.0]
    good = json.dumps(results).encode()
    gt = cocoeval_cc.COCO(self._fuzz_gt_dict())
    path = self.write(b"", "results.json")
    loaded = {"dt": 0, "bbox": 0, "segm": 0}
    for i in range(300):
      with open(path, "wb") as f:
        f.write(self._mutate(rng, good))
      source = path
      if i % 2 == 0:  # the same mutation through a Python list, when it still parses as one
        try:
          with open(path, "rb") as f:
            source = json.loads(f.read())
        except ValueError:
          continue
        if not isinstance(source, list):
          continue
      try:
        dt = gt.loadRes(source)
      except ValueError as err:
        self.assertIn(path if i % 2 else "<results list>", str(err))
        continue
      loaded["dt"] += 1
      self._evaluate_if_loaded(gt, dt, loaded)
    self.assertBetween(loaded["dt"], 1, 299)

  def test_fuzzed_state_free_rle_strings(self):
    """Random compressed-RLE strings for a mask: decode, or ValueError (mask_decode / mask_area)."""
    rng = random.Random(3)
    for _ in range(300):
      counts = bytes(rng.randrange(33, 127) for _ in range(rng.randint(0, 12)))
      rle = {"size": [rng.randint(0, 6), rng.randint(0, 6)], "counts": counts}
      try:
        mask = native.mask_decode(rle)
      except ValueError:
        continue
      self.assertEqual(mask.shape, tuple(rle["size"]))
      self.assertEqual(native.mask_area(rle), int(mask.sum()))


if __name__ == "__main__":
  absltest.main()
