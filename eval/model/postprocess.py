"""Detector outputs to COCO results, as the TF2 Object Detection API's COCO evaluator makes them.

Boxes. The exporter's `detection_boxes` are normalised [ymin, xmin, ymax, xmax] relative to the
ORIGINAL image, whatever the model resized or padded internally: the image resizer reports the
true (unpadded) image shape, non-max suppression clips to that window and re-expresses boxes in
its frame (post_processing_builder passes change_coordinate_frame=True; Faster/Mask R-CNN do it
in their second stage; CenterNet normalises by the true shape). So pixels = normalised * the
original height/width, one scale per axis, which is what the TF OD API's eval does
(eval_util.result_dict_for_batched_example with scale_to_absolute=True). A custom export whose
boxes are normalised to its padded square input instead needs box_frame="padded_square"
(pixels = normalised * max(height, width)); get it wrong and AP collapses on non-square images.

Classes are 1-based label-map ids as floats; ids missing from the label map are dropped, as
the TF OD API's exporters to COCO drop them. Masks are box-relative probabilities: they are
re-framed into the image like ops.reframe_box_masks_to_image_masks (bilinear crop_and_resize),
thresholded at 0.5 and RLE-encoded as pycocotools does (counts as str, JSON-ready).

Keypoints (CenterNet keypoint exports): `detection_keypoints` [N, K, 2] are normalised (y, x)
in the original image, scaled like the boxes; a box result of a keypoint category (one whose
ground-truth category lists "keypoints") also carries "keypoints" [x1, y1, v1, ...] with v = 2
and "num_keypoints" K, as the TF OD API's ExportSingleImageDetectionBoxesToCoco writes them
when no visibilities are given (its keypoint evaluator gives none).
"""
from __future__ import annotations

from typing import Collection

import numpy as np
import tensorflow as tf

from cocoeval_cc import _cocoeval_cc as native

MAX_DETECTIONS = 100
MASK_THRESHOLD = 0.5
BOX_FRAMES = ("image", "padded_square")


def boxes_to_coco(boxes: np.ndarray, height: int, width: int,
                  box_frame: str = "image") -> np.ndarray:
  """Normalised [ymin, xmin, ymax, xmax] -> [x, y, w, h] in original image pixels (float64)."""
  if box_frame not in BOX_FRAMES:
    raise ValueError(f"box_frame {box_frame!r}: expected one of {BOX_FRAMES}")
  boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
  if box_frame == "padded_square":
    height = width = max(height, width)
  ymin, xmin = boxes[:, 0] * height, boxes[:, 1] * width
  ymax, xmax = boxes[:, 2] * height, boxes[:, 3] * width
  return np.stack([xmin, ymin, xmax - xmin, ymax - ymin], axis=1)


def reframe_box_masks(box_masks: np.ndarray, boxes: np.ndarray, height: int,
                      width: int) -> np.ndarray:
  """Box-relative masks [N, mh, mw] -> image masks [N, height, width] (float, bilinear).

  Each image is seen as a crop of its box's mask: the unit square expressed in box coordinates,
  sampled with crop_and_resize (zero outside the box), as the TF OD API does.
  """
  box_masks = np.asarray(box_masks, np.float32)
  n = box_masks.shape[0]
  if n == 0:
    return np.zeros([0, height, width], np.float32)
  boxes = np.asarray(boxes, np.float32).reshape(n, 4)
  lo, hi = boxes[:, 0:2], boxes[:, 2:4]
  size = np.maximum(hi - lo, 1e-4)  # the TF OD API's guard against empty boxes
  reverse = np.concatenate([(0.0 - lo) / size, (1.0 - lo) / size], axis=1)
  crops = tf.image.crop_and_resize(box_masks[..., np.newaxis], reverse, tf.range(n),
                                   [height, width], method="bilinear", extrapolation_value=0.0)
  return crops.numpy()[..., 0]


def encode_masks(masks: np.ndarray) -> list[dict]:
  """Binary masks [N, H, W] -> pycocotools RLE dicts with str counts (JSON-serialisable)."""
  if len(masks) == 0:
    return []
  columns = np.asfortranarray(np.transpose(np.asarray(masks, np.uint8), (1, 2, 0)))
  rles = native.mask_encode(columns)
  return [{"size": [int(s) for s in r["size"]], "counts": r["counts"].decode("ascii")}
          for r in rles]


def _kept_indices(scores: np.ndarray, classes: np.ndarray, num: int,
                  category_ids: Collection[int] | None, max_detections: int) -> np.ndarray:
  idx = np.arange(min(num, len(scores)))
  if category_ids is not None:
    idx = idx[np.isin(classes[idx], np.fromiter(category_ids, np.int64))]
  # Highest scores first (stable: the model's order breaks ties), at most max_detections.
  order = np.argsort(-scores[idx], kind="stable")
  return idx[order[:max_detections]]


def _check_shapes(outputs: dict[str, np.ndarray], image_id) -> None:
  """The TF OD API output shapes ([N, 4] boxes, [N] scores and classes), or a named error."""
  shapes = {
      k: np.shape(outputs[k]) for k in ("detection_boxes", "detection_scores", "detection_classes")
      if k in outputs
  }
  missing = [
      k for k in ("detection_boxes", "detection_scores", "detection_classes") if k not in shapes
  ]
  n = int(np.prod(shapes.get("detection_scores", (0,))))
  problems = []
  if missing:
    problems.append(f"no {', '.join(missing)}")
  elif (len(shapes["detection_boxes"]) != 2 or shapes["detection_boxes"][-1] != 4
        or shapes["detection_boxes"][0] != n or int(np.prod(shapes["detection_classes"])) != n):
    problems.append("expected detection_boxes [N, 4], detection_scores [N] and "
                    "detection_classes [N] per image")
  if problems:
    got = ", ".join(f"{k} {list(v)}" for k, v in shapes.items())
    raise ValueError(f"image {image_id}: the model's outputs are not those of a TF Object "
                     f"Detection API export: {'; '.join(problems)} (got {got})")


def _keypoints_to_coco(keypoints: np.ndarray, height: int, width: int,
                       box_frame: str) -> np.ndarray:
  """Normalised [N, K, 2] (y, x) -> [N, 3K] COCO [x, y, v=2, ...] in original image pixels."""
  if box_frame == "padded_square":
    height = width = max(height, width)
  keypoints = np.asarray(keypoints, np.float64)
  n, k = keypoints.shape[:2]
  coco = np.empty([n, k, 3], np.float64)
  coco[..., 0] = keypoints[..., 1] * width
  coco[..., 1] = keypoints[..., 0] * height
  coco[..., 2] = 2
  return coco.reshape(n, 3 * k)


def image_results(
    outputs: dict[str, np.ndarray], image_id: int, height: int, width: int,
    category_ids: Collection[int] | None, *, with_masks: bool = True,
    max_detections: int = MAX_DETECTIONS, box_frame: str = "image",
    keypoint_category_ids: Collection[int] = ()
) -> tuple[list[dict], list[dict]]:
  """One image's outputs (leading batch axis removed) -> (bbox results, segm results).

  keypoint_category_ids: box results of these categories carry the model's keypoints.
  """
  _check_shapes(outputs, image_id)
  scores = np.asarray(outputs["detection_scores"], np.float32).reshape(-1)
  classes = np.rint(np.asarray(outputs["detection_classes"])).astype(np.int64).reshape(-1)
  num = len(scores)
  if "num_detections" in outputs:
    num = int(np.asarray(outputs["num_detections"]).reshape(-1)[0])
  keep = _kept_indices(scores, classes, num, category_ids, max_detections)
  boxes = np.asarray(outputs["detection_boxes"]).reshape(-1, 4)[keep]
  xywh = boxes_to_coco(boxes, height, width, box_frame)
  image_id = int(image_id)
  bbox = [{
      "image_id": image_id, "category_id": int(c), "bbox": [round(float(v), 4)
                                                            for v in b], "score": float(s)
  } for b, c, s in zip(xywh, classes[keep], scores[keep])]
  if keypoint_category_ids and "detection_keypoints" in outputs and len(keep):
    keypoints = np.asarray(outputs["detection_keypoints"])
    if keypoints.ndim != 3 or keypoints.shape[-1] != 2 or keypoints.shape[0] < len(scores):
      raise ValueError(f"image {image_id}: detection_keypoints {list(keypoints.shape)}: expected "
                       f"[N, K, 2] per image (N = {len(scores)} detections)")
    coco = _keypoints_to_coco(keypoints[keep], height, width, box_frame)
    wanted = frozenset(int(c) for c in keypoint_category_ids)
    for result, row in zip(bbox, coco):
      if result["category_id"] in wanted:
        result["keypoints"] = [round(float(v), 4) for v in row]
        result["num_keypoints"] = keypoints.shape[1]
  segm = []
  if with_masks and "detection_masks" in outputs and len(keep):
    box_masks = np.asarray(outputs["detection_masks"])[keep]
    if box_frame == "padded_square":
      raise ValueError("masks with box_frame='padded_square' are not supported")
    image_masks = reframe_box_masks(box_masks, boxes, height, width) > MASK_THRESHOLD
    segm = [{"image_id": image_id, "category_id": int(c), "segmentation": rle, "score": float(s)}
            for rle, c, s in zip(encode_masks(image_masks), classes[keep], scores[keep])]
  return bbox, segm


def batch_results(outputs: dict[str, np.ndarray], image_ids, heights, widths,
                  category_ids: Collection[int] | None, **kwargs) -> tuple[list[dict], list[dict]]:
  """A batch's outputs [N, ...] -> (bbox results, segm results) for its N images."""
  bbox, segm = [], []
  for i, (image_id, h, w) in enumerate(zip(image_ids, heights, widths)):
    b, s = image_results({k: v[i] for k, v in outputs.items()}, int(image_id), int(h), int(w),
                         category_ids, **kwargs)
    bbox += b
    segm += s
  return bbox, segm
