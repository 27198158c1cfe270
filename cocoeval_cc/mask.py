"""pycocotools.mask's API on the native core: encode, decode, area, toBbox, iou, merge, frPyObjects.

Same signatures, dtypes and memory order as pycocotools 2.0.11 and the same bytes: masks are
uint8 (or bool) arrays in column-major (Fortran) order, (h, w) for one mask or (h, w, n) for n;
an RLE is {'size': [h, w], 'counts': bytes}; areas are uint32, boxes float64 [x, y, w, h], IoU
matrices float64 (detections x ground truth, Fortran order). A list gives a list (or an array
with one entry per element); a single dict gives a single value.

Where pycocotools raises on input whose meaning is clear, this module answers instead:
`frPyObjects` takes boxes as lists (pycocotools 2.0.11 only takes an ndarray), a single box or
polygon as a flat list, compressed RLEs (returned re-encoded) and tuples; `area`, `toBbox`,
`merge`, `iou` and `decode` also take uncompressed RLEs (counts as a list). Where pycocotools
reads undefined memory or loops forever (counts that do not sum to h*w, masks of different
sizes in one decode call) this module raises ValueError.
"""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from cocoeval_cc import _cocoeval_cc as _native

__all__ = ["encode", "decode", "area", "toBbox", "iou", "merge", "frPyObjects"]


def _encode3(mask: np.ndarray) -> list[dict]:
  """(h, w, n) uint8 Fortran-order masks to n RLEs, with pycocotools' input checks."""
  if mask.ndim != 3:
    raise ValueError(f"Buffer has wrong number of dimensions (expected 3, got {mask.ndim})")
  if mask.dtype not in (np.uint8, np.bool_):
    raise ValueError(f"Buffer dtype mismatch, expected 'uint8_t' but got {mask.dtype}")
  if not mask.flags.f_contiguous:
    raise ValueError("ndarray is not Fortran contiguous")
  return _native.mask_encode(mask if mask.dtype == np.uint8 else mask.view(np.uint8))


def encode(bimask: np.ndarray) -> Any:
  """Binary mask(s) to RLE: (h, w) gives one dict, (h, w, n) a list of n dicts.

  The array must be uint8 (or bool) in Fortran order (np.asfortranarray), as in pycocotools.
  """
  if len(bimask.shape) == 3:
    return _encode3(bimask)
  if len(bimask.shape) == 2:
    h, w = bimask.shape
    return _encode3(bimask.reshape((h, w, 1), order="F"))[0]
  return None  # pycocotools returns nothing for other ranks


def decode(rleObjs: Any) -> np.ndarray:
  """RLE(s) to uint8 Fortran-order masks: a list gives (h, w, n), a dict (h, w)."""
  if type(rleObjs) == list:  # noqa: E721 (pycocotools dispatches on the exact type)
    return _native.mask_decode(rleObjs)
  return _native.mask_decode([rleObjs])[:, :, 0]


def area(rleObjs: Any) -> Any:
  """Foreground pixels: a uint32 array for a list, a np.uint32 for a dict."""
  if type(rleObjs) == list:  # noqa: E721
    return _native.mask_area(rleObjs)
  return _native.mask_area([rleObjs])[0]


def toBbox(rleObjs: Any) -> np.ndarray:
  """Bounding boxes [x, y, w, h] (float64): (n, 4) for a list, (4,) for a dict."""
  if type(rleObjs) == list:  # noqa: E721
    return _native.mask_to_bbox(rleObjs)
  return _native.mask_to_bbox([rleObjs])[0]


def merge(rleObjs: Any, intersect: Any = 0) -> dict:
  """Union (or, with intersect, intersection) of RLEs of one size; a size mismatch gives
  {'size': [0, 0], 'counts': b''} as in pycocotools."""
  if isinstance(rleObjs, dict):
    rleObjs = [rleObjs]
  return _native.mask_merge(list(rleObjs), bool(intersect))


def _iou_operand(objs: Any) -> Any:
  """pycocotools' iou() preprocessing: an (n, 4) float64 array for boxes, a list for RLEs."""
  if len(objs) == 0:
    return objs
  if type(objs) == np.ndarray:  # noqa: E721
    if objs.ndim != 2 or objs.shape[1] != 4:
      raise Exception("numpy ndarray input is only for *bounding boxes* and should have Nx4 "
                      "dimension")
    return objs.astype(np.double)
  if type(objs) == list:  # noqa: E721
    if all(len(o) == 4 and type(o) in (list, np.ndarray) for o in objs):
      boxes = np.array(objs, dtype=np.double)
      return boxes.reshape((1, boxes.shape[0])) if boxes.ndim == 1 else boxes
    if all(type(o) == dict for o in objs):  # noqa: E721
      return list(objs)
    raise Exception("list input can be bounding box (Nx4) or RLEs ([RLE])")
  raise Exception("unrecognized type.  The following type: RLEs (rle), np.ndarray (box), and "
                  "list (box) are supported.")


def iou(dt: Any, gt: Any, pyiscrowd: Any) -> Any:
  """IoU of every detection with every ground truth, (len(dt), len(gt)) float64, Fortran order.

  dt and gt are both boxes (an (n, 4) array or a list of [x, y, w, h]) or both RLE lists; for
  a crowd ground truth the intersection is divided by the detection's area. Returns [] when
  either side is empty, -1 for overlapping masks of different sizes, as pycocotools.
  """
  iscrowd = np.array(pyiscrowd, dtype=np.uint8)
  dt, gt = _iou_operand(dt), _iou_operand(gt)
  m, n = len(dt), len(gt)
  assert len(pyiscrowd) == n, "iou(iscrowd=) must have the same length as gt"
  if m == 0 or n == 0:
    return []
  if type(dt) != type(gt):  # noqa: E721
    raise Exception("The dt and gt should have the same data type, either RLEs, list or "
                    "np.ndarray")
  return np.asfortranarray(_native.mask_iou(dt, gt, iscrowd.tolist()))


def _dim(x: Any) -> int:
  if isinstance(x, numbers.Integral):
    return int(x)
  if isinstance(x, numbers.Real):
    return int(x)  # pycocotools' C conversion truncates
  raise TypeError(f"an integer is required for a mask size, got {type(x).__name__}")


def _fr_rle(obj: dict) -> dict:
  """An RLE with counts as a list (uncompressed; its own size, as pycocotools) or compressed."""
  size = [_dim(obj["size"][0]), _dim(obj["size"][1])]
  counts = obj["counts"]
  if isinstance(counts, (bytes, str)):
    counts = counts.encode() if isinstance(counts, str) else bytes(counts)
  else:
    counts = np.array(counts, dtype=np.uint32).tolist()
  return _native.mask_merge([{"size": size, "counts": counts}], False)


def _fr_boxes(boxes: Any, h: int, w: int) -> list[dict]:
  boxes = np.asarray(boxes, dtype=np.float64)
  if boxes.ndim != 2 or boxes.shape[1] != 4:
    raise ValueError(f"boxes must be N x 4, got shape {boxes.shape}")
  return _native.mask_fr_bbox(boxes, h, w)


def _fr_polygons(polygons: Any, h: int, w: int) -> list[dict]:
  return _native.mask_fr_poly([np.asarray(p, dtype=np.float64).ravel().tolist() for p in polygons],
                              h, w)


def _is_sequence(x: Any) -> bool:
  return isinstance(x, (list, tuple, np.ndarray))


def frPyObjects(pyobj: Any, h: Any, w: Any) -> Any:
  """Polygons, boxes or uncompressed RLEs to compressed RLEs for an h x w image.

  A list of polygons ([[x0, y0, x1, y1, ...], ...]), of boxes ([[x, y, w, h], ...], or an
  (n, 4) array) or of RLE dicts gives a list of RLEs; one polygon, box or RLE dict gives one
  RLE. Uncompressed RLEs keep their own 'size', as in pycocotools.
  """
  h, w = _dim(h), _dim(w)
  if isinstance(pyobj, np.ndarray):
    return _fr_boxes(pyobj, h, w)
  if isinstance(pyobj, dict):
    if "counts" in pyobj and "size" in pyobj:
      return _fr_rle(pyobj)
    raise Exception("input type is not supported.")
  if isinstance(pyobj, (list, tuple)):
    if len(pyobj) == 0:
      return []
    first = pyobj[0]
    if isinstance(first, dict):
      if "counts" in first and "size" in first:
        return [_fr_rle(o) for o in pyobj]
    elif _is_sequence(first):
      if len(first) == 4:
        return _fr_boxes(pyobj, h, w)
      if len(first) > 4:
        return _fr_polygons(pyobj, h, w)
    elif isinstance(first, numbers.Real):  # one box or one polygon, flat
      if len(pyobj) == 4:
        return _fr_boxes([pyobj], h, w)[0]
      if len(pyobj) > 4:
        return _fr_polygons([pyobj], h, w)[0]
  raise Exception("input type is not supported.")
