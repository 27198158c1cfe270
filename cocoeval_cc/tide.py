"""TIDE error decomposition (Bolya et al., ECCV 2020) as tidecv 1.0.1 computes it, in the C++ core.

Why AP is lost: each false positive gets one error type -- classification (Cls), localisation
(Loc), both (Both), duplicate (Dupe), background (Bkg) -- and ground truth that no detection
came near is missed (Miss). Each type's delta AP is the AP gained by fixing only that type; the
FP / FN oracles give the AP of perfect precision / perfect recall. tidecv's own rules are kept
(see tide.h): detections cut to the best maxDets[-1] per image over all categories, matching at
IoU >= pos_thr, its per-class AP with 101 recall points, categories with detections but no
ground truth counted as AP 0.
"""
from __future__ import annotations

import math
from typing import Any, Callable

from cocoeval_cc import _cocoeval_cc as _native

ERROR_TYPES = ("Cls", "Loc", "Both", "Dupe", "Bkg", "Miss")
DELTA_TYPES = ERROR_TYPES + ("FP", "FN")


def _threshold(name: str, value) -> float:
  if isinstance(value, bool):
    raise ValueError(f"{name} must be a number in (0, 1], got {value!r}")
  try:
    v = float(value)
  except (TypeError, ValueError):
    raise ValueError(f"{name} must be a number in (0, 1], got {value!r}") from None
  if not (math.isfinite(v) and 0 < v <= 1):
    raise ValueError(f"{name} must be in (0, 1], got {value!r}")
  return v


def _summary(s: dict) -> dict:
  return {
      "ap": float(s["ap"]),
      "delta_ap": {k: float(v) for k, v in zip(DELTA_TYPES, s["delta_ap"])},
      "counts": {k: int(v) for k, v in zip(ERROR_TYPES, s["counts"])},
  }


def tide_errors(evaluator: "_native.Evaluator", pos_thr: float = 0.5, bg_thr: float = 0.1, *,
                category_id_map: Callable[[int], Any] | None = None, num_threads: int = 0) -> dict:
  """TIDE errors of an evaluated native Evaluator (COCOeval's, or EvaluationResult.evaluator).

  pos_thr: foreground IoU, in (0, 1]; bg_thr: background IoU, in (0, pos_thr].
  category_id_map: native category id -> the user's id (cocoGt.native_ids.categories.original);
  identity when None. Returns (AP values and gains as fractions, like stats):
    {"pos_thr", "bg_thr", "ap", "delta_ap": {Cls, Loc, Both, Dupe, Bkg, Miss, FP, FN},
     "counts": {Cls, Loc, Both, Dupe, Bkg, Miss},
     "per_category": [{"id", "name", "ap", "delta_ap", "counts"}]}
  per_category lists the categories in tidecv's mean (any ground truth or detection) or with
  errors, in category id order; a false positive counts in its own category, Cls included.
  Raises ValueError for bad thresholds, keypoints, useCats=0 or an unevaluated evaluator.
  """
  pos = _threshold("pos_thr", pos_thr)
  bg = _threshold("bg_thr", bg_thr)
  if bg > pos:
    raise ValueError(f"bg_thr must be <= pos_thr, got bg_thr {bg_thr!r} > pos_thr {pos_thr!r}")
  raw = _native.tide_errors(evaluator, pos, bg, num_threads)
  to_id = category_id_map if category_id_map is not None else (lambda n: n)
  out = {"pos_thr": pos, "bg_thr": bg}
  out.update(_summary(raw))
  out["per_category"] = [{
      "id": to_id(int(c["category_id"])), "name": str(c["name"]), **_summary(c)
  } for c in raw["per_category"]]
  return out
