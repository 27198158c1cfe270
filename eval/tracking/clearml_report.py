"""Logs results to a ClearML Task: one model (report_model), or the sweep (report_comparison).

`target` is a clearml_session.TrackingSession, a clearml Task or a clearml Logger. This module
does not import clearml itself (clearml_session sets up its configuration first).

One model (report_model), iteration 0 unless told otherwise:
  * scalars: every metrics.json "metrics" key as the TF OD API names it, split at the first "/":
    DetectionBoxes_Precision/mAP -> title "DetectionBoxes_Precision", series "mAP";
    DetectionBoxes_PerformanceByCategory/mAP/person -> "DetectionBoxes_PerformanceByCategory",
    "mAP/person". This is the layout ClearML's own TensorBoard capture gives the TF OD API's eval,
    so these tasks compare with tasks of TF OD API training runs. -1 (no ground truth) is kept.
  * table "per-category statistics" (series = iou type): category x the 12 statistics, sorted
    by AP, best first; "–" where a category has no ground truth.
  * bar charts "per-category AP" / "per-category AP50" / "per-category AR100" (sorted, categories
    without ground truth left out), "AP and AR by object area" (small/medium/large) plus a table.
  * Summary (report_single_value): the 12 statistics, phi, input size, published mAP and speed.
  * artifacts metrics.json and per_category.csv when the result was read from disk.
  * the error analysis, when the model's folder has one (analysis/analysis.json, see
    eval/analysis/analyze.py; report_analysis): tables "TIDE errors" (error type, dAP in AP
    points, count), "TIDE per category", "F1-optimal score thresholds" (category x IoU 0.5 /
    0.75: score threshold, precision, recall, F1); native plots "TIDE: AP gained by fixing each
    error type" (bars), "confusion" (heatmap), "reliability diagram" and "PR curves @ IoU 0.50"
    (overall, largest and worst categories); Summary values "ECE", "MCE", "TIDE dAP <type>";
    the PNGs and the gallery of the worst images as debug images ("analysis plots", "worst
    images"); the artifact analysis.json.

The sweep (report_comparison), one comparison task:
  * "mAP vs compound scaling factor" (series measured, published), "AP vs compound scaling
    factor" (AP, AP50, AP75), "AP by object area vs compound scaling factor",
    "AR vs compound scaling factor": report_scatter2d, x = phi, lines with markers.
  * per category: "per-category mAP vs scaling factor" with one series per category (all 80 in
    one chart: click a legend entry to hide it, double-click to isolate it), and the same split by
    the ground truth's supercategory, "per-category mAP vs scaling factor: animal" etc. (for
    COCO 12 charts of at most 10 lines, which read better than one chart of 80). ClearML draws
    report_scatter2d events of one title and iteration as one chart with a line per series
    (clearml/clearml#115).
  * tables "models x statistics" and "per-category mAP by model" (category x model, sorted by
    the most accurate model's AP, with the gain from the first to the last model).
  * "accuracy vs published speed" (x = published ms, labelled by model), "AP points per
    published ms" bars, and the sweet-spot hint as Summary values and console text.
  * "why AP is lost" (report_why_ap_lost), from each model's analysis.json and the sweep's
    bootstrap (OUT/comparison/): TIDE error types vs phi, per-category AP with bootstrap
    intervals (error bars), consecutive models' gains marked significant or not, and the
    F1-optimal score thresholds per category and model. Models without analysis.json are left out.
"""
from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from eval import results as results_lib
from eval.analysis import analyze
from eval.tracking import formatting
from eval.tracking import model_result
from eval.tracking import sweet_spot
from eval.tracking import why_ap_lost

AREAS = ("small", "medium", "large")
DEFAULT_BAR_STATS = ("AP", "AP50", "AR100")


def _logger(target: Any):
  if hasattr(target, "report_scalar"):
    return target
  task = getattr(target, "task", None)
  if task is not None and hasattr(task, "get_logger"):
    return task.get_logger()
  if hasattr(target, "get_logger"):
    return target.get_logger()
  raise TypeError(f"not a ClearML Task, Logger or TrackingSession: {target!r}")


def _task(target: Any):
  if hasattr(target, "upload_artifact"):
    return target
  task = getattr(target, "task", None)
  return task if task is not None and hasattr(task, "upload_artifact") else None


def split_key(key: str) -> tuple[str, str]:
  """A TF OD API metric key as a ClearML (title, series): split at the first "/"."""
  title, sep, series = key.partition("/")
  return (title, series) if sep and series else (key, key)


def _cell(value: float, digits: int = 4) -> Any:
  return formatting.MISSING if formatting.is_missing(value) else round(float(value), digits)


def _sort_key(value: float) -> tuple[int, float]:
  return (1, 0.0) if formatting.is_missing(value) else (0, -float(value))


def per_category_rows(result: model_result.ModelResult) -> list[list[Any]]:
  """Header + one row per category (sorted by AP, best first; no ground truth last)."""
  header = ["category id", "category", "supercategory"] + list(result.stat_names)
  rows = sorted(result.per_category, key=lambda r: (_sort_key(r.stats[0]), r.name))
  return [header
         ] + [[row.id, row.name, result.supercategory(row.name)] + [_cell(v) for v in row.stats]
              for row in rows]


def report_model(target: Any, result: model_result.ModelResult, iteration: int = 0,
                 bar_stats: Sequence[str] = DEFAULT_BAR_STATS, upload_files: bool = True) -> int:
  """Logs one model's evaluation; returns the number of scalars reported."""
  logger = _logger(target)
  for key, value in result.metrics.items():
    title, series = split_key(key)
    logger.report_scalar(title=title, series=series, value=float(value), iteration=iteration)

  if result.per_category:
    logger.report_table(title="per-category statistics", series=result.iou_type,
                        iteration=iteration, table_plot=per_category_rows(result))
    for stat in bar_stats:
      if stat not in result.stat_names:
        continue
      i = result.stat_names.index(stat)
      rows = sorted((r for r in result.per_category if not formatting.is_missing(r.stats[i])),
                    key=lambda r: (-r.stats[i], r.name))
      if rows:
        logger.report_histogram(title=f"per-category {stat}", series=stat, iteration=iteration,
                                values=[r.stats[i] for r in rows], xlabels=[r.name for r in rows],
                                xaxis="category", yaxis=formatting.STAT_LABELS.get(stat, stat))

  area_rows = [["object area", "AP", "AR@100"]]
  ap_values, ar_values = [], []
  for area in AREAS:
    ap = result.stat(f"AP_{area}") if f"AP_{area}" in result.stat_names else -1.0
    ar = result.stat(f"AR_{area}") if f"AR_{area}" in result.stat_names else -1.0
    area_rows.append([area, _cell(ap), _cell(ar)])
    ap_values.append(0.0 if formatting.is_missing(ap) else ap)
    ar_values.append(0.0 if formatting.is_missing(ar) else ar)
  logger.report_histogram(title="AP and AR by object area", series="AP", values=ap_values,
                          xlabels=list(AREAS), iteration=iteration, xaxis="object area",
                          yaxis="value")
  logger.report_histogram(title="AP and AR by object area", series="AR@100", values=ar_values,
                          xlabels=list(AREAS), iteration=iteration, xaxis="object area",
                          yaxis="value")
  logger.report_table(title="AP and AR by object area", series=result.iou_type, iteration=iteration,
                      table_plot=area_rows)

  for name, value in zip(result.stat_names, result.stats):
    logger.report_single_value(name=name, value=float(value))
  info = result.info
  if info.phi is not None:
    logger.report_single_value(name="phi", value=info.phi)
  for name, value in (("input size", info.input_size), ("published COCO mAP (%)",
                                                        info.published_map),
                      ("published speed (ms)", info.published_ms), ("AP points per published ms",
                                                                    result.ap_per_ms)):
    if value is not None:
      logger.report_single_value(name=name, value=float(value))
  speed = result.run.speed or {}
  latency = speed.get("latency_ms") or {}
  for name, value in (("measured latency p50 (ms)",
                       latency.get("p50")), ("measured latency p90 (ms)", latency.get("p90")),
                      ("measured images/s", speed.get("images_per_second"))):
    if value:
      logger.report_single_value(name=name, value=float(value))
  if result.measured_device:
    logger.report_text(f"Speed measured on {result.measured_device} "
                       f"({speed.get('workers', '?')} worker(s), mode {speed.get('mode', '?')})")

  task = _task(target)
  if upload_files and task is not None:
    for name, path in ((results_lib.METRICS, result.metrics_path), (results_lib.PER_CATEGORY_CSV,
                                                                    result.per_category_csv)):
      if path:
        task.upload_artifact(name=name, artifact_object=path, wait_on_upload=True)
  if result.metrics_path:
    report_analysis(target, os.path.join(os.path.dirname(result.metrics_path),
                                         analyze.ANALYSIS_DIR), iteration, upload_files)
  logger.flush()
  return len(result.metrics)


def _value(value: Any, digits: int = 4) -> Any:
  return formatting.MISSING if value is None else round(float(value), digits)


def report_analysis(target: Any, folder: str, iteration: int = 0,
                    upload_files: bool = True) -> bool:
  """Logs the error analysis in `folder` (a model's analysis/); False when it has none."""
  analysis = analyze.read(folder)
  if analysis is None:
    return False
  logger = _logger(target)
  series = str(analysis.get("iou_type", "bbox"))
  tide = analysis.get("tide")
  if tide:
    errors = list(analyze.TIDE_ERRORS)
    delta = [100.0 * float(tide["delta_ap"].get(k) or 0.0) for k in errors]
    logger.report_histogram(title="TIDE: AP gained by fixing each error type", series="dAP",
                            values=delta, xlabels=errors, iteration=iteration, xaxis="error type",
                            yaxis="dAP (AP points)")
    counts = tide.get("counts") or {}
    logger.report_table(
        title="TIDE errors", series=series, iteration=iteration,
        table_plot=[["error type", "dAP (AP points)", "count"]]
        + [[k, round(d, 3), counts.get(k, formatting.MISSING)] for k, d in zip(errors, delta)])
    rows = analyze.tide_rows(tide)
    logger.report_table(
        title="TIDE per category", series=series, iteration=iteration,
        table_plot=[rows[0]] + [[_value(v) if isinstance(v, float) else v for v in row]
                                for row in rows[1:]])
    for k, d in zip(errors, delta):
      logger.report_single_value(name=f"TIDE dAP {k}", value=d)
  f1 = analysis.get("f1_thresholds")
  if f1:
    logger.report_table(
        title="F1-optimal score thresholds", series=series, iteration=iteration, table_plot=[[
            "category id", "category", "IoU", "score threshold", "precision", "recall", "F1", "TP",
            "FP", "ground truth"
        ]] + [[
            r["id"], r["name"], r["iou"],
            _value(r["score"]),
            _value(r["precision"]),
            _value(r["recall"]),
            _value(r["f1"]), r["tp"], r["fp"], r["num_gt"]
        ] for r in f1])
  confusion = analysis.get("confusion")
  if confusion:
    labels, matrix, _ = analyze.confusion_subset(confusion, top=30)
    # Rows (y) ground truth, columns (x) detected as; the first row on top, as in the PNG.
    logger.report_confusion_matrix(
        title="confusion", series=f"IoU {confusion['iou']:g}, score >= {confusion['score_thr']:g}",
        iteration=iteration, matrix=np.asarray(matrix), xlabels=labels + ["missed"],
        ylabels=labels + ["background"], xaxis="detected as", yaxis="ground truth",
        yaxis_reversed=True)
  calibration = analysis.get("calibration")
  if calibration:
    filled = [b for b in calibration["bins"] if b["count"]]
    if filled:
      logger.report_scatter2d(title="reliability diagram", series="accuracy",
                              scatter=[[b["mean_score"], b["accuracy"]] for b in filled],
                              iteration=iteration, xaxis="mean score", yaxis="accuracy (TP share)",
                              labels=[f"{b['count']} detections"
                                      for b in filled], mode="lines+markers")
      logger.report_scatter2d(title="reliability diagram", series="perfect calibration",
                              scatter=[[0.0, 0.0], [1.0, 1.0]], iteration=iteration,
                              xaxis="mean score", yaxis="accuracy (TP share)", mode="lines")
    for name in ("ece", "mce"):
      if calibration.get(name) is not None:
        logger.report_single_value(name=name.upper(), value=float(calibration[name]))
  pr = analysis.get("pr_curves")
  if pr:
    t = analyze.iou_index(pr, 0.5)
    title = f"PR curves @ IoU {pr['iou_thresholds'][t]:.2f}"
    recall = [float(r) for r in pr["recall_thresholds"]]
    num_gt = {r["id"]: r["num_gt"] for r in f1 or ()}
    largest, worst = analyze.pr_curve_categories(pr, num_gt or None)
    curves = [("all categories", pr["overall"][t])] + [(str(r["name"]), r["precision"][t])
                                                       for r in largest + worst]
    for name, precision in dict(curves).items():
      logger.report_scatter2d(title=title, series=name,
                              scatter=[[x, max(float(p), 0.0)] for x, p in zip(recall, precision)],
                              iteration=iteration, xaxis="recall", yaxis="precision", mode="lines")
  for key, name in analyze.PNGS.items():
    path = os.path.join(folder, name)
    if os.path.isfile(path):
      logger.report_image(title="analysis plots", series=key, iteration=iteration, local_path=path)
  gallery = os.path.join(folder, analyze.GALLERY_DIR)
  if os.path.isdir(gallery):
    for name in sorted(os.listdir(gallery)):
      if name.endswith(".png"):
        logger.report_image(title="worst images", series=name[:-len(".png")], iteration=iteration,
                            local_path=os.path.join(gallery, name))
  task = _task(target)
  if upload_files and task is not None:
    task.upload_artifact(name=analyze.ANALYSIS_JSON,
                         artifact_object=os.path.join(folder,
                                                      analyze.ANALYSIS_JSON), wait_on_upload=True)
  return True


def _lines(logger, title: str, series: str, points: Sequence[tuple[float, float]],
           labels: Sequence[str], xaxis: str, yaxis: str, iteration: int) -> None:
  if not points:
    return
  logger.report_scatter2d(title=title, series=series, scatter=[list(p) for p in points],
                          iteration=iteration, xaxis=xaxis, yaxis=yaxis, labels=list(labels),
                          mode="lines+markers")


def _vs_phi(results: Sequence[model_result.ModelResult], value_of) -> tuple[list, list]:
  scale = model_result.scale_axis(results)
  points, labels = [], []
  for r in results:
    v = value_of(r)
    if not formatting.is_missing(v):
      points.append((scale.x(r.info), float(v)))
      labels.append(r.info.key)
  return points, labels


def models_table(results: Sequence[model_result.ModelResult]) -> list[list[Any]]:
  """Header + one row per model (by phi): registry info, the statistics, AP points per ms."""
  stat_names = list(results[0].stat_names) if results else list(formatting.STAT_NAMES)
  scale = model_result.scale_axis(results)
  header = (["model", "task", scale.short, "input size", "published mAP (%)", "published ms"]
            + stat_names + ["AP points per ms", "measured ms (p50)", "measured on"])
  rows = [header]
  for r in model_result.by_phi(results):
    info = r.info
    rows.append([
        info.key, info.task_name,
        scale.x(info), info.input_size if info.input_size is not None else formatting.MISSING,
        info.published_map if info.published_map is not None else formatting.MISSING,
        info.published_ms if info.published_ms is not None else formatting.MISSING
    ] + [_cell(r.stat(n)) if n in r.stat_names else formatting.MISSING for n in stat_names]
                + [_cell(r.ap_per_ms) if r.ap_per_ms is not None else formatting.MISSING] + [
                    _cell(r.measured_ms) if r.measured_ms else formatting.MISSING, r.measured_device
                    or formatting.MISSING
                ])
  return rows


def category_by_model_table(results: Sequence[model_result.ModelResult],
                            stat: str = "AP") -> list[list[Any]]:
  """Header + one row per category: its `stat` for every model (by phi) and the gain.

  Sorted by the most accurate model's value, best first; "–" without ground truth.
  """
  ordered = model_result.by_phi(results)
  best = max(ordered, key=lambda r: (not formatting.is_missing(r.stat("AP")), r.stat("AP")))
  header = ["category", "supercategory"] + [r.info.key for r in ordered]
  if len(ordered) > 1:
    header.append(f"gain {ordered[0].info.key}->{ordered[-1].info.key}")
  body = []
  for name, supercategory in model_result.supercategories(ordered).items():
    values = [r.category_stat(name, stat) for r in ordered]
    row = [name, supercategory] + [_cell(v) for v in values]
    if len(ordered) > 1:
      first, last = values[0], values[-1]
      row.append(formatting.MISSING if formatting.is_missing(first) or formatting.is_missing(last)
                 else round(last - first, 4))
    body.append((_sort_key(best.category_stat(name, stat)), name, row))
  body.sort(key=lambda t: (t[0], t[1]))
  return [header] + [row for _, _, row in body]


def report_comparison(target: Any, results: Sequence[model_result.ModelResult], iteration: int = 0,
                      per_supercategory: bool = True,
                      why: why_ap_lost.WhyApLost | None = None) -> sweet_spot.SweetSpot | None:
  """Logs the comparison of several models (any subset of D0-D7); returns the sweet spot.

  why: the "why AP is lost" data (the sweep passes its bootstrap); default: each model's
  analysis.json and what OUT/comparison/ (beside the models' folders) holds for them."""
  logger = _logger(target)
  results = model_result.by_phi(results)
  if not results:
    logger.report_text("report_comparison: no results to compare")
    return None

  # Overall statistics vs the compound scaling factor (or the published-speed rank).
  scale = model_result.scale_axis(results)
  points, labels = _vs_phi(results, lambda r: r.stat("AP"))
  _lines(logger, f"mAP vs {scale.chart}", "measured", points, labels, scale.label,
         "mAP (AP @[.50:.95])", iteration)
  points, labels = _vs_phi(
      results, lambda r: None if r.info.published_map is None else r.info.published_map / 100.0)
  _lines(logger, f"mAP vs {scale.chart}", "published (TF2 zoo)", points, labels, scale.label,
         "mAP (AP @[.50:.95])", iteration)
  groups = ((f"AP vs {scale.chart}", ("AP", "AP50", "AP75"), "AP"),
            (f"AP by object area vs {scale.chart}", ("AP_small", "AP_medium", "AP_large"),
             "AP"), (f"AR vs {scale.chart}", ("AR1", "AR10", "AR100", "AR_small", "AR_medium",
                                              "AR_large"), "AR"))
  for title, stats, yaxis in groups:
    for stat in stats:
      if stat in results[0].stat_names:
        points, labels = _vs_phi(results, lambda r, s=stat: r.stat(s))
        _lines(logger, title, stat, points, labels, scale.label, yaxis, iteration)

  # Per category.
  for name, supercategory in model_result.supercategories(results).items():
    points, labels = _vs_phi(results, lambda r, n=name: r.category_stat(n, "AP"))
    _lines(logger, f"per-category mAP vs {scale.chart_short}", name, points, labels, scale.label,
           "mAP", iteration)
    if per_supercategory:
      _lines(logger, f"per-category mAP vs {scale.chart_short}: {supercategory}", name, points,
             labels, scale.label, "mAP", iteration)

  # Tables.
  logger.report_table(title="models x statistics", series=results[0].iou_type, iteration=iteration,
                      table_plot=models_table(results))
  logger.report_table(title="per-category mAP by model", series=results[0].iou_type,
                      iteration=iteration, table_plot=category_by_model_table(results))

  # Accuracy vs published speed, and the sweet spot.
  timed = sorted((r for r in results if r.info.published_ms), key=lambda r: r.info.published_ms)
  measured = [(r.info.published_ms, r.stat("AP")) for r in timed
              if not formatting.is_missing(r.stat("AP"))]
  _lines(logger, "accuracy vs published speed", "measured mAP", measured,
         [r.info.key for r in timed if not formatting.is_missing(r.stat("AP"))],
         "published speed (ms, TF2 zoo)", "mAP", iteration)
  published = [(r.info.published_ms, r.info.published_map / 100.0) for r in timed
               if r.info.published_map is not None]
  _lines(logger, "accuracy vs published speed", "published mAP", published,
         [r.info.key for r in timed if r.info.published_map is not None],
         "published speed (ms, TF2 zoo)", "mAP", iteration)
  ratios = [(r.info.key, r.ap_per_ms) for r in results if r.ap_per_ms is not None]
  if ratios:
    logger.report_histogram(title="AP points per published ms", series="AP/ms",
                            values=[v for _, v in ratios], xlabels=[k for k, _ in ratios],
                            iteration=iteration, xaxis="model", yaxis="AP points per ms")
  # Accuracy vs the latency measured in this run (metrics.json's speed section), if any.
  on_device = sorted(
      (r for r in results if r.measured_ms and not formatting.is_missing(r.stat("AP"))),
      key=lambda r: r.measured_ms)
  if on_device:
    devices = "; ".join(sorted({r.measured_device for r in on_device if r.measured_device}))
    _lines(logger, "accuracy vs measured latency", "measured mAP",
           [(r.measured_ms, r.stat("AP")) for r in on_device], [r.info.key for r in on_device],
           f"measured latency (p50 ms per image{'; ' + devices if devices else ''})", "mAP",
           iteration)
    measured_spot = sweet_spot.sweet_spot(on_device, "measured")
    if measured_spot is not None:
      logger.report_text("Sweet spot from the measured latencies: " + measured_spot.text)
  spot = sweet_spot.sweet_spot(results)
  if spot is not None:
    place = {r.info.key: scale.x(r.info) for r in results}
    logger.report_single_value("models compared", len(results))
    logger.report_single_value(f"most accurate ({scale.short})", place[spot.most_accurate])
    if spot.best_ap_per_ms:
      logger.report_single_value(f"most AP per ms ({scale.short})", place[spot.best_ap_per_ms])
    if spot.knee:
      logger.report_single_value(f"knee of AP vs speed ({scale.short})", place[spot.knee])
    logger.report_text("Sweet spot: " + spot.text)
  if why is None:
    out_dirs = {os.path.dirname(os.path.dirname(r.metrics_path)) for r in results if r.metrics_path}
    why = why_ap_lost.load(results, out_dirs.pop() if len(out_dirs) == 1 else None)
  report_why_ap_lost(logger, results, why, iteration)
  logger.flush()
  return spot


def _rows(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
  """A table for ClearML: None as "–", floats rounded."""
  return [[
      formatting.MISSING if v is None else round(v, 4) if isinstance(v, float) else v for v in row
  ] for row in rows]


def report_why_ap_lost(logger: Any, results: Sequence[model_result.ModelResult],
                       why: why_ap_lost.WhyApLost, iteration: int = 0) -> None:
  """The comparison's "why AP is lost" plots and tables (models without an analysis left out):
  "TIDE error types vs <scale>" (one series per error type, delta AP if fixed), table "TIDE
  delta AP by model", "per-category AP vs <scale> with bootstrap intervals" (plotly, error bars:
  each model's interval; one trace per category, the overall AP first), tables "consecutive
  models: significance" (pair, statistic, a, b, delta, interval, significant) and "consecutive
  models: categories", "F1 thresholds by model (IoU 0.5)" (category x model: score, precision,
  recall)."""
  if why.empty:
    return
  scale = model_result.scale_axis(results)
  for error in why_ap_lost.TIDE_ERRORS + why_ap_lost.TIDE_SUMMARIES:
    points = why.tide_points(results, error)
    labels = [r.info.key for r in results if why.tide(r.info.key)]
    _lines(logger, f"TIDE error types vs {scale.chart}",
           f"{error} ({why_ap_lost.TIDE_LABELS[error]})", points, labels, scale.label,
           "delta AP if fixed", iteration)
  tide_rows = why.tide_rows(results)
  if len(tide_rows) > 1:
    logger.report_table(title="TIDE delta AP by model", series=results[0].iou_type,
                        iteration=iteration, table_plot=_rows(tide_rows))
  if why.intervals:
    traces = []

    def trace(name, values):
      pts = [(scale.x(r.info), v) for r, v in values if v is not None]
      if pts:
        traces.append({
            "type": "scatter", "mode": "lines+markers", "name": name, "x": [x for x, _ in pts],
            "y": [v[0] for _, v in pts], "error_y": {
                "type": "data", "symmetric": False, "array": [v[2] - v[0] for _, v in pts],
                "arrayminus": [v[0] - v[1] for _, v in pts]
            }
        })

    trace("all categories (mAP)", [(r, why.stat_interval(r.info.key, "AP")) for r in results])
    for name in model_result.common_categories(results):
      trace(name, [(r, why.category_interval(r.info.key, name)) for r in results])
    level = next((d.get("confidence") for d in why.intervals.values()), 0.95)
    logger.report_plotly(
        title=f"per-category AP vs {scale.chart_short} with bootstrap intervals", series="AP",
        iteration=iteration, figure={
            "data": traces, "layout": {
                "title": f"AP with {level * 100:g}% bootstrap intervals (resampled images)",
                "xaxis": {"title": scale.label}, "yaxis": {"title": "AP"}
            }
        })
  if why.pairs:
    logger.report_table(title="consecutive models: significance", series=results[0].iou_type,
                        iteration=iteration, table_plot=_rows(why.significance_rows()))
    logger.report_table(title="consecutive models: categories", series=results[0].iou_type,
                        iteration=iteration, table_plot=_rows(why.category_counts()))
  f1_rows = why.f1_rows(results)
  if f1_rows:
    logger.report_table(title=f"F1 thresholds by model (IoU {why_ap_lost.F1_IOU:g})",
                        series=results[0].iou_type, iteration=iteration, table_plot=_rows(f1_rows))
  missing = why.missing_analysis(results)
  if missing and why.analyses:
    logger.report_text("No analysis.json (runs from before the analysis existed): "
                       + ", ".join(missing))
