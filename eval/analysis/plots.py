"""The analysis figures, drawn from the analysis object's JSON-ready dicts (analyze.py).

Each function takes one section of the analysis object and returns a matplotlib Figure; png()
renders one. Nothing here computes a statistic: the figures show what analysis.json holds, so
the PNGs and the JSON cannot disagree.
"""
from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure  # pylint: disable=g-import-not-at-top
import numpy as np  # pylint: disable=g-import-not-at-top

from eval.analysis import analyze  # pylint: disable=g-import-not-at-top

# TIDE's six main error types, then its two special ones, in TIDE's own order.
MAIN_ERRORS = ("Cls", "Loc", "Both", "Dupe", "Bkg", "Miss")
SPECIAL_ERRORS = ("FP", "FN")
ERROR_LABELS = {
    "Cls": "classification", "Loc": "localisation", "Both": "cls + loc", "Dupe": "duplicate",
    "Bkg": "background", "Miss": "missed", "FP": "all false positives", "FN": "all false negatives"
}
ERROR_COLOURS = {
    "Cls": "#e6194b", "Loc": "#3cb44b", "Both": "#4363d8", "Dupe": "#f58231", "Bkg": "#911eb4",
    "Miss": "#808000", "FP": "#555555", "FN": "#999999"
}
PNG_METADATA = {"Software": None}  # no matplotlib URL inside the PNGs: same bytes every run


def png(fig: Figure) -> bytes:
  buf = io.BytesIO()
  fig.savefig(buf, format="png", dpi=100, bbox_inches="tight", metadata=PNG_METADATA)
  return buf.getvalue()


def tide_bars(tide: dict, title: str = "") -> Figure:
  """TIDE's summary: the AP (in points) each error type costs, i.e. what fixing only that error
  type would add, main error types on the left and the FP / FN oracles on the right."""
  fig = Figure(figsize=(9, 3.6))
  main, special = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 1]})
  for ax, keys in ((main, MAIN_ERRORS), (special, SPECIAL_ERRORS)):
    values = [100.0 * float(tide["delta_ap"].get(k) or 0.0) for k in keys]
    bars = ax.bar(range(len(keys)), values, color=[ERROR_COLOURS[k] for k in keys])
    ax.set_xticks(range(len(keys)), keys)
    ax.bar_label(bars, fmt="%.2f", fontsize=8)
    ax.set_ylim(0, max(values + [1.0]) * 1.18)
    ax.grid(axis="y", alpha=0.3)
  main.set_ylabel("dAP (AP points)")
  main.set_title("main error types")
  special.set_title("special (FP / FN oracles)")
  counts = tide.get("counts") or {}
  main.set_xlabel("  ".join(f"{k}: {counts.get(k, 0)}" for k in MAIN_ERRORS), fontsize=8)
  fig.suptitle(title or (f"TIDE (its AP at IoU {tide['pos_thr']:g}: {100 * tide['ap']:.2f}): "
                         "AP gained by fixing each error type"))
  fig.tight_layout()
  return fig


def pr_curves(pr: dict, num_gt: dict | None = None, iou: float = 0.5, count: int = 5) -> Figure:
  """Precision vs recall at `iou`: overall, the largest categories and the worst ones."""
  t = analyze.iou_index(pr, iou)
  recall = np.asarray(pr["recall_thresholds"], dtype=float)
  largest, worst = analyze.pr_curve_categories(pr, num_gt, iou, count)
  fig = Figure(figsize=(11, 4.2))
  axes = fig.subplots(1, 2, sharey=True)
  for ax, rows, name in ((axes[0], largest, "largest categories (most ground truth)"),
                         (axes[1], worst, "worst categories (lowest AP)")):
    overall = np.asarray(pr["overall"][t], dtype=float)
    if (overall >= 0).any():
      ax.plot(recall, np.clip(overall, 0, None), color="black", lw=2, ls="--",
              label=f"all categories (AP {100 * overall.mean():.1f})")
    for row in rows:
      precision = np.asarray(row["precision"][t], dtype=float)
      ax.plot(recall, np.clip(precision, 0, None),
              label=f"{row['name']} (AP {100 * analyze.category_ap(row['precision'], t):.1f})")
    ax.set_title(name)
    ax.set_xlabel("recall")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
  axes[0].set_ylabel("precision")
  fig.suptitle(f"Precision-recall curves at IoU {pr['iou_thresholds'][t]:.2f}")
  fig.tight_layout()
  return fig


def confusion_heatmap(confusion: dict, top: int = 20) -> Figure:
  """Rows: ground-truth class (+ background: detections matching no ground truth); columns:
  detected as (+ missed). Colour: the row's fraction (log-free, so the diagonal reads as
  recall); numbers: counts."""
  labels, sub, k = analyze.confusion_subset(confusion, top)
  rows = labels + ["background"]
  cols = labels + ["missed"]
  fractions = sub / np.maximum(sub.sum(axis=1, keepdims=True), 1)
  size = max(5.0, 0.38 * len(rows) + 2.5)
  fig = Figure(figsize=(size + 1.0, size))
  ax = fig.subplots()
  image = ax.imshow(fractions, cmap="Blues", vmin=0, vmax=1)
  ax.set_xticks(range(len(cols)), cols, rotation=90, fontsize=7)
  ax.set_yticks(range(len(rows)), rows, fontsize=7)
  ax.set_xlabel("detected as")
  ax.set_ylabel("ground truth")
  if len(rows) <= 30:
    for i in range(len(rows)):
      for j in range(len(cols)):
        if sub[i, j]:
          ax.text(j, i, str(sub[i, j]), ha="center", va="center", fontsize=6,
                  color="white" if fractions[i, j] > 0.5 else "black")
  fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="fraction of the row")
  shown = ("" if len(labels) == k else
           f", the {len(labels)} of {k} categories with the most ground truth")
  ax.set_title(f"Confusion at IoU {confusion['iou']:g}, score >= {confusion['score_thr']:g}{shown}",
               fontsize=9)
  fig.tight_layout()
  return fig


def reliability_diagram(calibration: dict) -> Figure:
  """Accuracy (share of true positives) vs mean score per score bin, the diagonal being perfect
  calibration; below, how many detections fall in each bin."""
  bins = calibration["bins"]
  fig = Figure(figsize=(5.5, 6))
  top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
  centres = [(b["lo"] + b["hi"]) / 2 for b in bins]
  widths = [b["hi"] - b["lo"] for b in bins]
  filled = [b for b in bins if b["count"]]
  top.bar([(b["lo"] + b["hi"]) / 2 for b in filled], [b["accuracy"] for b in filled],
          width=[0.95 * (b["hi"] - b["lo"]) for b in filled], color="#4363d8", alpha=0.8,
          label="accuracy (TP share)")
  top.plot([b["mean_score"] for b in filled], [b["accuracy"] for b in filled], "o", color="#e6194b",
           ms=4, label="(mean score, accuracy)")
  top.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
  top.set_xlim(0, 1)
  top.set_ylim(0, 1)
  top.set_ylabel("accuracy")
  top.legend(fontsize=8, loc="upper left")
  top.set_title(
      f"Reliability at IoU {calibration['iou']:g}: ECE {calibration['ece']:.3f}, "
      f"MCE {calibration['mce']:.3f}", fontsize=10)
  bottom.bar(centres, [b["count"] for b in bins], width=[0.95 * w for w in widths], color="#999")
  bottom.set_xlabel("detection score")
  bottom.set_ylabel("detections")
  fig.tight_layout()
  return fig
