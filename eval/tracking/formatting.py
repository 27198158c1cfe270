"""Numbers for people: statistic names and labels, and `fmt` ("–" for no ground truth).

The statistic names and their TF OD API keys come from cocoeval_cc.metrics (the evaluator's own
tables); `is_missing` is eval/results.py's, re-exported here for the report modules.
"""
from __future__ import annotations

from typing import Any

from cocoeval_cc import metrics as coco_metrics
from eval.results import is_missing  # pylint: disable=unused-import  (re-exported)

__all__ = ["MISSING", "STAT_LABELS", "STAT_NAMES", "TF_KEYS", "fmt", "is_missing"]

# The 12 statistics in pycocotools order and their TF OD API keys (without the
# DetectionBoxes_/DetectionMasks_ prefix), as the evaluator names them with COCO's default
# parameters, and a readable label for each.
_DEFAULT_SPECS = coco_metrics.stat_specs(("all", "small", "medium", "large"), (1, 10, 100))
STAT_NAMES = tuple(coco_metrics.short_names(_DEFAULT_SPECS))
TF_KEYS = tuple(spec.key for spec in _DEFAULT_SPECS)
STAT_LABELS = {
    "AP": "AP @[.50:.95] (mAP)",
    "AP50": "AP @.50",
    "AP75": "AP @.75",
    "AP_small": "AP small",
    "AP_medium": "AP medium",
    "AP_large": "AP large",
    "AR1": "AR @1 det",
    "AR10": "AR @10 dets",
    "AR100": "AR @100 dets",
    "AR_small": "AR small",
    "AR_medium": "AR medium",
    "AR_large": "AR large",
}
MISSING = "\u2013"  # shown for -1 (no ground truth) and absent values


def fmt(value: Any, digits: int = 3, scale: float = 1.0) -> str:
  """A statistic for people: `digits` decimals after multiplying by `scale`; -1/None/NaN -> "–"."""
  if is_missing(value):
    return MISSING
  return f"{float(value) * scale:.{digits}f}"
