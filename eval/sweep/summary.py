"""What a sweep prints at the end: the per-model table, failures, sweet spot, ClearML uploads."""
from __future__ import annotations

import os
from typing import Sequence

from eval import results
from eval.sweep import runner
from eval.tracking import formatting
from eval.tracking import model_result
from eval.tracking import sweet_spot


def _pct(result: model_result.ModelResult | None, stat: str) -> str:
  return formatting.fmt(result.stat(stat), 1, scale=100.0) if result else formatting.MISSING


def summary_table(outcomes: Sequence[runner.Outcome]) -> str:
  """model, status, AP, AP50, AR100 (in %) and time, one row per model."""
  header = ["model", "status", "AP", "AP50", "AR100", "time"]
  rows = [[
      o.entry.model_name, o.status,
      _pct(o.result, "AP"),
      _pct(o.result, "AP50"),
      _pct(o.result, "AR100"), f"{o.seconds:.1f}s"
  ] for o in outcomes]
  widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
  lines = []
  for row in [header] + rows:
    lines.append("  ".join(
        c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
  lines.insert(1, "  ".join("-" * w for w in widths))
  return "\n".join(lines)


def bootstrap_lines(sweep: runner.Sweep) -> list[str]:
  """Consecutive models' AP difference with its paired-bootstrap interval, if computed."""
  pairs = sweep.why.pairs if sweep.why is not None else []
  if not pairs:
    return []
  level = f"{pairs[0]['confidence'] * 100:g}%"
  lines = [
      f"\nAP gained by each next model (paired bootstrap over the images, {level} interval; "
      "significant when it excludes 0):"
  ]
  for pair in pairs:
    ap = next((s for s in pair["stats"] if s["name"] == "AP"), None)
    if ap is None:
      continue
    lines.append(f"  {pair['a_key'].upper()} -> {pair['b_key'].upper()}: "
                 f"{ap['delta'] * 100:+.2f} [{ap['lo'] * 100:+.2f}, {ap['hi'] * 100:+.2f}] "
                 + ("significant" if ap["significant"] else "not significant"))
  return lines


def print_summary(program: str, sweep: runner.Sweep, outcomes: Sequence[runner.Outcome]) -> None:
  """The end of a sweep's output: table, errors, sweet spot, offline sessions, report path."""
  print(f"\n{program} summary (AP, AP50, AR100 in %):")
  print(summary_table(outcomes))
  for o in outcomes:
    if o.error:
      print(f"  {o.entry.model_name}: {o.error}")
  for failure in sweep.failures:
    print(f"  {failure}")
  finished = sweep.finished
  spot = sweet_spot.sweet_spot(finished) if finished else None
  if spot is not None:
    print(f"\nSweet spot over the {len(finished)} finished model(s): {spot.text}")
  measured = [r for r in finished if r.measured_ms]
  measured_spot = sweet_spot.sweet_spot(measured, "measured") if measured else None
  if measured_spot is not None:
    print(f"From the latencies measured on this run's workers: {measured_spot.text}")
  for line in bootstrap_lines(sweep):
    print(line)
  offline = [(name, c) for name, c in sweep.closed_sessions if c.offline]
  if offline:
    print("\nClearML offline sessions written by this run (upload each to a server with the "
          "command shown):")
    for name, closed in offline:
      print(f"  {name}: {closed.session_zip}\n    {closed.upload_command}")
  report = os.path.join(sweep.settings.out_dir, results.REPORT_DIR, results.REPORT_INDEX)
  if os.path.exists(report):
    print(f"\nReport: {report}")
  print(end="", flush=True)
