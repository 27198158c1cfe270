"""The comparison's "why AP is lost" data: each model's analysis and the bootstrap intervals.

  why = why_ap_lost.load(results, out_dir)   # analysis.json per model + OUT/comparison/
  why.tide_rows(results), why.significance_rows(results), why.f1_rows(results), ...

Inputs, per model (a sweep's OUT/<task_name>/): analysis/analysis.json (eval/analysis: TIDE,
F1 thresholds, ...) and, from the sweep's summary stage (eval/model_comparison.py, cached in
OUT/comparison/), a bootstrap interval of each category's AP and the paired bootstrap of each
consecutive pair of models. Models without analysis.json (older runs) are left out of what
needs it, never an error. Both reports (html_report.py, clearml_report.py) render these rows.
Values are fractions as the evaluator gives them; tables show AP points (x100) where noted.
"""
from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Sequence

from eval import model_comparison
from eval.tracking import formatting
from eval.tracking import model_result

ANALYSIS_DIR = "analysis"  # eval/analysis/analyze.py's ANALYSIS_DIR and ANALYSIS_JSON
ANALYSIS_JSON = "analysis.json"
# TIDE's six error types (their delta AP adds up to less than what is lost: they overlap), then
# the two summaries: every false positive, every false negative fixed.
TIDE_ERRORS = ("Cls", "Loc", "Both", "Dupe", "Bkg", "Miss")
TIDE_SUMMARIES = ("FP", "FN")
TIDE_LABELS = {
    "Cls": "classification", "Loc": "localization", "Both": "cls + loc", "Dupe": "duplicate",
    "Bkg": "background", "Miss": "missed", "FP": "all false positives", "FN": "all false negatives"
}
F1_IOU = 0.5  # the F1 threshold table's IoU (analysis.json has 0.5 and 0.75)


def analysis_path(result: model_result.ModelResult) -> str | None:
  if not result.metrics_path:
    return None
  return os.path.join(os.path.dirname(result.metrics_path), ANALYSIS_DIR, ANALYSIS_JSON)


def read_analysis(result: model_result.ModelResult) -> dict | None:
  """The model's analysis.json, or None (an older run, or an unreadable file)."""
  path = analysis_path(result)
  try:
    with open(path) as f:  # type: ignore[arg-type]
      data = json.load(f)
  except (OSError, TypeError, ValueError):
    return None
  return data if isinstance(data, dict) else None


def _folder(result: model_result.ModelResult) -> str:
  """The model's name in OUT/comparison/: its output folder's (OUT/<task_name>/)."""
  if result.metrics_path:
    return os.path.basename(os.path.dirname(result.metrics_path))
  return result.info.task_name


def _pct(value: Any, digits: int = 1) -> str:
  return formatting.fmt(value, digits, scale=100.0)


def _points(value: float | None, digits: int = 2, sign: bool = True) -> str:
  if value is None:
    return formatting.MISSING
  return f"{value * 100:+.{digits}f}" if sign else f"{value * 100:.{digits}f}"


@dataclasses.dataclass(frozen=True)
class WhyApLost:
  """analyses: model key -> analysis.json; intervals: model key -> model_comparison's
  category_intervals record; pairs: consecutive pairs' paired bootstrap (compare's result with
  "a_key", "b_key"), in the comparison's order."""
  analyses: dict[str, dict]
  intervals: dict[str, dict]
  pairs: list[dict]

  @property
  def empty(self) -> bool:
    return not (self.analyses or self.intervals or self.pairs)

  def missing_analysis(self, results: Sequence[model_result.ModelResult]) -> list[str]:
    return [r.info.key for r in results if r.info.key not in self.analyses]

  # --- TIDE ---------------------------------------------------------------------------------

  def tide(self, key: str) -> dict | None:
    tide = (self.analyses.get(key) or {}).get("tide")
    return tide if isinstance(tide, dict) and isinstance(tide.get("delta_ap"), dict) else None

  def tide_points(self, results: Sequence[model_result.ModelResult],
                  error: str) -> list[tuple[int, float]]:
    """(x on the scale axis, delta AP of `error`) of every model with a TIDE analysis."""
    scale = model_result.scale_axis(results)
    points = []
    for r in results:
      tide = self.tide(r.info.key)
      value = tide["delta_ap"].get(error) if tide else None
      if value is not None:
        points.append((scale.x(r.info), float(value)))
    return points

  def tide_rows(self, results: Sequence[model_result.ModelResult]) -> list[list[Any]]:
    """Header + one row per model with TIDE: its AP at TIDE's IoU and each error type's delta AP
    (fractions: what fixing that error type alone would add)."""
    scale = model_result.scale_axis(results)
    header = ["model", scale.short, "AP (TIDE)"
             ] + [f"{e} ({TIDE_LABELS[e]})" for e in TIDE_ERRORS + TIDE_SUMMARIES]
    rows = [header]
    for r in results:
      tide = self.tide(r.info.key)
      if tide:
        rows.append([r.info.key, scale.x(r.info), tide.get("ap")]
                    + [tide["delta_ap"].get(e) for e in TIDE_ERRORS + TIDE_SUMMARIES])
    return rows

  # --- F1 thresholds ------------------------------------------------------------------------

  def f1(self, key: str, iou: float = F1_IOU) -> dict[str, dict]:
    """Category name -> its F1-optimal threshold row at `iou` (eval/analysis' f1_thresholds)."""
    rows = (self.analyses.get(key) or {}).get("f1_thresholds") or []
    return {
        str(row.get("name")): row for row in rows
        if isinstance(row, dict) and row.get("iou") is not None and abs(row["iou"] - iou) < 1e-9
    }

  def f1_rows(self, results: Sequence[model_result.ModelResult],
              iou: float = F1_IOU) -> list[list[Any]]:
    """Header + one row per category: for each model with an analysis, the score threshold that
    maximises F1 at `iou`, and the precision and recall there (None: no ground truth or no TP)."""
    models = [r for r in results if self.f1(r.info.key, iou)]
    if not models:
      return []
    header = ["category"]
    for r in models:
      header += [f"{r.info.key} score", f"{r.info.key} precision", f"{r.info.key} recall"]
    by_model = {r.info.key: self.f1(r.info.key, iou) for r in models}
    names = list(dict.fromkeys(n for r in models for n in by_model[r.info.key]))
    rows = [header]
    for name in names:
      row = [name]
      for r in models:
        f1 = by_model[r.info.key].get(name) or {}
        row += [f1.get("score"), f1.get("precision"), f1.get("recall")]
      rows.append(row)
    return rows

  # --- bootstrap intervals and significance -------------------------------------------------

  def category_interval(self, key: str, name: str) -> tuple[float, float, float] | None:
    """(AP, lo, hi) of the category in the model's bootstrap, or None."""
    for row in (self.intervals.get(key) or {}).get("per_category", ()):
      if row.get("name") == name:
        return float(row["ap"]), float(row["lo"]), float(row["hi"])
    return None

  def stat_interval(self, key: str, stat: str = "AP") -> tuple[float, float, float] | None:
    for row in (self.intervals.get(key) or {}).get("stats", ()):
      if row.get("name") == stat:
        return float(row["value"]), float(row["lo"]), float(row["hi"])
    return None

  def interval_rows(self, results: Sequence[model_result.ModelResult]) -> list[list[Any]]:
    """Header + (model, scale x, category, AP, lo, hi) rows: each model's bootstrap interval of
    each category's AP (and of the overall statistics, category "(all)")."""
    scale = model_result.scale_axis(results)
    rows = [[
        "model", scale.short, "category_id", "category", "statistic", "value", "lo", "hi",
        "confidence", "n_bootstrap"
    ]]
    for r in results:
      data = self.intervals.get(r.info.key)
      if not data:
        continue
      extra = [data.get("confidence"), data.get("n_bootstrap")]
      for row in data.get("stats", ()):
        rows.append([
            r.info.key,
            scale.x(r.info), "", "(all)", row["name"], row["value"], row["lo"], row["hi"]
        ] + extra)
      for row in data.get("per_category", ()):
        rows.append([
            r.info.key,
            scale.x(r.info), row["id"], row["name"], "AP", row["ap"], row["lo"], row["hi"]
        ] + extra)
    return rows

  def significance_rows(self, per_category: bool = False) -> list[list[Any]]:
    """Header + one row per consecutive pair and statistic (per_category: and per category AP):
    the pair, the statistic, a, b, delta = b - a, the interval and whether it excludes 0."""
    rows = [["model pair", "statistic", "a", "b", "delta", "lo", "hi", "significant"]]
    for pair in self.pairs:
      label = f"{pair['a_key']} -> {pair['b_key']}"
      entries = [(s["name"], s) for s in pair.get("stats", ())]
      if per_category:
        entries += [(f"AP {c['name']}", c) for c in pair.get("per_category", ())]
      for name, s in entries:
        rows.append([
            label, name, s["a"], s["b"], s["delta"], s["lo"], s["hi"],
            "yes" if s["significant"] else "no"
        ])
    return rows

  def category_counts(self) -> list[list[Any]]:
    """Header + one row per pair: categories whose AP rose / fell significantly, and unchanged."""
    rows = [[
        "model pair", "categories", "significantly better", "significantly worse", "not significant"
    ]]
    for pair in self.pairs:
      cats = pair.get("per_category", ())
      up = sum(1 for c in cats if c["significant"] and c["delta"] > 0)
      down = sum(1 for c in cats if c["significant"] and c["delta"] < 0)
      rows.append(
          [f"{pair['a_key']} -> {pair['b_key']}",
           len(cats), up, down,
           len(cats) - up - down])
    return rows


def load(results: Sequence[model_result.ModelResult], out_dir: str | None = None, *,
         intervals: dict[str, dict] | None = None,
         pairs: Sequence[dict] | None = None) -> WhyApLost:
  """The section's data for `results` (in the comparison's order).

  intervals / pairs: the sweep's bootstrap (model_comparison.sweep_comparisons: keyed by output
  folder name); when None, read from OUT/comparison/ where a cached result matches the
  models' current detections (the sweep wrote it; nothing is computed here).
  """
  results = model_result.by_phi(results)
  key_of = {_folder(r): r.info.key for r in results}
  analyses = {}
  for r in results:
    analysis = read_analysis(r)
    if analysis is not None:
      analyses[r.info.key] = analysis
  if intervals is None and pairs is None and out_dir:
    intervals, pairs = _cached(results, out_dir)
  model_intervals = {
      key_of[name]: data for name, data in (intervals or {}).items() if name in key_of
  }
  pair_list = []
  for pair in pairs or ():
    a, b = os.path.basename(pair["a"]["directory"]), os.path.basename(pair["b"]["directory"])
    if a in key_of and b in key_of:
      pair_list.append({**pair, "a_key": key_of[a], "b_key": key_of[b]})
  return WhyApLost(analyses, model_intervals, pair_list)


def _cached(results: Sequence[model_result.ModelResult],
            out_dir: str) -> tuple[dict[str, dict], list[dict]]:
  """What OUT/comparison/ holds for these models' current detections (checked by sha256)."""
  outputs = []
  for r in results:
    if not r.metrics_path:
      continue
    try:
      outputs.append(model_comparison.read_output(os.path.dirname(r.metrics_path)))
    except model_comparison.ComparisonError:
      continue
  intervals, pairs = {}, []
  prints = {}
  for i, output in enumerate(outputs):
    iou_type = output.run.primary.iou_type
    prints[output.name] = model_comparison.fingerprint(output, iou_type)
    data = _read(model_comparison.intervals_path(out_dir, output.name))
    if data and (data.get("key") or {}).get("a") == prints[output.name]:
      intervals[output.name] = data
    if i:
      previous = outputs[i - 1]
      data = _read(model_comparison.pair_path(out_dir, previous.name, output.name))
      key = (data or {}).get("key") or {}
      if data and key.get("a") == prints[previous.name] and key.get("b") == prints[output.name]:
        pairs.append(data)
  return intervals, pairs


def _read(path: str) -> dict | None:
  try:
    with open(path) as f:
      data = json.load(f)
  except (OSError, ValueError):
    return None
  return data if isinstance(data, dict) else None
