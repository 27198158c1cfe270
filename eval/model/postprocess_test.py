"""Outputs to COCO results: coordinates on images of every shape, label map, masks."""
from absl.testing import absltest
from absl.testing import parameterized
import numpy as np
from pycocotools import mask as coco_mask

from eval.model import postprocess


def _outputs(boxes, scores, classes, num=None, masks=None):
  n = len(scores)
  out = {
      "detection_boxes": np.asarray(boxes, np.float32).reshape(n, 4),
      "detection_scores": np.asarray(scores, np.float32),
      "detection_classes": np.asarray(classes, np.float32),
      "num_detections": np.float32(n if num is None else num)
  }
  if masks is not None:
    out["detection_masks"] = np.asarray(masks, np.float32)
  return out


def _bilinear_reframe(mask, box, height, width):
  """crop_and_resize's sampling written out: image pixel (i, j) reads the box mask at the
  point where the image's unit square, in box coordinates, puts it."""
  mh, mw = mask.shape
  y0, x0, y1, x1 = box
  by0, bx0 = -y0 / (y1 - y0), -x0 / (x1 - x0)  # the unit square in box coordinates
  by1, bx1 = (1 - y0) / (y1 - y0), (1 - x0) / (x1 - x0)
  out = np.zeros([height, width])
  for i in range(height):
    y = by0 * (mh - 1) + i * (by1 - by0) * (mh - 1) / (height - 1)
    for j in range(width):
      x = bx0 * (mw - 1) + j * (bx1 - bx0) * (mw - 1) / (width - 1)
      eps = 1e-4  # points on the box edge: float32 rounding may put them either side
      if y < -eps or y > mh - 1 + eps or x < -eps or x > mw - 1 + eps:
        continue  # extrapolation_value 0
      y, x = min(max(y, 0.0), mh - 1.0), min(max(x, 0.0), mw - 1.0)
      t, l = int(np.floor(y)), int(np.floor(x))
      b, r = min(t + 1, mh - 1), min(l + 1, mw - 1)
      dy, dx = y - t, x - l
      top = mask[t, l] + (mask[t, r] - mask[t, l]) * dx
      bottom = mask[b, l] + (mask[b, r] - mask[b, l]) * dx
      out[i, j] = top + (bottom - top) * dy
  return out


class BoxesTest(parameterized.TestCase):

  @parameterized.named_parameters(("landscape", 480, 640), ("portrait", 640, 427),
                                  ("square", 512, 512), ("wide", 100, 1000), ("tiny", 7, 3))
  def test_each_axis_is_scaled_by_its_own_original_size(self, height, width):
    # A box given in pixels, normalised the way the exporter normalises (by the true shape).
    x, y, w, h = 0.1 * width, 0.2 * height, 0.5 * width, 0.3 * height
    norm = [[y / height, x / width, (y + h) / height, (x + w) / width]]
    got = postprocess.boxes_to_coco(np.asarray(norm, np.float32), height, width)
    np.testing.assert_allclose(got, [[x, y, w, h]], rtol=1e-6, atol=1e-4)

  def test_padded_square_frame(self):
    # 300x600 padded to 600x600: a box over the whole image is [0, 0, 0.5, 1] of the square.
    got = postprocess.boxes_to_coco(np.array([[0, 0, 0.5, 1]]), 300, 600, "padded_square")
    np.testing.assert_allclose(got, [[0, 0, 600, 300]])
    with self.assertRaisesRegex(ValueError, "box_frame"):
      postprocess.boxes_to_coco(np.zeros([1, 4]), 3, 3, "letterbox")

  def test_results_for_a_non_square_image(self):
    bbox, segm = postprocess.image_results(_outputs([[0.5, 0.25, 1.0, 0.75]], [0.9], [3]),
                                           image_id=7, height=200, width=400, category_ids={3})
    self.assertEqual(bbox, [{
        "image_id": 7, "category_id": 3, "bbox": [100.0, 100.0, 200.0, 100.0], "score": float(
            np.float32(0.9))
    }])
    self.assertEqual(segm, [])


class SelectionTest(absltest.TestCase):

  def test_ids_outside_the_label_map_are_dropped(self):
    out = _outputs(np.tile([0, 0, 0.5, 0.5], (4, 1)), [0.9, 0.8, 0.7, 0.6], [1, 12, 90, 91])
    bbox, _ = postprocess.image_results(out, 1, 10, 10, category_ids={1, 90})
    self.assertEqual([r["category_id"] for r in bbox], [1, 90])

  def test_no_label_map_keeps_every_class(self):
    out = _outputs(np.tile([0, 0, 0.5, 0.5], (2, 1)), [0.9, 0.8], [1, 12])
    bbox, _ = postprocess.image_results(out, 1, 10, 10, category_ids=None)
    self.assertLen(bbox, 2)

  def test_num_detections_is_honoured(self):
    out = _outputs(np.tile([0, 0, 0.5, 0.5], (5, 1)), [0.9, 0.8, 0.7, 0.6, 0.5], [1] * 5, num=2)
    bbox, _ = postprocess.image_results(out, 1, 10, 10, category_ids={1})
    self.assertEqual([r["score"] for r in bbox], [float(np.float32(s)) for s in (0.9, 0.8)])

  def test_outputs_of_the_wrong_shape_are_named(self):
    cases = {
        "no detection_classes": {
            "detection_boxes": np.zeros([3, 4]), "detection_scores": np.zeros([3])
        },
        r"boxes \[N, 4\].*detection_boxes \[5\]": {
            "detection_boxes": np.zeros([5]), "detection_scores": np.zeros([1]),
            "detection_classes": np.ones([1])
        },
        r"detection_boxes \[2, 4\], detection_scores \[3\]": {
            "detection_boxes": np.zeros([2, 4]), "detection_scores": np.zeros([3]),
            "detection_classes": np.ones([3])
        },
    }
    for message, outputs in cases.items():
      with self.subTest(message), self.assertRaisesRegex(
          ValueError, f"image 7: the model's outputs are not those of a TF Object Detection "
          f"API export: .*{message}"):
        postprocess.image_results(outputs, 7, 10, 10, category_ids=None)

  def test_at_most_max_detections_highest_scores_first(self):
    rng = np.random.default_rng(0)
    scores = rng.random(150).astype(np.float32)
    out = _outputs(np.tile([0, 0, 0.5, 0.5], (150, 1)), scores, [1] * 150)
    bbox, _ = postprocess.image_results(out, 1, 10, 10, category_ids={1})
    self.assertLen(bbox, 100)
    np.testing.assert_array_equal([r["score"] for r in bbox], np.sort(scores)[::-1][:100])

  def test_batch(self):
    out = {k: np.stack([v, v]) for k, v in _outputs([[0, 0, 1, 1]], [0.5], [2]).items()}
    bbox, _ = postprocess.batch_results(out, [4, 5], [10, 20], [30, 40], {2})
    self.assertEqual([(r["image_id"], r["bbox"]) for r in bbox], [(4, [0.0, 0.0, 30.0, 10.0]),
                                                                  (5, [0.0, 0.0, 40.0, 20.0])])


class MaskTest(absltest.TestCase):

  def test_reframing_matches_bilinear_sampling_written_out(self):
    rng = np.random.default_rng(1)
    masks = rng.random([2, 6, 5]).astype(np.float32)
    boxes = np.array([[0.13, 0.21, 0.71, 0.88], [0.0, 0.0, 1.0, 0.53]], np.float32)
    height, width = 23, 31
    got = postprocess.reframe_box_masks(masks, boxes, height, width)
    self.assertEqual(got.shape, (2, height, width))
    for k in range(2):
      np.testing.assert_allclose(got[k], _bilinear_reframe(masks[k], boxes[k], height, width),
                                 atol=1e-5)

  def test_full_box_mask_becomes_the_box(self):
    height, width = 40, 60
    box = np.array([[0.25, 0.5, 0.75, 1.0]], np.float32)  # rows 10..30, columns 30..60
    image = postprocess.reframe_box_masks(np.ones([1, 9, 9], np.float32), box, height,
                                          width)[0] > 0.5
    self.assertTrue(image[12:28, 32:58].all())
    self.assertFalse(image[:8].any() or image[32:].any() or image[:, :28].any())

  def test_rle_is_pycocotools_rle(self):
    rng = np.random.default_rng(2)
    masks = rng.random([3, 17, 11]) > 0.5
    rles = postprocess.encode_masks(masks)
    for m, rle in zip(masks, rles):
      self.assertIsInstance(rle["counts"], str)
      expected = coco_mask.encode(np.asfortranarray(m.astype(np.uint8)))
      self.assertEqual(rle["counts"], expected["counts"].decode())
      self.assertEqual(rle["size"], [17, 11])
    self.assertEqual(postprocess.encode_masks(np.zeros([0, 4, 4])), [])

  def test_segm_results(self):
    out = _outputs([[0.0, 0.0, 0.5, 0.5], [0.5, 0.5, 1.0, 1.0]], [0.9, 0.8], [1, 2],
                   masks=np.ones([2, 4, 4]))
    bbox, segm = postprocess.image_results(out, 3, 20, 30, category_ids={1})
    self.assertLen(bbox, 1)
    self.assertLen(segm, 1)
    self.assertEqual(segm[0]["category_id"], 1)
    self.assertNotIn("bbox", segm[0])  # like the TF OD API: pycocotools derives it from the mask
    decoded = coco_mask.decode({
        "size": segm[0]["segmentation"]["size"], "counts": segm[0]["segmentation"]
                                                           ["counts"].encode()
    })
    self.assertEqual(decoded.shape, (20, 30))
    self.assertEqual(
        int(coco_mask.area({"size": [20, 30], "counts": segm[0]["segmentation"]["counts"]})), 150)
    _, no_segm = postprocess.image_results(out, 3, 20, 30, {1}, with_masks=False)
    self.assertEqual(no_segm, [])


if __name__ == "__main__":
  absltest.main()
