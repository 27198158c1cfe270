"""A gallery of the worst images: ground truth and detections drawn on the real image.

Which detection is a true positive, a false positive or ignored, and which ground truth is
missed, comes from the evaluation's own matching (the native evaluateImg of each image x
category, `Evaluator.evaluate_groups`), at the diagnostics' IoU and score threshold, over the
first area range and the last maxDets, as the per-image diagnostics count them. Only
detections at or above the score threshold are drawn.
"""
from __future__ import annotations

import dataclasses
import io
import os
from typing import Callable, Mapping, Sequence

from absl import logging
import numpy as np
from PIL import Image
from PIL import ImageDraw

# Outline colours by status (legend drawn on every image).
COLOURS = {
    "TP": (0, 200, 0), "FP": (230, 25, 25), "missed": (255, 165, 0),
    "ground truth": (255, 255, 255), "ignored": (150, 150, 150)
}
MAX_SIDE = 800  # images are shrunk to this longest side: a gallery, not a viewer
HEADER = 34  # pixels above the image: caption and legend


@dataclasses.dataclass(frozen=True)
class Box:
  """One drawn box: x, y, w, h in the image's pixels, a status (a COLOURS key) and a label."""
  xywh: tuple[float, float, float, float]
  status: str
  label: str


def image_boxes(evaluator, detection_boxes: np.ndarray, detection_scores: np.ndarray,
                gt_boxes: Sequence[Sequence[float]], image_id: int, *, iou: float, score_thr: float,
                category_names: Mapping[int, str]) -> list[Box]:
  """The boxes to draw on one image (native integer ids), from the evaluation's matching.

  detection_boxes / detection_scores: the native detections' rows; gt_boxes: the ground truth's
  rows (x, y, w, h). iou must be one of the evaluation's IoU thresholds (its matching is
  reused, not redone).
  """
  params = evaluator.params
  thresholds = [float(t) for t in params.iou_thrs]
  t = int(np.argmin(np.abs(np.asarray(thresholds) - iou)))
  if abs(thresholds[t] - iou) > 1e-12:
    raise ValueError(f"iou {iou} is not one of the evaluation's IoU thresholds {thresholds}")
  area = [list(params.area_rng[0])]
  groups = evaluator.evaluate_groups(int(image_id), None, area, int(params.max_dets[-1]))
  n_thr = len(thresholds)
  boxes: list[Box] = []
  for _, cat, dt_rows, gt_rows, _, gt_ignore, dt_match in groups:
    name = category_names.get(int(cat), "all" if int(cat) == -1 else str(cat))
    d_count, g_count = len(dt_rows), len(gt_rows)
    match = np.asarray(dt_match).reshape(1, n_thr, d_count)[0, t] if d_count else []
    ignored = np.asarray(gt_ignore).reshape(1, g_count)[0] if g_count else []
    found = set()
    for d, row in enumerate(dt_rows):
      score = float(detection_scores[row])
      if score < score_thr:
        continue
      m = int(match[d])
      if m >= 0:
        found.add(m)
      status = "FP" if m < 0 else ("ignored" if ignored[m] else "TP")
      boxes.append(Box(tuple(float(v) for v in detection_boxes[row]), status,
                       f"{name} {score:.2f}"))
    for g, row in enumerate(gt_rows):
      status = ("ignored" if ignored[g] else "ground truth" if g in found else "missed")
      boxes.append(Box(tuple(float(v) for v in gt_boxes[row]), status, name))
  # Ground truth under the detections, misses on top of everything.
  order = {"ground truth": 0, "ignored": 1, "TP": 2, "FP": 3, "missed": 4}
  return sorted(boxes, key=lambda b: order[b.status])


def draw(image_path: str, boxes: Sequence[Box], caption: str) -> Image.Image:
  """The image (shrunk to MAX_SIDE) with the boxes, a caption and a legend above it."""
  with Image.open(image_path) as im:
    image = im.convert("RGB")
  scale = min(1.0, MAX_SIDE / max(image.size))
  if scale < 1.0:
    image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))))
  header = HEADER
  canvas = Image.new("RGB", (max(image.width, 420), image.height + header), (0, 0, 0))
  canvas.paste(image, (0, header))
  pen = ImageDraw.Draw(canvas)
  pen.text((4, 2), caption, fill=(255, 255, 255))
  x = 4
  for status, colour in COLOURS.items():
    pen.rectangle([x, 20, x + 10, 30], outline=colour, width=2)
    pen.text((x + 14, 19), status, fill=colour)
    x += 14 + 7 * len(status) + 10
  for box in boxes:
    bx, by, bw, bh = (v * scale for v in box.xywh)
    by += header
    width = 1 if box.status in ("ground truth", "ignored") else 2
    pen.rectangle([bx, by, bx + max(bw, 1), by + max(bh, 1)], outline=COLOURS[box.status],
                  width=width)
    if box.status in ("TP", "FP", "missed"):
      label_y = by - 12 if by - 12 >= header else by + 2
      # On a dark patch: readable over any image.
      pen.rectangle(pen.textbbox((bx + 2, label_y), box.label), fill=(0, 0, 0))
      pen.text((bx + 2, label_y), box.label, fill=COLOURS[box.status])
  return canvas


def write_gallery(folder: str, worst: Sequence[dict], boxes_of: Callable[[int], list[Box]],
                  image_path_of: Callable[[int], str | None],
                  write_png: Callable[[str, bytes], None]) -> list[str]:
  """Draws each of `worst` (image_diagnostics rows, worst first) whose image file exists into
  folder/NN_image_<id>.png; returns the file names written, in order. An image that cannot be
  read is left out with a warning naming it: the gallery is an aid, the analysis stands."""
  names = []
  for rank, row in enumerate(worst, start=1):
    path = image_path_of(row["image_id"])
    if not path or not os.path.isfile(path):
      continue
    caption = (f"#{rank} image {row['image_id']}: TP {row['tp']}, FP {row['fp']}, "
               f"FN {row['fn']}, F1 {_f1_text(row.get('f1'))}")
    try:
      canvas = draw(path, boxes_of(row["image_id"]), caption)
    except (OSError, Image.DecompressionBombError) as e:  # truncated, not an image, too large
      logging.warning("gallery: image %s (%s) left out: %s", row["image_id"], path, e)
      continue
    buf = io.BytesIO()
    canvas.save(buf, format="PNG")
    name = f"{rank:02d}_image_{row['image_id']}.png"
    write_png(os.path.join(folder, name), buf.getvalue())
    names.append(name)
  return names


def _f1_text(f1) -> str:
  return "-" if f1 is None else f"{float(f1):.2f}"
