r"""A local comparison report for users without ClearML: OUT/report/index.html.

  html_report.write_report(out_dir, results)         # from the sweep
  bazel run //eval/tracking:html_report -- --out=OUT  # again, from OUT/*/metrics.json
  bazel run //eval/tracking/testing:html_report_demo -- --out=/tmp/demo   # synthetic numbers

Writes, each file atomically, index.html last:
  OUT/report/index.html   self-contained: inline CSS, figures embedded as base64 PNG data URIs
                          (each also linked as its PNG file), no external URL; opens from disk.
  OUT/report/*.png        overall_vs_phi, accuracy_vs_speed, per_category_heatmap,
                          per_category_small_multiples, selected_categories
  OUT/report/*.csv        models_stats.csv (model x statistics), category_ap_by_model.csv
                          (category x model mAP), per_category_all_models.csv (long form). CSVs
                          hold the evaluator's values unchanged (fractions, -1 = no ground
                          truth); the HTML shows percent with "–" for -1.
  "Why AP is lost" (when the models have analysis/analysis.json or the sweep's bootstrap; see
  why_ap_lost.py): tide_vs_phi.png, category_ap_intervals.png, tide_by_model.csv,
  category_ap_intervals.csv, consecutive_models_significance.csv, f1_thresholds_by_model.csv.
Links to each model's OUT/<task_name>/metrics.json and per_category.csv are relative.
"""
from __future__ import annotations

import base64
import csv
import datetime
import html
import io
import os
from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure  # pylint: disable=g-import-not-at-top

from configs import model_registry  # pylint: disable=g-import-not-at-top
from eval import atomic_io  # pylint: disable=g-import-not-at-top
from eval import results as results_lib  # pylint: disable=g-import-not-at-top
from eval.tracking import formatting  # pylint: disable=g-import-not-at-top
from eval.tracking import model_result  # pylint: disable=g-import-not-at-top
from eval.tracking import sweet_spot  # pylint: disable=g-import-not-at-top
from eval.tracking import why_ap_lost  # pylint: disable=g-import-not-at-top

REPORT_DIR = results_lib.REPORT_DIR
PNG_METADATA = {"Software": None}  # no matplotlib URL inside the PNGs


def _pct(value: Any, digits: int = 1) -> str:
  return formatting.fmt(value, digits, scale=100.0)


def _save(fig: Figure, path: str) -> bytes:
  buf = io.BytesIO()
  fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata=PNG_METADATA)
  data = buf.getvalue()
  with atomic_io.atomic_path(path) as tmp:
    with open(tmp, "wb") as f:
      f.write(data)
  return data


def _csv_text(rows: Sequence[Sequence[Any]]) -> str:
  out = io.StringIO()
  writer = csv.writer(out, lineterminator="\n")
  for row in rows:
    writer.writerow([repr(v) if isinstance(v, float) else v for v in row])
  return out.getvalue()


# --- figures ------------------------------------------------------------------------------------


def _plot_vs_phi(results: Sequence[model_result.ModelResult]) -> Figure:
  scale = model_result.scale_axis(results)
  fig = Figure(figsize=(15, 4.6))
  axes = fig.subplots(1, 3)
  phis = [scale.x(r.info) for r in results]
  groups = (("Average precision", ("AP", "AP50", "AP75")), ("AP by object area",
                                                            ("AP_small", "AP_medium", "AP_large")),
            ("Average recall", ("AR1", "AR10", "AR100")))
  for ax, (title, stats) in zip(axes, groups):
    for stat in stats:
      if stat not in results[0].stat_names:
        continue
      pts = [(scale.x(r.info), r.stat(stat) * 100) for r in results
             if not formatting.is_missing(r.stat(stat))]
      if pts:
        ax.plot(*zip(*pts), marker="o", label=formatting.STAT_LABELS.get(stat, stat))
    if title == "Average precision":
      pub = [(scale.x(r.info), r.info.published_map) for r in results
             if r.info.published_map is not None]
      if pub:
        ax.plot(*zip(*pub), linestyle="--", marker="x", color="black",
                label="published mAP (TF2 zoo)")
    ax.set_title(title)
    ax.set_xlabel(scale.label)
    ax.set_ylabel("%")
    ax.set_xticks(phis)
    ax.set_xticklabels([scale.tick(r.info) for r in results])
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
  fig.suptitle(f"COCO statistics vs {scale.chart}")
  return fig


def _plot_speed(results: Sequence[model_result.ModelResult], spot: sweet_spot.SweetSpot | None,
                timing: str = "published") -> Figure:
  """mAP vs ms per image: the zoo's published V100 speeds, or the latencies measured here."""
  fig = Figure(figsize=(8, 5.2))
  ax = fig.subplots()
  timed = sorted((r for r in results if r.ms(timing) and not formatting.is_missing(r.stat("AP"))),
                 key=lambda r: r.ms(timing))
  if timed:
    xs = [r.ms(timing) for r in timed]
    ax.plot(xs, [r.stat("AP") * 100 for r in timed], marker="o", label="measured mAP")
    for r in timed:
      ax.annotate(r.info.key.upper(), (r.ms(timing), r.stat("AP") * 100),
                  textcoords="offset points", xytext=(4, -12), fontsize=9)
    pub = [(r.ms(timing), r.info.published_map) for r in timed
           if r.info.published_map is not None and timing == "published"]
    if pub:
      ax.plot(*zip(*pub), linestyle="--", marker="x", color="gray", label="published mAP")
    if spot is not None:
      marks = (("knee", spot.knee, "tab:red", "s"), ("most AP per ms", spot.best_ap_per_ms,
                                                     "tab:green", "D"))
      for label, key, color, marker in marks:
        r = next((r for r in timed if r.info.key == key), None)
        if r is not None:
          ax.scatter([r.ms(timing)], [r.stat("AP") * 100], s=160, facecolors="none",
                     edgecolors=color, marker=marker, linewidths=2, label=f"{label}: {key.upper()}",
                     zorder=5)
  else:
    ax.text(0.5, 0.5, f"no {timing} speeds", ha="center", transform=ax.transAxes)
  if timing == "published":
    ax.set_xlabel("published speed (ms per image, TF2 zoo, V100)")
    ax.set_title("Accuracy vs published speed")
  else:
    devices = sorted({r.measured_device for r in timed if r.measured_device})
    ax.set_xlabel("measured latency (p50 ms per image after warm-up"
                  + (f"; {'; '.join(devices)}" if devices else "") + ")")
    ax.set_title("Accuracy vs measured latency")
  ax.grid(alpha=0.3)
  ax.legend(fontsize=8, loc="lower right")
  return fig


def _category_order(results: Sequence[model_result.ModelResult]) -> list[str]:
  best = max(results, key=lambda r: (not formatting.is_missing(r.stat("AP")), r.stat("AP")))
  names = model_result.common_categories(results)
  return sorted(
      names, key=lambda n:
      (formatting.is_missing(best.category_stat(n)), -best.category_stat(n), n))


def _plot_heatmap(results: Sequence[model_result.ModelResult]) -> Figure:
  import numpy as np  # pylint: disable=g-import-not-at-top
  names = _category_order(results)
  grid = np.array([[r.category_stat(n) for r in results] for n in names], dtype=float)
  masked = np.ma.masked_less(grid, 0)
  fig = Figure(figsize=(2.6 + 0.9 * len(results), 1.4 + 0.2 * len(names)))
  ax = fig.subplots()
  cmap = matplotlib.colormaps["viridis"].with_extremes(bad="#dddddd")
  image = ax.imshow(masked * 100, aspect="auto", cmap=cmap, vmin=0, vmax=100,
                    interpolation="nearest")
  for i in range(len(names)):
    for j in range(len(results)):
      v = grid[i, j]
      text = formatting.MISSING if v < 0 else f"{v * 100:.1f}"
      ax.text(j, i, text, ha="center", va="center", fontsize=6.5,
              color="white" if 0 <= v < 0.55 else "black")
  ax.set_xticks(range(len(results)))
  ax.set_xticklabels([
      f"{r.info.key.upper()}\nphi={r.info.phi}" if r.info.phi is not None else r.info.key
      for r in results
  ], fontsize=8)
  ax.xaxis.tick_top()
  ax.set_yticks(range(len(names)))
  ax.set_yticklabels(names, fontsize=7)
  ax.set_title("Per-category mAP (%) by model, categories by the best model's mAP", pad=28)
  fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02, label="mAP (%)")
  return fig


def _plot_small_multiples(results: Sequence[model_result.ModelResult]) -> Figure:
  groups: dict[str, list[str]] = {}  # supercategories in order of first appearance
  for n, sup in model_result.supercategories(results).items():
    groups.setdefault(sup, []).append(n)
  order = list(groups)
  cols = 4
  rows = max(1, -(-len(order) // cols))
  fig = Figure(figsize=(4.2 * cols, 3.4 * rows))
  axes = fig.subplots(rows, cols, squeeze=False, sharex=True, sharey=True)
  scale = model_result.scale_axis(results)
  phis = [scale.x(r.info) for r in results]
  overall = [(scale.x(r.info), r.stat("AP") * 100) for r in results
             if not formatting.is_missing(r.stat("AP"))]
  for k, ax in enumerate(axes.flat):
    if k >= len(order):
      ax.set_visible(False)
      continue
    sup = order[k]
    for n in groups[sup]:
      pts = [(scale.x(r.info), r.category_stat(n) * 100) for r in results
             if not formatting.is_missing(r.category_stat(n))]
      if pts:
        ax.plot(*zip(*pts), marker=".", linewidth=1.2, label=n)
    if overall:
      ax.plot(*zip(*overall), color="black", linestyle=":", linewidth=1, label="all (mAP)")
    ax.set_title(sup, fontsize=10)
    ax.set_xticks(phis)
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, loc="upper left", ncol=2)
    if k % cols == 0:
      ax.set_ylabel("mAP (%)")
    if k // cols == rows - 1:
      ax.set_xlabel(scale.short)
  fig.suptitle(f"Per-category mAP vs {scale.chart}, by COCO supercategory")
  return fig


def selected_categories(results: Sequence[model_result.ModelResult], count: int = 5) -> list[str]:
  """The `count` categories gaining most and the `count` gaining least from first to last model."""
  first, last = results[0], results[-1]
  gains = [(last.category_stat(n) - first.category_stat(n), n)
           for n in model_result.common_categories(results)
           if not formatting.is_missing(first.category_stat(n))
           and not formatting.is_missing(last.category_stat(n))]
  gains.sort(key=lambda t: (-t[0], t[1]))
  if len(gains) <= 2 * count:
    return [n for _, n in gains]
  return [n for _, n in gains[:count]] + [n for _, n in gains[-count:]]


def _plot_selected(results: Sequence[model_result.ModelResult], names: Sequence[str]) -> Figure:
  fig = Figure(figsize=(9, 5.4))
  ax = fig.subplots()
  half = (len(names) + 1) // 2
  scale = model_result.scale_axis(results)
  for i, n in enumerate(names):
    pts = [(scale.x(r.info), r.category_stat(n) * 100) for r in results
           if not formatting.is_missing(r.category_stat(n))]
    if pts:
      ax.plot(*zip(*pts), marker="o", linestyle="-" if i < half else "--",
              label=f"{n} ({'gains most' if i < half else 'gains least'})")
  overall = [(scale.x(r.info), r.stat("AP") * 100) for r in results
             if not formatting.is_missing(r.stat("AP"))]
  if overall:
    ax.plot(*zip(*overall), color="black", linewidth=3, label="all categories (mAP)")
  ax.set_xticks([scale.x(r.info) for r in results])
  ax.set_xticklabels([scale.tick(r.info) for r in results])
  ax.set_xlabel(scale.label)
  ax.set_ylabel("mAP (%)")
  ax.set_title("Selected categories: largest and smallest gain with scaling")
  ax.grid(alpha=0.3)
  ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
  return fig


def _plot_tide(results: Sequence[model_result.ModelResult], why: why_ap_lost.WhyApLost) -> Figure:
  """Each TIDE error type's delta AP (what fixing it alone would add) vs the scale axis."""
  scale = model_result.scale_axis(results)
  fig = Figure(figsize=(9, 5.2))
  ax = fig.subplots()
  for error in why_ap_lost.TIDE_ERRORS + why_ap_lost.TIDE_SUMMARIES:
    pts = [(x, v * 100) for x, v in why.tide_points(results, error)]
    if pts:
      ax.plot(*zip(*pts), marker="o",
              linestyle="--" if error in why_ap_lost.TIDE_SUMMARIES else "-",
              label=f"{error}: {why_ap_lost.TIDE_LABELS[error]}")
  ax.set_xticks([scale.x(r.info) for r in results])
  ax.set_xticklabels([scale.tick(r.info) for r in results])
  ax.set_xlabel(scale.label)
  ax.set_ylabel("delta AP (points) if fixed")
  ax.set_title(f"TIDE error types vs {scale.chart}")
  ax.grid(alpha=0.3)
  ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
  return fig


def _plot_intervals(results: Sequence[model_result.ModelResult], why: why_ap_lost.WhyApLost,
                    names: Sequence[str]) -> Figure:
  """AP vs the scale axis with each model's bootstrap interval as error bars: overall (left),
  the categories that gain most and least (right)."""
  scale = model_result.scale_axis(results)
  fig = Figure(figsize=(15, 5.4))
  left, right = fig.subplots(1, 2)

  def bars(ax, values, label, **style):
    pts = [(scale.x(r.info), v) for r, v in values if v is not None]
    if pts:
      xs = [x for x, _ in pts]
      ys = [v[0] * 100 for _, v in pts]
      err = [[(v[0] - v[1]) * 100 for _, v in pts], [(v[2] - v[0]) * 100 for _, v in pts]]
      ax.errorbar(xs, ys, yerr=err, marker="o", capsize=3, label=label, **style)

  for stat in ("AP", "AP50", "AP75"):
    bars(left, [(r, why.stat_interval(r.info.key, stat)) for r in results],
         formatting.STAT_LABELS.get(stat, stat))
  half = (len(names) + 1) // 2
  for i, n in enumerate(names):
    bars(right, [(r, why.category_interval(r.info.key, n)) for r in results],
         f"{n} ({'gains most' if i < half else 'gains least'})",
         linestyle="-" if i < half else "--")
  level = next((d.get("confidence") for d in why.intervals.values()), 0.95)
  for ax, title in ((left, "Overall"), (right, "Selected categories")):
    ax.set_xticks([scale.x(r.info) for r in results])
    ax.set_xticklabels([scale.tick(r.info) for r in results])
    ax.set_xlabel(scale.label)
    ax.set_ylabel("AP (%)")
    ax.set_title(f"{title}: AP with {level * 100:g}% bootstrap intervals")
    ax.grid(alpha=0.3)
  left.legend(fontsize=8)
  right.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
  return fig


# --- tables -------------------------------------------------------------------------------------


def models_csv_rows(results: Sequence[model_result.ModelResult]) -> list[list[Any]]:
  stat_names = list(results[0].stat_names)
  rows = [[
      "model", "task_name", "phi", "input_size", "published_map_percent", "published_ms", "iou_type"
  ] + stat_names + ["ap_points_per_ms", "measured_ms_p50", "measured_device"]]
  for r in results:
    i = r.info
    rows.append(
        [i.key, i.task_name, i.phi, i.input_size, i.published_map, i.published_ms, r.iou_type]
        + [r.stat(n) for n in stat_names] + [r.ap_per_ms, r.measured_ms, r.measured_device])
  return [[("" if v is None else v) for v in row] for row in rows]


def category_csv_rows(results: Sequence[model_result.ModelResult]) -> list[list[Any]]:
  ids = {}
  for r in results:
    for row in r.per_category:
      ids.setdefault(row.name, row.id)
  rows = [["category_id", "category", "supercategory"] + [r.info.key for r in results]]
  for n, sup in model_result.supercategories(results).items():
    rows.append([ids.get(n, ""), n, sup] + [r.category_stat(n) for r in results])
  return rows


def long_csv_rows(results: Sequence[model_result.ModelResult]) -> list[list[Any]]:
  rows = [["model", "phi", "category_id", "category"] + list(results[0].stat_names)]
  for r in results:
    for row in r.per_category:
      rows.append([r.info.key, r.info.phi, row.id, row.name] + list(row.stats))
  return rows


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric_from: int,
           css: str = "") -> str:
  head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
  body = []
  for row in rows:
    cells = []
    for k, v in enumerate(row):
      cls = ' class="num"' if k >= numeric_from else ""
      cells.append(f"<td{cls}>{v}</td>")
    body.append("<tr>" + "".join(cells) + "</tr>")
  return (f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>' + "".join(body)
          + "</tbody></table>")


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;
max-width:1280px;padding:0 1em;color:#222}
h1{margin-bottom:.1em} .sub{color:#666;margin-top:0}
.hint{background:#eef6ee;border-left:5px solid #3a3;padding:.8em 1em;margin:1em 0}
table{border-collapse:collapse;font-size:13px;margin:.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:3px 7px} th{background:#f3f3f3;position:sticky;top:0}
td.num{text-align:right;font-variant-numeric:tabular-nums} tr:nth-child(even){background:#fafafa}
td.best{font-weight:bold} figure{margin:1em 0} img{max-width:100%;border:1px solid #eee}
figcaption{color:#555;font-size:13px} .scroll{max-height:640px;overflow:auto;display:inline-block}
code{background:#f4f4f4;padding:1px 4px}
"""


def _figure_html(name: str, png: bytes, caption: str) -> str:
  data = base64.b64encode(png).decode("ascii")
  return (f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
          f'<figcaption>{html.escape(caption)} (<a href="{name}">{name}</a>)</figcaption>'
          "</figure>")


def _rel_link(path: str | None, report_dir: str, label: str) -> str:
  if not path or not os.path.exists(path):
    return f'<span title="not found">{html.escape(label)} (missing)</span>'
  rel = os.path.relpath(path, report_dir).replace(os.sep, "/")
  return f'<a href="{html.escape(rel)}">{html.escape(label)}</a>'


def _model_files(result: model_result.ModelResult, out_dir: str) -> tuple[str | None, str | None]:
  default_dir = os.path.join(out_dir, result.info.task_name)
  metrics = result.metrics_path or os.path.join(default_dir, results_lib.METRICS)
  per_cat = result.per_category_csv or os.path.join(os.path.dirname(metrics),
                                                    results_lib.PER_CATEGORY_CSV)
  return metrics, per_cat


def _cell(value: Any, digits: int = 1) -> str:
  return formatting.MISSING if value is None else _pct(value, digits)


def _signed(value: Any) -> str:
  return formatting.MISSING if value is None else f"{value * 100:+.2f}"


def _why_section(results: Sequence[model_result.ModelResult], why: why_ap_lost.WhyApLost,
                 chosen: Sequence[str],
                 report_dir: str) -> tuple[str, list[tuple[str, str]], list[tuple[str, str]]]:
  """The "why AP is lost" section: (HTML, [(png, caption)], [(csv, description)])."""
  parts, pngs, csvs = [], [], []
  missing = why.missing_analysis(results)
  if why.analyses:
    parts.append("<p>From each model's <code>analysis/analysis.json</code> (eval/analysis)."
                 + (f" No analysis for {html.escape(', '.join(k.upper() for k in missing))} "
                    "(runs from before the analysis existed): not shown." if missing else "")
                 + "</p>")
  tide_rows = why.tide_rows(results)
  if len(tide_rows) > 1:
    name = "tide_vs_phi.png"
    fig_html = _figure_html(
        name, _save(_plot_tide(results, why), os.path.join(report_dir, name)),
        "TIDE: how much AP each error type costs (delta AP if fixed) vs "
        + model_result.scale_axis(results).chart)
    pngs.append((name, fig_html))
    csv_name = "tide_by_model.csv"
    atomic_io.write_text(os.path.join(report_dir, csv_name), _csv_text(tide_rows))
    csvs.append((csv_name, "TIDE delta AP per error type and model"))
    body = [
        [html.escape(r[0].upper()), str(r[1]), _cell(r[2])] + [_signed(v) for v in r[3:]]
        for r in tide_rows[1:]
    ]
    parts.append(f"<h3>Error types (TIDE)</h3>\n{fig_html}\n<p>AP points each error type "
                 "would add if fixed alone (they overlap: they do not add up to what is lost). "
                 f'CSV: <a href="{csv_name}">{csv_name}</a>.</p>\n'
                 + _table(tide_rows[0], body, numeric_from=1))
  if why.intervals:
    name = "category_ap_intervals.png"
    fig_html = _figure_html(
        name, _save(_plot_intervals(results, why, chosen), os.path.join(report_dir, name)),
        "AP vs " + model_result.scale_axis(results).chart + " with each model's bootstrap "
        "interval (resampled images)")
    pngs.append((name, fig_html))
    csv_name = "category_ap_intervals.csv"
    atomic_io.write_text(os.path.join(report_dir, csv_name), _csv_text(why.interval_rows(results)))
    csvs.append((csv_name, "each model's bootstrap interval of every category's AP"))
    parts.append(f"<h3>Per-category AP with bootstrap intervals</h3>\n{fig_html}\n"
                 f'<p>Every category: <a href="{csv_name}">{csv_name}</a>.</p>')
  if why.pairs:
    rows = why.significance_rows()
    csv_name = "consecutive_models_significance.csv"
    atomic_io.write_text(os.path.join(report_dir, csv_name),
                         _csv_text(why.significance_rows(per_category=True)))
    csvs.append((csv_name, "consecutive models' differences, every statistic and category AP"))
    body = [[
        html.escape(r[0].upper()),
        html.escape(r[1]),
        _cell(r[2]),
        _cell(r[3]),
        _signed(r[4]), f"[{_signed(r[5])}, {_signed(r[6])}]",
        "<b>yes</b>" if r[7] == "yes" else "no"
    ] for r in rows[1:]]
    first = why.pairs[0]
    level = f"{first['confidence'] * 100:g}%"
    counts = why.category_counts()
    parts.append(
        "<h3>Consecutive models: which gains are real</h3>\n<p>A paired bootstrap over the "
        f"images ({first['n_bootstrap']} resamples, {first['num_images']} images, seed "
        f"{first['seed']}): both models scored on the same resampled images; delta = b - a in AP "
        f"points; significant when its {level} interval excludes 0. Per-category differences: "
        f'<a href="{csv_name}">{csv_name}</a>.</p>\n'
        + _table(["model pair", "statistic", "a", "b", "delta", f"{level} interval", "significant"],
                 body, numeric_from=2, css="significance")
        + _table(counts[0],
                 [[html.escape(str(c).upper()) if i == 0 else str(c) for i, c in enumerate(r)]
                  for r in counts[1:]], numeric_from=1))
  f1_rows = why.f1_rows(results)
  if f1_rows:
    csv_name = "f1_thresholds_by_model.csv"
    atomic_io.write_text(os.path.join(report_dir, csv_name), _csv_text(f1_rows))
    csvs.append((csv_name, "F1-optimal score thresholds per category and model"))
    models = [h.split(" ")[0] for h in f1_rows[0][1::3]]
    header = ["category"] + [
        f"{k.upper()} {what}" for k in models for what in ("score", "precision", "recall")
    ]
    body = [[html.escape(str(r[0]))]
            + [formatting.MISSING if v is None else f"{v:.3f}" for v in r[1:]] for r in f1_rows[1:]]
    parts.append(
        f"<h3>Score thresholds to deploy (F1-optimal, IoU {why_ap_lost.F1_IOU:g})</h3>\n<p>Per "
        "category and model: the score threshold that maximises F1, with the precision and "
        f'recall it gives. CSV: <a href="{csv_name}">{csv_name}</a>.</p>\n'
        f'<div class="scroll">{_table(header, body, numeric_from=1, css="f1")}</div>')
  if not parts:
    return "", [], []
  return ("<h2>Why AP is lost</h2>\n" + "\n".join(parts)), pngs, csvs


def write_report(out_dir: str, results: Sequence[model_result.ModelResult], *,
                 title: str | None = None, description: str | None = None,
                 now: datetime.datetime | None = None,
                 why: why_ap_lost.WhyApLost | None = None) -> str:
  """Writes OUT/report/ for `results` (any subset of models); returns index.html's path.

  why: the "why AP is lost" data (the sweep passes its bootstrap); default: each model's
  analysis.json and what OUT/comparison/ holds for the current detections."""
  if not results:
    raise ValueError("write_report: no results")
  results = model_result.by_phi(results)
  scale = model_result.scale_axis(results)
  report_dir = os.path.join(out_dir, REPORT_DIR)
  os.makedirs(report_dir, exist_ok=True)
  now = now or datetime.datetime.now(datetime.timezone.utc)
  spot = sweet_spot.sweet_spot(results)
  measured = [r for r in results if r.measured_ms]
  measured_spot = sweet_spot.sweet_spot(measured, "measured") if measured else None
  title = title or "EfficientDet D0-D7 on COCO: accuracy vs compound scaling"

  csvs = {
      "models_stats.csv": ("Models x statistics", models_csv_rows(results)),
      "category_ap_by_model.csv": ("Category x model mAP", category_csv_rows(results)),
      "per_category_all_models.csv": ("All 12 statistics per category and model (long form)",
                                      long_csv_rows(results)),
  }
  for name, (_, rows) in csvs.items():
    atomic_io.write_text(os.path.join(report_dir, name), _csv_text(rows))

  chosen = selected_categories(results)
  figures = [
      ("overall_vs_phi.png", _plot_vs_phi(results),
       f"Overall AP, AP50, AP75, AP by area and AR vs the {scale.chart}"),
      ("accuracy_vs_speed.png", _plot_speed(results, spot),
       "Measured mAP vs the zoo's published speed; marked: knee and most AP per ms"),
      ("per_category_heatmap.png", _plot_heatmap(results),
       "Per-category mAP: category x model heatmap (grey: no ground truth)"),
      ("per_category_small_multiples.png", _plot_small_multiples(results),
       f"Per-category mAP vs {scale.short}, one panel per COCO supercategory (dotted: overall "
       "mAP)"),
      ("selected_categories.png", _plot_selected(results, chosen),
       "Categories that gain most and least from scaling up"),
  ]
  if measured:
    figures.append(
        ("accuracy_vs_measured_latency.png", _plot_speed(measured, measured_spot, "measured"),
         "Measured mAP vs the model latency measured in this run (p50 per image); "
         "marked: knee and most AP per measured ms"))
  figure_html = {}
  for name, fig, caption in figures:
    figure_html[name] = _figure_html(name, _save(fig, os.path.join(report_dir, name)), caption)
  why = why if why is not None else why_ap_lost.load(results, out_dir)
  why_html, why_pngs, why_csvs = _why_section(results, why, chosen, report_dir)

  # Models x statistics, in scale order; best value of each column in bold.
  stat_names = list(results[0].stat_names)
  best = {n: max((r.stat(n) for r in results), default=-1) for n in stat_names}
  header = (["model", scale.short, "input", "published mAP", "published ms", "measured ms"]
            + [n for n in stat_names] + ["AP per ms", "files"])
  rows = []
  for r in results:
    metrics_path, csv_path = _model_files(r, out_dir)
    cells = [
        f"<b>{html.escape(r.info.key.upper())}</b><br><small>"
        f"{html.escape(r.info.task_name)}</small>",
        scale.value_text(r.info),
        str(r.info.input_size) if r.info.input_size else formatting.MISSING,
        (formatting.fmt(r.info.published_map, 1) if r.info.published_map else formatting.MISSING),
        f"{r.info.published_ms:g}" if r.info.published_ms else formatting.MISSING,
        f"{r.measured_ms:.1f}" if r.measured_ms else formatting.MISSING,
    ]
    for n in stat_names:
      v = r.stat(n)
      text = _pct(v)
      cells.append(f"<b>{text}</b>" if not formatting.is_missing(v) and v == best[n] else text)
    cells.append(formatting.fmt(r.ap_per_ms, 3))
    cells.append(
        _rel_link(metrics_path, report_dir, "metrics.json") + " · "
        + _rel_link(csv_path, report_dir, "per_category.csv"))
    rows.append(cells)
  models_table = _table(header, rows, numeric_from=1)

  # Category x model mAP, sorted by the most accurate model's mAP.
  order = _category_order(results)
  cat_header = ["category", "supercategory"] + [r.info.key.upper() for r in results]
  if len(results) > 1:
    cat_header.append(f"gain {results[0].info.key.upper()}\u2192{results[-1].info.key.upper()}")
  cat_rows = []
  supercategory = model_result.supercategories(results)
  for n in order:
    values = [r.category_stat(n) for r in results]
    row = [html.escape(n), html.escape(supercategory[n])] + [_pct(v) for v in values]
    if len(results) > 1:
      a, b = values[0], values[-1]
      row.append(formatting.MISSING if formatting.is_missing(a) or formatting.is_missing(b) else
                 f"{(b - a) * 100:+.1f}")
    cat_rows.append(row)
  category_table = _table(cat_header, cat_rows, numeric_from=2)

  first = results[0]
  params = first.run.primary.params
  evaluated = (f"{len(results)} model(s): "
               + ", ".join(f"{html.escape(r.info.key.upper())} ({scale.short} "
                           f"{scale.value_text(r.info)}, "
                           f"{r.info.input_size or '?'} px)" for r in results)
               + f". IoU type <code>{html.escape(first.iou_type)}</code>; "
               + f"{len(model_result.common_categories(results))} categories" +
               (f"; {params['num_images']} images" if params.get("num_images") else "") +
               (f"; object areas from <code>{html.escape(str(first.run.area_source))}</code>"
                if first.run.area_source else "") + ".")
  hint = html.escape(spot.text) if spot else "No valid AP: no sweet spot."
  if measured_spot is not None:
    hint += ("<br><b>From the latencies measured in this run:</b> "
             + html.escape(measured_spot.text))
  measured_html = ""
  if measured:
    devices = sorted({r.measured_device for r in measured if r.measured_device})
    measured_html = (f"<h2>Accuracy vs measured latency</h2>\n<p>Model latency per image "
                     f"measured by this run's workers after warm-up (median), on "
                     f"{html.escape('; '.join(devices) or 'unknown devices')}.</p>\n"
                     f"{figure_html['accuracy_vs_measured_latency.png']}")
  downloads = " · ".join(
      [f'<a href="{n}">{n}</a> ({html.escape(t)})' for n, (t, _) in csvs.items()]
      + [f'<a href="{n}">{n}</a> ({html.escape(t)})' for n, t in why_csvs])
  pngs = " · ".join([f'<a href="{n}">{n}</a>'
                     for n, _, _ in figures] + [f'<a href="{n}">{n}</a>' for n, _ in why_pngs])
  page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>
<h1>{html.escape(title)}</h1>
<p class="sub">Generated {now.strftime('%Y-%m-%d %H:%M UTC')} by //eval/tracking:html_report.
{html.escape(description) if description else ''}</p>
<p><b>Evaluated:</b> {evaluated} Values are COCO statistics in percent; "{formatting.MISSING}" means
no ground truth (the evaluator's -1). Published speeds are the TF2 zoo's (V100); measured
latencies are this run's (p50 per image, on the device named below).</p>
<div class="hint"><b>Sweet spot.</b> {hint}</div>
<h2>Overall statistics vs {scale.chart}</h2>
{figure_html['overall_vs_phi.png']}
<h2>Accuracy vs published speed</h2>
{figure_html['accuracy_vs_speed.png']}
{measured_html}
<h2>Models &times; statistics</h2>
<p>Ordered by {scale.short}; the best value of each statistic in bold.
CSV: <a href="models_stats.csv">models_stats.csv</a>.</p>
{models_table}
<h2>Per-category mAP</h2>
{figure_html['per_category_small_multiples.png']}
{figure_html['selected_categories.png']}
{figure_html['per_category_heatmap.png']}
<h3>Category &times; model mAP</h3>
<p>Sorted by the most accurate model's mAP, best first.
CSV: <a href="category_ap_by_model.csv">category_ap_by_model.csv</a>.</p>
<div class="scroll">{category_table}</div>
{why_html}
<h2>Files</h2>
<p>Tables: {downloads}.</p>
<p>Figures: {pngs}.</p>
</body></html>
"""
  index = os.path.join(report_dir, results_lib.REPORT_INDEX)
  atomic_io.write_text(index, page)
  return index


# --- command line -------------------------------------------------------------------------------


def results_from_out(out_dir: str) -> list[model_result.ModelResult]:
  """The EfficientDet results under OUT/<task_name>/metrics.json (zoo info from the TF2 zoo)."""
  found = []
  for entry in model_registry.efficientdet_models():
    info = model_result.ModelInfo.from_registry(entry)
    path = os.path.join(out_dir, info.task_name, results_lib.METRICS)
    if os.path.exists(path):
      found.append(model_result.load_model_result(path, info))
  return found


def main(argv: Sequence[str]) -> None:
  del argv
  from absl import flags  # pylint: disable=g-import-not-at-top
  from eval import user_paths  # pylint: disable=g-import-not-at-top
  out = user_paths.resolve(flags.FLAGS.out)
  results = results_from_out(out)
  if not results:
    raise SystemExit(f"html_report: no OUT/efficientdet_*/metrics.json under {out}")
  print(write_report(out, results))


if __name__ == "__main__":
  from absl import app  # pylint: disable=g-import-not-at-top
  from absl import flags as _flags  # pylint: disable=g-import-not-at-top
  _flags.DEFINE_string("out", None, "The sweep's output folder (OUT).", required=True)
  app.run(main)
